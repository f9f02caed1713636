"""ECON as a method of the harness: strategy -> belief-steered executors -> commitment.

The protocol lives in `system.py` (EconSystem: observe, act, execute, revise), the
coordinator's calls in `coordinator.py` (strategy, commitment), the commitment's decision
rules in `commit.py`, the words the models see in `prompts.py`, what a question produced in
`result.py`. This module adapts EconSystem to the harness's Method interface, for ECON and
its ablations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from econ.methods.base import MakeLLM, Method, Solution
from econ.methods.calls import CallLog
from econ.methods.econ.commit import decide, settled
from econ.methods.econ.result import EconResult, EconStep, ExecutorOutcome
from econ.methods.econ.system import EconSystem
from econ.methods.voting import answered, majority, stored_answer
from econ.records import Call
from econ.tasks import Benchmark

if TYPE_CHECKING:
    from econ.config import RunConfig

__all__ = [
    "Econ",
    "EconMethod",
    "EconNoStrategy",
    "EconResult",
    "EconStep",
    "EconSystem",
    "EconVote",
    "ExecutorOutcome",
]


class EconMethod(Method):
    """Adapter from EconSystem to the harness's Method interface. `options` are the
    EconSystem settings that make the ablation: its system is built with them, and `replay`
    decides the way they make it decide."""

    options: ClassVar[dict[str, Any]] = {}

    def __init__(self, system: EconSystem):
        self.system = system

    @classmethod
    def from_config(cls, cfg: RunConfig, make_llm: MakeLLM) -> EconMethod:
        """The system the config describes, with the ablation's own settings over it."""
        return cls(EconSystem.from_config(cfg, make_llm, **cls.options))

    async def solve(self, question: str, benchmark: Benchmark, log: CallLog) -> Solution:
        result = await self.system.solve(question, benchmark, log)
        return Solution(result.answer, result.to_json())

    @classmethod
    def replay(cls, calls: list[Call], benchmark: Benchmark, settings: object = None) -> Solution:
        """Executors' latest answers, then the final round's commitment under the run's
        override rule (`settings`, the run's EconConfig; without one, "always"), or, when that
        round made no commitment call, the executors' settled answer."""
        override = getattr(settings, "override", "always")
        latest: dict[int, dict] = {}
        for call in answered(calls, "executor"):
            latest[call.agent] = call
        answers = [stored_answer(latest[i], benchmark) for i in sorted(latest)]
        if cls.options.get("commit_by_vote"):
            return Solution(majority(answers, benchmark), {"decided_by": "majority"})
        final = max((c.round for c in latest.values()), default=0)
        commits = [c for c in answered(calls, "coordinator") if c.round == final]
        if not commits:
            done = settled(answers, benchmark, skip_unanimous=True, override="never")
            answer, decided_by = done or (majority(answers, benchmark), "majority")
            return Solution(answer, {"decided_by": decided_by})
        replies = [(c.response or "", c.finish_reason) for c in commits]
        answer, decided_by = decide(replies, answers, benchmark, override)
        return Solution(answer, {"decided_by": decided_by})


class Econ(EconMethod):
    """Coordinator strategy, belief-steered executors, coordinator commitment."""

    name = "econ"


class EconVote(EconMethod):
    """Ablation: the executors' majority instead of the commitment."""

    name = "econ-vote"
    options = {"commit_by_vote": True}


class EconNoStrategy(EconMethod):
    """Ablation: no strategy call."""

    name = "econ-nostrategy"
    options = {"use_strategy": False}
