"""Is stage 2 worth its tokens? ECON with one revision round against ECON without, paired.

One run with `econ.bne_rounds 1` holds both arms on the same draws: its round-0 commitment is
exactly what `bne_rounds 0` would commit (stage 2 starts only after it, with the same requests
and seeds), and its final commitment is what one revision round gives. So the comparison is
paired on identical round-0 samples, and costs one run instead of two.

    python benchmarks/bne_rounds.py --out runs/bne-0.5b                 # 60 questions, 0.5B
    python benchmarks/bne_rounds.py --out runs/bne-0.5b --json docs/bne_rounds_0.5b.json

Prints one JSON object: accuracy of each arm with its 95% Wilson interval, the McNemar exact
p-value between them, tokens per question (round 0 alone, and with the revisions), how many
questions were revised, and commitment stability (changed at all; wrong -> right; right ->
wrong). The run resumes if started again with the same --out.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from scipy.stats import binomtest

from econ.config import load_config
from econ.evaluate import run_methods
from econ.run_records import read_eval_records
from econ.runs import CONFIG, RECORDS, open_run
from econ.stats import wilson_interval
from econ.tasks import get_benchmark

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gsm8k" / "test-first300.jsonl"


async def run(args: argparse.Namespace) -> Path:
    cfg, out = open_run(
        args.out,
        {
            "model": args.model,
            "max_tokens": args.max_tokens,
            "run.benchmark": "gsm8k",
            "run.data": args.data,
            "run.limit": args.questions,
            "run.methods": ["econ"],
            "econ.bne_rounds": 1,
        },
    )
    await run_methods(cfg, out, show_progress=True)
    return out


def analyse(run_dir: Path) -> dict:
    """Both arms from the stored records: round-0 commitment vs the final one."""
    cfg = load_config(run_dir / CONFIG)
    bench = get_benchmark(cfg.run.benchmark)
    records = [r for r in read_eval_records(run_dir / RECORDS) if r.error is None]
    first, final, changed, revised = [], [], 0, 0
    tokens0, tokens1 = [], []
    for r in records:
        d = r.details
        c0, c_last = d["commitments"][0], d["commitments"][-1]
        first.append(bench.grade(c0, r.gold))
        final.append(bench.grade(c_last, r.gold))
        revised += d["rounds"] > 0
        changed += not bench.same_answer(c0, c_last)
        tokens0.append(sum(c.completion_tokens for c in r.trace if c.round == 0))
        tokens1.append(sum(c.completion_tokens for c in r.trace))
    n = len(records)

    def arm(correct: list[bool], tokens: list[int]) -> dict:
        k = sum(correct)
        lo, hi = wilson_interval(k, n)
        return {
            "correct": k,
            "accuracy": round(k / n, 4),
            "ci95": [round(lo, 4), round(hi, 4)],
            "completion_tokens_per_question": round(sum(tokens) / n, 1),
        }

    up = sum(1 for a, b in zip(first, final) if not a and b)
    down = sum(1 for a, b in zip(first, final) if a and not b)
    return {
        "run": str(run_dir),
        "model": cfg.model,
        "max_tokens": cfg.max_tokens,
        "questions": n,
        "bne_rounds_0": arm(first, tokens0),
        "bne_rounds_1": arm(final, tokens1),
        "mcnemar_p": round(binomtest(up, up + down, 0.5).pvalue, 4) if up + down else 1.0,
        "revised": revised,
        "commitment_changed": changed,
        "wrong_to_right": up,
        "right_to_wrong": down,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="local:qwen2.5-coder-0.5b")
    ap.add_argument("--questions", type=int, default=60)
    ap.add_argument("--max-tokens", type=int, default=384)
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--out", default="runs/bne_rounds")
    ap.add_argument("--analyse-only", action="store_true", help="read the run, call no LLM")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    run_dir = Path(args.out) if args.analyse_only else asyncio.run(run(args))
    result = analyse(run_dir)
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")


if __name__ == "__main__":
    main()
