"""The words ECON's coordinator and executors see. Kept apart so the protocol reads cleanly."""

from __future__ import annotations

import re

from econ.llm.base import Message
from econ.methods.base import answer_format, closing
from econ.tasks import Benchmark
from econ.tasks.plans.schema import load_plan, render_plan

STRATEGY_WORDS = 25  # well inside the 50-token strategy cap, so small models rarely hit it
SHOWN_CHARS = 600  # of each executor's response in a commitment prompt (about 150 tokens)
REASK_MAX_TOKENS = 48  # room for "\\boxed{...}" with a LaTeX answer, not for a new essay
# Where a strategy starts stating a value: dropped when the retry states one too.
_STATES_VALUE = re.compile(
    r"\\boxed|\b(?:the\s+)?(?:final\s+)?answer\s*(?:is|=|:)|####", re.IGNORECASE
)
# A sentence ends at . ! or ? before a space, but not the "2." of a numbered list item.
_SENTENCE_END = re.compile(r"(?<!^\d)(?<!^\d\d)(?<!\n\d)(?<!\n\d\d)[.!?](?=\s|$)")


def strategy_messages(question: str, bench: Benchmark | None = None) -> list[Message]:
    if bench is not None and bench.kind == "plan":
        ask = (
            "You lead a team of travel planners. In one or two sentences of at most "
            f"{STRATEGY_WORDS} words, say which choices to make first and which constraints "
            "(budget, house rules, cuisines, room type, transportation) matter most. Do not "
            "write the plan."
        )
    else:
        ask = (
            "You lead a team of solvers. In one or two sentences of at most "
            f"{STRATEGY_WORDS} words, say which quantities to work out and in what order. "
            "Describe the method only: do not calculate anything or give the answer."
        )
    return [{"role": "user", "content": f"Problem:\n{question}\n\n{ask}"}]


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


def executor_messages(
    question: str, strategy: str, bench: Benchmark | None = None
) -> list[Message]:
    hint = f"A coordinator suggests this strategy:\n{strategy}\n\n" if strategy else ""
    return [{"role": "user", "content": f"{question}\n\n{hint}{answer_format(bench)}"}]


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


# A plan commitment names a plan by its number: copying a whole plan out would cost as many
# tokens as writing it, and a copy can only add mistakes.
DECIDE_PLAN = {
    "reason-first": (
        "Check each plan against the query and the given information: the days and cities, "
        "the budget, the house rules, cuisines, room type and transportation asked for, and "
        "that every name is in the given information. In one or two sentences say why, then "
        "give the number of the best plan alone inside \\boxed{}, for example \\boxed{2}."
    ),
    "answer-first": (
        "Check each plan against the query and the given information: the days and cities, "
        "the budget, the house rules, cuisines, room type and transportation asked for, and "
        "that every name is in the given information. Start your reply with the number of the "
        "best plan alone inside \\boxed{}, for example \\boxed{2}, then say why in at most "
        "two sentences."
    ),
}


def shown_plan(answer: str | None) -> str:
    plan = load_plan(answer)
    return render_plan(plan) if plan else "no plan given"


def plan_commit_messages(
    question: str, strategy: str, plans: dict[int, str | None], *, fmt: str = "reason-first"
) -> list[Message]:
    """The commitment over plans, each shown under its executor's number (`plans`: executor
    index -> its plan), so that a choice reads the same in every group and in a replay."""
    shown = "\n\n".join(f"Plan {i + 1}:\n{shown_plan(p)}" for i, p in plans.items())
    head = f"Strategy:\n{strategy}\n\n" if strategy else ""
    return [
        {
            "role": "user",
            "content": (
                f"Problem:\n{question}\n\n{head}Candidate plans:\n\n{shown}\n\n{DECIDE_PLAN[fmt]}"
            ),
        }
    ]


def reask_messages(
    messages: list[Message], commitment: str, bench: Benchmark | None = None
) -> list[Message]:
    """The short re-ask for a commitment that gave no explicit answer."""
    plan = bench is not None and bench.kind == "plan"
    what = "the number of the plan you choose" if plan else "your final answer"
    return [
        *messages,
        {"role": "assistant", "content": commitment},
        {
            "role": "user",
            "content": f"State only {what}, alone inside \\boxed{{}}, with no other text.",
        },
    ]


def commitment_summary(answer: str, why: str, bench: Benchmark | None = None) -> str:
    """What a revising executor's observation holds instead of the strategy (stage 2)."""
    shown = shown_plan(answer) if bench is not None and bench.kind == "plan" else answer
    return f"The coordinator committed to {shown}. {why}".strip()


def rationale(commitment: str) -> str:
    """One line of the coordinator's reasoning, without the boxed answer itself."""
    text = commitment.split("\\boxed")[0]
    first = re.split(r"(?<=[.!?])\s", " ".join(text.split()), maxsplit=1)[0]
    return first[:200]


def revision_messages(
    question: str,
    strategy: str,
    own: str,
    *,
    committed: str,
    why: str,
    bench: Benchmark | None = None,
) -> list[Message]:
    """Stage 2: a dissenting executor sees only the committed answer and one line of rationale."""
    if bench is not None and bench.kind == "plan":
        what = f"this plan:\n{shown_plan(committed)}\n"
    else:
        what = f"the answer {committed}. "
    return [
        *executor_messages(question, strategy, bench),
        {"role": "assistant", "content": own},
        {
            "role": "user",
            "content": (
                f"The coordinator committed to {what}Reason given: {why}\n"
                "Check your solution once more. If you find a mistake, correct it; if you are "
                f"sure you are right, keep your answer. {closing(bench)}"
            ),
        },
    ]
