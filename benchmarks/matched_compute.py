"""ECON at matched compute, on GSM8K with the default model: the protocol before and after,
against self-consistency at every k and against self-consistency at the executors' temperature.

    python benchmarks/matched_compute.py --before runs/mc-before --out runs/mc-after

`--out` is one run directory holding, in this order (each phase waits for the one before, so
the request cache can answer every call two runs share: the current econ asks its strategy and
most executor prompts exactly as the run named by `--before` did, and econ-nostrategy's
executors ask exactly what self_consistency-matched-t's first samples ask):

1. econ with the current protocol,
2. self_consistency (K samples at 0.7),
3. self_consistency-matched-t (K samples at the executors' temperature),
4. econ-nostrategy.

Resumable: run the same command again and it continues where it stopped (the cache is on, so
no finished call is paid twice). `--before` names a finished run of the protocol as it was (a
run directory whose econ records were written by the earlier code, e.g. from a worktree of
commit 700adeb): its commitments are replayed under each commitment rule, and its econ is
paired with the current one. Prints one JSON object; `--json FILE` writes it too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from econ.compute import build_report, econ_replays, tokens
from econ.config import EconConfig, load_saved_config
from econ.evaluate import run_methods
from econ.methods.econ import Econ
from econ.methods.econ.commit import settled
from econ.records import EvalRecord
from econ.run_records import read_eval_records
from econ.runs import CONFIG, RECORDS, open_run
from econ.stats import paired_stats, wilson_interval
from econ.tasks import get_benchmark

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gsm8k" / "test-first300.jsonl"
PHASES = [["econ"], ["self_consistency"], ["self_consistency-matched-t"], ["econ-nostrategy"]]


def rules_on_before(records: list[EvalRecord], bench) -> dict:
    """The old run's own calls decided under each commitment rule: what skipping a unanimous
    commitment and each override rule would have scored, and how many commitment calls (and
    tokens) each would have paid."""
    econ = [r for r in records if r.method == "econ" and r.error is None]
    out = {}
    for name, override, skip in [
        ("paper (always, every question)", "always", False),
        ("always, skip unanimous", "always", True),
        ("among, skip unanimous", "among", True),
        ("never (majority unless split)", "never", True),
    ]:
        right = paid = 0
        cost = 0
        for r in econ:
            answers = [
                bench.extract(c.response or "", c.finish_reason)
                for c in sorted(
                    (c for c in r.trace if c.role == "executor" and c.round == 0),
                    key=lambda c: c.agent or 0,
                )
            ]
            done = settled(answers, bench, skip_unanimous=skip, override=override)
            if done is not None:
                answer = done[0]
                cost += tokens([c for c in r.trace if c.role != "coordinator"])
            else:
                answer = Econ.replay(r.trace, bench, EconConfig(override=override)).prediction
                cost += tokens(r.trace)
                paid += 1
            right += bool(bench.grade(answer, r.gold))
        n = len(econ)
        out[name] = {
            "correct": right,
            "n": n,
            "commitment_calls_paid": paid,
            "tokens_per_q": round(cost / n, 1) if n else 0.0,
        }
    return out


def protocol_figures(records: list[EvalRecord], method: str = "econ") -> dict:
    rows = [r for r in records if r.method == method]
    n = len(rows)
    right = sum(r.correct for r in rows)
    reasks = sum(r.details.get("decided_by") == "reask" for r in rows)
    strategies = [[c for c in r.trace if c.role == "strategy"] for r in rows]
    cut = sum(any(c.finish_reason == "length" for c in s) for s in strategies)
    decided: dict[str, int] = {}
    for r in rows:
        path = r.details.get("decided_by", "error")
        decided[path] = decided.get(path, 0) + 1
    return {
        "n": n,
        "correct": right,
        "accuracy": round(right / n, 4) if n else 0.0,
        "ci95": [round(x, 4) for x in wilson_interval(right, n)],
        "tokens_per_q": round(sum(r.prompt_tokens + r.completion_tokens for r in rows) / n, 1)
        if n
        else 0.0,
        "reask_rate": round(reasks / n, 4) if n else 0.0,
        "strategy_cut_rate": round(cut / n, 4) if n else 0.0,
        "decided_by": decided,
        "errors": sum(r.error is not None for r in rows),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/mc-after")
    ap.add_argument("--before", type=Path, default=None)
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--samples", type=int, default=6)
    ap.add_argument("--model", default="local:qwen2.5-coder-1.5b")
    ap.add_argument("--max-tokens", type=int, default=384)
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--phases", type=int, default=len(PHASES), help="run only the first N phases")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    methods = [m for phase in PHASES for m in phase]
    cfg, out = open_run(
        args.out,
        {
            "model": args.model,
            "max_tokens": args.max_tokens,
            "run.benchmark": "gsm8k",
            "run.data": args.data,
            "run.limit": args.limit,
            "run.methods": methods,
            "self_consistency.samples": args.samples,
            "llm.cache": True,
        },
    )
    for phase in PHASES[: args.phases]:
        asyncio.run(run_methods(cfg, out, show_progress=True, only=phase))

    bench = get_benchmark("gsm8k")
    records = read_eval_records(out / RECORDS)
    # a suite stopped part-way is judged at matched compute on the questions every method it
    # reached answered; each protocol's own figures use all of its questions
    present = [m for m in methods if any(r.method == m for r in records)]
    answered = [{r.id for r in records if r.method == m} for m in present]
    common = set.intersection(*answered) if answered else set()
    report = build_report([r for r in records if r.id in common], present, bench)
    result = {
        "run": str(out),
        "methods": present,
        "questions": len(common),
        "after": protocol_figures(records),
        "nostrategy": protocol_figures(records, "econ-nostrategy"),
        "econ_vs_nostrategy": paired_stats(records, ["econ", "econ-nostrategy"])[0],
        "compute": report.get("compute"),
    }
    if args.before is not None:
        before = read_eval_records(args.before / RECORDS)
        load_saved_config(args.before / CONFIG)  # refuse a directory that is not a run
        result["before"] = protocol_figures(before)
        result["rules_on_before"] = rules_on_before(before, bench)
        for name, rows in (("before_replay", before), ("after_replay", records)):
            result[name] = econ_replays([r for r in rows if r.method == "econ"], bench)[1]
        both = [r.model_copy(update={"method": "before"}) for r in before if r.method == "econ"]
        both += [r.model_copy(update={"method": "after"}) for r in records if r.method == "econ"]
        (pair,) = paired_stats(both, ["before", "after"])
        result["before_vs_after"] = pair
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
