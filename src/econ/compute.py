"""Methods judged at matched compute, from a run's stored calls alone (no LLM call).

The field's bar for a multi-agent method is majority voting at the same tokens, so every run
also reports:

- **SC@k**: a self-consistency run with K samples holds every sample, so voting over the first
  k of them (ties to the earliest, as live) scores self-consistency at every k <= K; its cost is
  those k calls' tokens. Rows are named `<method>@<k>`.
- **ECON's own calls, replayed**: the executors' round-0 majority (`<method>:majority`, costing
  the strategy and executor calls only), how often the commitment overrode that majority
  and whether each override was right, and executors in two waves (`<method>:two-wave`): the
  first `wave_size(N)` executors alone, and when they all give the same answer that answer at
  their cost; otherwise the run's own outcome at its full cost. Round-0 executors never see
  each other, so this is exactly what a live run in two waves would have done and paid.
- **The verdict at matched tokens**: each other method against self-consistency at the
  smallest k whose tokens per question are at or above the method's own, paired on the same
  questions (McNemar exact).

The derived rows are ordinary `EvalRecord`s (the question's record with the method, answer,
cost and calls it would have had), so `summarize` and `paired_stats` score them exactly as
they score a method that was run.
"""

from __future__ import annotations

from collections import defaultdict

from econ.methods.econ.commit import wave_answer, wave_size
from econ.methods.voting import answered, majority, stored_answer
from econ.records import Call, EvalRecord
from econ.stats import paired_stats, summarize
from econ.tasks import Benchmark
from econ.tasks.plans.checks import run_plan_metrics


def tokens(calls: list[Call]) -> int:
    return sum(c.prompt_tokens + c.completion_tokens for c in calls)


def _row(
    rec: EvalRecord, method: str, prediction: str | None, calls: list[Call], bench: Benchmark
) -> EvalRecord:
    """A derived record: what `method` would have answered and spent on `rec`'s question,
    with the calls it would have made as its trace."""
    return rec.model_copy(
        update={
            "method": method,
            "prediction": prediction,
            "correct": rec.error is None and bool(bench.grade(prediction, rec.gold)),
            "prompt_tokens": sum(c.prompt_tokens for c in calls),
            "completion_tokens": sum(c.completion_tokens for c in calls),
            "calls": sum(c.requests for c in calls),
            "latency_s": max((c.latency_s for c in calls), default=0.0),
            "details": {},
            "trace": calls,
        }
    )


def sc_prefix_records(records: list[EvalRecord], bench: Benchmark) -> dict[str, list[EvalRecord]]:
    """Per self-consistency method (any whose calls are "sampler" calls): the rows of SC@k for
    k = 1..K, K the most samples any of its records holds."""
    by_method: dict[str, list[EvalRecord]] = defaultdict(list)
    for rec in records:
        if any(c.role == "sampler" for c in rec.trace):
            by_method[rec.method].append(rec)
    rows: dict[str, list[EvalRecord]] = {}
    for method, recs in by_method.items():
        top = max(1 + max(c.agent or 0 for c in r.trace if c.role == "sampler") for r in recs)
        rows[method] = []
        for rec in recs:
            done = answered(rec.trace, "sampler")
            for k in range(1, top + 1):
                used = [c for c in rec.trace if c.role == "sampler" and (c.agent or 0) < k]
                answers = [stored_answer(c, bench) for c in done if (c.agent or 0) < k]
                vote = majority(answers, bench)
                rows[method].append(_row(rec, f"{method}@{k}", vote, used, bench))
    return rows


def _round0_answers(rec: EvalRecord, bench: Benchmark) -> list[str | None]:
    calls = [c for c in answered(rec.trace, "executor") if c.round == 0]
    return [stored_answer(c, bench) for c in calls]


def _two_wave(rec: EvalRecord, bench: Benchmark) -> EvalRecord:
    """The record as executors in two waves would have left it (see the module docstring)."""
    name = f"{rec.method}:two-wave"
    round0 = [c for c in rec.trace if c.round == 0]
    n = 1 + max(c.agent or 0 for c in round0 if c.role == "executor")
    w = wave_size(n)
    first = [c for c in answered(round0, "executor") if (c.agent or 0) < w]
    answer = wave_answer([stored_answer(c, bench) for c in first], bench)
    if w == n or len(first) < w or answer is None:
        return _row(rec, name, rec.prediction, rec.trace, bench)
    used = [
        c for c in round0 if c.role == "strategy" or c.role == "executor" and (c.agent or 0) < w
    ]
    return _row(rec, name, answer, used, bench)


