"""When to stop training: near an equilibrium, with nothing left to gain.

Three conditions, all needed:
- at least `min_updates` gradient updates (1000: 250 episodes at 4 updates each): an untrained
  critic is flat, so its gap is ~0 at the first measurement, and on the simulator a critic
  that has seen ~100 noisy episodes still underrates the real slope 3-fold, so a gap test
  alone stopped a run at episode 120 that had not yet moved (benchmarks/learner_sim.py);
- the relative epsilon-BNE gap (in standard deviations of the observed rewards) below
  `gap_rel` for `checks` measurements in a row;
- a two-sided reward plateau: the mean team reward of the last `plateau_window` episodes differs
  from the window before by less than `plateau_delta` reward standard deviations, in either
  direction (a one-sided test also "plateaus" while the reward is falling).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field


class EarlyStopConfig(BaseModel):
    """Thresholds of the early stop; `enabled: false` trains every configured episode."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    enabled: bool = True
    gap_rel: float = Field(0.05, ge=0)
    checks: int = Field(3, ge=1)
    min_updates: int = Field(1000, ge=0)
    plateau_window: int = Field(20, ge=2)
    plateau_delta: float = Field(0.25, ge=0)


class EarlyStop:
    """Counts consecutive small-gap measurements; `update` says when all conditions hold."""

    def __init__(self, cfg: EarlyStopConfig, below: int = 0) -> None:
        self.cfg = cfg
        self.below = below

    def update(self, gap_rel: float, team_rewards: Sequence[float], updates: int) -> bool:
        """Record one gap measurement; True when training should stop now."""
        cfg = self.cfg
        self.below = self.below + 1 if gap_rel < cfg.gap_rel else 0
        return (
            cfg.enabled
            and updates >= cfg.min_updates
            and self.below >= cfg.checks
            and plateaued(team_rewards, cfg.plateau_window, cfg.plateau_delta)
        )


def plateaued(rewards: Sequence[float], window: int, delta: float) -> bool:
    """|mean(last window) - mean(window before)| < delta * std(both windows)."""
    if len(rewards) < 2 * window:
        return False
    recent, before = rewards[-window:], rewards[-2 * window : -window]
    scale = statistics.pstdev([*before, *recent])
    return abs(statistics.fmean(recent) - statistics.fmean(before)) <= delta * scale
