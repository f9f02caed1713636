"""Single chain-of-thought: one greedy call. The simplest baseline every method must beat."""

from __future__ import annotations

from typing import TYPE_CHECKING

from econ.llm.base import LLM, Sampling
from econ.methods.base import MakeLLM, Method, Solution, question_messages
from econ.methods.calls import CallLog
from econ.methods.voting import stored_answers
from econ.records import Call
from econ.tasks import Benchmark

if TYPE_CHECKING:
    from econ.config import RunConfig


class ChainOfThought(Method):
    name = "cot"

    def __init__(self, llm: LLM, *, max_tokens: int, seed: int):
        self.llm = llm
        self.sampling = Sampling(max_tokens=max_tokens, temperature=0.0, top_p=1.0, seed=seed)

    @classmethod
    def from_config(cls, cfg: RunConfig, make_llm: MakeLLM) -> ChainOfThought:
        return cls(make_llm(cfg.model, cfg.llm), max_tokens=cfg.max_tokens, seed=cfg.seed)

    async def solve(self, question: str, benchmark: Benchmark, log: CallLog) -> Solution:
        messages = question_messages(question, benchmark)
        comp = await log.chat(self.llm, messages, self.sampling, role="solver")
        return Solution(benchmark.extract(comp.text, comp.finish_reason))

    @staticmethod
    def replay(calls: list[Call], benchmark: Benchmark, settings: object = None) -> Solution:
        answers = stored_answers(calls, "solver", benchmark)
        return Solution(answers[-1] if answers else None)
