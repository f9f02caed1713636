"""Self-consistency (Wang et al. 2023): k independent samples, majority vote on the answers."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from econ.llm.base import LLM, Sampling
from econ.methods.base import MakeLLM, Method, Solution, question_messages
from econ.methods.calls import CallLog
from econ.methods.voting import majority, stored_answers
from econ.records import Call
from econ.tasks import Benchmark

if TYPE_CHECKING:
    from econ.config import RunConfig


class SelfConsistency(Method):
    name = "self_consistency"

    def __init__(self, llm: LLM, *, samples: int, temperature: float, max_tokens: int, seed: int):
        self.llm = llm
        self.samples = samples
        self.sampling = Sampling(max_tokens=max_tokens, temperature=temperature, top_p=1.0)
        self.seed = seed

    @classmethod
    def from_config(cls, cfg: RunConfig, make_llm: MakeLLM) -> SelfConsistency:
        sc = cfg.self_consistency
        return cls(
            make_llm(cfg.model, cfg.llm),
            samples=sc.samples,
            temperature=cls.temperature_of(cfg),
            max_tokens=cfg.max_tokens,
            seed=cfg.seed,
        )

    @staticmethod
    def temperature_of(cfg: RunConfig) -> float:
        return cfg.self_consistency.temperature

    async def solve(self, question: str, benchmark: Benchmark, log: CallLog) -> Solution:
        messages = question_messages(question, benchmark)
        # Distinct seeds: a fixed seed with the same prompt would give k identical samples.
        asks = {
            i: (self.llm, messages, replace(self.sampling, seed=self.seed + i))
            for i in range(self.samples)
        }
        comps = await log.chat_each(asks, role="sampler")
        answers = [benchmark.extract(c.text, c.finish_reason) for c in comps]
        return Solution(majority(answers, benchmark), {"answers": answers})

    @staticmethod
    def replay(calls: list[Call], benchmark: Benchmark, settings: object = None) -> Solution:
        answers = stored_answers(calls, "sampler", benchmark)
        return Solution(majority(answers, benchmark), {"answers": answers})


class SelfConsistencyMatchedT(SelfConsistency):
    """Self-consistency sampled at the temperature ECON's executors use: a gain of ECON over
    self-consistency at 0.7 can then be told apart from a colder sampler."""

    name = "self_consistency-matched-t"

    @staticmethod
    def temperature_of(cfg: RunConfig) -> float:
        return cfg.executor_temperature()
