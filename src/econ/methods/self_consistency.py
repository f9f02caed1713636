"""Self-consistency (Wang et al. 2023): k independent samples, majority vote on the answers."""

from __future__ import annotations

from econ.config import RunConfig
from econ.llm import make_llm
from econ.methods.base import (
    CallLog,
    Method,
    Solution,
    answered,
    gather_all,
    majority,
    question_messages,
    stored_answer,
)
from econ.methods.registry import register
from econ.tasks import Benchmark


@register
class SelfConsistency(Method):
    name = "self_consistency"
    help = "k samples at temperature 0.7, majority vote"

    def __init__(self, cfg: RunConfig):
        self.llm = make_llm(cfg.model, cfg.llm)
        self.samples = cfg.self_consistency.samples
        self.temperature = cfg.self_consistency.temperature
        self.max_tokens = cfg.max_tokens
        self.seed = cfg.seed

    async def solve(self, question: str, benchmark: Benchmark, log: CallLog) -> Solution:
        messages = question_messages(question)
        # Distinct seeds: a fixed seed with the same prompt would give k identical samples.
        comps = await gather_all(
            *(
                log.chat(
                    self.llm,
                    messages,
                    role="sampler",
                    agent=i,
                    temperature=self.temperature,
                    top_p=1.0,
                    max_tokens=self.max_tokens,
                    seed=self.seed + i,
                )
                for i in range(self.samples)
            )
        )
        answers = [benchmark.extract(c.text, c.finish_reason) for c in comps]
        return Solution(majority(answers, benchmark), {"answers": answers})

    @staticmethod
    def replay(calls: list[dict], benchmark: Benchmark) -> Solution:
        answers = [stored_answer(c, benchmark) for c in answered(calls, "sampler")]
        return Solution(majority(answers, benchmark), {"answers": answers})
