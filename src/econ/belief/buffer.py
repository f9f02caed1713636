"""Replay buffer of answered questions for off-policy updates.

Storage is a set of preallocated ring tensors (allocated at the first `add`, when shapes are
known), so sampling a minibatch is a single index per field and the whole buffer, with its
sampling RNG, saves as plain tensors for a safetensors checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

FIELDS = ("obs", "actions", "acted", "rewards", "reward_tot", "commit_emb", "commit_correct")


@dataclass
class Transition:
    """One round of one question: observations, the actions taken, rewards and the commitment.

    `acted` marks the executors that acted in this round (all of them in round 0; in a stage-2
    round only those that revised). The others' rows are kept, since the mixer needs every Q_i,
    but their action was chosen in an earlier round, so their own critic is not fitted to it.
    """

    obs: Tensor  # [N, obs_dim]
    actions: Tensor  # [N, A] real control values, as sent
    rewards: Tensor  # [N]
    reward_tot: float
    commit_emb: Tensor  # [embed_dim], phi(C), target of L_SD
    commit_correct: float  # target of the belief head's BCE
    acted: Tensor | None = None  # [N] bool; None means every executor acted


@dataclass
class Batch:
    """A minibatch: each Transition field stacked along a leading batch dimension."""

    obs: Tensor  # [B, N, obs_dim]
    actions: Tensor  # [B, N, A]
    acted: Tensor  # [B, N], 1.0 where the executor acted
    rewards: Tensor  # [B, N]
    reward_tot: Tensor  # [B]
    commit_emb: Tensor  # [B, embed_dim]
    commit_correct: Tensor  # [B]


class ReplayBuffer:
    """Fixed-capacity FIFO ring; uniform sampling without replacement from a seeded generator."""

    def __init__(self, capacity: int = 256, seed: int = 0) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.generator = torch.Generator().manual_seed(seed)
        self._data: dict[str, Tensor] = {}
        self._size = 0
        self._pos = 0

    def __len__(self) -> int:
        return self._size

    def add(self, t: Transition) -> None:
        row = {
            "obs": t.obs,
            "actions": t.actions,
            "acted": torch.ones(len(t.rewards)) if t.acted is None else t.acted,
            "rewards": t.rewards,
            "reward_tot": torch.tensor(float(t.reward_tot)),
            "commit_emb": t.commit_emb,
            "commit_correct": torch.tensor(float(t.commit_correct)),
        }
        if not self._data:
            self._data = {
                k: torch.zeros((self.capacity, *v.shape), dtype=torch.float32)
                for k, v in row.items()
            }
        for k, v in row.items():
            if tuple(v.shape) != tuple(self._data[k].shape[1:]):
                raise ValueError(
                    f"transition field {k} has shape {tuple(v.shape)}, "
                    f"buffer holds {tuple(self._data[k].shape[1:])}"
                )
            self._data[k][self._pos] = v.detach().to("cpu", torch.float32)
        self._pos = (self._pos + 1) % self.capacity
        self._size = min(self._size + 1, self.capacity)

    def sample(self, batch_size: int, device: torch.device | str = "cpu") -> Batch:
        if batch_size > self._size:
            raise ValueError(f"cannot sample {batch_size} from a buffer of {self._size}")
        idx = torch.randperm(self._size, generator=self.generator)[:batch_size]
        return Batch(**{k: self._data[k][idx].to(device) for k in FIELDS})

    def reward_std(self) -> float:
        """Standard deviation of the stored per-executor rewards of executors that acted: the
        scale a relative equilibrium gap is measured in (0.0 while fewer than two are stored)."""
        if not self._data:
            return 0.0
        acted = self._data["acted"][: self._size] > 0
        rewards = self._data["rewards"][: self._size][acted]
        return rewards.std().item() if rewards.numel() > 1 else 0.0

    def state_dict(self) -> tuple[dict[str, Tensor], dict[str, int]]:
        """(tensors, metadata): the filled rows, the sampling RNG state, capacity and position."""
        tensors = {k: v[: self._size].clone() for k, v in self._data.items()}
        tensors["rng"] = self.generator.get_state()
        meta = {"capacity": self.capacity, "size": self._size, "pos": self._pos}
        return tensors, meta

    def load_state_dict(self, tensors: dict[str, Tensor], meta: dict[str, int]) -> None:
        if meta["capacity"] != self.capacity:
            raise ValueError(
                f"buffer capacity {meta['capacity']} in the saved state, {self.capacity} here"
            )
        size = meta["size"]
        self._data = {}
        if size:
            self._data = {
                k: torch.zeros((self.capacity, *tensors[k].shape[1:]), dtype=torch.float32)
                for k in FIELDS
            }
            for k in FIELDS:
                self._data[k][:size] = tensors[k]
        self.generator.set_state(tensors["rng"])
        self._size, self._pos = size, meta["pos"]


def slope_t(actions: Tensor, rewards: Tensor, acted: Tensor) -> Tensor:
    """t-statistics [N, A] of the least-squares slope of each executor's reward on each of its
    own controls, over the rounds it acted in (actions [S, N, A], rewards and acted [S, N]);
    0 where there are under 3 such rounds or the control never varied. A t-statistic does not
    depend on the controls' units, so real and normalised actions give the same values."""
    x, r, w = actions, rewards.unsqueeze(-1), acted.unsqueeze(-1)
    n = w.sum(dim=0)  # [N, 1]
    x_mean = (w * x).sum(dim=0) / n.clamp_min(1)
    r_mean = (w * r).sum(dim=0) / n.clamp_min(1)
    dx, dr = x - x_mean, r - r_mean
    sxx = (w * dx * dx).sum(dim=0)
    slope = (w * dx * dr).sum(dim=0) / sxx.clamp_min(1e-12)
    residual = (w * (dr - slope * dx).pow(2)).sum(dim=0) / (n - 2).clamp_min(1)
    se = (residual / sxx.clamp_min(1e-12)).sqrt()
    ok = (n > 2) & (sxx > 1e-12) & (se > 0)
    return torch.where(ok, slope / se.clamp_min(1e-12), torch.zeros_like(slope))
