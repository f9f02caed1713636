"""Does the learner find the best executor controls, and stay put when there are none?

Two simulated training runs through `econ.train.learn` (the function every real episode goes
through), with the default networks and learner settings (no LLM; the fake executors of
`econ.simulator` follow the measured accuracy-vs-controls table, with the within-question
correlation of correctness and the cosine spreads of the real training log):

- learn: `--scenario shared` (the default: a team of one model, one optimum, one pooled
  evidence test per control) or `hetero` (three models whose optima lie apart, shifted 0, 0.3
  and 0.6 along temperature, one test each); `optimum_error` is the largest distance, in
  normalised action units, from an agent's final deterministic action on held-out questions to
  its optimal set (the actions within 0.5 accuracy points of the best);
- null: the same, but accuracy ignores the controls; `null_drift` is the largest move of a
  deterministic action from where it started, `null_gap_rel` the final epsilon-BNE gap divided
  by the standard deviation of the rewards observed in that run.

Goals: optimum_error, null_drift and null_gap_rel <= 0.1 within 300 episodes (shared). `moves`
lists (episode, agent, control, target) of every move the evidence made.

`reward_slope` shows what the mixed reward holds: the least-squares slope of each
heterogeneous executor's reward r_i on its own action over all the run's episodes (mean and sd
over 20 seeds), and `null_reward_slope` the same when accuracy ignores the action.

    python benchmarks/learner_sim.py --json                     # seeds with --seed N
    python benchmarks/learner_sim.py --table docs/action_sweep_0.5b.json --json
    python benchmarks/learner_sim.py --scenario hetero --episodes 1000 --no-early-stop --json
    python benchmarks/learner_sim.py --set actor=critic         # SPEC 4.5's ungated actor
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from econ.belief.controls import DEFAULT_CONTROLS, Controls
from econ.belief.landscape import NEUTRAL, AccuracyTable
from econ.belief.learner import Learner, LearnerConfig, _reflect
from econ.belief.networks import BeliefConfig, EconAgents
from econ.config import TrainConfig
from econ.simulator import HETEROGENEOUS, FakeExecutors, SimReport, simulate


def run(
    table: AccuracyTable,
    controls: Controls,
    learner_cfg: LearnerConfig,
    train_cfg: TrainConfig,
    episodes: int,
    seed: int,
    scenario: str = "shared",
) -> tuple[FakeExecutors, SimReport, Learner]:
    """One simulated training run. "shared": a team of one model (one optimum, one pooled
    evidence test per control); "hetero": three models with optima apart (own tests)."""
    agents = EconAgents(BeliefConfig(controls=controls), seed=seed)
    hetero = scenario == "hetero"
    groups = [0, 1, 2] if hetero else [0, 0, 0]
    learner = Learner(agents, learner_cfg, train_cfg.rewards, seed=seed, groups=groups)
    shifts = HETEROGENEOUS if hetero else None
    executors = FakeExecutors(table, controls, shifts=shifts, seed=seed)
    report = simulate(
        executors,
        learner,
        episodes,
        gap_every=train_cfg.gap_every,
        early_stop=train_cfg.early_stop,
    )
    return executors, report, learner


def evidence(
    table: AccuracyTable, controls: Controls, alpha, episodes: int, std: float, runs: int = 20
) -> dict[str, list[float]]:
    """What any learner could know after `episodes` questions: the least-squares slope of each
    executor's reward on its own normalised action, exploring with `std` around the midpoint
    (reflected at the ends) and using every sample, over `runs` seeds. Its mean is the real
    slope, its sd the noise a learner must tell it from."""
    slopes = []
    for seed in range(runs):
        executors = FakeExecutors(table, controls, shifts=HETEROGENEOUS, seed=seed)
        gen = torch.Generator().manual_seed(seed)
        u = _reflect(0.5 + std * torch.randn(episodes, executors.n_agents, 1, generator=gen))
        rewards = torch.tensor(
            [executors.answer(executors.question(), u[e], alpha).rewards for e in range(episodes)]
        )
        x = u[..., 0] - u[..., 0].mean(dim=0)
        slopes.append((x * (rewards - rewards.mean(dim=0))).sum(dim=0) / x.pow(2).sum(dim=0))
    s = torch.stack(slopes)
    return {
        "mean": [round(v, 3) for v in s.mean(dim=0).tolist()],
        "sd": [round(v, 3) for v in s.std(dim=0).tolist()],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--table", help="action sweep JSON (default: the measured 3-temperature table)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (tiny networks)")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a LearnerConfig field, e.g. --set updates_per_episode=8",
    )
    ap.add_argument("--scenario", choices=["shared", "hetero"], default="shared")
    ap.add_argument("--no-early-stop", action="store_true")
    ap.add_argument("--json", action="store_true", help="print one JSON object only")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    overrides = dict(kv.split("=", 1) for kv in args.set)
    learner_cfg = LearnerConfig.model_validate({**LearnerConfig().model_dump(), **overrides})
    train_cfg = TrainConfig()
    if args.no_early_stop:
        train_cfg.early_stop.enabled = False
    controls = dict(DEFAULT_CONTROLS)
    if args.table:
        # controls the agents do not set stay at their neutral value: only that slice matters
        grid = json.loads(Path(args.table).read_text())["grid"]
        at = {k: NEUTRAL[k] for k in grid if k not in controls}
        table = AccuracyTable.from_json(args.table, at=at)
    else:
        table = AccuracyTable.measured_default()

    start = time.perf_counter()
    sim = (learner_cfg, train_cfg, args.episodes, args.seed, args.scenario)
    executors, learn, learner = run(table, controls, *sim)
    null_table = AccuracyTable.flat(table.mean())
    _, null, null_learner = run(null_table, controls, *sim)
    seconds = time.perf_counter() - start

    final = learn.final_actions
    result = {
        "optimum_error": round(executors.optimum_error(final), 4),
        "null_drift": round(null.max_move, 4),
        "null_gap_rel": round(null.gaps[-1][2], 4),
        "episodes": learn.episodes,
        "null_episodes": null.episodes,
        "updates": learn.updates,
        "stopped_early": learn.stopped_early,
        "regret": round(
            (
                executors.accuracy(executors.optima()).mean() - executors.accuracy(final).mean()
            ).item(),
            4,
        ),
        "final_actions": [[round(x, 3) for x in row] for row in final.mean(dim=0).tolist()],
        "optima": [[round(x, 3) for x in row] for row in executors.optima().tolist()],
        "controls": list(controls),
        "learn_gap_rel": [round(g[2], 4) for g in learn.gaps[::4]],
        "null_gap_rel_curve": [round(g[2], 4) for g in null.gaps[::4]],
        "null_gap_abs": round(null.gaps[-1][1], 5),
        "null_reward_std": round(null.reward_std, 4),
        "reward_slope": evidence(
            table, controls, train_cfg.rewards.alpha, args.episodes, learner_cfg.noise_std
        ),
        "null_reward_slope": evidence(
            null_table, controls, train_cfg.rewards.alpha, args.episodes, learner_cfg.noise_std
        ),
        "moves": learner.moves,
        "null_moves": null_learner.moves,
        "scenario": args.scenario,
        "table": table.model,
        "seed": args.seed,
        "learner": overrides,
        "seconds": round(seconds, 1),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
