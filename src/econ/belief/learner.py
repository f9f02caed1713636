"""Online training of the belief networks towards a Bayesian Nash equilibrium.

One module on purpose (about 430 lines): the loss, its two optimisers, exploration and
the gap read top to bottom, as in CleanRL, and the reasons for each choice sit beside it.

Every update draws one minibatch from the replay buffer and takes ONE backward pass through

    L = L_TD_tot + sum_i L_TD_i + lambda_sd L_SD + lambda_m L_m + L_actor + L_bound
        + lambda_b L_belief

- L_TD_i, L_TD_tot fit each critic Q_i(b_i, e_i) and the mixed Q_tot to the observed rewards
  (one-step bandit targets: each round of a question is one step). An executor that did not act
  in a round (stage 2) has no L_TD_i term there: its action was chosen in an earlier round.
- L_SD pulls the projection F_i of the team's actions and group representation E towards the
  commitment's embedding phi(C), so E has to carry what the team will commit to.
- L_m ties each Q_i to stopgrad(Q_tot). The team reward is r_tot = mean_i r_i, so Q_tot
  estimates the mean of the Q_i and each Q_i's consistent target is Q_tot itself (Q_tot / N
  would be the target if r_tot were the sum; pulling towards it biased every Q_i down).
- L_actor moves the action heads. With `actor: evidence` (the default) it follows the evidence
  of `econ.belief.evidence`, not the critic: a control moves only once the sequential test of
  the executor's own correctness on its own exploration offsets has crossed its boundary, in
  that test's direction, by `evidence_step` (normalised units), and the test starts afresh
  where the control lands. The move is made at once (the action head's output bias shifts by
  it) and held by L_actor = sum_{i,k with a target} (z_ik - logit(target_ik))^2 on the
  pre-sigmoid output: the control gets there whatever the critic's slope, and the critic's
  gradient does not move the action at all in this mode. (Its slope is shrunk by weight
  decay and is noisiest where the evidence is weakest; measured on the simulator, a
  critic-driven actor behind an evidence gate moved against the evidence in 2 of 4 runs and
  stalled short of the optimum in another.) The
  critic, the mixer and the epsilon-gap stay: they are what the equilibrium is measured with.
  With `actor: critic`, L_actor = -sum_i Q_i(b_i, mu_i(b_i)) through a *frozen* critic (its
  weights enter as constants and the belief is detached), the critic-gradient actor, ungated: on a
  reward that ignores the action it drifts like a random walk (0.30 in 270 simulated
  episodes), so it is kept for experiments on the critic, not for training runs.
- L_bound = sum (|z| - actor_bound)_+^2 on the action head's pre-sigmoid output z keeps the policy
  off the range ends: a saturated sigmoid has no gradient, so an actor pushed there by one noisy
  critic slope never comes back (measured: agents stuck at a random range end).
- L_belief makes b_i a belief about co-agents: predict the others' mean action (MSE) and whether
  the commitment will be correct (BCE).

Why these optimisers (numbers from `benchmarks/learner_sim.py`; more in docs/results.md):
- The action heads use plain SGD (`actor_lr`), so the action moves in proportion to the
  critic's slope. Adam moves every weight by ~lr whatever the gradient's size, so a small but
  consistent spurious slope moved the actor as fast as a real one: with the reward ignoring the
  action, Adam-trained actions drifted 0.46 (normalised units) in 300 simulated episodes at
  actor lr 1e-4 and 1e-3 alike.
- The critic heads get *decoupled* weight decay (AdamW, `critic_weight_decay`). Coupled L2
  inside Adam (Adam's weight_decay) competes with the tiny action-slope gradients after
  normalisation and flattened the critic in the action (slope 0.00-0.01 where least squares
  found 0.09); so did a gradient penalty on dQ/du (0.001 at weight 0.1). Decoupled decay keeps
  the slope (0.04) and lowers the null-reward gap (0.038 -> 0.024 reward sds, critic alone).
- The gradients of the action heads are clipped apart from the rest, so the critic's large
  early gradients do not shrink the actor's step.

Exploration is Gaussian in normalised action units, reflected at the range ends, stratified
across the executors of one question (their offsets are spread over the normal's quantiles, so
every question compares low and high settings), kept at `noise_std` for the first
`noise_decay_start` episodes while the evidence is gathered, then annealed linearly to
`noise_std_final` over `noise_decay_episodes` episodes, so the played actions approach the
policy. Each episode is followed by `updates_per_episode` gradient steps (the
update-to-data ratio): an update costs ~10 ms, an episode ~40 s of LLM calls.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from torch import Tensor

from econ.belief.buffer import ReplayBuffer, Transition
from econ.belief.evidence import Evidence
from econ.belief.networks import EconAgents
from econ.belief.rewards import Alpha, RewardWeights, update_alpha


class LearnerConfig(BaseModel):
    """Optimisation, exploration and equilibrium-measurement settings of the online learner."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    lr: float = Field(1e-3, gt=0)
    actor_lr: float = Field(1e-2, gt=0, description="SGD step of the action heads")
    batch_size: int = Field(16, ge=1)
    buffer_size: int = Field(256, ge=1)
    updates_per_episode: int = Field(4, ge=1, description="update-to-data ratio")
    grad_clip: float = Field(1.0, gt=0)
    lambda_sd: float = Field(0.1, ge=0)
    lambda_m: float = Field(0.1, ge=0)
    lambda_b: float = Field(0.1, ge=0)
    critic_weight_decay: float = Field(1.0, ge=0, description="decoupled (AdamW)")
    actor_bound: float = Field(3.0, gt=0, description="largest |pre-sigmoid action| unpenalised")
    actor: Literal["evidence", "critic"] = Field(
        "evidence", description="what moves the action heads: see the module docstring"
    )
    evidence_alpha: float = Field(
        0.05, gt=0, lt=1, description="chance of a test ever crossing its boundary on noise"
    )
    evidence_rho: float = Field(100.0, gt=0, description="the boundary's mixture width, rounds")
    evidence_step: float = Field(0.35, gt=0, le=1, description="one move, normalised units")
    noise_std: float = Field(0.3, ge=0, description="exploration std at the start, [0, 1] units")
    noise_std_final: float = Field(0.1, ge=0)
    noise_decay_start: int = Field(150, ge=0, description="episodes of wide exploration first")
    noise_decay_episodes: int = Field(100, ge=1)
    trust_region: float = Field(2.0, gt=0, description="gap deviations: +- this many stds")
    gap_grid: int = Field(5, ge=2, le=21, description="deviation grid points per control")
    device: str = "cpu"

    @field_validator("device")
    @classmethod
    def _a_device(cls, value: str) -> str:
        try:
            torch.device(value)
        except (RuntimeError, ValueError):
            raise ValueError(f"{value!r} is not a torch device (cpu, cuda, cuda:0, mps)") from None
        return value

    @model_validator(mode="after")
    def _check(self) -> LearnerConfig:
        if self.batch_size > self.buffer_size:
            raise ValueError("batch_size must not exceed buffer_size")
        return self


