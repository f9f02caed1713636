"""How ECON reached its answers in a finished run: strategy retries, cut strategies, how each
commitment was decided, and what the executors' own majority would have scored.

    python benchmarks/econ_decisions.py runs/v10-1.5b

Prints one JSON object. `strategy_retry_rate` is the share of questions whose strategy was
asked for twice (goal: at most 10%); `decided_by` counts commitments decided by the coordinator's
explicit answer, by the re-ask, or by the executors' majority; `executor_majority_correct`
replays the econ-vote ablation on the same stored calls, for comparison with the commitment.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from econ.config import load_config
from econ.methods.build import method_class
from econ.run_records import read_eval_records
from econ.runs import CONFIG, RECORDS
from econ.tasks import get_benchmark


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--method", default="econ")
    args = ap.parse_args()
    cfg = load_config(args.run / CONFIG)
    bench = get_benchmark(cfg.run.benchmark)
    rows = [
        r
        for r in read_eval_records(args.run / RECORDS)
        if r.method == args.method and r.error is None
    ]
    strategies = [[c for c in r.trace if c.role == "strategy"] for r in rows]
    vote = method_class("econ-vote")
    print(
        json.dumps(
            {
                "run": str(args.run),
                "questions": len(rows),
                "strategy_retry_rate": round(sum(len(s) > 1 for s in strategies) / len(rows), 4),
                "strategy_cut_rate": round(
                    sum(any(c.finish_reason == "length" for c in s) for s in strategies)
                    / len(rows),
                    4,
                ),
                "decided_by": dict(Counter(r.details.get("decided_by") for r in rows)),
                "commitment_correct": sum(r.correct for r in rows),
                "executor_majority_correct": sum(
                    bench.grade(vote.replay(r.trace, bench).prediction, r.gold) for r in rows
                ),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
