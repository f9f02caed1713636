"""From records to numbers a reader can trust: accuracy with a 95% interval, cost per question,
and paired tests between methods that answered the same questions."""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

from econ.plots import plot_accuracy_vs_tokens
from econ.runs import SUMMARY

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


def _epoch(record: dict) -> int:
    """Records of a run without epochs carry none: they are epoch 0."""
    return int(record.get("epoch", 0))


def summarize(records: list[dict], methods: list[str]) -> dict[str, dict]:
    """Per-method stats over all recorded questions (errors count as wrong).

    `n` counts questions and `epochs` the epochs seen. `accuracy` is the mean over questions of
    each question's fraction of correct epochs, which is the mean of `epoch_accuracy` when
    every question has every epoch, and `ci95` is `clustered_interval` (the Wilson interval
    with one epoch). `correct` and the per-question costs count attempts (a question in one
    epoch). `decided_by` counts which path gave ECON's answer (empty for other methods).
    """
    summary: dict[str, dict] = {}
    for name in methods:
        rows = [r for r in records if r["method"] == name]
        by_question: dict[str, list[bool]] = defaultdict(list)
        by_epoch: dict[int, list[bool]] = defaultdict(list)
        for r in rows:
            by_question[r["id"]].append(bool(r["correct"]))
            by_epoch[_epoch(r)].append(bool(r["correct"]))
        scores = [sum(v) / len(v) for v in by_question.values()]
        n = len(scores)
        lo, hi = clustered_interval(scores, len(rows))
        decided = Counter(
            r["details"]["decided_by"] for r in rows if "decided_by" in (r.get("details") or {})
        )

        def per_q(key: str, rows: list[dict] = rows) -> float:
            return round(sum(r[key] for r in rows) / len(rows), 2) if rows else 0.0

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
            "errors": sum(r["error"] is not None for r in rows),
            "decided_by": dict(sorted(decided.items())),
        }
    return summary


def paired_stats(records: list[dict], methods: list[str]) -> list[dict]:
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
        if r["method"] in outcome:
            outcome[r["method"]][(r["id"], _epoch(r))] = bool(r["correct"])
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


def markdown_rows(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A markdown table: one line per row, whatever its width, so it stays valid when piped."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown_table(summary: dict[str, dict]) -> str:
    """One row per method; an `n` of 30x3 means 30 questions in 3 epochs each."""
    decided = any(s["decided_by"] for s in summary.values())
    header = ["method", "n", "accuracy", "95% CI", "prompt tok/q", "completion tok/q", "calls/q"]
    header += ["s/q", "errors"] + (["decided by"] if decided else [])
    rows = []
    for name, s in summary.items():
        lo, hi = s["ci95"]
        n = f"{s['n']}x{s['epochs']}" if s["epochs"] > 1 else str(s["n"])
        row = [
            name, n, f"{s['accuracy']:.1%}", f"{lo:.1%}-{hi:.1%}",
            f"{s['prompt_tokens_per_q']:.0f}", f"{s['completion_tokens_per_q']:.0f}",
            f"{s['calls_per_q']:.1f}", f"{s['seconds_per_q']:.1f}", s["errors"],
        ]  # fmt: skip
        if decided:
            counts = ", ".join(f"{path} {count}" for path, count in s["decided_by"].items())
            row.append(counts or "-")
        rows.append(row)
    text = markdown_rows(header, rows)
    if any(s["epochs"] > 1 for s in summary.values()):
        text += (
            "\n\nn x K: n questions, each answered in K epochs. Accuracy is the mean over epochs; "
            "its interval treats questions, not attempts, as the independent units."
        )
    return text


def paired_markdown(paired: list[dict], epochs: int) -> str:
    """The paired tests as a table, then one sentence per pair saying whether it is significant."""
    table = markdown_rows(
        ["a", "b", "pairs", "only a right", "only b right", "p"],
        [[p["a"], p["b"], p["n"], p["only_a"], p["only_b"], f"{p['p_value']:.3g}"] for p in paired],
    )
    lines = [f"## Paired comparison against {paired[0]['a']} (McNemar exact test)", "", table, ""]
    for p in paired:
        if p["n"] == 0:
            lines.append(f"- {p['b']} vs {p['a']}: no question answered by both.")
            continue
        verdict = "significant" if p["p_value"] < SIGNIFICANCE else "not significant"
        lines.append(
            f"- {p['b']} vs {p['a']}: {verdict} at {SIGNIFICANCE} (p = {p['p_value']:.3g}); "
            f"of {p['n']} pairs, {p['only_b']} only {p['b']} got right and "
            f"{p['only_a']} only {p['a']}."
        )
    if epochs > 1:
        lines.append(
            f"\nPairs are (question, epoch) over {epochs} epochs; one question's epochs are not "
            "independent, so these p-values are approximate and err low."
        )
    return "\n".join(lines)


def report_markdown(summary: dict[str, dict], paired: list[dict]) -> str:
    """The summary table, then the paired tests when there are any: summary.md's body."""
    text = markdown_table(summary)
    if paired:
        text += "\n\n" + paired_markdown(paired, max(s["epochs"] for s in summary.values()))
    return text


# Columns of `--format csv`, one row per method; ci95 and the lists become plain cells.
CSV_COLUMNS = (
    "method", "n", "epochs", "correct", "accuracy", "ci95_low", "ci95_high", "epoch_accuracy",
    "prompt_tokens_per_q", "completion_tokens_per_q", "calls_per_q", "seconds_per_q", "errors",
)  # fmt: skip


def summary_csv(summary: dict[str, dict]) -> str:
    """One row per method, a column per number; `epoch_accuracy` is space-separated, and
    ECON's `decided_by` counts get a column per path (decided_by_commitment, ...)."""
    paths = sorted({path for s in summary.values() for path in s["decided_by"]})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CSV_COLUMNS, *(f"decided_by_{path}" for path in paths)])
    for name, s in summary.items():
        cells = {
            **s,
            "method": name,
            "ci95_low": s["ci95"][0],
            "ci95_high": s["ci95"][1],
            "epoch_accuracy": " ".join(str(a) for a in s["epoch_accuracy"]),
        }
        writer.writerow(
            [cells[c] for c in CSV_COLUMNS] + [s["decided_by"].get(path, 0) for path in paths]
        )
    return out.getvalue().rstrip("\n")


