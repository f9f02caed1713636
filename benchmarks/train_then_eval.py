"""Does training change anything? Train ECON on GSM8K train questions, then compare untrained
and trained ECON on the same test questions with the same model.

    python benchmarks/train_then_eval.py                      # 100 episodes, 50 test questions
    python benchmarks/train_then_eval.py --episodes 40 --test 20 --out runs/tte-small
    python benchmarks/train_then_eval.py --batch-size 8 --updates-per-episode 8
    python benchmarks/train_then_eval.py --no-early-stop                   # all --episodes

Prints the training report (learned actions per agent, the epsilon-gap curve, commitment
accuracy while training), `evidence`: what the learner's own sequential tests read after the
last episode (per executor and control: t of its own correctness on its own exploration
offset, the boundary, the target the evidence set) with every move it made, `reward_slope`:
the t-statistic of the least-squares slope of each executor's mixed reward on its own sampled
controls over all episodes (what the earlier, critic-driven learner had to go on), a
side-by-side table of untrained vs trained ECON and the paired
McNemar exact test between them (both evaluations use the same questions and seeds, so they
pair question by question). `--json PATH` also writes the figures as one JSON object. Both
stages resume if run again with the same --out; a finished run only prints.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

import torch

from econ.belief.buffer import slope_t
from econ.episodes import EPISODES, read_episodes
from econ.evaluate import run_methods
from econ.records import EpisodeRecord
from econ.report import markdown_table, paired_markdown
from econ.run_records import read_eval_records
from econ.runs import RECORDS, open_run
from econ.stats import paired_stats
from econ.train import train

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gsm8k"


def _targets(e: EpisodeRecord) -> list[dict[str, float | None]]:
    return [{k: v["target"] for k, v in a.items()} for a in e.evidence or []]


def final_evidence(episodes_path: Path) -> dict:
    """The learner's evidence tests after the last played episode, and where they moved."""
    played = [e for e in read_episodes(episodes_path) if e.evidence]
    if not played:
        return {}
    moves = [
        {"episode": e.episode, "targets": _targets(e)}
        for prev, e in zip(played, played[1:])
        if _targets(prev) != _targets(e)
    ]
    return {"tests": played[-1].evidence, "moves": moves}


def reward_slope(episodes_path: Path) -> dict[str, list[float]]:
    """Per control, each executor's `slope_t` of reward on its own sampled value, all episodes."""
    played = [e for e in read_episodes(episodes_path) if e.actions and e.rewards]
    if len(played) < 3:
        return {}
    names = list(played[0].actions[0])
    actions = torch.tensor([[[a[k] for k in names] for a in e.actions] for e in played])
    rewards = torch.tensor([e.rewards for e in played])
    t = slope_t(actions, rewards, torch.ones_like(rewards))
    return {k: [round(v, 2) for v in t[:, j].tolist()] for j, k in enumerate(names)}


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=100)
    ap.add_argument("--test", type=int, default=50)
    ap.add_argument("--model", default="local:qwen2.5-coder-0.5b")
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--data", default=str(DATA), help="holds train.jsonl, test-first300.jsonl")
    ap.add_argument("--out", default="runs/train_then_eval")
    ap.add_argument("--batch-size", type=int, help="learner minibatch (default 16)")
    ap.add_argument(
        "--updates-per-episode", type=int, help="gradient steps per episode (default 4)"
    )
    ap.add_argument(
        "--no-early-stop", action="store_true", help="train all --episodes even if the gap is small"
    )
    ap.add_argument("--json", help="also write the training report, table and paired test here")
    args = ap.parse_args()
    out = Path(args.out)
    common = {"model": args.model, "max_tokens": args.max_tokens, "run.benchmark": "gsm8k"}

    cfg, train_dir = open_run(
        out / "train",
        {
            **common,
            "run.data": str(Path(args.data) / "train.jsonl"),
            "run.limit": args.episodes + 8,
            "run.methods": ["econ"],
            "train.episodes": args.episodes,
            "train.learner.batch_size": args.batch_size,
            "train.learner.updates_per_episode": args.updates_per_episode,
            "train.early_stop.enabled": False if args.no_early_stop else None,
        },
        split="train",
    )
    report = await train(cfg, train_dir, show_progress=True)
    report["evidence"] = final_evidence(train_dir / EPISODES)
    report["reward_slope"] = reward_slope(train_dir / EPISODES)
    print(json.dumps(report, indent=1))

    evals, records = {}, []
    for name, ckpt in (("untrained", None), ("trained", str(train_dir / "checkpoint"))):
        cfg, eval_dir = open_run(
            out / f"eval-{name}",
            {
                **common,
                "run.data": str(Path(args.data) / "test-first300.jsonl"),
                "run.limit": args.test,
                "run.methods": ["econ"],
                "econ.checkpoint": ckpt,
            },
        )
        evals[name] = (await run_methods(cfg, eval_dir, show_progress=True))["econ"]
        rows = read_eval_records(eval_dir / RECORDS)
        records += [r.model_copy(update={"method": name}) for r in rows]
    paired = paired_stats(records, list(evals))
    print(f"\nECON on the first {args.test} GSM8K test questions, model {args.model}:\n")
    print(markdown_table(evals))
    print("\n" + paired_markdown(paired, epochs=1))
    if args.json:
        result = {"train": report, "eval": evals, "paired": paired[0]}
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
