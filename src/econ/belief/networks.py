"""Every learned part of ECON in one module: belief networks, heads, belief encoder, mixer.

Design choices and why:
- One shared trunk plus a learned agent-id embedding turns o_i into b_i, so agents share
  statistical strength yet stay distinct; all heads are *per-agent* (batched weights of shape
  [N, in, out]), so each agent owns its action, critic and belief head outright.
- Actions live in a normalised space u in [0, 1]^A inside the networks, one dimension per
  configured control (`BeliefConfig.controls`, in order); `act` scales them into the controls'
  ranges. The last action layer starts at zero, so an untrained team samples exactly at the
  range midpoints, a sensible neutral default.
- The belief must depend on the question: the projected observation is layer-normalised (the
  raw projection of unit-norm sentence embeddings is ~0.03 per feature) with an initial gain
  `OBS_GAIN`, and the agent-id embedding starts at the same scale (`ID_STD`). With an N(0, 1)
  id and no normalisation, beliefs varied 20x more across agents than across questions; with
  unit gain the question dominated instead, and a critic that had to learn that the action's
  effect barely depends on the question needed several times more episodes (measured on the
  bandit test: agents stuck 0.15 from their optima after 150 episodes, within 0.05 at gain
  0.1). The gain is learned, so training can raise the question's weight where it pays.
- The critic Q_i(b_i, e_i) takes the action as input; without that the actor has no gradient.
  Besides the MLP over [b_i; e_i] it has a small per-agent branch over e_i alone: the action's
  effect is mostly the same for every question, and this branch learns that shared part from
  all questions at once (on a noiseless bandit with random questions the MLP alone flattened a
  concave reward into a line; with the branch it fitted the peak).
- Parameters are initialised from a local `torch.Generator` inside `fork_rng`, so building a
  network never reads or changes the global RNG and a seed fully fixes the weights.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import Tensor, nn

from econ.belief.controls import CheckedControls

ID_STD = 0.1  # agent-id embedding scale at initialisation
OBS_GAIN = 0.1  # initial gain of the layer-normalised observation: same scale as the id
ACTION_HIDDEN = 32


class BeliefConfig(BaseModel):
    """Sizes of the belief networks and the action space (controls and their ranges, in order)."""

    model_config = ConfigDict(extra="forbid")

    n_agents: int = Field(3, ge=1)
    embed_dim: int = Field(384, ge=1)
    history_dim: int = Field(4, ge=0)
    belief_dim: int = Field(64, ge=1)
    hidden_dim: int = Field(128, ge=1)
    n_heads: int = Field(4, ge=1)
    mixer_dim: int = Field(32, ge=1)
    controls: CheckedControls

    @model_validator(mode="after")
    def _check(self) -> BeliefConfig:
        if self.belief_dim % self.n_heads:
            raise ValueError("belief_dim must be divisible by n_heads")
        return self

    @property
    def action_dim(self) -> int:
        """A: one action dimension per control."""
        return len(self.controls)

    @property
    def obs_dim(self) -> int:
        """Width of o_i: [emb(question); emb(strategy); history features]."""
        return 2 * self.embed_dim + self.history_dim


class AgentLinear(nn.Module):
    """N independent linear maps applied in one batched matmul (one per agent).

    Input [B, N, in] or [B, N, K, in] (K candidate actions per agent); output keeps the shape
    with `out` features. `detach=True` uses the weights as constants, which is how the actor
    loss reads a frozen critic without a second copy of it.
    """

    def __init__(self, n_agents: int, d_in: int, d_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_agents, d_in, d_out))
        self.bias = nn.Parameter(torch.empty(n_agents, d_out))

    def forward(self, x: Tensor, detach: bool = False) -> Tensor:
        w, b = (self.weight.detach(), self.bias.detach()) if detach else (self.weight, self.bias)
        n, d_out = w.shape[0], w.shape[2]
        batch, rest = x.shape[0], x.shape[2:-1]
        # agents first, so one bmm multiplies each agent's rows by its own weight; a broadcast
        # matmul would copy the weights once per batch row instead
        rows = x.transpose(0, 1).reshape(n, -1, x.shape[-1])
        y = torch.baddbmm(b.unsqueeze(1), rows, w)
        return y.reshape(n, batch, *rest, d_out).transpose(0, 1)


class BeliefEncoder(nn.Module):
    """Self-attention over the agents' beliefs, residual + layer norm + FFN, mean-pooled to E."""

    def __init__(self, dim: int, n_heads: int, hidden: int) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, n_heads, batch_first=True)
        self.norm1 = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, dim))
        self.norm2 = nn.LayerNorm(dim)

    def forward(self, b: Tensor) -> Tensor:
        attended, _ = self.attn(b, b, b, need_weights=False)
        h = self.norm1(b + attended)
        h = self.norm2(h + self.ffn(h))
        return h.mean(dim=1)


