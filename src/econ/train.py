"""Online training of ECON's belief networks on questions with gold answers.

`train` reads top to bottom, one episode (one training question) per loop turn:

    play        ECON answers with an exploring policy (one seed drives all randomness)
    reward      the rewards per round from the gold answer, the commitment and the sentence
                encoder: a pure function of the outcome and alpha; alpha's own step is apart
    store       one transition per round into the replay buffer (stage 2 adds rounds)
    update      `updates_per_episode` gradient steps (the update-to-data ratio)
    measure     the epsilon-BNE gap on held-out questions never trained on, and the early stop
    checkpoint  atomic; `--resume` continues exactly (question order, RNG states, buffer,
                optimisers, history, and the held-out observations, so no strategy call is redone)
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor
from torch.utils.tensorboard import SummaryWriter

from econ.belief.buffer import Transition
from econ.belief.checkpoint import load_checkpoint, load_user_tensors, save_checkpoint
from econ.belief.checkpoint_files import recover_dir
from econ.belief.early_stop import EarlyStop
from econ.belief.embedder import Embedder
from econ.belief.history import AgentHistory
from econ.belief.learner import Learner
from econ.belief.networks import BeliefConfig, EconAgents
from econ.belief.rewards import COMPONENTS, agent_rewards, team_reward
from econ.belief.team import CHECKPOINT
from econ.config import RunConfig
from econ.episodes import (
    EPISODES,
    EpisodeRecord,
    log_scalars,
    progress_info,
    recent_mean,
    records_before,
    team_rewards,
)
from econ.errors import UserError
from econ.llm import aclose_all
from econ.llm import make_llm as default_make_llm
from econ.llm.base import LLMError
from econ.methods.base import MakeLLM
from econ.methods.calls import CallLog
from econ.methods.econ import EconResult, EconStep, EconSystem
from econ.plots import plot_training
from econ.run_records import append_record, read_records
from econ.runs import own_file, progress_bar, run_lock
from econ.tasks import Benchmark, Question, get_benchmark
from econ.tasks.datasets import RunData, read_run_data
from econ.tasks.plans.schema import plan_agreement

__all__ = ["learn", "score", "split_questions", "transitions", "train"]

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


@dataclass
class RoundScore:
    """The rewards of one round, for the executors' answers standing after it."""

    rewards: list[float]
    components: dict[str, list[float]]
    agree: list[bool]
    correct: list[bool]  # each executor's own answer graded: the evidence reads these
    team_correct: bool
    commit_emb: Tensor  # phi(C) of the round's commitment, the target of L_SD


def score(
    result: EconResult, gold: str, bench: Benchmark, embedder: Embedder, alpha: tuple
) -> list[RoundScore]:
    """Rewards for every round of one question with weights alpha; changes nothing.

    Round r scores the answers standing after it against commitment r, so each executor's
    reward goes to the action it actually used in the round it acted. On a plan benchmark
    (TravelPlanner) TS is the committed plan's final pass, CC the executor's own plan's, and
    AL's similarity is the share of day fields the executor's plan shares with the committed
    one (`econ.tasks.plans.schema.plan_agreement`) instead of the embeddings' cosine.
    """
    scores = []
    for step in result.steps:
        committed = result.commitments[step.round]
        emb = embedder.encode([step.commitment, *step.responses])
        agree = [bench.same_answer(a, committed) for a in step.answers]
        correct = [bench.grade(a, gold) for a in step.answers]
        team_correct = bench.grade(committed, gold)
        if bench.kind == "plan":  # plans agree field by field, not in their wording
            cos = [plan_agreement(a, committed) for a in step.answers]
        else:
            cos = (emb[1:] @ emb[0]).tolist()
        rewards, parts = agent_rewards(agree, cos, correct, team_correct, alpha)
        scores.append(RoundScore(rewards, parts, agree, correct, team_correct, emb[0]))
    return scores


def transitions(steps: list[EconStep], scores: list[RoundScore]) -> list[Transition]:
    """One replay transition per round: what each executor saw, did and got."""
    return [
        Transition(
            obs=step.obs,
            actions=step.actions,
            rewards=torch.tensor(s.rewards, dtype=torch.float32),
            reward_tot=team_reward(s.rewards),
            commit_emb=s.commit_emb,
            commit_correct=float(s.team_correct),
            acted=torch.tensor(step.acted, dtype=torch.float32),
        )
        for step, s in zip(steps, scores, strict=True)
    ]


