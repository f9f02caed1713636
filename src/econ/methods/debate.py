"""Multi-agent debate (Du et al. 2023): N agents answer, then revise after reading each other.

Round 1: each agent answers alone. Round r > 1: each agent sees its own previous answer and
the other agents' answers from round r-1, and answers again. The final answer is the majority
of the last round. Only the previous round is shown, which keeps prompts bounded.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from econ.llm.base import LLM, Message, Sampling
from econ.methods.base import MakeLLM, Method, Solution, closing, question_messages
from econ.methods.calls import CallLog
from econ.methods.voting import answered, last_round, majority, stored_answer
from econ.records import Call
from econ.tasks import Benchmark

if TYPE_CHECKING:
    from econ.config import RunConfig


def revision_messages(
    question: str, own: str, others: list[str], benchmark: Benchmark | None = None
) -> list[Message]:
    """Agent's view in round r > 1: its own last answer, then the others' last answers."""
    shown = "\n\n".join(f"Agent {k + 1} answered:\n{text.strip()}" for k, text in enumerate(others))
    return [
        *question_messages(question, benchmark),
        {"role": "assistant", "content": own},
        {
            "role": "user",
            "content": (
                f"Other agents answered the same problem.\n\n{shown}\n\n"
                "Weigh their reasoning against yours and give your updated solution. "
                + closing(benchmark)
            ),
        },
    ]


class Debate(Method):
    name = "debate"

    def __init__(
        self,
        llm: LLM,
        *,
        agents: int,
        rounds: int,
        temperature: float,
        max_tokens: int,
        seed: int,
    ):
        self.llm = llm
        self.agents = agents
        self.rounds = rounds
        self.sampling = Sampling(max_tokens=max_tokens, temperature=temperature, top_p=1.0)
        self.seed = seed

    @classmethod
    def from_config(cls, cfg: RunConfig, make_llm: MakeLLM) -> Debate:
        d = cfg.debate
        return cls(
            make_llm(cfg.model, cfg.llm),
            agents=d.agents,
            rounds=d.rounds,
            temperature=d.temperature,
            max_tokens=cfg.max_tokens,
            seed=cfg.seed,
        )

    async def solve(self, question: str, benchmark: Benchmark, log: CallLog) -> Solution:
        responses: list[str] = []
        finish: list[str | None] = []
        for r in range(1, self.rounds + 1):
            if r == 1:
                prompts = [question_messages(question, benchmark)] * self.agents
            else:
                prompts = [
                    revision_messages(
                        question, responses[i], responses[:i] + responses[i + 1 :], benchmark
                    )
                    for i in range(self.agents)
                ]
            asks = {
                i: (self.llm, prompts[i], replace(self.sampling, seed=self.seed + 1000 * r + i))
                for i in range(self.agents)
            }
            comps = await log.chat_each(asks, role="debater", round_no=r)
            responses = [c.text for c in comps]
            finish = [c.finish_reason for c in comps]
        answers = [benchmark.extract(t, f) for t, f in zip(responses, finish)]
        return Solution(majority(answers, benchmark), {"final_answers": answers})

    @staticmethod
    def replay(calls: list[Call], benchmark: Benchmark, settings: object = None) -> Solution:
        final = last_round(answered(calls, "debater"))
        answers = [stored_answer(c, benchmark) for c in final]
        return Solution(majority(answers, benchmark), {"final_answers": answers})
