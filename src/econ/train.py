"""Online training of ECON's belief networks on questions with gold answers (SPEC 4.4-4.6).

One episode = one training question: ECON answers it with exploration noise on every
executor's (temperature, top_p); rewards come from the gold answer, the commitment and the
sentence encoder; the transition goes to the replay buffer, and every `update_every` episodes
the learner takes one combined gradient step. The epsilon-BNE gap is measured on held-out
questions that are never trained on. Checkpoints are atomic; `--resume` restarts from the
last one with the same question order, RNG states, buffer and optimiser.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import torch
from torch.utils.tensorboard import SummaryWriter

from econ.belief.buffer import Transition
from econ.belief.checkpoint import load_checkpoint, save_checkpoint
from econ.belief.history import AgentHistory
from econ.belief.learner import Learner
from econ.belief.networks import BeliefConfig, EconAgents
from econ.belief.rewards import RewardWeights, team_reward
from econ.config import RunConfig
from econ.evaluate import progress_bar, read_records
from econ.llm import aclose_all
from econ.llm.base import LLMError
from econ.methods.base import CallLog
from econ.methods.econ import EconResult, EconSystem
from econ.report import plot_training
from econ.tasks import Benchmark, Question, get_benchmark, run_questions

CHECKPOINT = "checkpoint"
EPISODES = "episodes.jsonl"
TRAINING_PLOT = "training.png"


def split_questions(
    questions: list[Question], n_heldout: int, seed: int
) -> tuple[list[Question], list[Question]]:
    """A seeded shuffle; the first `n_heldout` only measure the equilibrium gap."""
    order = list(range(len(questions)))
    random.Random(seed).shuffle(order)
    n_heldout = min(n_heldout, max(1, len(questions) // 4))
    heldout = [questions[i] for i in order[:n_heldout]]
    pool = [questions[i] for i in order[n_heldout:]]
    return pool, heldout


def episode_rewards(
    result: EconResult, gold: str, bench: Benchmark, system: EconSystem, learner: Learner
):
    """SPEC 4.4 inputs for each executor: agreement, similarity to the commitment, correctness."""
    texts = [result.commitment] + [e.response for e in result.executors]
    emb = system.embedder.encode(texts)
    cos = (emb[1:] @ emb[0]).tolist()
    agree = [bench.same_answer(e.answer, result.answer) for e in result.executors]
    agent_correct = [bench.grade(e.answer, gold) for e in result.executors]
    team_correct = bench.grade(result.answer, gold)
    rewards, parts = learner.rewards(
        result.obs, result.actions, agree, cos, agent_correct, team_correct
    )
    return rewards, parts, agree, team_correct, emb[0]


class EarlyStop:
    """Stop when the gap stayed below epsilon for `checks` measurements and reward plateaued."""

    def __init__(self, cfg, state: dict | None = None):
        self.cfg = cfg
        self.below = (state or {}).get("below", 0)

    def update(self, gap: float, team_rewards: list[float]) -> bool:
        self.below = self.below + 1 if gap < self.cfg.early_stop_gap else 0
        w = self.cfg.plateau_window
        if len(team_rewards) < 2 * w:
            return False
        recent = sum(team_rewards[-w:]) / w
        before = sum(team_rewards[-2 * w : -w]) / w
        plateau = recent - before < self.cfg.plateau_delta
        return self.cfg.early_stop and self.below >= self.cfg.early_stop_checks and plateau


async def train(cfg: RunConfig, run_dir: Path, show_progress: bool = True) -> dict:
    """Train (or continue training) in `run_dir`; returns a short report of the run."""
    tc = cfg.train
    bench = get_benchmark(cfg.run.benchmark, cfg.run.answer_type)
    questions = run_questions(cfg.run, "train")
    pool, heldout = split_questions(questions, tc.gap_questions, cfg.seed)
    ckpt = run_dir / CHECKPOINT
    n = len(cfg.executor_models())

    if (ckpt / "state.json").exists():
        agents, learner, state = load_checkpoint(ckpt, tc.learner)
        history = AgentHistory.from_state(state["history"])
    else:
        agents = EconAgents(BeliefConfig(n_agents=n), seed=cfg.seed)
        weights = RewardWeights(tc.alpha, tc.dynamic_alpha, tc.alpha_eta)
        learner = Learner(agents, tc.learner, weights)
        history, state = AgentHistory(n), {}
    start = state.get("episode", 0)
    stats = state.get("stats", {"team_rewards": [], "gaps": [], "correct": 0, "stable": 0})
    system = EconSystem.from_config(cfg, agents=agents, history=history)
    stopper = EarlyStop(tc, state.get("early_stop"))

    episodes_path = run_dir / EPISODES
    kept = [r for r in read_records(episodes_path) if r["episode"] < start]
    episodes_path.write_text("".join(json.dumps(r) + "\n" for r in kept))
    writer = SummaryWriter(str(run_dir / "tensorboard"), purge_step=start)
    heldout_obs = await _heldout_observations(system, heldout)
    stopped_early = False

    def checkpoint(episode: int) -> None:
        extra = {
            "episode": episode,
            "history": history.state_dict(),
            "stats": stats,
            "early_stop": {"below": stopper.below},
            "config": cfg.model_dump(mode="json"),
        }
        save_checkpoint(ckpt, agents, learner, extra)

    try:
        with open(episodes_path, "a") as out, progress_bar(show_progress) as bar:
            task = bar.add_task("training", total=tc.episodes, completed=start, info="")
            for ep in range(start, tc.episodes):
                q = pool[ep % len(pool)]
                record = await _play(ep, q, bench, system, learner, history, stats, writer)
                out.write(json.dumps(record) + "\n")
                out.flush()

                done = ep + 1
                if done % tc.gap_every == 0 or done == tc.episodes:
                    gap = learner.epsilon_gap(_with_history(heldout_obs, history))
                    stats["gaps"].append([done, gap])
                    writer.add_scalar("equilibrium/epsilon_gap", gap, done)
                    stopped_early = stopper.update(gap, stats["team_rewards"])
                bar.update(task, advance=1, info=_progress_info(stats))
                if done % tc.checkpoint_every == 0 or done == tc.episodes or stopped_early:
                    checkpoint(done)
                if stopped_early:
                    break
    finally:
        writer.close()
        await aclose_all()

    plot_training(read_records(episodes_path), stats["gaps"], run_dir / TRAINING_PLOT)
    played = max(1, len(stats["team_rewards"]))
    actions = agents.act(_with_history(heldout_obs, history)).mean(dim=0)
    return {
        "episodes": len(stats["team_rewards"]),
        "stopped_early": stopped_early,
        "commit_accuracy": stats["correct"] / played,
        "commitment_stability": stats["stable"] / played,
        "mean_reward_last_20": _recent_mean(stats["team_rewards"]),
        "gaps": stats["gaps"],
        "alpha": list(learner.alpha),
        "actions": [
            {"temperature": round(float(t), 3), "top_p": round(float(p), 3)} for t, p in actions
        ],
        "checkpoint": str(ckpt),
    }


async def _play(ep, q, bench, system, learner, history, stats, writer) -> dict:
    """One episode: answer with exploration, reward, store, maybe update. Returns its record."""
    log = CallLog()
    start = time.perf_counter()
    try:
        result = await system.solve(
            q.question,
            bench,
            log,
            noise_std=learner.cfg.noise_std,
            generator=learner.noise_generator,
        )
    except LLMError as e:
        return {"episode": ep, "id": q.id, "error": str(e)}
    rewards, parts, agree, team_correct, commit_emb = episode_rewards(
        result, q.gold, bench, system, learner
    )
    r_tot = team_reward(rewards)
    update_start = time.perf_counter()
    metrics = learner.add(
        Transition(
            obs=result.obs,
            actions=result.actions,
            rewards=torch.tensor(rewards, dtype=torch.float32),
            reward_tot=r_tot,
            commit_emb=commit_emb,
            commit_correct=float(team_correct),
        )
    )
    update_ms = (time.perf_counter() - update_start) * 1000 if metrics else None
    history.update(rewards, agree)
    first = result.commitments[0]  # stage 2 left the first commitment standing:
    stable = all(c == first or bench.same_answer(c, first) for c in result.commitments)
    stats["team_rewards"].append(r_tot)
    stats["correct"] += team_correct
    stats["stable"] += stable
    played = len(stats["team_rewards"])
    _log_episode(writer, ep, r_tot, rewards, parts, learner.alpha, result, metrics)
    writer.add_scalar("reward/commit_accuracy", stats["correct"] / played, ep)
    writer.add_scalar("equilibrium/commitment_stability", stats["stable"] / played, ep)
    usage = log.usage()
    return {
        "episode": ep,
        "id": q.id,
        "gold": q.gold,
        "answer": result.answer,
        "correct": team_correct,
        "reward_tot": r_tot,
        "rewards": rewards,
        "actions": result.actions.tolist(),
        "agree": agree,
        "rounds": result.rounds,
        "stable": stable,
        "tokens": usage["prompt_tokens"] + usage["completion_tokens"],
        "seconds": round(time.perf_counter() - start, 3),
        "update_ms": None if update_ms is None else round(update_ms, 2),
        "losses": metrics,
    }


def _recent_mean(values: list[float], window: int = 20) -> float:
    recent = values[-window:]
    return sum(recent) / len(recent) if recent else 0.0


def _progress_info(stats: dict) -> str:
    info = f"reward {_recent_mean(stats['team_rewards']):.3f}"
    if stats["gaps"]:
        info += f"  gap {stats['gaps'][-1][1]:.4f}"
    return info


async def _heldout_observations(system: EconSystem, heldout: list[Question]) -> torch.Tensor:
    """Observations [H, N, obs_dim] of held-out questions (one strategy call each, made once)."""
    rows = []
    for q in heldout:
        strategy = await system.strategy(q.question, CallLog())
        rows.append(await system.observe(q.question, strategy))
    return torch.stack(rows)


def _with_history(obs: torch.Tensor, history: AgentHistory) -> torch.Tensor:
    """The held-out questions seen with the agents' current history features."""
    hist = history.features()
    return torch.cat([obs[..., : -hist.shape[1]], hist.expand(obs.shape[0], -1, -1)], dim=-1)


def _log_episode(writer, ep, r_tot, rewards, parts, alpha, result, metrics) -> None:
    writer.add_scalar("reward/team", r_tot, ep)
    for i, r in enumerate(rewards):
        writer.add_scalar(f"reward/agent{i}", r, ep)
        writer.add_scalar(f"reward/agent{i}_AL", parts["AL"][i], ep)
        writer.add_scalar(f"reward/agent{i}_CC", parts["CC"][i], ep)
        writer.add_scalar(f"action/agent{i}_temperature", float(result.actions[i, 0]), ep)
        writer.add_scalar(f"action/agent{i}_top_p", float(result.actions[i, 1]), ep)
    for k, a in zip(("AL", "TS", "CC"), alpha):
        writer.add_scalar(f"alpha/{k}", a, ep)
    for k, v in (metrics or {}).items():
        writer.add_scalar(f"loss/{k}", v, ep)
