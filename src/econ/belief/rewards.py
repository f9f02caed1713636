"""Training rewards: they need the gold answer, so they exist only during training.

r_i = a1 * AL_i + a2 * TS + a3 * CC_i, with alpha on the probability simplex, and the team reward
r_tot = mean_i r_i. With dynamic weights, alpha takes one small projected gradient step that
makes the rewards agree better with the critics' Q_i, so the reward mix drifts towards what the
critics can predict instead of staying a hand-picked constant.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator

Alpha = tuple[float, float, float]
COMPONENTS = ("AL", "TS", "CC")


class RewardWeights(BaseModel):
    """Initial reward weights; `dynamic` turns on the per-question alpha step of size `eta`.

    The one definition of these settings: a run's config holds them as `train.rewards`, a
    checkpoint saves them, and the learner reads them.
    """

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, allow_inf_nan=False)

    alpha: Alpha = (0.4, 0.4, 0.2)
    """Weights of (AL, TS, CC) at the start: non-negative, summing to 1."""
    dynamic: bool = False
    """Whether alpha takes a projected gradient step after each question."""
    eta: float = Field(1e-3, gt=0)
    """The size of that step."""

    @field_validator("alpha")
    @classmethod
    def _on_simplex(cls, alpha: Alpha) -> Alpha:
        if min(alpha) < 0 or abs(sum(alpha) - 1.0) > 1e-6:
            raise ValueError("alpha must be non-negative and sum to 1")
        return alpha


def action_likelihood(agree: bool, cos_sim: float) -> float:
    """AL_i = 0.5 * [a_i == c] + 0.5 * max(0, cos(phi(u_i), phi(C)))."""
    return 0.5 * float(agree) + 0.5 * max(0.0, float(cos_sim))


def agent_rewards(
    agree: Sequence[bool],
    cos_sims: Sequence[float],
    agent_correct: Sequence[bool],
    team_correct: bool,
    alpha: Sequence[float],
) -> tuple[list[float], dict[str, list[float]]]:
    """Per-agent rewards and their components {"AL", "TS", "CC"} (lists, one value per agent)."""
    n = len(agree)
    if not n == len(cos_sims) == len(agent_correct):
        raise ValueError("agree, cos_sims and agent_correct must have one entry per agent")
    components = {
        "AL": [action_likelihood(a, c) for a, c in zip(agree, cos_sims, strict=True)],
        "TS": [float(team_correct)] * n,
        "CC": [float(c) for c in agent_correct],
    }
    return _combine(alpha, components), components


def team_reward(rewards: Sequence[float]) -> float:
    """r_tot = mean_i r_i."""
    return sum(rewards) / len(rewards)


def _combine(alpha: Sequence[float], components: dict[str, list[float]]) -> list[float]:
    rows = zip(*(components[k] for k in COMPONENTS), strict=True)  # one row per agent
    return [sum(a * c for a, c in zip(alpha, row, strict=True)) for row in rows]


def project_simplex(v: Sequence[float]) -> list[float]:
    """Euclidean projection onto {w : w >= 0, sum w = 1} (sort-and-threshold algorithm)."""
    u = sorted(v, reverse=True)
    cumulative, theta = 0.0, 0.0
    for j, uj in enumerate(u, start=1):
        cumulative += uj
        t = (cumulative - 1.0) / j
        if uj - t > 0:
            theta = t
    return [max(x - theta, 0.0) for x in v]


def update_alpha(
    alpha: Sequence[float],
    components: dict[str, list[float]],
    q_values: Sequence[float],
    eta: float,
) -> Alpha:
    """One projected gradient step on sum_i (r_i - Q_i)^2 with respect to alpha.

    d/d alpha_k = sum_i 2 (r_i - Q_i) * component_k,i.
    """
    rewards = _combine(alpha, components)
    residual = [r - q for r, q in zip(rewards, q_values, strict=True)]
    grad = [
        2.0 * sum(res * c for res, c in zip(residual, components[k], strict=True))
        for k in COMPONENTS
    ]
    a1, a2, a3 = project_simplex([a - eta * g for a, g in zip(alpha, grad, strict=True)])
    return (a1, a2, a3)
