"""Time one training update of the belief networks (SPEC 9: N=3, batch 16, < 50 ms on 2 cores).

Builds the default networks (384-d sentence embeddings), fills the replay buffer with random
transitions, and times many `Learner.update()` calls with torch limited to `--threads` threads.

    python benchmarks/train_step.py [--threads 2] [--updates 300] [--omp-wait-policy PASSIVE]

`--omp-wait-policy` sets OMP_WAIT_POLICY before torch starts. With the default (ACTIVE) spin
waiting, OpenMP threads that share the cores with other busy processes (the LLM server during
training) stall each update by tens to hundreds of milliseconds; PASSIVE avoids that and costs
nothing on an idle machine. Pass "" to leave the environment as it is.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

BUDGET_MS = 50.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--agents", type=int, default=3)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--omp-wait-policy", default="PASSIVE")
    args = parser.parse_args()
    if args.omp_wait_policy:
        os.environ["OMP_WAIT_POLICY"] = args.omp_wait_policy

    import torch  # after OMP_WAIT_POLICY is set: OpenMP reads it once, at start-up

    from econ.belief import (
        BeliefConfig,
        EconAgents,
        Learner,
        LearnerConfig,
        RewardWeights,
        Transition,
    )

    torch.set_num_threads(args.threads)
    cfg = BeliefConfig(n_agents=args.agents)
    learner = Learner(EconAgents(cfg), LearnerConfig(batch_size=args.batch), RewardWeights())
    g = torch.Generator().manual_seed(0)
    for _ in range(learner.cfg.buffer_size):
        obs = torch.randn(1, args.agents, cfg.obs_dim, generator=g)
        learner.buffer.add(
            Transition(
                obs=obs[0],
                actions=learner.explore(obs)[0],
                rewards=torch.rand(args.agents, generator=g),
                reward_tot=0.5,
                commit_emb=torch.randn(cfg.embed_dim, generator=g),
                commit_correct=1.0,
            )
        )
    for _ in range(args.warmup):
        learner.update()
    times = []
    for _ in range(args.updates):
        start = time.perf_counter()
        learner.update()
        times.append((time.perf_counter() - start) * 1000.0)
    times.sort()
    median = statistics.median(times)
    p90 = times[int(0.9 * (len(times) - 1))]
    print(
        f"update (N={args.agents}, batch {args.batch}, {torch.get_num_threads()} threads, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}, {args.updates} runs): "
        f"median {median:.2f} ms, p90 {p90:.2f} ms, max {times[-1]:.2f} ms"
    )
    verdict = "meets" if p90 < BUDGET_MS else "MISSES"
    print(f"{verdict} the < {BUDGET_MS:.0f} ms budget (judged on p90)")


if __name__ == "__main__":
    main()
