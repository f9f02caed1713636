"""A simulator of the executors calibrated on a real training log, to check that the learner
finds the best controls and holds still when there are none, through the training loop that
ships (`econ.train.learn`, the same function `econ.train.train` calls for every real episode).

It stays in the package, outside the learning core (`econ.belief`), because both the tests and
`benchmarks/learner_sim.py` drive it. Real training costs ~40 s of LLM calls per question;
here fake executors answer fake questions in microseconds with the same signal and noise:

- executor i is right with probability `table(controls_i)` (the action sweep's measured
  accuracy-vs-controls table), drawn through a Gaussian copula whose latent correlation
  within a question (0.52) gives a correlation of correctness between two executors of one
  question of 0.28, as measured in `results/train-gsm8k-0.5b` (0.277 over 200 episodes;
  independent draws gave 0.03): questions are hard or easy for the whole team;
- wrong answers are one of a few distractors per question, so wrong executors sometimes agree;
  the commitment is the plurality answer (ties drawn at random), and the rewards are
  training's (`econ.belief.rewards`);
- the cosine of a response to the commitment (AL's second half) is 0.57 when the executor
  agrees with it and 0.51 when not, plus a question-level part of sd 0.24 and an own part of
  sd 0.15, clamped to [0, 1]: the real log's means, between-question and within-question
  spreads (0.57, 0.51, 0.24, 0.15);
- scenarios: one shared optimum (`shifts` all 0, a team of one model, the default), or a
  heterogeneous team whose executor i sees the table shifted by `shifts[i]` normalised units
  along temperature (mirrored at the range ends), so each has its own optimum;
- observations look like the real ones: unit-norm "sentence embeddings" of questions and
  strategies with the pairwise cosine of real GSM8K questions (~0.37), plus history features.

The default table holds the figures measured on the 0.5B model (GSM8K, per-sample accuracy
28.9% at temperature 0.1, 13.3% at 0.7 and at 1.2); `AccuracyTable.from_json` loads the full
sweep (`docs/action_sweep_*.json`) and interpolates over its grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

from econ.belief.controls import Controls
from econ.belief.early_stop import EarlyStop, EarlyStopConfig
from econ.belief.history import AgentHistory
from econ.belief.landscape import AccuracyTable
from econ.belief.learner import Learner
from econ.belief.rewards import agent_rewards, team_reward
from econ.methods.econ import EconStep
from econ.train import RoundScore, learn

QUESTION_COSINE = 0.37  # mean pairwise cosine of all-MiniLM-L6-v2 embeddings of GSM8K questions
OPTIMUM_TOLERANCE = 0.005  # accuracy within this of the best counts as optimal
LATENT_CORRELATION = 0.52  # -> correctness correlation 0.28 within a question (real log: 0.277)
COSINE_AGREE, COSINE_DISAGREE = 0.57, 0.51  # the real log's mean cosine to the commitment
COSINE_QUESTION_SD, COSINE_OWN_SD = 0.24, 0.15  # its between- and within-question spread
HETEROGENEOUS = [0.0, 0.3, 0.6]  # the heterogeneous scenario's shifts (normalised units)


@dataclass
class SimQuestion:
    """A fake question: embeddings of its text and of its strategy, and its difficulty."""

    emb: Tensor  # [embed_dim], unit norm
    strategy: Tensor  # [embed_dim], unit norm
    hardness: float  # the question's share of every executor's latent (standard normal)


class FakeExecutors:
    """N simulated executors whose accuracy follows an `AccuracyTable` (see the module doc)."""

    def __init__(
        self,
        table: AccuracyTable,
        controls: Controls,
        n_agents: int = 3,
        shifts: list[float] | None = None,
        embed_dim: int = 384,
        distractors: int = 3,
        seed: int = 0,
    ) -> None:
        self.table = table
        self.controls = dict(controls)
        self.n_agents = n_agents
        self.embed_dim = embed_dim
        self.distractors = distractors
        self.gen = torch.Generator().manual_seed(seed)
        shifts = shifts if shifts is not None else [0.0] * n_agents
        if len(shifts) != n_agents:
            raise ValueError(f"{len(shifts)} shifts for {n_agents} executors")
        axis = list(controls).index("temperature") if "temperature" in controls else 0
        self.shift = torch.zeros(n_agents, len(controls))
        self.shift[:, axis] = torch.tensor(shifts)
        self._topic = F.normalize(torch.randn(embed_dim, generator=self.gen), dim=0)
        self._optimal = self._optimal_sets()

    # --- the landscape ----------------------------------------------------------------------

    def accuracy(self, u: Tensor) -> Tensor:
        """Each executor's expected accuracy at normalised actions u [..., N, A] -> [..., N]."""
        v = u - self.shift
        v = torch.remainder(v, 2.0)
        v = torch.where(v > 1.0, 2.0 - v, v)  # mirrored at the range ends
        settings = {
            name: lo + (hi - lo) * v[..., k]
            for k, (name, (lo, hi)) in enumerate(self.controls.items())
        }
        return self.table(settings)

    def _optimal_sets(self) -> list[Tensor]:
        """Per executor, the points of a fine grid over [0, 1]^A within OPTIMUM_TOLERANCE of its
        best accuracy (a whole line when a control does not matter)."""
        a = len(self.controls)
        points = {1: 201, 2: 101, 3: 41}.get(a, 21)
        axis = torch.linspace(0.0, 1.0, points)
        grid = torch.cartesian_prod(*[axis] * a).reshape(-1, a)  # [P, A]
        acc = self.accuracy(grid.unsqueeze(1).expand(-1, self.n_agents, -1))  # [P, N]
        best = acc.amax(dim=0)
        return [grid[acc[:, i] >= best[i] - OPTIMUM_TOLERANCE] for i in range(self.n_agents)]

    def optimum_error(self, u: Tensor) -> float:
        """Largest distance (normalised units) from an action [..., N, A] to its executor's
        optimal set, over executors and questions."""
        u = u.reshape(-1, self.n_agents, u.shape[-1])
        worst = 0.0
        for i, optimal in enumerate(self._optimal):
            dist = torch.cdist(u[:, i], optimal).amin(dim=1)
            worst = max(worst, dist.max().item())
        return worst

    def optima(self) -> Tensor:
        """The centre of each executor's optimal set [N, A] (for reports)."""
        return torch.stack([s.mean(dim=0) for s in self._optimal])

    # --- questions and answers --------------------------------------------------------------

    def question(self) -> SimQuestion:
        """A fresh question, its strategy, and its difficulty."""
        a = math.sqrt(QUESTION_COSINE)

        def text() -> Tensor:
            noise = F.normalize(torch.randn(self.embed_dim, generator=self.gen), dim=0)
            return F.normalize(a * self._topic + math.sqrt(1 - a * a) * noise, dim=0)

        hardness = torch.randn((), generator=self.gen).item()
        return SimQuestion(emb=text(), strategy=text(), hardness=hardness)

    def answer(self, q: SimQuestion, u: Tensor, alpha: tuple[float, float, float]) -> RoundScore:
        """Executors answer q with normalised actions u [N, A]; the team commits to the
        plurality; the training rewards with weights alpha, as `econ.train.score` gives them."""
        p = self.accuracy(u).clamp(1e-6, 1 - 1e-6)
        rho = LATENT_CORRELATION
        own = torch.randn(self.n_agents, generator=self.gen)
        latent = math.sqrt(rho) * q.hardness + math.sqrt(1 - rho) * own
        correct = latent < torch.special.ndtri(p)  # P(correct) = p, correlated within q
        wrong = torch.randint(1, self.distractors + 1, (self.n_agents,), generator=self.gen)
        answers = torch.where(correct, torch.zeros_like(wrong), wrong)
        counts = torch.bincount(answers, minlength=self.distractors + 1).float()
        ties = (counts == counts.max()).nonzero().flatten()
        commit = ties[torch.randint(len(ties), (1,), generator=self.gen)].item()
        agree = (answers == commit).tolist()
        shared = COSINE_QUESTION_SD * torch.randn((), generator=self.gen)
        cos = (
            torch.where(answers == commit, COSINE_AGREE, COSINE_DISAGREE)
            + shared
            + COSINE_OWN_SD * torch.randn(self.n_agents, generator=self.gen)
        ).clamp(0.0, 1.0)
        team_correct = bool(commit == 0)
        rewards, parts = agent_rewards(agree, cos.tolist(), correct.tolist(), team_correct, alpha)
        commit_emb = F.normalize(
            q.emb + 0.5 * F.normalize(torch.randn(self.embed_dim, generator=self.gen), dim=0), dim=0
        )
        return RoundScore(rewards, parts, agree, correct.tolist(), team_correct, commit_emb)


