"""Rewards (SPEC 4.4): hand-computed values and the dynamic alpha step on the simplex."""

from __future__ import annotations

import random

import pytest

from econ.belief import (
    action_likelihood,
    agent_rewards,
    project_simplex,
    team_reward,
    update_alpha,
)


def test_action_likelihood():
    assert action_likelihood(True, 0.6) == pytest.approx(0.8)
    assert action_likelihood(False, 0.6) == pytest.approx(0.3)
    assert action_likelihood(True, -0.4) == pytest.approx(0.5)  # negative cosine counts as 0
    assert action_likelihood(False, -0.4) == 0.0


def test_agent_and_team_rewards_by_hand():
    r, comp = agent_rewards(
        agree=[True, False, True],
        cos_sims=[0.8, 0.2, -0.1],
        agent_correct=[True, False, True],
        team_correct=True,
        alpha=(0.4, 0.4, 0.2),
    )
    # AL = [0.5 + 0.4, 0 + 0.1, 0.5 + 0] ; TS = 1 ; CC = [1, 0, 1]
    assert comp["AL"] == pytest.approx([0.9, 0.1, 0.5])
    assert comp["TS"] == [1.0, 1.0, 1.0]
    assert comp["CC"] == [1.0, 0.0, 1.0]
    assert r == pytest.approx([0.36 + 0.4 + 0.2, 0.04 + 0.4, 0.2 + 0.4 + 0.2])
    assert team_reward(r) == pytest.approx(2.2 / 3)


def test_agent_rewards_rejects_ragged_input():
    with pytest.raises(ValueError):
        agent_rewards([True], [0.1, 0.2], [True], True, (0.4, 0.4, 0.2))


def test_project_simplex():
    assert project_simplex([0.5, 0.5, 0.5]) == pytest.approx([1 / 3] * 3)
    assert project_simplex([2.0, 0.0, 0.0]) == pytest.approx([1.0, 0.0, 0.0])
    assert project_simplex([0.6, 0.6, -1.0]) == pytest.approx([0.5, 0.5, 0.0])
    assert project_simplex([0.2, 0.3, 0.5]) == pytest.approx([0.2, 0.3, 0.5])


def test_alpha_moves_towards_the_component_that_explains_q():
    # Only the team component is non-zero and the critics expect 1: r = 0.4 < Q, so the step
    # must raise the TS weight and take the mass from the other two.
    comp = {"AL": [0.0] * 3, "TS": [1.0] * 3, "CC": [0.0] * 3}
    a = update_alpha((0.4, 0.4, 0.2), comp, [1.0, 1.0, 1.0], eta=0.01)
    assert a[1] > 0.4 and a[0] < 0.4 and a[2] < 0.2
    assert sum(a) == pytest.approx(1.0)
    # gradient on TS: 2 * 3 * (0.4 - 1) = -3.6 -> +0.036 before projection, then -0.012 each
    assert a == pytest.approx((0.4 - 0.012, 0.4 + 0.036 - 0.012, 0.2 - 0.012))


def test_alpha_stays_on_simplex_under_many_dynamic_steps():
    rng = random.Random(0)
    alpha = (0.4, 0.4, 0.2)
    for _ in range(500):
        comp = {k: [rng.random() for _ in range(3)] for k in ("AL", "TS", "CC")}
        alpha = update_alpha(alpha, comp, [rng.uniform(-1, 2) for _ in range(3)], eta=0.05)
        assert min(alpha) >= 0.0
        assert sum(alpha) == pytest.approx(1.0)
    assert alpha != (0.4, 0.4, 0.2)
