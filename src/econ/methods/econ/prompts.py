"""The words ECON's coordinator and executors see. Kept apart so the protocol reads cleanly."""

from __future__ import annotations

import re

from econ.llm.base import Message
from econ.methods.base import ANSWER_FORMAT

STRATEGY_WORDS = 25  # well inside the 50-token strategy cap, so small models rarely hit it
SHOWN_CHARS = 600  # of each executor's response in a commitment prompt (about 150 tokens)
REASK_MAX_TOKENS = 48  # room for "\\boxed{...}" with a LaTeX answer, not for a new essay
# Where a strategy starts stating a value: dropped when the retry states one too.
_STATES_VALUE = re.compile(
    r"\\boxed|\b(?:the\s+)?(?:final\s+)?answer\s*(?:is|=|:)|####", re.IGNORECASE
)
# A sentence ends at . ! or ? before a space, but not the "2." of a numbered list item.
_SENTENCE_END = re.compile(r"(?<!^\d)(?<!^\d\d)(?<!\n\d)(?<!\n\d\d)[.!?](?=\s|$)")


def strategy_messages(question: str) -> list[Message]:
    return [
        {
            "role": "user",
            "content": (
                f"Problem:\n{question}\n\n"
                "You lead a team of solvers. In one or two sentences of at most "
                f"{STRATEGY_WORDS} words, say which quantities to work out and in what order. "
                "Describe the method only: do not calculate anything or give the answer."
            ),
        }
    ]


def trim_to_sentence(text: str) -> str:
    """A strategy cut off by the token cap, up to its last full sentence (or its last whole
    word when it has none): a half sentence misleads more than a shorter strategy."""
    ends = list(_SENTENCE_END.finditer(text))
    if ends:
        return text[: ends[-1].end()].strip()
    return text.rsplit(None, 1)[0].strip() if " " in text.strip() else text.strip()


_LIST_START = re.compile(r"(?:^|\n)[ \t]*1[.)][ \t]")


def trim_plan(text: str) -> str:
    """A strategy cut off by its token cap, as far as it is whole: its full sentences before
    any numbered list it had begun (a list cut after step 1 steers every executor to step 1's
    quantity, and its intro line says nothing alone), and "" when no full sentence is left."""
    start = _LIST_START.search(text)
    head = text[: start.start()] if start else text
    ends = list(_SENTENCE_END.finditer(head))
    return head[: ends[-1].end()].strip() if ends else ""


def drop_answer(text: str) -> str:
    """A strategy without the part where it starts stating a value."""
    cut = _STATES_VALUE.search(text)
    return trim_to_sentence(text[: cut.start()]) if cut else text


def executor_messages(question: str, strategy: str) -> list[Message]:
    hint = f"A coordinator suggests this strategy:\n{strategy}\n\n" if strategy else ""
    return [{"role": "user", "content": f"{question}\n\n{hint}{ANSWER_FORMAT}"}]


def condense(response: str, chars: int = SHOWN_CHARS) -> str:
    """A long response as its last `chars` characters, from a word boundary: the conclusion
    holds the answer and the steps that led to it, and the prompt label already states the
    answer, so the opening is what the coordinator can do without."""
    text = response.strip()
    if len(text) <= chars:
        return text
    tail = text[-chars:]
    cut = tail.find(" ")
    return "[...] " + (tail[cut + 1 :] if 0 <= cut < 40 else tail)


# How the coordinator states its commitment. "answer-first" ends the re-asks: the box comes
# before any reasoning, so a cap or a long re-derivation can no longer push it out.
DECIDE = {
    "reason-first": (
        "Check them against the problem and decide which final answer is correct. In one or "
        "two sentences say why, then give the final answer alone inside \\boxed{}."
    ),
    "answer-first": (
        "Check them against the problem and decide which final answer is correct. Start your "
        "reply with that final answer alone inside \\boxed{}, then say why in at most two "
        "sentences."
    ),
}


def commit_messages(
    question: str,
    strategy: str,
    responses: list[str],
    answers: list[str | None],
    *,
    fmt: str = "reason-first",
    shown_chars: int = SHOWN_CHARS,
) -> list[Message]:
    shown = "\n\n".join(
        f"Solution {k + 1} (answer: {a if a is not None else 'none found'}):\n"
        f"{condense(r, shown_chars)}"
        for k, (r, a) in enumerate(zip(responses, answers))
    )
    plan = f"Strategy:\n{strategy}\n\n" if strategy else ""
    return [
        {
            "role": "user",
            "content": (
                f"Problem:\n{question}\n\n{plan}Independent solutions:\n\n{shown}\n\n{DECIDE[fmt]}"
            ),
        }
    ]


def global_commit_messages(
    question: str,
    strategy: str,
    commitments: list[str],
    answers: list[str | None],
    support: list[tuple[int, int]],
    *,
    fmt: str = "reason-first",
    shown_chars: int = SHOWN_CHARS,
) -> list[Message]:
    shown = "\n\n".join(
        f"Group {k + 1} committed to {a if a is not None else 'no answer'} "
        f"({agree} of {size} of its solvers gave this answer):\n{condense(c, shown_chars)}"
        for k, (c, a, (agree, size)) in enumerate(zip(commitments, answers, support))
    )
    plan = f"Strategy:\n{strategy}\n\n" if strategy else ""
    return [
        {
            "role": "user",
            "content": (
                f"Problem:\n{question}\n\n{plan}Group decisions:\n\n{shown}\n\n{DECIDE[fmt]}"
            ),
        }
    ]


def reask_messages(messages: list[Message], commitment: str) -> list[Message]:
    """The short re-ask for a commitment that gave no explicit answer."""
    return [
        *messages,
        {"role": "assistant", "content": commitment},
        {
            "role": "user",
            "content": "State only your final answer, alone inside \\boxed{}, with no other text.",
        },
    ]


def commitment_summary(answer: str, why: str) -> str:
    """What a revising executor's observation holds instead of the strategy (stage 2)."""
    return f"The coordinator committed to {answer}. {why}".strip()


def rationale(commitment: str) -> str:
    """One line of the coordinator's reasoning, without the boxed answer itself."""
    text = commitment.split("\\boxed")[0]
    first = re.split(r"(?<=[.!?])\s", " ".join(text.split()), maxsplit=1)[0]
    return first[:200]


def revision_messages(
    question: str, strategy: str, own: str, *, committed: str, why: str
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
