"""The statistics behind every figure: accuracy with a 95% interval, cost per question, and
paired tests between methods that answered the same questions."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from econ.records import EvalRecord

SIGNIFICANCE = 0.05


def _wilson(p: float, n: float, z: float) -> tuple[float, float]:
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def wilson_interval(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval: honest at small n and at 0% or 100%, unlike the normal one."""
    if n == 0:
        return (0.0, 0.0)
    return _wilson(correct / n, n, z)


def clustered_interval(scores: list[float], attempts: int, z: float = 1.96) -> tuple[float, float]:
    """95% interval for mean accuracy when each question may have been answered in several epochs.

    `scores` holds each question's fraction of correct epochs; `attempts` counts all answers.
    Questions, not attempts, are the independent units: a question's epochs share its
    difficulty, so counting n x K attempts as independent trials would make the interval too
    narrow (Miller 2024, "Adding Error Bars to Evals"). This is the Wilson interval at the
    effective sample size n_eff = p(1 - p) / v, v the variance of the mean of the scores
    (Korn & Graubard 1998), capped at the attempts. Scores lie in [0, 1], so n_eff >= n; at
    p = 0 or 1 there is no variance to go on and n_eff = n. With one epoch the scores are 0 or 1,
    n_eff = n and this is `wilson_interval`, so intervals stay comparable across runs. Chosen
    over a t-interval on the per-epoch accuracies, which measures only the seed-to-seed spread
    on these same questions (and with 2-3 epochs has almost no degrees of freedom).
    """
    n = len(scores)
    if n == 0:
        return (0.0, 0.0)
    p = sum(scores) / n
    v = sum((x - p) ** 2 for x in scores) / (n * n)
    if p in (0.0, 1.0):
        n_eff = float(n)
    elif v == 0.0:  # every question scored the same fraction: no between-question spread
        n_eff = float(attempts)
    else:
        n_eff = min(float(attempts), p * (1 - p) / v)
    return _wilson(p, n_eff, z)


def summarize(records: list[EvalRecord], methods: list[str]) -> dict[str, dict]:
    """Per-method stats over all recorded questions (errors count as wrong).

    `n` counts questions and `epochs` the epochs seen. `accuracy` is the mean over questions of
    each question's fraction of correct epochs, which is the mean of `epoch_accuracy` when
    every question has every epoch, and `ci95` is `clustered_interval` (the Wilson interval
    with one epoch). `correct` and the per-question costs count attempts (a question in one
    epoch). `decided_by` counts which path gave ECON's answer (empty for other methods).
    """
    summary: dict[str, dict] = {}
    for name in methods:
        rows = [r for r in records if r.method == name]
        by_question: dict[str, list[bool]] = defaultdict(list)
        by_epoch: dict[int, list[bool]] = defaultdict(list)
        for r in rows:
            by_question[r.id].append(r.correct)
            by_epoch[r.epoch].append(r.correct)
        scores = [sum(v) / len(v) for v in by_question.values()]
        n = len(scores)
        lo, hi = clustered_interval(scores, len(rows))
        decided = Counter(r.details["decided_by"] for r in rows if "decided_by" in r.details)

        def per_q(key: str, rows: list[EvalRecord] = rows) -> float:
            return round(sum(getattr(r, key) for r in rows) / len(rows), 2) if rows else 0.0

        summary[name] = {
            "n": n,
            "epochs": len(by_epoch),
            "correct": sum(sum(v) for v in by_question.values()),
            "accuracy": round(sum(scores) / n, 4) if n else 0.0,
            "ci95": [round(lo, 4), round(hi, 4)],
            "epoch_accuracy": [round(sum(v) / len(v), 4) for _, v in sorted(by_epoch.items())],
            "prompt_tokens_per_q": per_q("prompt_tokens"),
            "completion_tokens_per_q": per_q("completion_tokens"),
            "calls_per_q": per_q("calls"),
            "seconds_per_q": per_q("latency_s"),
            "errors": sum(r.error is not None for r in rows),
            "decided_by": dict(sorted(decided.items())),
        }
    return summary


def paired_stats(records: list[EvalRecord], methods: list[str]) -> list[dict]:
    """McNemar's exact test of each method against the first one named.

    Accuracies of two methods on the same questions are correlated, so comparing their
    intervals wastes most of the evidence; McNemar's test looks only at the discordant pairs
    (one method right, the other wrong) and asks whether their split could come from a fair
    coin (two-sided exact binomial test; p = 1 without discordant pairs). Records pair by
    (question id, epoch) and only pairs both methods answered count. Pairs from one question's
    epochs are not independent, so with several epochs p is approximate and errs low.
    """
    from scipy.stats import binomtest  # here, not at the top: rendering needs no scipy

    if not methods:
        return []
    outcome: dict[str, dict[tuple[str, int], bool]] = {name: {} for name in methods}
    for r in records:
        if r.method in outcome:
            outcome[r.method][(r.id, r.epoch)] = r.correct
    first, *others = methods
    paired = []
    for other in others:
        a, b = outcome[first], outcome[other]
        shared = a.keys() & b.keys()
        only_a = sum(a[k] and not b[k] for k in shared)
        only_b = sum(b[k] and not a[k] for k in shared)
        discordant = only_a + only_b
        p_value = binomtest(only_a, discordant, 0.5).pvalue if discordant else 1.0
        paired.append(
            {
                "a": first,
                "b": other,
                "n": len(shared),
                "only_a": only_a,
                "only_b": only_b,
                "p_value": float(p_value),
            }
        )
    return paired