def learn(
    learner: Learner, history: AgentHistory, steps: list[EconStep], scores: list[RoundScore]
) -> list[dict[str, float]]:
    """What the learner does with one played question, whoever played it (the ECON system in
    `train`, the fake team of `econ.simulator`): alpha's step (the question was scored
    before it), the evidence from the first round, the replay buffer, the history, then
    `updates_per_episode` gradient steps. Returns each update's losses."""
    learner.step_alpha(
        torch.stack([s.obs for s in steps]),
        torch.stack([s.actions for s in steps]),
        {k: [v for s in scores for v in s.components[k]] for k in COMPONENTS},
    )
    first = steps[0]
    learner.record_evidence(first.obs, first.actions, scores[0].correct, first.acted)
    learner.store(transitions(steps, scores))
    history.update(scores[-1].rewards, scores[-1].agree)
    if not learner.ready:
        return []
    return [learner.update() for _ in range(learner.cfg.updates_per_episode)]


async def train(
    cfg: RunConfig,
    run_dir: Path,
    show_progress: bool = True,
    make_llm: MakeLLM = default_make_llm,
    data: RunData | None = None,
) -> dict:
    """Train (or continue training) in `run_dir`, holding it (`econ.runs.run_lock`); returns a
    short report of the run. `make_llm` builds the team's LLMs; `data` is what
    `econ.cli_run.check_inputs` read, else read here."""
    with run_lock(run_dir):
        return await _train(cfg, run_dir, show_progress, make_llm, data)


async def _train(
    cfg: RunConfig,
    run_dir: Path,
    show_progress: bool,
    make_llm: MakeLLM,
    data: RunData | None,
) -> dict:
    tc = cfg.train
    bench = get_benchmark(cfg.run.benchmark, cfg.run.answer_type)
    questions = (data or read_run_data(cfg.run, "train")).questions
    pool, heldout = split_questions(questions, tc.gap_questions, cfg.seed)
    if not pool:
        raise UserError(
            f"training needs at least 2 questions ({len(questions)} given): one or more are "
            "held out to measure the equilibrium gap"
        )
    ckpt, episodes_path = run_dir / CHECKPOINT, run_dir / EPISODES
    n = len(cfg.executor_models())
    belief_cfg = BeliefConfig(n_agents=n, controls=cfg.econ.controls)

    own_file(episodes_path)
    recover_dir(ckpt)  # a kill between a checkpoint write's two renames left the old one aside
    resumed = (ckpt / "state.json").exists()
    if not resumed and read_records(episodes_path):
        raise UserError(
            f"{run_dir} has recorded episodes but no checkpoint to continue them from "
            f"({ckpt / 'state.json'} is missing); start a new run with another --out"
        )
    if resumed:
        agents, learner, state = load_checkpoint(ckpt, tc.learner, belief_cfg=belief_cfg)
        history = AgentHistory.from_state(state["history"])
    else:
        agents = EconAgents(belief_cfg, seed=cfg.seed)
        specs = cfg.executor_models()  # executors of one model pool their evidence
        groups = [specs.index(spec) for spec in specs]
        learner = Learner(agents, tc.learner, tc.rewards, seed=cfg.seed, groups=groups)
        history, state = AgentHistory(n), {"episode": 0, "gaps": [], "below": 0}
    # every executor acts in every episode: one not asked has no action to be rewarded for
    system = EconSystem.from_config(cfg, make_llm, agents=agents, history=history, waves=False)
    heldout_obs = (
        load_user_tensors(ckpt)["heldout_obs"]
        if resumed
        else await _heldout_observations(system, bench, heldout)
    )
    start, gaps = state["episode"], state["gaps"]
    stopper = EarlyStop(tc.early_stop, state["below"])
    played = records_before(episodes_path, start)
    writer = SummaryWriter(str(run_dir / "tensorboard"), purge_step=start)

    def explore(obs: Tensor) -> Tensor:
        return learner.explore(obs.unsqueeze(0))[0]

    stopped = False
    try:
        with open(episodes_path, "a", encoding="utf-8") as out, progress_bar(show_progress) as bar:
            task = bar.add_task("training", total=tc.episodes, completed=start, info="")
            for ep in range(start, tc.episodes):
                q = pool[ep % len(pool)]
                log, began = CallLog(), time.perf_counter()
                # play
                try:
                    result = await system.solve(q.question, bench, log, policy=explore)
                except LLMError as exc:
                    episode = EpisodeRecord(episode=ep, id=q.id, gold=q.gold, error=str(exc))
                else:
                    # reward, then learn: evidence, store, update (one function for every
                    # episode source, the simulator's too)
                    scores = score(result, q.gold, bench, system.embedder, learner.alpha)
                    update_start = time.perf_counter()
                    losses = learn(learner, history, result.steps, scores)
                    update_ms = (time.perf_counter() - update_start) * 1000
                    episode = _episode(ep, q, result, scores, bench, log, agents, losses)
                    episode.update_ms = round(update_ms, 2) if losses else None
                    episode.exploration_std = round(learner.noise_std, 4)
                    episode.evidence = evidence_record(learner)
                episode.seconds = round(time.perf_counter() - began, 3)
                played.append(episode)
                append_record(out, episode.model_dump())
                log_scalars(writer, episode, dict(zip(COMPONENTS, learner.alpha, strict=True)))
                # measure
                done = ep + 1
                if done % tc.gap_every == 0 or done == tc.episodes:
                    gap = learner.epsilon_gap(history.refresh(heldout_obs))
                    gaps.append([done, gap.absolute, gap.relative])
                    writer.add_scalar("equilibrium/gap", gap.absolute, done)
                    writer.add_scalar("equilibrium/gap_rel", gap.relative, done)
                    stopped = stopper.update(gap.relative, team_rewards(played), learner.updates)
                bar.update(task, advance=1, info=progress_info(played, gaps))
                # checkpoint
                if done % tc.checkpoint_every == 0 or done == tc.episodes or stopped:
                    save_checkpoint(
                        ckpt,
                        agents,
                        learner,
                        {
                            "episode": done,
                            "history": history.state_dict(),
                            "gaps": gaps,
                            "below": stopper.below,
                            "config": cfg.model_dump(mode="json"),
                        },
                        tensors={"heldout_obs": heldout_obs},
                    )
                if stopped:
                    break
    finally:
        writer.close()
        await aclose_all()

    plot_training(played, gaps, run_dir / TRAINING_PLOT)
    ok = [e for e in played if e.error is None]
    actions = agents.act(history.refresh(heldout_obs)).mean(dim=0)
    return {
        "episodes": len(ok),
        "stopped_early": stopped,
        "commit_accuracy": sum(e.correct for e in ok) / max(1, len(ok)),
        "commitment_stability": sum(e.stable for e in ok) / max(1, len(ok)),
        "mean_reward_last_20": recent_mean(team_rewards(played)),
        "gaps": gaps,
        "alpha": list(learner.alpha),
        "actions": [_named(agents, row) for row in actions],
        "checkpoint": str(ckpt),
    }


