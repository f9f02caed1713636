"""Re-read a training run's episodes.jsonl with the evidence statistic the learner now uses.

    python benchmarks/evidence_log.py results/train-gsm8k-0.5b

Each executor's own correctness CC_i is decoded from its logged reward: with fixed weights
(a1, a2, a3), r_i - a2 TS - a1 0.5 [agrees] = a1 0.5 cos_i + a3 CC_i, and cos_i < 1, so CC_i = 1
exactly when that residual exceeds a1 0.5 (checked: the decoded cos_i lies in [0, 1]). Logs
written before the policy's own action was recorded hold only the played actions, so the
exploration offset is read as the played value minus the executor's mean played value over the
run (the policy moved by at most 0.1 of the range in the run this was written for). Prints one
JSON object: the pooled test's t and sequential boundary at the end, per executor the same
statistic on its own, and the first episode at which the pooled test would have crossed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
import yaml

from econ.belief.evidence import Evidence
from econ.belief.learner import LearnerConfig
from econ.episodes import EPISODES, read_episodes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    args = ap.parse_args()
    cfg = yaml.safe_load((args.run / "config.yaml").read_text())
    econ = cfg["econ"]
    controls = list(econ["controls"])
    a1, a2, a3 = cfg["train"]["rewards"]["alpha"]
    if cfg["train"]["rewards"].get("dynamic"):
        raise SystemExit("dynamic reward weights: CC cannot be decoded from the rewards")
    episodes = [e for e in read_episodes(args.run / EPISODES) if e.rewards and e.agree]
    correct, played = [], []
    for e in episodes:
        ts = float(e.correct)
        row = []
        for r, agree in zip(e.rewards or [], e.agree or [], strict=True):
            residual = r - a2 * ts - a1 * 0.5 * float(agree)
            cc = residual > a1 * 0.5 + 1e-9
            cos = (residual - a3 * cc) / (a1 * 0.5)
            assert -1e-6 <= cos <= 1 + 1e-6, (e.episode, cos)
            row.append(cc)
        correct.append(row)
        played.append([[a[c] for c in controls] for a in e.actions or []])
    lows = torch.tensor([econ["controls"][c][0] for c in controls])
    spans = torch.tensor([econ["controls"][c][1] for c in controls]) - lows
    u = (torch.tensor(played) - lows) / spans  # [E, N, A] normalised
    offsets = u - u.mean(dim=0, keepdim=True)
    n = u.shape[1]
    lc = LearnerConfig()
    pooled = Evidence([0] * n, len(controls), lc.evidence_alpha, lc.evidence_rho)
    own = Evidence(list(range(n)), len(controls), lc.evidence_alpha, lc.evidence_rho)
    first = None
    for k, (x, cc) in enumerate(zip(offsets, correct, strict=True)):
        pooled.add(x, cc, [True] * n)
        own.add(x, cc, [True] * n)
        if first is None and pooled.decisions().any():
            first = k + 1
    print(
        json.dumps(
            {
                "run": str(args.run),
                "episodes": len(episodes),
                "controls": controls,
                "own_correct_rate": [
                    round(sum(c[i] for c in correct) / len(correct), 4) for i in range(n)
                ],
                "pooled_t": [round(x, 3) for x in pooled.t()[0].tolist()],
                "pooled_boundary": [round(x, 3) for x in pooled.boundary()[0].tolist()],
                "per_executor_t": [[round(x, 3) for x in row] for row in own.t().tolist()],
                "first_crossing_episode": first,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
