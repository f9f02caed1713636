"""How a commitment becomes the system's answer, as pure functions shared by live runs and
`econ rescore`: the coordinator groups, their support counts, when the executors settle a
question without a commitment call, and the decision path.

`decided_by` names the path: "unanimous" (every executor asked gave the same answer, no call;
with executors in two waves, the first wave alone may be every executor asked),
"vote" (a strict majority of executors agreed and the commitment may not overrule it: no call,
or an override without cause was refused), "commitment" / "reask" (the coordinator's explicit
answer, at the first ask or at the short re-ask), "majority" (the coordinator stated no answer,
so the executors' plurality decided).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from econ.methods.voting import majority
from econ.tasks import Benchmark

Override = Literal["always", "among", "never"]
"""When the commitment may overrule a strict majority of the executors: "always" (the paper's
protocol: the coordinator's explicit answer wins), "among" (only with an answer that some
executor gave, never a new one), "never" (a strict majority decides and no commitment call is
made; the coordinator decides only questions the executors split on)."""


def groups(n: int, size: int) -> list[list[int]]:
    """Executor indices in groups of `size` (the last may be smaller), one local coordinator
    per group."""
    return [list(range(k, min(k + size, n))) for k in range(0, n, size)]


def support(
    answers: list[str | None], local: list[str | None], grouped: list[list[int]], bench: Benchmark
) -> list[tuple[int, int]]:
    """(executors agreeing with their group's commitment, group size) per group."""
    return [
        (sum(bench.same_answer(answers[i], ans) for i in grp), len(grp))
        for ans, grp in zip(local, grouped)
    ]


def vote_count(answers: list[str | None], bench: Benchmark) -> tuple[str | None, int]:
    """The executors' plurality answer (ties to the earliest) and how many gave it."""
    vote = majority(answers, bench)
    if vote is None:
        return None, 0
    return vote, sum(bench.same_answer(a, vote) for a in answers)


def wave_size(n: int) -> int:
    """Executors in the first of two waves: the fewest that are a strict majority of all n, so
    that their agreement is the majority whatever the rest would say. With n <= 2 that is all
    of them (no second wave)."""
    return n // 2 + 1


def wave_answer(answers: list[str | None], bench: Benchmark) -> str | None:
    """The first wave's answer when every one of its executors gave the same one, else None
    (the second wave is asked)."""
    if not answers or any(a is None for a in answers):
        return None
    return answers[0] if all(bench.same_answer(a, answers[0]) for a in answers) else None


def settled(
    answers: list[str | None], bench: Benchmark, *, skip_unanimous: bool, override: Override
) -> tuple[str | None, str] | None:
    """(answer, decided_by) when the executors decide without a commitment call, else None.

    A unanimous answer needs no commitment when `skip_unanimous` is on; under override
    "never" a strict majority needs none either (the commitment could not change it).
    """
    vote, count = vote_count(answers, bench)
    if vote is None:
        return None
    if skip_unanimous and count == len(answers):
        return vote, "unanimous"
    if override == "never" and 2 * count > len(answers):
        return vote, "vote"
    return None


_CHOICE_RE = re.compile(r"\\boxed\s*\{\s*(?:plan\s*)?(\d+)\s*\}", re.IGNORECASE)


Reply = tuple[str, str | None]
"""A commitment call's text and finish reason, live or read back from a trace."""


def committed_answer(
    reply: Reply, bench: Benchmark, options: Mapping[int, str | None]
) -> str | None:
    """The answer a commitment call states explicitly. On a plan benchmark the coordinator
    names a plan by its number (`prompts.plan_commit_messages`): the first boxed number picks
    `options[number - 1]` (options: executor index -> its plan), None when it names no plan
    shown."""
    text, finish_reason = reply
    if bench.kind != "plan":
        return bench.extract(text, finish_reason, explicit_only=True)
    m = _CHOICE_RE.search(text)
    return options.get(int(m.group(1)) - 1) if m else None


def decide(
    replies: list[Reply],
    answers: list[str | None],
    bench: Benchmark,
    override: Override = "always",
    options: Mapping[int, str | None] | None = None,
) -> tuple[str | None, str]:
    """(answer, decided_by) from a commitment's calls (the commitment, then its re-ask if
    any): the first explicit answer, unless the override rule refuses it, else the
    executors' majority. Prose is never read: a commitment discusses
    the solutions ("Solution 3 is also correct"), so a bare number there is not an answer.
    `options` are the plans a plan commitment could name (default: `answers` by position)."""
    vote, count = vote_count(answers, bench)
    shown = dict(enumerate(answers)) if options is None else options
    for reply, path in zip(replies, ("commitment", "reask")):
        answer = committed_answer(reply, bench, shown)
        if answer is None:
            continue
        strict = vote is not None and 2 * count > len(answers)
        new = not any(bench.same_answer(answer, a) for a in answers)
        if strict and not bench.same_answer(answer, vote) and override != "always":
            if override == "never" or new:
                return vote, "vote"
        return answer, path
    return vote, "majority"