def render_report(report: dict, fmt: str) -> str:
    """summary.json's content (`{"methods", "paired"}`) as `--format` asks: md (the tables of
    summary.md), json (the file's content as it is) or csv (`summary_csv`)."""
    if fmt == "json":
        return json.dumps(report, indent=2)
    if fmt == "csv":
        return summary_csv(report["methods"])
    return report_markdown(report["methods"], report["paired"])


def write_report(
    run_dir: Path, summary: dict[str, dict], title: str, *, paired: list[dict]
) -> None:
    """summary.json is {"methods": summary, "paired": paired}; summary.md shows both tables.

    `paired` is required so that no caller rewrites a comparison's summary without its tests.
    """
    report = {"methods": summary, "paired": paired}
    (run_dir / SUMMARY).write_text(json.dumps(report, indent=2))
    (run_dir / "summary.md").write_text(f"# {title}\n\n{report_markdown(summary, paired)}\n")
    plot_accuracy_vs_tokens(summary, run_dir / "accuracy_vs_tokens.png", title)


def read_report(run_dir: Path) -> dict:
    """A run's summary.json, as `write_report` wrote it."""
    return json.loads((run_dir / SUMMARY).read_text())


def print_solution(console, result) -> None:
    """`econ solve`'s view of one ECON result: strategy, each executor's controls and answer,
    the commitment and how it was decided, and the cost."""
    from rich.table import Table

    console.print(f"[bold]strategy[/bold]: {result.strategy or '(none)'}")
    names = list(result.executors[0].controls) if result.executors else []
    table = Table("executor", "model", *names, "answer", "finish", "tokens")
    for i, e in enumerate(result.executors):
        table.add_row(
            str(i),
            e.model,
            *(f"{e.controls[k]:.2f}" for k in names),
            str(e.answer),
            str(e.finish_reason),
            str(e.completion_tokens),
        )
    console.print(table)
    console.print(f"[bold]commitment[/bold] ({result.decided_by}): {result.commitment.strip()}")
    u = result.usage
    console.print(
        f"[bold]answer: {result.answer}[/bold]   rounds {result.rounds}   "
        f"tokens {u.prompt_tokens} prompt + {u.completion_tokens} completion "
        f"in {u.calls} calls   {result.seconds:.1f} s"
    )
