"""From a run's numbers to what a reader sees: summary.json, summary.md, the plot, the
`--format` renderings and `econ solve`'s view. The statistics are `econ.stats`'; the derived
rows that judge methods at matched compute are `econ.compute`'s."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path

from econ.plots import plot_accuracy_vs_tokens
from econ.runs import SUMMARY
from econ.stats import SIGNIFICANCE


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


def report_markdown(
    summary: dict[str, dict],
    paired: list[dict],
    compute: dict | None = None,
    plans: dict | None = None,
) -> str:
    """The summary table, then the paired tests when there are any, then the figures at
    matched compute (`econ.compute`) when the run has them, then a plan benchmark's official
    metrics: summary.md's body."""
    text = markdown_table(summary)
    if plans:
        text += "\n\n" + plans_markdown(plans)
    if paired:
        text += "\n\n" + paired_markdown(paired, max(s["epochs"] for s in summary.values()))
    if compute:
        text += "\n\n" + compute_markdown(compute, SIGNIFICANCE)
    return text


def plans_markdown(plans: dict[str, dict]) -> str:
    """TravelPlanner's official metrics per method (`econ.tasks.plans.checks.plan_metrics`);
    accuracy in the table above is the final pass rate."""
    keys = ("delivery_rate", "commonsense_micro", "commonsense_macro", "hard_micro",
            "hard_macro", "final_pass")  # fmt: skip
    rows = [[m, p["n"], *(f"{p[k]:.1%}" for k in keys)] for m, p in plans.items() if p["n"]]
    header = ["method", "plans", "delivery", "commonsense micro", "commonsense macro",
              "hard micro", "hard macro", "final pass"]  # fmt: skip
    return "## Plan constraints (TravelPlanner's metrics)\n\n" + markdown_rows(header, rows)


def compute_markdown(section: dict, significance: float) -> str:
    """The curve table, the replayed ablations and one line per matched verdict."""
    lines = []
    if section["curves"]:
        rows = [
            [m, c["k"], c["n"], f"{c['accuracy']:.1%}", f"{c['ci95'][0]:.1%}-{c['ci95'][1]:.1%}",
             f"{c['tokens_per_q']:.0f}"]
            for m, curve in section["curves"].items() for c in curve
        ]  # fmt: skip
        lines += [
            "## Self-consistency at every k (vote over the first k samples, no extra calls)",
            "",
            markdown_rows(["method", "k", "n", "accuracy", "95% CI", "tokens/q"], rows),
            "",
        ]
    if section["replays"]:
        rows = [
            [m, f"{r['majority']['accuracy']:.1%}",
             f"{r['majority']['ci95'][0]:.1%}-{r['majority']['ci95'][1]:.1%}",
             f"{r['majority']['tokens_per_q']:.0f}", f"{r['two_wave']['accuracy']:.1%}",
             f"{r['two_wave']['tokens_per_q']:.0f}", r["unanimous"], r["overrides"],
             r["wrong_to_right"], r["right_to_wrong"], r["wrong_to_wrong"]]
            for m, r in section["replays"].items()
        ]  # fmt: skip
        header = ["method", "executors' majority", "95% CI", "tokens/q", "two waves", "tokens/q",
                  "unanimous",
                  "overrides", "wrong -> right", "right -> wrong", "wrong -> wrong"]  # fmt: skip
        lines += [
            "## ECON's own calls, replayed: the executors' majority, executors in two waves, "
            "and the commitment's overrides of the majority",
            "",
            markdown_rows(header, rows),
            "",
        ]
    if section["matched"]:
        lines += ["## At matched tokens (McNemar exact, same questions)", ""]
        for m in section["matched"]:
            verdict = "significant" if m["p_value"] < significance else "not significant"
            note = "" if m["covers"] else f"; {m['against']} is the most samples and costs less"
            lines.append(
                f"- at matched tokens: {m['method']} {m['correct']}/{m['n']} vs {m['against']} "
                f"{m['against_correct']}/{m['n']} ({m['tokens_per_q']:.0f} vs "
                f"{m['against_tokens_per_q']:.0f} tok/q), p = {m['p_value']:.3g}, {verdict}"
                f"{note}"
            )
    return "\n".join(lines).rstrip()


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
    return report_markdown(
        report["methods"], report["paired"], report.get("compute"), report.get("plans")
    )


def write_report(run_dir: Path, report: dict, title: str) -> None:
    """summary.json is `report` as `econ.compute.build_report` makes it ({"methods", "paired"},
    and "compute" / "plans" where the run has them); summary.md shows every table, and the
    plot draws accuracy against tokens."""
    (run_dir / SUMMARY).write_text(json.dumps(report, indent=2))
    (run_dir / "summary.md").write_text(f"# {title}\n\n{render_report(report, 'md')}\n")
    curves = report.get("compute", {}).get("curves", {})
    plot_accuracy_vs_tokens(report["methods"], run_dir / "accuracy_vs_tokens.png", title, curves)


def read_report(run_dir: Path) -> dict:
    """A run's summary.json, as `write_report` wrote it."""
    return json.loads((run_dir / SUMMARY).read_text())


def print_solution(console, result) -> None:
    """`econ solve`'s view of one ECON result: strategy, each executor's controls and answer,
    the commitment and how it was decided, and the cost."""
    from rich.table import Table

    console.print(f"[bold]strategy[/bold]: {result.strategy or '(none)'}")
    asked = [e for e in result.executors if e is not None]
    names = list(asked[0].controls) if asked else []
    table = Table("executor", "model", *names, "answer", "finish", "tokens")
    for i, e in enumerate(result.executors):
        if e is None:
            table.add_row(str(i), "(not asked: the first wave agreed)")
            continue
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
