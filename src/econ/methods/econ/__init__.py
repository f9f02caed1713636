"""ECON as a method of the harness: strategy -> belief-steered executors -> commitment.

The protocol lives in `system.py` (EconSystem), the commitment's decision rules in
`commit.py`, the words the models see in `prompts.py`. This module adapts EconSystem to the
harness's Method interface and registers ECON and its ablations.
"""

from __future__ import annotations

from econ.config import RunConfig
from econ.methods.base import CallLog, Method, Solution, answered, majority, stored_answer
from econ.methods.econ.commit import decide
from econ.methods.econ.result import EconResult, EconStep, ExecutorOutcome
from econ.methods.econ.system import EconSystem
from econ.methods.registry import register
from econ.tasks import Benchmark

__all__ = ["EconResult", "EconStep", "EconSystem", "ExecutorOutcome"]


class _EconMethod(Method):
    """Adapter from EconSystem to the harness's Method interface."""

    options: dict = {}

    def __init__(self, cfg: RunConfig):
        self.system = EconSystem.from_config(cfg, **self.options)

    async def solve(self, question: str, benchmark: Benchmark, log: CallLog) -> Solution:
        result = await self.system.solve(question, benchmark, log)
        return Solution(result.answer, result.to_json())

    @classmethod
    def replay(cls, calls: list[dict], benchmark: Benchmark) -> Solution:
        """Executors' latest answers, then the last round's final commitment (or their vote)."""
        latest: dict[int, dict] = {}
        for call in answered(calls, "executor"):
            latest[call["agent"]] = call
        answers = [stored_answer(latest[i], benchmark) for i in sorted(latest)]
        if cls.options.get("commit_by_vote"):
            return Solution(majority(answers, benchmark), {"decided_by": "majority"})
        commits = answered(calls, "coordinator")
        last = max((c["round"] for c in commits), default=0)
        answer, decided_by = decide([c for c in commits if c["round"] == last], answers, benchmark)
        return Solution(answer, {"decided_by": decided_by})


@register
class Econ(_EconMethod):
    name = "econ"
    help = "coordinator strategy, belief-steered executors, coordinator commitment"


@register
class EconVote(_EconMethod):
    name = "econ-vote"
    help = "ablation: majority of the executors instead of the commitment"
    options = {"commit_by_vote": True}


@register
class EconNoStrategy(_EconMethod):
    name = "econ-nostrategy"
    help = "ablation: no strategy call"
    options = {"use_strategy": False}
