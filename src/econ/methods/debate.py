"""Multi-agent debate (Du et al. 2023): N agents answer, then revise after reading each other.

Round 1: each agent answers alone. Round r > 1: each agent sees its own previous answer and
the other agents' answers from round r-1, and answers again. The final answer is the majority
of the last round. Only the previous round is shown, which keeps prompts bounded.
"""

from __future__ import annotations

from econ.config import RunConfig
from econ.llm import make_llm
from econ.llm.base import Message
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

DEBATE_TEMPERATURE = 0.7


def revision_messages(question: str, own: str, others: list[str]) -> list[Message]:
    """Agent's view in round r > 1: its own last answer, then the others' last answers."""
    shown = "\n\n".join(f"Agent {k + 1} answered:\n{text.strip()}" for k, text in enumerate(others))
    return [
        *question_messages(question),
        {"role": "assistant", "content": own},
        {
            "role": "user",
            "content": (
                f"Other agents answered the same problem.\n\n{shown}\n\n"
                "Weigh their reasoning against yours and give your updated solution. "
                "End with the final answer alone inside \\boxed{}."
            ),
        },
    ]


@register
class Debate(Method):
    name = "debate"
    help = "N agents over R rounds, each reading the others' last answers; majority vote"

    def __init__(self, cfg: RunConfig):
        self.llm = make_llm(cfg.model, cfg.llm)
        self.agents = cfg.debate.agents
        self.rounds = cfg.debate.rounds
        self.max_tokens = cfg.max_tokens
        self.seed = cfg.seed

    async def solve(self, question: str, benchmark: Benchmark, log: CallLog) -> Solution:
        responses: list[str] = []
        finish: list[str | None] = []
        for r in range(1, self.rounds + 1):
            if r == 1:
                prompts = [question_messages(question)] * self.agents
            else:
                prompts = [
                    revision_messages(question, responses[i], responses[:i] + responses[i + 1 :])
                    for i in range(self.agents)
                ]
            comps = await gather_all(
                *(
                    log.chat(
                        self.llm,
                        prompts[i],
                        role="debater",
                        round=r,
                        agent=i,
                        temperature=DEBATE_TEMPERATURE,
                        top_p=1.0,
                        max_tokens=self.max_tokens,
                        seed=self.seed + 1000 * r + i,
                    )
                    for i in range(self.agents)
                )
            )
            responses = [c.text for c in comps]
            finish = [c.finish_reason for c in comps]
        answers = [benchmark.extract(t, f) for t, f in zip(responses, finish)]
        return Solution(majority(answers, benchmark), {"final_answers": answers})

    @staticmethod
    def replay(calls: list[dict], benchmark: Benchmark) -> Solution:
        debaters = answered(calls, "debater")
        last = max((c["round"] for c in debaters), default=0)
        answers = [stored_answer(c, benchmark) for c in debaters if c["round"] == last]
        return Solution(majority(answers, benchmark), {"final_answers": answers})
