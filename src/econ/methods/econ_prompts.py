"""The words ECON's coordinator and executors see. Kept apart so the protocol reads cleanly."""

from __future__ import annotations

import re

from econ.llm.base import Message
from econ.methods.base import ANSWER_FORMAT

STRATEGY_WORDS = 50
CONDENSE_CHARS = 1200
_STATES_ANSWER = re.compile(r"\\boxed|\bfinal answer\b|\banswer (?:is|=|:)", re.IGNORECASE)


def strategy_messages(question: str) -> list[Message]:
    return [
        {
            "role": "user",
            "content": (
                f"Problem:\n{question}\n\n"
                "You lead a team of solvers. Write a short strategy for this problem in at most "
                f"{STRATEGY_WORDS} words: which quantities to work out and in what order. "
                "Describe the method only. Do not calculate or state the final answer."
            ),
        }
    ]


def strategy_is_bad(text: str, finish_reason: str | None) -> bool:
    """Cut off by the token cap, or it gives the answer away (executors must reason themselves)."""
    return finish_reason == "length" or bool(_STATES_ANSWER.search(text))


def trim_strategy(text: str) -> str:
    """Last resort after a retry: drop any answer statement and keep the first 50 words."""
    cut = _STATES_ANSWER.search(text)
    if cut:
        text = text[: cut.start()]
    return " ".join(text.split()[:STRATEGY_WORDS])


def executor_messages(question: str, strategy: str) -> list[Message]:
    hint = f"A coordinator suggests this strategy:\n{strategy}\n\n" if strategy else ""
    return [{"role": "user", "content": f"{question}\n\n{hint}{ANSWER_FORMAT}"}]


def condense(response: str) -> str:
    """Long responses keep their opening and their conclusion, which holds the answer."""
    text = response.strip()
    if len(text) <= CONDENSE_CHARS:
        return text
    return f"{text[:300]}\n[...]\n{text[-(CONDENSE_CHARS - 300) :]}"


_DECIDE = (
    "Check them against the problem and decide which final answer is correct. In one or two "
    "sentences say why, then give the final answer alone inside \\boxed{}."
)


def commit_messages(
    question: str, strategy: str, responses: list[str], answers: list[str | None]
) -> list[Message]:
    shown = "\n\n".join(
        f"Solution {k + 1} (answer: {a if a is not None else 'none found'}):\n{condense(r)}"
        for k, (r, a) in enumerate(zip(responses, answers))
    )
    plan = f"Strategy:\n{strategy}\n\n" if strategy else ""
    return [
        {
            "role": "user",
            "content": (
                f"Problem:\n{question}\n\n{plan}Independent solutions:\n\n{shown}\n\n{_DECIDE}"
            ),
        }
    ]


def global_commit_messages(
    question: str,
    strategy: str,
    commitments: list[str],
    answers: list[str | None],
    support: list[tuple[int, int]],
) -> list[Message]:
    shown = "\n\n".join(
        f"Group {k + 1} committed to {a if a is not None else 'no answer'} "
        f"({agree} of {size} of its solvers gave this answer):\n{condense(c)}"
        for k, (c, a, (agree, size)) in enumerate(zip(commitments, answers, support))
    )
    plan = f"Strategy:\n{strategy}\n\n" if strategy else ""
    return [
        {
            "role": "user",
            "content": f"Problem:\n{question}\n\n{plan}Group decisions:\n\n{shown}\n\n{_DECIDE}",
        }
    ]


def rationale(commitment: str) -> str:
    """One line of the coordinator's reasoning, without the boxed answer itself."""
    text = commitment.split("\\boxed")[0]
    first = re.split(r"(?<=[.!?])\s", " ".join(text.split()), maxsplit=1)[0]
    return first[:200]


def revision_messages(
    question: str, strategy: str, own: str, committed: str, why: str
) -> list[Message]:
    """Stage 2: a dissenting executor sees only the committed answer and one line of rationale."""
    return [
        *executor_messages(question, strategy),
        {"role": "assistant", "content": own},
        {
            "role": "user",
            "content": (
                f"The coordinator committed to the answer {committed}. Reason given: {why}\n"
                "Check your solution once more. If you find a mistake, correct it; if you are "
                "sure you are right, keep your answer. End with the final answer alone inside "
                "\\boxed{}."
            ),
        },
    ]
