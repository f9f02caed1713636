"""How a commitment becomes the system's answer, as pure functions shared by live runs and
`econ rescore`: the coordinator groups, their support counts, and the decision path."""

from __future__ import annotations

from econ.methods.base import majority
from econ.tasks import Benchmark


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


def decide(
    commit_calls: list[dict], answers: list[str | None], bench: Benchmark
) -> tuple[str | None, str]:
    """(answer, decided_by) from a commitment's calls (the commitment, then its re-ask if
    any, each {"response", "finish_reason"}): the first explicit answer, else the executors'
    majority. Prose is never read: a commitment discusses the solutions ("Solution 3 is also
    correct"), so a bare number there is not an answer."""
    for call, path in zip(commit_calls, ("commitment", "reask")):
        answer = bench.extract(call["response"], call.get("finish_reason"), explicit_only=True)
        if answer is not None:
            return answer, path
    return majority(answers, bench), "majority"
