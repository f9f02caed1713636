"""Whether an executor's control is a lever, from its own correctness: the evidence the actor
follows (`econ.belief.learner`).

The mixed reward r_i = a1 AL_i + a2 TS + a3 CC_i is a poor witness of an executor's own lever:
the team terms (TS, and AL's question-level cosine) carry most of its variance and little of
what one executor's controls change. So each test here reads the executor's own correctness:

- **x** is the executor's exploration offset in normalised units (the action it played minus
  its policy's action on that question): randomised, so it is independent of the question,
  and local, so the slope is the one around where the policy stands now;
- **y** is CC_i minus the mean CC of the other executors on the same question (a
  leave-one-out baseline: the question's difficulty, shared by the whole team, cancels;
  a team of one has y = CC_i);
- executors that run the same model share one test per control (their rounds pool: a team of
  one model has one optimum), and the sums run over the whole run, not the replay window.

The test is looked at after every episode, so its threshold is a sequential boundary, not a
fixed |t|: the normal-mixture boundary (Robbins 1970) |t| >= sqrt((1 + rho/n) (log(1 + n/rho) +
2 log(1/alpha))) for n observations keeps the chance of ever crossing it on noise, over an
unbounded run, at most about alpha. With alpha 0.05 and rho 100 it is 3.5 at n = 60 and 3.1 at
n = 900. When a test of at least MIN_ROUNDS rounds crosses, it is decided (the sign of the
slope), and it starts afresh, since the actor then moves and the local slope must be measured
again where it lands.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

STATS = ("n", "sx", "sy", "sxx", "sxy", "syy")
# No test is decided on fewer rounds: the boundary assumes the noise's variance is known, and
# with a handful of points its estimate can be near zero (3 points on a line give any t).
MIN_ROUNDS = 30


class Evidence:
    """One sequential test per (group of executors, control); see the module docstring."""

    def __init__(self, groups: Sequence[int], n_controls: int, alpha: float, rho: float) -> None:
        self.groups = list(groups)
        self.group_ids = sorted(set(self.groups))
        self.alpha, self.rho = alpha, rho
        self.sums = torch.zeros(len(self.group_ids), n_controls, len(STATS), dtype=torch.float64)

    def add(self, offsets: Tensor, correct: Sequence[bool], acted: Sequence[bool]) -> None:
        """One question: offsets [N, A] of the executors that acted, and their correctness."""
        cc = [float(c) for c in correct]
        n = len(cc)
        for i in range(n):
            if not acted[i]:
                continue
            others = [cc[j] for j in range(n) if j != i]
            y = cc[i] - (sum(others) / len(others) if others else 0.0)
            g = self.group_ids.index(self.groups[i])
            x = offsets[i].to(torch.float64)
            self.sums[g, :, 0] += 1.0
            self.sums[g, :, 1] += x
            self.sums[g, :, 2] += y
            self.sums[g, :, 3] += x * x
            self.sums[g, :, 4] += x * y
            self.sums[g, :, 5] += y * y

    def t(self) -> Tensor:
        """[G, A]: the t-statistic of each test's least-squares slope (0 below 3 points)."""
        n, sx, sy, sxx, sxy, syy = self.sums.unbind(-1)
        safe = n.clamp_min(1.0)
        cxx = sxx - sx * sx / safe
        cxy = sxy - sx * sy / safe
        cyy = syy - sy * sy / safe
        slope = cxy / cxx.clamp_min(1e-12)
        resid = (cyy - slope * cxy).clamp_min(0.0) / (n - 2).clamp_min(1.0)
        se = (resid / cxx.clamp_min(1e-12)).sqrt()
        t = slope / se.clamp_min(1e-12)
        ok = (n >= 3) & (cxx > 1e-12) & (resid > 0)
        return torch.where(ok, t, torch.zeros_like(t)).float()

    def boundary(self) -> Tensor:
        """[G, A]: the sequential boundary at each test's number of observations."""
        n = self.sums[..., 0].clamp_min(1.0)
        rho = self.rho
        return (
            ((1 + rho / n) * (torch.log1p(n / rho) + 2 * math.log(1 / self.alpha))).sqrt().float()
        )

    def decisions(self) -> Tensor:
        """[G, A]: +1 or -1 where a test of at least MIN_ROUNDS rounds has crossed its
        boundary (the slope's sign), else 0."""
        t = self.t()
        crossed = (t.abs() >= self.boundary()) & (self.sums[..., 0] >= MIN_ROUNDS)
        return torch.where(crossed, t.sign(), torch.zeros_like(t))

    def restart(self, g: int, k: int) -> None:
        """Start test (g, k) afresh: after the actor moves, the local slope is measured anew."""
        self.sums[g, k] = 0.0

    def per_agent(self, values: Tensor) -> Tensor:
        """[G, A] values as [N, A], each executor with its group's row."""
        return values[[self.group_ids.index(g) for g in self.groups]]

    def state_dict(self) -> dict:
        return {"groups": self.groups, "sums": self.sums.tolist()}

    def load_state_dict(self, state: dict) -> None:
        if list(state["groups"]) != self.groups:
            raise ValueError(f"evidence is for groups {state['groups']}, not {self.groups}")
        sums = torch.tensor(state["sums"], dtype=torch.float64)
        if sums.shape != self.sums.shape:
            raise ValueError(f"evidence has shape {tuple(sums.shape)}")
        self.sums = sums