class Mixer(nn.Module):
    """QMIX: Q_tot is a monotonic function of {Q_i}, conditioned on the group representation E.

    Hypernetworks map E to mixing weights; taking abs() keeps every dQ_tot/dQ_i >= 0, so each
    agent improving its own Q never lowers the team's.
    """

    def __init__(self, n_agents: int, dim: int, mix_dim: int) -> None:
        super().__init__()
        self.n_agents, self.mix_dim = n_agents, mix_dim
        self.hyper_w1 = nn.Linear(dim, n_agents * mix_dim)
        self.hyper_b1 = nn.Linear(dim, mix_dim)
        self.hyper_w2 = nn.Linear(dim, mix_dim)
        self.hyper_b2 = nn.Sequential(nn.Linear(dim, mix_dim), nn.ReLU(), nn.Linear(mix_dim, 1))

    def forward(self, q: Tensor, e: Tensor) -> Tensor:
        w1 = self.hyper_w1(e).abs().view(-1, self.n_agents, self.mix_dim)
        hidden = F.elu(torch.bmm(q.unsqueeze(1), w1).squeeze(1) + self.hyper_b1(e))
        w2 = self.hyper_w2(e).abs()
        return (hidden * w2).sum(dim=-1) + self.hyper_b2(e).squeeze(-1)