@dataclass(frozen=True)
class Gap:
    """The epsilon-BNE gap on a batch of observations: absolute, and in reward std units."""

    absolute: float
    relative: float


class Learner:
    """Owns the optimiser, replay buffer, exploration RNG, schedule and current reward weights."""

    def __init__(
        self,
        agents: EconAgents,
        cfg: LearnerConfig,
        rewards: RewardWeights,
        seed: int = 0,
        groups: Sequence[int] | None = None,
    ) -> None:
        """`groups[i]` names executor i's model: executors of one model pool their evidence
        (default: one model for the whole team)."""
        self.cfg = cfg
        self.device = torch.device(cfg.device)
        self.agents = agents.to(self.device)
        self.reward_weights = rewards
        self.alpha: Alpha = tuple(rewards.alpha)
        self.optimizer = torch.optim.AdamW(self._param_groups(), fused=True)
        # plain SGD for the action heads: see the module docstring
        self.actor_optimizer = torch.optim.SGD(agents.actor_parameters(), lr=cfg.actor_lr)
        self.buffer = ReplayBuffer(cfg.buffer_size, seed=seed)
        self.noise_generator = torch.Generator(device=self.device).manual_seed(seed + 1)
        self.updates = 0
        self.episodes = 0
        n, a = agents.cfg.n_agents, agents.cfg.action_dim
        # others[i, j] = 1/(N-1) for j != i: averages the other agents' actions in one matmul
        others = (torch.ones(n, n) - torch.eye(n)) / max(n - 1, 1)
        self._others = others.to(self.device)
        axis = torch.linspace(-1.0, 1.0, cfg.gap_grid)
        offsets = torch.cartesian_prod(*[axis] * a).reshape(-1, a)  # [K, A], in trust-region units
        self._offsets = offsets.to(self.device)
        self.evidence = Evidence(
            groups if groups is not None else [0] * n, a, cfg.evidence_alpha, cfg.evidence_rho
        )
        self.targets = torch.full((n, a), math.nan)  # [N, A] where the evidence sent a control
        self.moves: list[tuple[int, int, int, float]] = []  # (episode, agent, control, target)

    def _param_groups(self) -> list[dict]:
        """AdamW's groups: everything but the actor and critic heads, then the critic heads with
        decoupled weight decay. fused: one kernel per step instead of a dozen small ops per
        parameter (~3x faster)."""
        cfg, agents = self.cfg, self.agents
        critic = agents.critic_parameters()
        taken = {id(p) for p in [*agents.actor_parameters(), *critic]}
        rest = [p for p in agents.parameters() if id(p) not in taken]
        return [
            {"params": rest, "lr": cfg.lr, "weight_decay": 0.0},
            {"params": critic, "lr": cfg.lr, "weight_decay": cfg.critic_weight_decay},
        ]

    # --- acting -----------------------------------------------------------------------------

    @property
    def noise_std(self) -> float:
        """Exploration std now: noise_std for the first noise_decay_start episodes, then linear
        to noise_std_final over noise_decay_episodes."""
        cfg = self.cfg
        frac = min(1.0, max(0, self.episodes - cfg.noise_decay_start) / cfg.noise_decay_episodes)
        return cfg.noise_std + frac * (cfg.noise_std_final - cfg.noise_std)

    @torch.no_grad()
    def explore(self, obs: Tensor) -> Tensor:
        """Training-time actions [B, N, A] in real units: the policy plus Gaussian noise.

        The noise is reflected at the range ends rather than clamped, so a policy near an end
        still explores a spread of values instead of piling its samples onto the end itself.
        """
        agents = self.agents
        u = agents.policy(agents.beliefs(obs.to(self.device)))
        noise = self._stratified(u.shape).to(u.device, u.dtype)
        u = _reflect(u + self.noise_std * noise)
        return agents.denormalise(u)

    def _stratified(self, shape: torch.Size) -> Tensor:
        """Standard normal noise [B, N, A] whose N values per question and control fall in N
        different quantile bins of the normal (in a random order), so the executors of one
        question always spread over low and high offsets."""
        b, n, a = shape
        gen = self.noise_generator
        order = torch.rand(b, n, a, generator=gen, device=self.device).argsort(dim=1)
        p = (order + torch.rand(b, n, a, generator=gen, device=self.device)) / n
        return torch.special.ndtri(p.clamp(1e-6, 1 - 1e-6))

    @torch.no_grad()
    def q_of_played(self, obs: Tensor, actions: Tensor) -> Tensor:
        """Critic values Q_i(b_i, e_i) [B, N] of observations and actions in real units, as
        played (`EconAgents.q_values` takes beliefs and normalised actions)."""
        b = self.agents.beliefs(obs.to(self.device))
        return self.agents.q_values(b, self.agents.normalise(actions.to(self.device)))

    def step_alpha(self, obs: Tensor, actions: Tensor, components: dict[str, list[float]]) -> None:
        """With dynamic weights, one projected alpha step against the critics' values for the
        steps just played (obs [S, N, obs_dim], actions [S, N, A], components flattened over
        steps then agents). Separate from the reward computation, which stays a pure function
        of alpha: a question is scored with the weights before the step."""
        if not self.reward_weights.dynamic:
            return
        q = self.q_of_played(obs, actions).flatten().tolist()
        self.alpha = update_alpha(self.alpha, components, q, self.reward_weights.eta)

    # --- learning ---------------------------------------------------------------------------

    @torch.no_grad()
    def record_evidence(
        self, obs: Tensor, actions: Tensor, correct: Sequence[bool], acted: Sequence[bool]
    ) -> list[tuple[int, int, float]]:
        """Add one question's first round to the evidence (obs [N, obs_dim], the actions
        played [N, A] in real units, each executor's correctness), before the policy is
        updated on it; where a test is decided, move the control to its new target (the
        action head's output bias shifts by the move) and restart the test. Returns the moves
        made: (agent, control index, target)."""
        agents = self.agents
        u_pol = agents.policy(agents.beliefs(obs.unsqueeze(0).to(self.device)))[0].cpu()
        offsets = agents.normalise(actions.to(self.device)).cpu() - u_pol
        self.evidence.add(offsets, correct, acted)
        if self.cfg.actor != "evidence":
            return []
        lo = torch.sigmoid(torch.tensor(-self.cfg.actor_bound)).item()
        moves = []
        decided = self.evidence.decisions()
        for g, k in decided.nonzero().tolist():
            sign = decided[g, k].item()
            for i, group in enumerate(self.evidence.groups):
                if self.evidence.group_ids.index(group) != g:
                    continue
                base = self.targets[i, k] if not self.targets[i, k].isnan() else u_pol[i, k]
                target = float(min(max(base + sign * self.cfg.evidence_step, lo), 1 - lo))
                self.targets[i, k] = target
                # there at once: the head's bias shifts z by the move (exact on this question,
                # the same shift on every other); L_actor then holds it there
                shift = torch.logit(torch.tensor(target)) - torch.logit(u_pol[i, k])
                agents.actor_out.bias[i, k] += shift.to(agents.actor_out.bias.device)
                moves.append((i, k, target))
                self.moves.append((self.episodes, i, k, target))
            self.evidence.restart(g, k)
        return moves

    def evidence_t(self) -> Tensor:
        """[N, A]: each executor's current test statistic (its group's)."""
        return self.evidence.per_agent(self.evidence.t())

    def store(self, transitions: Sequence[Transition]) -> None:
        """Add one episode (one question, one transition per round) to the replay buffer."""
        for t in transitions:
            self.buffer.add(t)
        self.episodes += 1

    @property
    def ready(self) -> bool:
        """Whether the buffer holds a minibatch."""
        return len(self.buffer) >= self.cfg.batch_size

    def update(self) -> dict[str, float]:
        """One gradient step on one minibatch; returns each named loss term."""
        cfg, agents = self.cfg, self.agents
        batch = self.buffer.sample(cfg.batch_size, self.device)

        b = agents.beliefs(batch.obs)
        u = agents.normalise(batch.actions)
        q = agents.q_values(b, u)
        e = agents.group(b)
        q_tot = agents.mix(q, e)

        td_tot = (q_tot - batch.reward_tot).pow(2).mean()
        td = ((q - batch.rewards).pow(2) * batch.acted).sum(dim=1).mean()
        f = agents.commitment_projection(u, e)
        cos = F.cosine_similarity(f, batch.commit_emb.unsqueeze(1), dim=-1)
        sd = (1.0 - cos).pow(2).sum(dim=1).mean()
        mix = ((q - q_tot.detach().unsqueeze(1)).pow(2) * batch.acted).sum(dim=1).mean()
        b_fixed = b.detach()
        z = agents.pre_squash(b_fixed)
        actor = self._actor_loss(b_fixed, z)
        bound = F.relu(z.abs() - cfg.actor_bound).pow(2).sum(dim=(1, 2)).mean()
        pred_others, commit_logit = agents.belief_predictions(b)
        others_target = torch.matmul(self._others, u)  # [B, N, A]: mean of the others' actions
        belief = (pred_others - others_target).pow(2).sum(dim=(1, 2)).mean() + (
            F.binary_cross_entropy_with_logits(
                commit_logit,
                batch.commit_correct.unsqueeze(1).expand_as(commit_logit),
                reduction="none",
            )
            .sum(dim=1)
            .mean()
        )
        loss = (
            td_tot
            + td
            + cfg.lambda_sd * sd
            + cfg.lambda_m * mix
            + actor
            + bound
            + cfg.lambda_b * belief
        )

        self.optimizer.zero_grad(set_to_none=True)
        self.actor_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        # clipped apart: the critic's large early gradients must not shrink the actor's step
        grad_norm = torch.nn.utils.clip_grad_norm_(
            [p for g in self.optimizer.param_groups for p in g["params"]],
            cfg.grad_clip,
            foreach=True,
        )
        actor_grad_norm = torch.nn.utils.clip_grad_norm_(
            agents.actor_parameters(), cfg.grad_clip, foreach=True
        )
        self.optimizer.step()
        self.actor_optimizer.step()
        self.updates += 1
        values = torch.stack(
            [loss, td_tot, td, sd, mix, actor, bound, belief, grad_norm, actor_grad_norm, q.mean()]
        )
        names = (
            "loss",
            "td_tot",
            "td",
            "sd",
            "mix",
            "actor",
            "bound",
            "belief",
            "grad_norm",
            "actor_grad_norm",
            "q_mean",
        )
        return dict(zip(names, values.detach().tolist(), strict=True))

    def _actor_loss(self, b_fixed: Tensor, z: Tensor) -> Tensor:
        """L_actor (module docstring): the pull to the evidence's targets, or the critic's."""
        if self.cfg.actor == "critic":
            return -self.agents.q_values(b_fixed, torch.sigmoid(z), frozen=True).sum(dim=1).mean()
        targets = self.targets.to(z.device)
        has = ~targets.isnan()
        goal = torch.logit(torch.where(has, targets, torch.full_like(targets, 0.5)))
        return ((z - goal).pow(2) * has).sum(dim=(1, 2)).mean()

    # --- equilibrium ------------------------------------------------------------------------

    @torch.no_grad()
    def epsilon_gap(self, obs: Tensor) -> Gap:
        """Mean over agents and questions of how much Q_i could gain by deviating.

        Deviations stay where the critic has data: a grid of `gap_grid` points per control
        spanning +- `trust_region` exploration stds around the agent's own action (clipped to
        the range). Over the whole action box the gap measured the critic's extrapolation
        instead: it rose even when the reward ignored the action. The own action is a
        candidate, so the gap is never negative. `relative` divides by the standard deviation
        of the rewards in the replay buffer, so one threshold fits any reward scale.
        """
        agents = self.agents
        b = agents.beliefs(obs.to(self.device))
        mu = agents.policy(b)
        q_own = agents.q_values(b, mu)
        radius = self.cfg.trust_region * max(self.noise_std, 1e-3)
        candidates = (mu.unsqueeze(2) + radius * self._offsets).clamp(0.0, 1.0)  # [B, N, K, A]
        q_best = agents.q_values(b, candidates).amax(dim=-1)
        gap = (q_best - q_own).clamp_min(0.0).mean().item()
        scale = self.buffer.reward_std()
        return Gap(absolute=gap, relative=gap / scale if scale > 0 else 0.0)

    # --- persistence ------------------------------------------------------------------------

    def state_dict(self) -> dict:
        buffer_tensors, buffer_meta = self.buffer.state_dict()
        return {
            "optimizer": self.optimizer.state_dict(),
            "actor_optimizer": self.actor_optimizer.state_dict(),
            "buffer_tensors": buffer_tensors,
            "buffer_meta": buffer_meta,
            "noise_rng": self.noise_generator.get_state(),
            "updates": self.updates,
            "episodes": self.episodes,
            "alpha": list(self.alpha),
            "evidence": self.evidence.state_dict(),
            "targets": self.targets.tolist(),
            "moves": [list(m) for m in self.moves],
        }

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.actor_optimizer.load_state_dict(state["actor_optimizer"])
        self.actor_optimizer.param_groups[0]["lr"] = self.cfg.actor_lr
        for group, fresh in zip(self.optimizer.param_groups, self._param_groups(), strict=True):
            # the config, not the checkpoint, sets learning rates and weight decay
            group["lr"], group["weight_decay"] = fresh["lr"], fresh["weight_decay"]
        self.buffer.load_state_dict(state["buffer_tensors"], state["buffer_meta"])
        self.noise_generator.set_state(state["noise_rng"])
        self.updates = int(state["updates"])
        self.episodes = int(state["episodes"])
        a1, a2, a3 = (float(a) for a in state["alpha"])
        self.alpha = (a1, a2, a3)
        self.evidence.load_state_dict(state["evidence"])
        targets = torch.tensor(state["targets"], dtype=torch.float32)
        if targets.shape != self.targets.shape:
            raise ValueError(f"targets have shape {tuple(targets.shape)}")
        self.targets = targets
        self.moves = [(int(e), int(i), int(k), float(t)) for e, i, k, t in state["moves"]]


def _reflect(u: Tensor) -> Tensor:
    """Fold values back into [0, 1] by mirroring at 0 and 1 (period 2), exactly in range."""
    u = torch.remainder(u, 2.0)
    return torch.where(u > 1.0, 2.0 - u, u)
