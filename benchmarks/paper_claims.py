"""The paper's four claims on five benchmarks, as one resumable suite of ordinary run directories.

    python benchmarks/paper_claims.py --plan          # the grid, what is left, a CPU estimate
    python benchmarks/paper_claims.py                 # run (or continue) every cell, then report
    python benchmarks/paper_claims.py --report-only   # docs/claims.md and docs/claims.png now

Every cell is a run directory under `--out` (default results/claims/<cell>, inside the
repository: a suite takes longer than one sitting, and what finished must survive a fresh
checkout, so commit it as it grows), run with the request cache on, so a suite that is killed or
stopped continues with the same command and pays no finished call again; cells run one after
another, cheap ones first. The claims (the paper's):

1. ECON vs a single agent (chain-of-thought): +10.9% on average;
2. ECON vs multi-agent debate (3 agents x 3 rounds): +11.2%;
3. ECON's tokens vs three-round debate: 21.4% fewer;
4. 9 executors (local-global, groups of 3) vs 3: +18.1%.

The table (`docs/claims.md`) is written from whatever cells have records: per claim and
benchmark, the paper's figure, ours with the 95% interval, and the McNemar exact test on the
questions both arms answered; cells not run yet say so. Self-consistency runs with K samples,
so its SC@k curve (`econ.compute`) gives the matched-compute bar for free, and ECON's own
executors' majority is replayed from its calls.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from econ.compute import build_report
from econ.evaluate import run_methods
from econ.records import EvalRecord
from econ.run_records import read_eval_records
from econ.runs import RECORDS, open_run
from econ.stats import paired_stats
from econ.tasks import get_benchmark

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
FILES = {
    "gsm8k": "gsm8k/test-first300.jsonl",
    "gsm-hard": "gsm-hard/test-first200.jsonl",
    "svamp": "svamp/test-first300.jsonl",
    "math500": "math500/test-first200.jsonl",
    "strategyqa": "strategyqa/dev.jsonl",
}
# Completion cap per benchmark: MATH solutions run longer than the grade-school sets, yes/no
# questions shorter. The cut-off rate each cell printed is in docs/claims.md: raise a cap
# whose rate is high and start that cell again.
MAX_TOKENS = {"gsm8k": 384, "gsm-hard": 384, "svamp": 320, "math500": 640, "strategyqa": 256}
PAPER = {"single": 10.9, "multi": 11.2, "tokens": -21.4, "scale": 18.1}
SECONDS_PER_CALL = 12.0  # wall seconds per call of the default model, 2 cores, 4 in flight


@dataclass(frozen=True)
class Cell:
    """One run directory of the grid."""

    name: str
    benchmark: str
    methods: tuple[str, ...]
    limit: int
    overrides: dict = field(default_factory=dict, hash=False)

    def calls_per_q(self, method: str) -> float:
        """Calls one question costs `method` here, for the estimate before any record."""
        if method == "self_consistency":
            return float(self.overrides.get("self_consistency.samples", 3))
        if method == "debate":
            return 9.0
        if method == "econ":
            n = self.overrides.get("econ.n_executors", 3)
            groups = -(-n // self.overrides.get("econ.group_size", 3))
            return n + 2 + (groups if groups > 1 else 0)  # strategy, executors, commitments
        return 1.0


def grid(limit: int, expensive: int, samples: int) -> list[Cell]:
    """Cheap cells on the shared `limit` questions of every benchmark first; debate and the
    9-executor team on the first `expensive` of them (cut before any shared question is)."""
    cells = [
        Cell(f"{b}-base", b, ("cot", "self_consistency", "econ"), limit,
             {"self_consistency.samples": samples})
        for b in FILES
    ]  # fmt: skip
    cells += [Cell(f"{b}-debate", b, ("debate",), expensive) for b in ("gsm8k", "strategyqa")]
    cells += [
        Cell(f"{b}-econ9", b, ("econ",), expensive, {"econ.n_executors": 9, "econ.group_size": 3})
        for b in ("gsm8k", "svamp")
    ]
    return cells


def cell_config(cell: Cell, model: str) -> dict:
    return {
        "model": model,
        "max_tokens": MAX_TOKENS[cell.benchmark],
        "run.benchmark": cell.benchmark,
        "run.data": str(SHARED / FILES[cell.benchmark]),
        "run.limit": cell.limit,
        "run.methods": list(cell.methods),
        "llm.cache": True,
        **cell.overrides,
    }


def records_of(out: Path, cell: Cell) -> list[EvalRecord]:
    path = out / cell.name / RECORDS
    return read_eval_records(path) if path.is_file() else []


def progress(out: Path, cells: list[Cell]) -> list[dict]:
    """Per cell: questions x methods done and left, and the CPU seconds left, estimated from
    the seconds per question each method took so far (in any cell), else per call."""
    taken: dict[str, list[float]] = {}
    for cell in cells:
        for r in records_of(out, cell):
            if r.error is None:
                taken.setdefault(r.method, []).append(r.latency_s / 4)  # 4 in flight
    rows = []
    for cell in cells:
        done = {(r.id, r.method) for r in records_of(out, cell) if r.error is None}
        left = cell.limit * len(cell.methods) - len(done)
        per_q = [
            statistics.fmean(taken[m]) if m in taken else SECONDS_PER_CALL * cell.calls_per_q(m)
            for m in cell.methods
        ]
        share = left / (cell.limit * len(cell.methods))
        rows.append(
            {"cell": cell.name, "done": len(done), "left": left,
             "cpu_hours_left": round(share * cell.limit * sum(per_q) / 3600, 2)}
        )  # fmt: skip
    return rows


def run_cell(out: Path, cell: Cell, model: str) -> None:
    cfg, run_dir = open_run(out / cell.name, cell_config(cell, model))
    asyncio.run(run_methods(cfg, run_dir, show_progress=True))


def _acc(records: list[EvalRecord], method: str) -> tuple[int, int]:
    rows = [r for r in records if r.method == method]
    return sum(r.correct for r in rows), len(rows)


def _tokens(records: list[EvalRecord], method: str) -> float | None:
    rows = [r for r in records if r.method == method]
    if not rows:
        return None
    return statistics.fmean(r.prompt_tokens + r.completion_tokens for r in rows)


def _paired(a: list[EvalRecord], b: list[EvalRecord], name_a: str, name_b: str) -> dict | None:
    """McNemar of arm a against arm b on the questions both answered."""
    rows = [r.model_copy(update={"method": "a"}) for r in a if r.method == name_a]
    rows += [r.model_copy(update={"method": "b"}) for r in b if r.method == name_b]
    ids_a = {r.id for r in rows if r.method == "a"}
    ids = ids_a & {r.id for r in rows if r.method == "b"}
    if not ids:
        return None
    rows = [r for r in rows if r.id in ids]
    (pair,) = paired_stats(rows, ["b", "a"])  # only_b: only arm a right
    ca, n = _acc(rows, "a")
    cb, _ = _acc(rows, "b")
    return {"n": n, "a": ca, "b": cb, "diff_pct": round(100 * (ca - cb) / n, 1),
            "only_a": pair["only_b"], "only_b": pair["only_a"], "p": pair["p_value"]}  # fmt: skip


def claims(out: Path, cells: list[Cell]) -> dict:
    """The four claims from the cells' records (whatever has run)."""
    by = {c.name: records_of(out, c) for c in cells}
    result: dict = {"single": {}, "multi": {}, "tokens": {}, "scale": {}, "cutoff": {}}
    for b in FILES:
        base = by.get(f"{b}-base", [])
        if base:
            result["single"][b] = _paired(base, base, "econ", "cot")
            calls = [c for r in base for c in r.trace]
            cut = sum(c.finish_reason == "length" for c in calls)
            result["cutoff"][b] = round(cut / len(calls), 3) if calls else None
        debate = by.get(f"{b}-debate", [])
        if base and debate:
            result["multi"][b] = _paired(base, debate, "econ", "debate")
            t_econ, t_debate = _tokens(base, "econ"), _tokens(debate, "debate")
            result["tokens"][b] = {
                "econ": round(t_econ, 1), "debate": round(t_debate, 1),
                "change_pct": round(100 * (t_econ - t_debate) / t_debate, 1),
            }  # fmt: skip
        nine = by.get(f"{b}-econ9", [])
        if base and nine:
            result["scale"][b] = _paired(nine, base, "econ", "econ")
    for claim in ("single", "multi", "scale"):
        diffs = [v["diff_pct"] for v in result[claim].values() if v]
        result[claim]["average"] = round(statistics.fmean(diffs), 1) if diffs else None
    changes = [v["change_pct"] for v in result["tokens"].values()]
    result["tokens"]["average"] = round(statistics.fmean(changes), 1) if changes else None
    result["progress"] = progress(out, cells)
    return result