def _episode(
    ep: int,
    q: Question,
    result: EconResult,
    scores: list[RoundScore],
    bench: Benchmark,
    log: CallLog,
    agents: EconAgents,
    losses: list[dict[str, float]],
) -> EpisodeRecord:
    first = result.commitments[0]
    usage = log.usage()
    return EpisodeRecord(
        episode=ep,
        id=q.id,
        gold=q.gold,
        answer=result.answer,
        correct=scores[-1].team_correct,
        reward_tot=team_reward(scores[-1].rewards),
        rewards=scores[-1].rewards,
        actions=[_named(agents, row) for row in result.steps[0].actions],
        agree=scores[-1].agree,
        rounds=result.rounds,
        stable=all(c == first or bench.same_answer(c, first) for c in result.commitments),
        tokens=usage.prompt_tokens + usage.completion_tokens,
        losses={k: statistics.fmean(m[k] for m in losses) for k in losses[0]} if losses else None,
    )


def evidence_record(learner: Learner) -> list[dict[str, dict[str, float]]]:
    """Per executor, per control: the evidence test's t and boundary now, and where the
    evidence has sent the control (the target, normalised; None before any move)."""
    names = learner.agents.control_names
    t, bound = learner.evidence_t(), learner.evidence.per_agent(learner.evidence.boundary())
    targets = learner.targets
    return [
        {
            name: {
                "t": round(float(t[i, k]), 3),
                "boundary": round(float(bound[i, k]), 3),
                "target": None if targets[i, k].isnan() else round(float(targets[i, k]), 4),
            }
            for k, name in enumerate(names)
        }
        for i in range(t.shape[0])
    ]


def _named(agents: EconAgents, action: Tensor) -> dict[str, float]:
    return {k: round(float(v), 4) for k, v in zip(agents.control_names, action, strict=True)}


async def _heldout_observations(
    system: EconSystem, bench: Benchmark, heldout: list[Question]
) -> Tensor:
    """Observations [H, N, obs_dim] of held-out questions (one strategy call each, made once
    and saved in the checkpoint)."""
    rows = []
    for q in heldout:
        strategy = await system.strategy(q.question, bench, CallLog())
        rows.append(await system.observe(q.question, strategy))
    return torch.stack(rows)
