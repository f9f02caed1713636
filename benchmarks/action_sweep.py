"""The executor reward landscape, measured: accuracy, cut-off rate and tokens on a grid of
sampling controls (temperature x repetition penalty x top_p).

This is the ground truth the belief networks are judged against: which controls matter, and
where the best cell is. Every sample uses the executor prompt without a strategy, one seed per
question shared by all cells (common random numbers, so cells differ by their controls, not by
their luck). Responses are appended to ``samples.jsonl`` as they finish, so the sweep resumes
where it stopped and can be re-graded with ``--regrade`` after extraction changes.

    python benchmarks/action_sweep.py --out runs/sweep-0.5b          # 60 questions, 0.5B
    python benchmarks/action_sweep.py --out runs/sweep-0.5b --regrade \
        --json docs/action_sweep_0.5b.json --png docs/action_sweep_0.5b.png
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
from pathlib import Path

from econ.llm import LLMSettings, Sampling, aclose_all, make_llm
from econ.methods.base import question_messages
from econ.tasks import get_benchmark, load_questions

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gsm8k" / "train.jsonl"
# The full product first (temperature x repetition penalty at top_p 1), then top_p 0.7 at the
# temperatures where nucleus sampling can matter; cells are drawn in this order, so a sweep
# cut short still has whole cells.
GRID = {
    "temperature": [0.1, 0.7, 1.2],
    "repetition_penalty": [1.0, 1.2],
    "top_p": [1.0, 0.7],
}
PRODUCT = {"temperature": GRID["temperature"], "repetition_penalty": GRID["repetition_penalty"]}
EXTRA = [{"temperature": t, "repetition_penalty": 1.0, "top_p": 0.7} for t in (0.7, 1.2)]


def cells() -> list[dict[str, float]]:
    product = [dict(zip(PRODUCT, v), top_p=1.0) for v in itertools.product(*PRODUCT.values())]
    return product + EXTRA


def cell_key(cell: dict[str, float]) -> str:
    return ",".join(f"{k}={cell[k]}" for k in GRID)


async def sample_all(args) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "samples.jsonl"
    done = set()
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            done.add((r["id"], r["cell"]))
    questions = load_questions("gsm8k", args.data, split="train")
    rng = random.Random(args.seed)
    chosen = rng.sample(questions, args.questions)
    llm = make_llm(args.model, LLMSettings(slots=args.slots, concurrency=args.slots))
    todo = [(q, c) for c in cells() for q in chosen if (q.id, cell_key(c)) not in done]
    print(f"{len(todo)} samples to draw ({len(done)} already done)", flush=True)
    limit = asyncio.Semaphore(args.slots * 2)
    with open(path, "a", encoding="utf-8") as f:
        finished = 0

        async def one(q, cell):
            nonlocal finished
            async with limit:
                sampling = Sampling(
                    temperature=cell["temperature"],
                    top_p=cell["top_p"],
                    repetition_penalty=cell["repetition_penalty"],
                    max_tokens=args.max_tokens,
                    seed=args.seed + int(q.id.rsplit("-", 1)[-1]),
                )
                comp = await llm.chat(question_messages(q.question), sampling)
            rec = {
                "id": q.id,
                "cell": cell_key(cell),
                **cell,
                "gold": q.gold,
                "response": comp.text,
                "finish_reason": comp.finish_reason,
                "completion_tokens": comp.completion_tokens,
            }
            f.write(json.dumps(rec) + "\n")
            f.flush()
            os.fsync(f.fileno())
            finished += 1
            if finished % 20 == 0:
                print(f"{finished}/{len(todo)}", flush=True)

        try:
            await asyncio.gather(*(one(q, c) for q, c in todo))
        finally:
            await aclose_all()


def grade(args) -> dict:
    """Per cell: accuracy (with a Wilson interval), cut-off rate and completion tokens, and a
    paired McNemar exact test against the best cell on the questions both answered."""
    from scipy.stats import binomtest

    from econ.stats import wilson_interval

    bench = get_benchmark("gsm8k")
    rows = [
        json.loads(line) for line in (Path(args.out) / "samples.jsonl").read_text().splitlines()
    ]
    right: dict[str, dict[str, bool]] = {}
    for r in rows:
        ok = bench.grade(bench.extract(r["response"], r["finish_reason"]), r["gold"])
        right.setdefault(r["cell"], {})[r["id"]] = ok
    table = []
    for cell in cells():
        key = cell_key(cell)
        mine = [r for r in rows if r["cell"] == key]
        if not mine:
            continue
        k = sum(right[key].values())
        lo, hi = wilson_interval(k, len(mine))
        table.append(
            {
                **cell,
                "n": len(mine),
                "accuracy": round(k / len(mine), 4),
                "ci95": [round(lo, 4), round(hi, 4)],
                "cut_off_rate": round(
                    sum(r["finish_reason"] == "length" for r in mine) / len(mine), 4
                ),
                "completion_tokens": round(
                    sum(r["completion_tokens"] for r in mine) / len(mine), 1
                ),
            }
        )
    best = max(table, key=lambda c: c["accuracy"])
    best_right = right[cell_key(best)]
    for c in table:
        mine = right[cell_key(c)]
        shared = mine.keys() & best_right.keys()
        only_best = sum(best_right[i] and not mine[i] for i in shared)
        only_cell = sum(mine[i] and not best_right[i] for i in shared)
        n = only_best + only_cell
        c["vs_best"] = {
            "n": len(shared),
            "only_best": only_best,
            "only_cell": only_cell,
            "p": round(binomtest(only_best, n, 0.5).pvalue, 4) if n else 1.0,
        }
    return {"model": args.model, "max_tokens": args.max_tokens, "grid": GRID, "cells": table}


def plot(result: dict, path: Path) -> None:
    """One heatmap per top_p: accuracy over temperature x repetition penalty."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    temps, pens, tops = GRID["temperature"], GRID["repetition_penalty"], GRID["top_p"]
    fig, axes = plt.subplots(
        1, len(tops), figsize=(4.2 * len(tops), 3.4), squeeze=False, layout="constrained"
    )
    by = {(c["temperature"], c["repetition_penalty"], c["top_p"]): c for c in result["cells"]}
    for ax, top in zip(axes[0], tops):
        grid = [
            [by.get((t, p, top), {}).get("accuracy", float("nan")) for t in temps] for p in pens
        ]
        im = ax.imshow(
            grid,
            vmin=0,
            vmax=max(0.01, max(c["accuracy"] for c in result["cells"])),
            cmap="viridis",
            origin="lower",
            aspect="auto",
        )
        for yi, p in enumerate(pens):
            for xi, t in enumerate(temps):
                c = by.get((t, p, top))
                if c:
                    ax.text(
                        xi,
                        yi,
                        f"{c['accuracy']:.0%}\ncut {c['cut_off_rate']:.0%}\nn={c['n']}",
                        ha="center",
                        va="center",
                        color="w",
                        fontsize=8,
                    )
        ax.set_xticks(range(len(temps)), [str(t) for t in temps])
        ax.set_yticks(range(len(pens)), [str(p) for p in pens])
        ax.set_xlabel("temperature")
        ax.set_ylabel("repetition penalty")
        ax.set_title(f"top_p {top}")
    fig.colorbar(im, ax=axes[0].tolist(), label="accuracy")
    fig.suptitle(f"{result['model']}, GSM8K train, max_tokens {result['max_tokens']}")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="local:qwen2.5-coder-0.5b")
    ap.add_argument("--questions", type=int, default=60)
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--slots", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--out", default="runs/action_sweep")
    ap.add_argument("--regrade", action="store_true", help="grade stored samples, draw none")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--png", help="write the heatmaps here")
    args = ap.parse_args()
    if not args.regrade:
        asyncio.run(sample_all(args))
    result = grade(args)
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    if args.png:
        plot(result, Path(args.png))


if __name__ == "__main__":
    main()