def claims_markdown(result: dict, model: str) -> str:
    titles = {
        "single": "ECON vs a single agent (chain-of-thought)",
        "multi": "ECON vs multi-agent debate (3 agents x 3 rounds)",
        "scale": "ECON with 9 executors vs 3",
    }
    lines = [
        "# The paper's claims, measured",
        "",
        f"Model `{model}` on the embedded server, 2 CPU cores; written by "
        "`python benchmarks/paper_claims.py` from its run directories. Differences are in "
        "accuracy points on the questions both arms answered (McNemar exact p); the paper's "
        "figures are averages over its own benchmarks and far larger models.",
        "",
    ]
    for claim, title in titles.items():
        lines += [f"## {title} (paper: {PAPER[claim]:+.1f} points on average)", ""]
        lines += ["| benchmark | n | ECON arm | other arm | difference | p |", "|---|" * 6]
        for b in FILES:
            v = result[claim].get(b)
            if not v:
                lines.append(f"| {b} | - | not run yet | | | |")
                continue
            lines.append(
                f"| {b} | {v['n']} | {v['a']}/{v['n']} | {v['b']}/{v['n']} | "
                f"{v['diff_pct']:+.1f} | {v['p']:.3g} |"
            )
        avg = result[claim]["average"]
        lines += ["", f"Average over the benchmarks run: {avg:+.1f} points." if avg is not None
                  else "Not measured yet.", ""]  # fmt: skip
    lines += [f"## ECON's tokens vs three-round debate (paper: {PAPER['tokens']:+.1f}%)", ""]
    lines += ["| benchmark | ECON tok/q | debate tok/q | change |", "|---|---|---|---|"]
    for b, v in result["tokens"].items():
        if b != "average" and v:
            lines.append(f"| {b} | {v['econ']:.0f} | {v['debate']:.0f} | {v['change_pct']:+.1f}% |")
    avg = result["tokens"]["average"]
    lines += ["", f"Average: {avg:+.1f}%." if avg is not None else "Not measured yet.", ""]
    lines += ["## Cut-off rates (share of calls that hit max_tokens) and what is left", ""]
    lines += [
        f"- {b}: {r:.1%} at max_tokens {MAX_TOKENS[b]}"
        for b, r in result["cutoff"].items()
        if r is not None
    ]
    lines += [f"- {p['cell']}: {p['done']} done, {p['left']} left (~{p['cpu_hours_left']} CPU h)"
              for p in result["progress"]]  # fmt: skip
    return "\n".join(lines) + "\n"