class EconAgents(nn.Module):
    """Belief networks, action/critic/belief heads, belief encoder, mixer and F_i projection."""

    def __init__(self, cfg: BeliefConfig, seed: int = 0) -> None:
        super().__init__()
        self.cfg = cfg
        n, d, h, bd, a = cfg.n_agents, cfg.obs_dim, cfg.hidden_dim, cfg.belief_dim, cfg.action_dim
        with torch.random.fork_rng(devices=[]):  # module constructors draw from the global RNG
            self.obs_in = nn.Linear(d, h)
            self.obs_norm = nn.LayerNorm(h)
            self.agent_id = nn.Parameter(torch.empty(n, h))
            self.trunk = nn.Sequential(nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, bd))
            self.actor_hidden = AgentLinear(n, bd, h)
            self.actor_out = AgentLinear(n, h, a)
            self.critic_1 = AgentLinear(n, bd + a, h)
            self.critic_2 = AgentLinear(n, h, h)
            self.critic_out = AgentLinear(n, h, 1)
            self.critic_action_1 = AgentLinear(n, a, ACTION_HIDDEN)
            self.critic_action_out = AgentLinear(n, ACTION_HIDDEN, 1)
            self.belief_head = AgentLinear(n, bd, a + 1)
            self.encoder = BeliefEncoder(bd, cfg.n_heads, h)
            self.mixer = Mixer(n, bd, cfg.mixer_dim)
            self.action_embed = nn.Linear(a, bd)
            self.action_attn = nn.MultiheadAttention(bd, cfg.n_heads, batch_first=True)
            self.project = nn.Sequential(
                nn.Linear(2 * bd, h), nn.ReLU(), nn.Linear(h, cfg.embed_dim)
            )
        lows = torch.tensor([lo for lo, _ in cfg.controls.values()])
        highs = torch.tensor([hi for _, hi in cfg.controls.values()])
        self.register_buffer("action_low", lows, persistent=False)
        self.register_buffer("action_span", highs - lows, persistent=False)
        self._init_parameters(torch.Generator().manual_seed(seed))

    @torch.no_grad()
    def _init_parameters(self, gen: torch.Generator) -> None:
        """Uniform(+-1/sqrt(fan_in)) weights, zero biases, unit norms, zero last layers of the
        actor and of the critic's action branch, a small agent id and observation gain."""
        for name, p in self.named_parameters():
            if name == "agent_id":
                p.normal_(0.0, ID_STD, generator=gen)
            elif name == "obs_norm.weight":
                p.fill_(OBS_GAIN)
            elif name.endswith("bias"):
                p.zero_()
            elif p.dim() == 1:  # layer-norm gains
                p.fill_(1.0)
            else:
                bound = 1.0 / math.sqrt(p.shape[1])
                p.uniform_(-bound, bound, generator=gen)
        self.actor_out.weight.zero_()
        self.critic_action_out.weight.zero_()  # no opinion about actions before any data

    # --- per-agent pieces -------------------------------------------------------------------

    @property
    def control_names(self) -> tuple[str, ...]:
        """The controls an action holds, in order (the last dimension of `act`'s output)."""
        return tuple(self.cfg.controls)

    def beliefs(self, obs: Tensor) -> Tensor:
        """obs [B, N, obs_dim] -> b [B, N, belief_dim]; the id embedding makes agents distinct."""
        return self.trunk(self.obs_norm(self.obs_in(obs)) + self.agent_id)

    def pre_squash(self, b: Tensor) -> Tensor:
        """The action head's output before the sigmoid, [B, N, A]; the learner keeps it bounded
        so the policy stays off the range ends, where the sigmoid's gradient vanishes."""
        return self.actor_out(F.relu(self.actor_hidden(b)))

    def policy(self, b: Tensor) -> Tensor:
        """Deterministic action mu_i(b_i) in normalised space [0, 1]^A, differentiable."""
        return torch.sigmoid(self.pre_squash(b))

    def actor_parameters(self) -> list[nn.Parameter]:
        """The action heads' parameters (the learner gives them their own learning rate)."""
        return [*self.actor_hidden.parameters(), *self.actor_out.parameters()]

    def critic_parameters(self) -> list[nn.Parameter]:
        """The per-agent critic heads' parameters (the learner regularises them)."""
        return [
            p
            for layer in (
                self.critic_1,
                self.critic_2,
                self.critic_out,
                self.critic_action_1,
                self.critic_action_out,
            )
            for p in layer.parameters()
        ]

    def q_values(self, b: Tensor, u: Tensor, frozen: bool = False) -> Tensor:
        """Q_i(b_i, u_i) for normalised actions: u [B, N, A] -> [B, N]; u [B, N, K, A] -> [B, N, K].

        `frozen` treats the critic's weights as constants (the actor term of the loss).
        """
        if u.dim() == 4:
            b = b.unsqueeze(2).expand(-1, -1, u.shape[2], -1)
        centred = 2.0 * u - 1.0
        x = torch.cat([b, centred], dim=-1)
        x = F.relu(self.critic_1(x, frozen))
        x = F.relu(self.critic_2(x, frozen))
        shared = self.critic_action_out(F.relu(self.critic_action_1(centred, frozen)), frozen)
        return (self.critic_out(x, frozen) + shared).squeeze(-1)

    def belief_predictions(self, b: Tensor) -> tuple[Tensor, Tensor]:
        """Each agent's guess of the others' mean normalised action [B, N, A] and a logit [B, N]
        that the coordinator's commitment will be correct."""
        out = self.belief_head(b)
        return torch.sigmoid(out[..., :-1]), out[..., -1]

    # --- team pieces ------------------------------------------------------------------------

    def group(self, b: Tensor) -> Tensor:
        """Group representation E [B, belief_dim] from all beliefs."""
        return self.encoder(b)

    def mix(self, q: Tensor, e: Tensor) -> Tensor:
        """Q_tot [B] from per-agent Q [B, N] and E."""
        return self.mixer(q, e)

    def commitment_projection(self, u: Tensor, e: Tensor) -> Tensor:
        """F_i = MLP([Attn({e_j})_i ; E]) in sentence-embedding space, [B, N, embed_dim]."""
        a = self.action_embed(2.0 * u - 1.0)
        attended, _ = self.action_attn(a, a, a, need_weights=False)
        return self.project(torch.cat([attended, e.unsqueeze(1).expand_as(attended)], dim=-1))

    # --- action space -----------------------------------------------------------------------

    def normalise(self, actions: Tensor) -> Tensor:
        """Real control values [..., A] -> [0, 1]^A."""
        return (actions - self.action_low) / self.action_span

    def denormalise(self, u: Tensor) -> Tensor:
        """[0, 1]^A -> real control values within the configured ranges."""
        return self.action_low + self.action_span * u

    @torch.no_grad()
    def act(self, obs: Tensor) -> Tensor:
        """Deterministic actions [B, N, A] in real units, controls in `control_names` order.

        Exploration is the learner's business (`Learner.explore`), so inference never draws noise.
        """
        return self.denormalise(self.policy(self.beliefs(obs)))
