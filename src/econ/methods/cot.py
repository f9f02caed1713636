"""Single chain-of-thought: one greedy call. The simplest baseline every method must beat."""

from __future__ import annotations

from econ.config import RunConfig
from econ.llm import make_llm
from econ.methods.base import (
    CallLog,
    Method,
    Solution,
    answered,
    question_messages,
    stored_answer,
)
from econ.methods.registry import register
from econ.tasks import Benchmark


@register
class ChainOfThought(Method):
    name = "cot"
    help = "one call at temperature 0"

    def __init__(self, cfg: RunConfig):
        self.llm = make_llm(cfg.model, cfg.llm)
        self.max_tokens = cfg.max_tokens
        self.seed = cfg.seed

    async def solve(self, question: str, benchmark: Benchmark, log: CallLog) -> Solution:
        comp = await log.chat(
            self.llm,
            question_messages(question),
            role="solver",
            temperature=0.0,
            top_p=1.0,
            max_tokens=self.max_tokens,
            seed=self.seed,
        )
        return Solution(benchmark.extract(comp.text, comp.finish_reason))

    @staticmethod
    def replay(calls: list[dict], benchmark: Benchmark) -> Solution:
        solver = answered(calls, "solver")
        return Solution(stored_answer(solver[-1], benchmark) if solver else None)
