"""Answers read back from stored calls, and the vote over them: what self-consistency, debate,
ECON's executors and every replay (`econ rescore`, matched compute) count the same way."""

from __future__ import annotations

from collections import Counter

from econ.records import Call
from econ.tasks import Benchmark


def answered(calls: list[Call], role: str) -> list[Call]:
    """The stored calls of one role that returned a response (failed attempts hold none), in
    agent order: the trace lists calls as they finished, but a vote counts them by agent
    (ties go to the earliest agent), so a replay must too. The sort is stable, so calls of
    one agent (a commitment, then its re-ask) keep their order."""
    done = [c for c in calls if c.role == role and c.response is not None]
    return sorted(done, key=lambda c: -1 if c.agent is None else c.agent)


def stored_answer(call: Call, benchmark: Benchmark) -> str | None:
    """A stored call's answer, read the way a live run reads it."""
    return benchmark.extract(call.response or "", call.finish_reason)


def stored_answers(calls: list[Call], role: str, benchmark: Benchmark) -> list[str | None]:
    """The answers of one role's stored calls that returned a response, in order."""
    return [stored_answer(c, benchmark) for c in answered(calls, role)]


def last_round(calls: list[Call]) -> list[Call]:
    """The calls of the latest round among `calls` (a revised answer replaces the earlier)."""
    last = max((c.round for c in calls), default=0)
    return [c for c in calls if c.round == last]


def majority(answers: list[str | None], benchmark: Benchmark) -> str | None:
    """Most common answer by the benchmark's notion of equality; ties go to the earliest."""
    keys = [benchmark.normalize(a) for a in answers]
    counts = Counter(k for k in keys if k is not None)
    if not counts:
        return None
    best = max(counts.values())
    for answer, key in zip(answers, keys):
        if key is not None and counts[key] == best:
            return answer
    return None
