"""Baselines side by side on GSM8K (issue: baselines): cot, self-consistency, debate (+ more).

Runs `econ compare` on the first N questions of ../shared/data/gsm8k/test-first300.jsonl with
one packaged model, and prints the summary table. Resumable: run it again with the same --out.

    python benchmarks/compare_baselines.py                       # 30 questions, qwen2.5-coder-0.5b
    python benchmarks/compare_baselines.py --methods cot,self_consistency,debate,econ
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from econ.evaluate import run_methods
from econ.report import markdown_table
from econ.runs import open_run

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gsm8k" / "test-first300.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", default="cot,self_consistency,debate")
    ap.add_argument("--limit", type=int, default=30)
    ap.add_argument("--model", default="local:qwen2.5-coder-0.5b")
    ap.add_argument("--max-tokens", type=int, default=384)
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--out", default="runs/compare_baselines")
    args = ap.parse_args()

    cfg, out = open_run(
        args.out,
        {
            "model": args.model,
            "max_tokens": args.max_tokens,
            "run.benchmark": "gsm8k",
            "run.data": args.data,
            "run.limit": args.limit,
            "run.methods": args.methods.split(","),
        },
    )
    summary = asyncio.run(run_methods(cfg, out, show_progress=True))
    print(f"\n{cfg.run.limit} GSM8K questions, model {cfg.model}, max_tokens {cfg.max_tokens}\n")
    print(markdown_table(summary))
    print(f"\nrun directory: {out}")


if __name__ == "__main__":
    main()