@dataclass
class SimReport:
    """How a simulated training run went, measured on held-out questions."""

    episodes: int
    updates: int
    stopped_early: bool
    gaps: list[tuple[int, float, float]] = field(default_factory=list)  # (episode, abs, rel)
    max_move: float = 0.0  # largest move of a deterministic action from its start
    final_actions: Tensor | None = None  # [H, N, A] normalised, deterministic
    reward_std: float = 0.0  # of the per-executor rewards observed in the run
    team_rewards: list[float] = field(default_factory=list)


def observation(q: SimQuestion, history: AgentHistory, n_agents: int) -> Tensor:
    """[N, obs_dim] in the real layout: [emb(question); emb(strategy); history features]."""
    shared = torch.cat([q.emb, q.strategy]).expand(n_agents, -1)
    return torch.cat([shared, history.features()], dim=1)


@torch.no_grad()
def _deterministic(learner: Learner, obs: Tensor) -> Tensor:
    """The policy's normalised actions [..., N, A] on observations, without noise."""
    return learner.agents.policy(learner.agents.beliefs(obs))


def simulate(
    executors: FakeExecutors,
    learner: Learner,
    episodes: int,
    *,
    heldout: int = 32,
    gap_every: int = 5,
    early_stop: EarlyStopConfig | None = None,
) -> SimReport:
    """Train `learner` on simulated questions for up to `episodes` episodes.

    Each episode is played here (a fake question, the exploring policy, the fake team's answer
    and rewards) and learned from by `econ.train.learn`, the function every real episode goes
    through; the gap and the action moves are measured on `heldout` questions never trained on.
    """
    agents, n = learner.agents, executors.n_agents
    history = AgentHistory(n)
    held = torch.stack([observation(executors.question(), history, n) for _ in range(heldout)])
    start = _deterministic(learner, held)
    stopper = EarlyStop(early_stop or EarlyStopConfig(enabled=False))
    report = SimReport(episodes=0, updates=0, stopped_early=False)
    observed: list[float] = []
    for episode in range(1, episodes + 1):
        # play
        q = executors.question()
        obs = observation(q, history, n)
        actions = learner.explore(obs.unsqueeze(0))[0]
        score = executors.answer(q, agents.normalise(actions), learner.alpha)
        step = EconStep(0, obs, actions, [True] * n, [None] * n, [""] * n)
        # learn: alpha, evidence, store, update
        learn(learner, history, [step], [score])
        observed.extend(score.rewards)
        report.team_rewards.append(team_reward(score.rewards))
        report.episodes = episode
        # measure
        if episode % gap_every == 0 or episode == episodes:
            now = history.refresh(held)
            gap = learner.epsilon_gap(now)
            report.gaps.append((episode, gap.absolute, gap.relative))
            moved = (_deterministic(learner, now) - start).abs().max().item()
            report.max_move = max(report.max_move, moved)
            if stopper.update(gap.relative, report.team_rewards, learner.updates):
                report.stopped_early = True
                break
    report.updates = learner.updates
    report.final_actions = _deterministic(learner, history.refresh(held))
    report.reward_std = torch.tensor(observed).std().item()
    return report