def econ_replays(
    records: list[EvalRecord], bench: Benchmark
) -> tuple[list[EvalRecord], dict[str, dict]]:
    """Per ECON method (any with "executor" calls): the rows of its executors' majority and of
    two waves, and the override counts of its commitment against that majority."""
    rows: list[EvalRecord] = []
    counts: dict[str, dict] = {}
    for rec in records:
        if rec.method == "econ-vote" or not any(c.role == "executor" for c in rec.trace):
            continue
        answers = _round0_answers(rec, bench)
        vote = majority(answers, bench)
        used = [c for c in rec.trace if c.role in ("strategy", "executor") and c.round == 0]
        row = _row(rec, f"{rec.method}:majority", vote, used, bench)
        rows += [row, _two_wave(rec, bench)]
        c = counts.setdefault(
            rec.method,
            {"questions": 0, "unanimous": 0, "overrides": 0, "wrong_to_right": 0,
             "right_to_wrong": 0, "wrong_to_wrong": 0},
        )  # fmt: skip
        if rec.error is not None:
            continue
        c["questions"] += 1
        valid = [a for a in answers if a is not None]
        c["unanimous"] += (
            bool(valid)
            and len(valid) == len(answers)
            and all(bench.same_answer(a, vote) for a in valid)
        )
        if vote is None or rec.prediction is None or bench.same_answer(rec.prediction, vote):
            continue
        c["overrides"] += 1
        if rec.correct:
            c["wrong_to_right"] += 1
        elif row.correct:
            c["right_to_wrong"] += 1
        else:
            c["wrong_to_wrong"] += 1
    return rows, counts


def matched_pairs(summary: dict[str, dict], curves: dict[str, list[str]]) -> list[tuple]:
    """(method, SC method, k, covers) for every method that is not a self-consistency curve:
    the smallest k whose tokens per question are at or above the method's (covers True), or
    the largest k when even SC@K costs less (covers False)."""

    def cost(name: str) -> float:
        return summary[name]["prompt_tokens_per_q"] + summary[name]["completion_tokens_per_q"]

    points = {n for names in curves.values() for n in names}
    pairs = []
    for method in summary:
        if method in curves or method in points:
            continue
        for sc, names in curves.items():
            above = [n for n in names if cost(n) >= cost(method)]
            pick = above[0] if above else names[-1]
            pairs.append((method, sc, int(pick.rsplit("@", 1)[1]), bool(above)))
    return pairs


_KEEP = ("n", "correct", "accuracy", "ci95", "prompt_tokens_per_q", "completion_tokens_per_q")


def _brief(s: dict) -> dict:
    return {k: s[k] for k in _KEEP} | {
        "tokens_per_q": round(s["prompt_tokens_per_q"] + s["completion_tokens_per_q"], 2)
    }


def compute_section(records: list[EvalRecord], methods: list[str], bench: Benchmark) -> dict | None:
    """summary.json's "compute": {"curves": {sc: [{k, n, correct, accuracy, ci95,
    tokens_per_q, ...}]}, "replays": {econ: {"majority": {...}, "questions", "unanimous",
    "overrides", "wrong_to_right", "right_to_wrong", "wrong_to_wrong"}}, "matched": [{method,
    against, covers, tokens_per_q, against_tokens_per_q, n, correct, against_correct, only_a,
    only_b, p_value}]}; None for a run with neither self-consistency nor ECON."""
    prefix = sc_prefix_records(records, bench)
    replay_rows, overrides = econ_replays(records, bench)
    if not prefix and not replay_rows:
        return None
    curve_names = {
        m: sorted({r.method for r in rows}, key=lambda n: int(n.rsplit("@", 1)[1]))
        for m, rows in prefix.items()
    }
    replay_names = [f"{m}:{kind}" for m in overrides for kind in ("majority", "two-wave")]
    rows = records + replay_rows + [r for rs in prefix.values() for r in rs]
    everything = [m for m in methods if m not in curve_names] + replay_names
    summary = summarize(rows, everything + [n for names in curve_names.values() for n in names])
    matched = []
    for method, sc, k, covers in matched_pairs(summary, curve_names):
        against = f"{sc}@{k}"
        (pair,) = paired_stats(rows, [method, against])
        matched.append(
            {
                "method": method,
                "against": against,
                "covers": covers,
                "tokens_per_q": _brief(summary[method])["tokens_per_q"],
                "against_tokens_per_q": _brief(summary[against])["tokens_per_q"],
                "n": pair["n"],
                "correct": summary[method]["correct"],
                "against_correct": summary[against]["correct"],
                "only_a": pair["only_a"],
                "only_b": pair["only_b"],
                "p_value": pair["p_value"],
            }
        )
    return {
        "curves": {
            m: [{"k": int(n.rsplit("@", 1)[1]), **_brief(summary[n])} for n in names]
            for m, names in curve_names.items()
        },
        "replays": {
            m: {
                "majority": _brief(summary[f"{m}:majority"]),
                "two_wave": _brief(summary[f"{m}:two-wave"]),
                **counts,
            }
            for m, counts in overrides.items()
        },
        "matched": matched,
    }


def build_report(records: list[EvalRecord], methods: list[str], bench: Benchmark) -> dict:
    """summary.json's content: {"methods": summarize, "paired": paired_stats, "compute":
    compute_section, "plans": TravelPlanner's metrics per method} ("compute" only when there
    is one, "plans" only on a plan benchmark)."""
    report = {"methods": summarize(records, methods), "paired": paired_stats(records, methods)}
    if (section := compute_section(records, methods, bench)) is not None:
        report["compute"] = section
    if bench.kind == "plan":
        report["plans"] = run_plan_metrics(records, methods)
    return report
