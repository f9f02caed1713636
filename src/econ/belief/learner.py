"""Online training of the belief networks towards a Bayesian Nash equilibrium (SPEC 4.5, 4.6).

Every update draws one minibatch from the replay buffer and takes ONE backward pass through

    L = L_TD_tot + sum_i L_TD_i + lambda_sd L_SD + lambda_m L_m + L_actor + lambda_b L_belief

- L_TD_i, L_TD_tot fit each critic Q_i(b_i, e_i) and the mixed Q_tot to the observed rewards
  (one-step bandit targets: each question is one episode).
- L_SD pulls the projection F_i of the team's actions and group representation E towards the
  commitment's embedding phi(C), so E has to carry what the team will commit to.
- L_m ties each Q_i to its share of the (stop-gradient) Q_tot.
- L_actor = -sum_i Q_i(b_i, mu_i(b_i)) trains the action heads through a *frozen* critic: its
  weights enter as constants and the belief is detached, so the actor can only raise Q by
  changing the action, not by editing the critic or the belief state (which the critic, mixer,
  L_SD and belief losses shape). The action heads get their own, smaller learning rate
  (`actor_lr`): Adam moves every weight by about lr per step, so a 128-wide head at the critic's
  lr would jump to a saturated sigmoid before the critic knows anything (measured on the
  bandit test: agents stuck at the range ends).
- L_belief makes b_i a belief about co-agents: predict the others' mean action (MSE) and whether
  the commitment will be correct (BCE).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import Tensor

from econ.belief.buffer import ReplayBuffer, Transition
from econ.belief.networks import EconAgents
from econ.belief.rewards import Alpha, RewardWeights, agent_rewards, update_alpha


class LearnerConfig(BaseModel):
    """Optimisation settings of the online learner."""

    model_config = ConfigDict(extra="forbid")

    lr: float = Field(1e-3, gt=0)
    actor_lr: float = Field(1e-4, gt=0)
    batch_size: int = Field(16, ge=1)
    buffer_size: int = Field(256, ge=1)
    update_every: int = Field(4, ge=1)
    grad_clip: float = Field(1.0, gt=0)
    lambda_sd: float = Field(0.1, ge=0)
    lambda_m: float = Field(0.1, ge=0)
    lambda_b: float = Field(0.1, ge=0)
    noise_std: float = Field(0.1, ge=0)
    gap_grid: int = Field(5, ge=2)
    seed: int = 0
    device: str = "cpu"

    @model_validator(mode="after")
    def _check(self) -> LearnerConfig:
        if self.batch_size > self.buffer_size:
            raise ValueError("batch_size must not exceed buffer_size")
        return self


class Learner:
    """Owns the optimiser, replay buffer, exploration RNG and current reward weights."""

    def __init__(self, agents: EconAgents, cfg: LearnerConfig, rewards: RewardWeights) -> None:
        self.cfg = cfg
        self.device = torch.device(cfg.device)
        self.agents = agents.to(self.device)
        self.reward_weights = rewards
        self.alpha: Alpha = tuple(rewards.alpha)
        actor = self.agents.actor_parameters()
        actor_ids = {id(p) for p in actor}
        rest = [p for p in self.agents.parameters() if id(p) not in actor_ids]
        # fused: one kernel per step instead of a dozen small ops per parameter (~3x faster here)
        self.optimizer = torch.optim.Adam(
            [{"params": rest, "lr": cfg.lr}, {"params": actor, "lr": cfg.actor_lr}], fused=True
        )
        self.buffer = ReplayBuffer(cfg.buffer_size, seed=cfg.seed)
        self.noise_generator = torch.Generator(device=self.device).manual_seed(cfg.seed + 1)
        self.updates = 0
        self.added = 0
        n = agents.cfg.n_agents
        # others[i, j] = 1/(N-1) for j != i: averages the other agents' actions in one matmul
        others = (torch.ones(n, n) - torch.eye(n)) / max(n - 1, 1)
        self._others = others.to(self.device)
        grid = torch.linspace(0.0, 1.0, cfg.gap_grid)
        self._grid = torch.cartesian_prod(grid, grid).to(self.device)  # [K, 2] normalised

    # --- acting and rewarding ---------------------------------------------------------------

    def explore(self, obs: Tensor) -> Tensor:
        """Training-time actions [B, N, 2]: the policy plus exploration noise (cfg.noise_std)."""
        return self.agents.act(obs.to(self.device), self.cfg.noise_std, self.noise_generator)

    @torch.no_grad()
    def q_values(self, obs: Tensor, actions: Tensor) -> Tensor:
        """Critic values Q_i(b_i, e_i) [B, N] for raw (temperature, top_p) actions."""
        b = self.agents.beliefs(obs.to(self.device))
        return self.agents.q_values(b, self.agents.normalise(actions.to(self.device)))

    def rewards(
        self,
        obs: Tensor,
        actions: Tensor,
        agree: list[bool],
        cos_sims: list[float],
        agent_correct: list[bool],
        team_correct: bool,
    ) -> tuple[list[float], dict[str, list[float]]]:
        """r_i with the current alpha for one question (obs [N, obs_dim], actions [N, 2]).

        With dynamic weights, alpha then takes its step against this question's critic values.
        """
        r, components = agent_rewards(agree, cos_sims, agent_correct, team_correct, self.alpha)
        if self.reward_weights.dynamic:
            q = self.q_values(obs.unsqueeze(0), actions.unsqueeze(0))[0].tolist()
            self.alpha = update_alpha(self.alpha, components, q, self.reward_weights.eta)
        return r, components

    # --- learning ---------------------------------------------------------------------------

    def add(self, t: Transition) -> dict[str, float] | None:
        """Store a transition; every `update_every` adds (once a batch fits) run one update."""
        self.buffer.add(t)
        self.added += 1
        if self.added % self.cfg.update_every == 0 and len(self.buffer) >= self.cfg.batch_size:
            return self.update()
        return None

    def update(self) -> dict[str, float]:
        cfg, agents = self.cfg, self.agents
        batch = self.buffer.sample(cfg.batch_size, self.device)
        n = agents.cfg.n_agents

        b = agents.beliefs(batch.obs)
        u = agents.normalise(batch.actions)
        q = agents.q_values(b, u)
        e = agents.group(b)
        q_tot = agents.mix(q, e)

        td_tot = (q_tot - batch.reward_tot).pow(2).mean()
        td = (q - batch.rewards).pow(2).sum(dim=1).mean()
        f = agents.commitment_projection(u, e)
        cos = F.cosine_similarity(f, batch.commit_emb.unsqueeze(1), dim=-1)
        sd = (1.0 - cos).pow(2).sum(dim=1).mean()
        mix = (q - q_tot.detach().unsqueeze(1) / n).pow(2).sum(dim=1).mean()
        b_fixed = b.detach()
        actor = -agents.q_values(b_fixed, agents.policy(b_fixed), frozen=True).sum(dim=1).mean()
        pred_others, commit_logit = agents.belief_predictions(b)
        others_target = torch.matmul(self._others, u)  # [B, N, 2]: mean of the others' actions
        belief = (pred_others - others_target).pow(2).sum(dim=(1, 2)).mean() + (
            F.binary_cross_entropy_with_logits(
                commit_logit, batch.commit_correct.unsqueeze(1).expand_as(commit_logit),
                reduction="none",
            ).sum(dim=1).mean()
        )
        loss = (
            td_tot + td + cfg.lambda_sd * sd + cfg.lambda_m * mix + actor + cfg.lambda_b * belief
        )

        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(
            agents.parameters(), cfg.grad_clip, foreach=True
        )
        self.optimizer.step()
        self.updates += 1
        values = torch.stack([loss, td_tot, td, sd, mix, actor, belief, grad_norm, q.mean()])
        names = ("loss", "td_tot", "td", "sd", "mix", "actor", "belief", "grad_norm", "q_mean")
        return dict(zip(names, values.detach().tolist(), strict=True))

    @torch.no_grad()
    def epsilon_gap(self, obs: Tensor) -> float:
        """Mean over agents and questions of how much Q_i could gain by deviating (SPEC 4.6).

        The deviations are a gap_grid x gap_grid grid over (temperature, top_p); the agent's own
        action counts as a candidate, so the gap is never negative.
        """
        b = self.agents.beliefs(obs.to(self.device))
        q_own = self.agents.q_values(b, self.agents.policy(b))
        grid = self._grid.expand(b.shape[0], b.shape[1], -1, -1)
        q_best = self.agents.q_values(b, grid).amax(dim=-1)
        return (q_best - q_own).clamp_min(0.0).mean().item()

    # --- persistence ------------------------------------------------------------------------

    def state_dict(self) -> dict:
        buffer_tensors, buffer_meta = self.buffer.state_dict()
        return {
            "optimizer": self.optimizer.state_dict(),
            "buffer_tensors": buffer_tensors,
            "buffer_meta": buffer_meta,
            "noise_rng": self.noise_generator.get_state(),
            "updates": self.updates,
            "added": self.added,
            "alpha": list(self.alpha),
        }

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        rest, actor = self.optimizer.param_groups  # the config, not the checkpoint, sets lr
        rest["lr"], actor["lr"] = self.cfg.lr, self.cfg.actor_lr
        self.buffer.load_state_dict(state["buffer_tensors"], state["buffer_meta"])
        self.noise_generator.set_state(state["noise_rng"])
        self.updates = int(state["updates"])
        self.added = int(state["added"])
        a1, a2, a3 = (float(a) for a in state["alpha"])
        self.alpha = (a1, a2, a3)