def plot(out: Path, cells: list[Cell], path: Path) -> None:
    """Accuracy against tokens per question, one panel per benchmark, SC@k as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(FILES), figsize=(4 * len(FILES), 3.6))
    for ax, b in zip(axes, FILES, strict=True):
        records = [r for c in cells if c.benchmark == b for r in (
            [x.model_copy(update={"method": x.method + ("-9" if c.name.endswith("econ9") else "")})
             for x in records_of(out, c)])]  # fmt: skip
        if records:
            methods = list(dict.fromkeys(r.method for r in records))
            report = build_report(records, methods, get_benchmark(b))
            for name, curve in (report.get("compute") or {}).get("curves", {}).items():
                ax.plot([c["tokens_per_q"] for c in curve], [c["accuracy"] for c in curve],
                        ".-", label=f"{name}@k")  # fmt: skip
            for name, s in report["methods"].items():
                if name in (report.get("compute") or {}).get("curves", {}):
                    continue
                ax.plot(s["prompt_tokens_per_q"] + s["completion_tokens_per_q"], s["accuracy"],
                        "o", label=name)  # fmt: skip
            ax.legend(fontsize=7)
        ax.set_title(b)
        ax.set_xlabel("tokens per question")
        ax.set_ylim(-0.05, 1.05)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("results/claims"))
    ap.add_argument("--model", default="local:qwen2.5-coder-1.5b")
    ap.add_argument("--limit", type=int, default=50, help="shared questions per benchmark")
    ap.add_argument("--expensive", type=int, default=15, help="questions of debate, 9 executors")
    ap.add_argument("--samples", type=int, default=4, help="self-consistency samples (SC@k)")
    ap.add_argument("--plan", action="store_true", help="print the grid and what is left")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--docs", type=Path, default=Path("docs"))
    args = ap.parse_args()
    cells = grid(args.limit, args.expensive, args.samples)
    rows = progress(args.out, cells)
    left = sum(r["cpu_hours_left"] for r in rows)
    print(json.dumps({"cells": rows, "cpu_hours_left": round(left, 1)}, indent=1))
    if args.plan:
        return
    if not args.report_only:
        for cell in cells:
            run_cell(args.out, cell, args.model)
    result = claims(args.out, cells)
    args.docs.mkdir(parents=True, exist_ok=True)
    (args.docs / "claims.md").write_text(claims_markdown(result, args.model))
    (args.docs / "claims.json").write_text(json.dumps(result, indent=1) + "\n")
    plot(args.out, cells, args.docs / "claims.png")
    print(f"wrote {args.docs / 'claims.md'}, claims.json and claims.png")


if __name__ == "__main__":
    main()
