"""Learner: the losses by hand on a tiny case, update scheduling, and a synthetic bandit."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from econ.belief import (
    BeliefConfig,
    EconAgents,
    Learner,
    LearnerConfig,
    RewardWeights,
    Transition,
)

SMALL = BeliefConfig(embed_dim=16, belief_dim=32, hidden_dim=64)


def _transition(cfg: BeliefConfig, g: torch.Generator, **overrides) -> Transition:
    fields = dict(
        obs=torch.randn(cfg.n_agents, cfg.obs_dim, generator=g),
        actions=torch.tensor([[0.65, 0.75]] * cfg.n_agents),
        rewards=torch.rand(cfg.n_agents, generator=g),
        reward_tot=0.5,
        commit_emb=torch.randn(cfg.embed_dim, generator=g),
        commit_correct=1.0,
    )
    fields.update(overrides)
    return Transition(**fields)


def test_losses_by_hand_on_a_constant_critic():
    cfg = SMALL
    agents = EconAgents(cfg)
    with torch.no_grad():  # Q_i = c_i whatever the input; belief head predicts 0.5 and logit 0
        agents.critic_out.weight.zero_()
        agents.critic_out.bias.copy_(torch.tensor([[0.2], [0.5], [0.8]]))
        agents.belief_head.weight.zero_()
        agents.belief_head.bias.zero_()
    learner = Learner(agents, LearnerConfig(batch_size=4), RewardWeights())
    g = torch.Generator().manual_seed(0)
    # T = 0.1, 0.65, 1.2 and top_p = 0.5, 0.75, 1.0 are normalised actions 0, 0.5, 1
    actions = torch.tensor([[0.1, 0.5], [0.65, 0.75], [1.2, 1.0]])
    for _ in range(4):
        learner.buffer.add(
            _transition(cfg, g, actions=actions, rewards=torch.tensor([0.0, 1.0, 0.5]))
        )
    m = learner.update()
    assert m["td"] == pytest.approx(0.2**2 + 0.5**2 + 0.3**2)
    assert m["actor"] == pytest.approx(-(0.2 + 0.5 + 0.8))
    # others' mean action: agent 0 -> 0.75, agent 1 -> 0.5, agent 2 -> 0.25 (both dims);
    # prediction 0.5 -> MSE sum 2 * 0.0625 + 0 + 2 * 0.0625; BCE(logit 0, 1) = ln 2 per agent
    assert m["belief"] == pytest.approx(0.25 + 3 * math.log(2), rel=1e-5)
    assert m["q_mean"] == pytest.approx(0.5)
    combined = m["td_tot"] + m["td"] + 0.1 * (m["sd"] + m["mix"] + m["belief"]) + m["actor"]
    assert m["loss"] == pytest.approx(combined, rel=1e-5)


def test_updates_train_every_parameter():
    cfg = SMALL
    agents = EconAgents(cfg)
    learner = Learner(agents, LearnerConfig(batch_size=4), RewardWeights())
    g = torch.Generator().manual_seed(1)
    for _ in range(4):
        learner.buffer.add(_transition(cfg, g))
    before = {k: v.clone() for k, v in agents.state_dict().items()}
    learner.update()
    # the last actor layer starts at zero, so its inputs' layer only gets gradient from step 2
    learner.update()
    unchanged = [k for k, v in agents.state_dict().items() if torch.equal(v, before[k])]
    assert unchanged == []


def test_actor_term_reaches_only_the_action_heads():
    agents = EconAgents(SMALL)
    with torch.no_grad():
        agents.actor_out.weight.normal_()
    b = agents.beliefs(torch.randn(2, 3, SMALL.obs_dim))
    b_fixed = b.detach()
    (-agents.q_values(b_fixed, agents.policy(b_fixed), frozen=True).sum()).backward()
    actor = {id(p) for p in agents.actor_parameters()}
    for name, p in agents.named_parameters():
        has_grad = p.grad is not None and p.grad.abs().sum() > 0
        assert has_grad == (id(p) in actor), name


def test_add_runs_an_update_every_k_once_a_batch_fits():
    cfg = SMALL
    learner = Learner(
        EconAgents(cfg), LearnerConfig(batch_size=4, update_every=2), RewardWeights()
    )
    g = torch.Generator().manual_seed(2)
    results = [learner.add(_transition(cfg, g)) for _ in range(8)]
    assert [r is not None for r in results] == [False, False, False, True] + [False, True] * 2
    assert learner.updates == 3
    assert set(results[3]) >= {"loss", "td_tot", "td", "sd", "mix", "actor", "belief"}


def test_dynamic_alpha_moves_only_when_enabled():
    cfg = SMALL
    obs, actions = torch.zeros(3, cfg.obs_dim), torch.tensor([[0.65, 0.75]] * 3)
    args = ([True, False, True], [0.9, 0.1, 0.5], [True, False, True], True)
    static = Learner(EconAgents(cfg), LearnerConfig(), RewardWeights())
    r, _ = static.rewards(obs, actions, *args)
    assert static.alpha == (0.4, 0.4, 0.2)
    assert r == pytest.approx([0.38 + 0.4 + 0.2, 0.02 + 0.4, 0.3 + 0.4 + 0.2])
    dynamic = Learner(EconAgents(cfg), LearnerConfig(), RewardWeights(dynamic=True, eta=0.01))
    r_dyn, _ = dynamic.rewards(obs, actions, *args)
    assert r_dyn == pytest.approx(r)  # this question is scored with the weights before the step
    assert dynamic.alpha != (0.4, 0.4, 0.2)
    assert sum(dynamic.alpha) == pytest.approx(1.0)


def test_bandit_agents_learn_their_own_optimal_temperature():
    """No LLM: agent i is paid r_i = 1 - (T_i - T*_i)^2 with T* = 0.3, 0.6, 0.9.

    Observations are random sentence-embedding-like vectors, so nothing but each agent's own
    reward can tell it where to go. The deterministic policy must reach its own optimum and the
    measured epsilon-gap must fall from its early value.
    """
    cfg = BeliefConfig(embed_dim=32)
    agents = EconAgents(cfg, seed=0)
    learner = Learner(
        agents, LearnerConfig(update_every=1, noise_std=0.2, seed=0), RewardWeights()
    )
    g = torch.Generator().manual_seed(100)
    target = torch.tensor([0.3, 0.6, 0.9])

    def observe(batch: int) -> torch.Tensor:
        q = F.normalize(torch.randn(batch, 1, cfg.embed_dim, generator=g), dim=-1)
        s = F.normalize(torch.randn(batch, 1, cfg.embed_dim, generator=g), dim=-1)
        history = torch.rand(batch, 3, cfg.history_dim, generator=g)
        return torch.cat([q.expand(-1, 3, -1), s.expand(-1, 3, -1), history], dim=-1)

    held_out = observe(64)
    early_gap = None
    while learner.updates < 600:
        obs = observe(1)
        actions = learner.explore(obs)[0]
        reward = 1.0 - (actions[:, 0] - target) ** 2
        learner.add(
            Transition(
                obs=obs[0],
                actions=actions,
                rewards=reward,
                reward_tot=reward.mean().item(),
                commit_emb=torch.randn(cfg.embed_dim, generator=g),
                commit_correct=float(torch.rand(1, generator=g).item() < 0.5),
            )
        )
        if learner.updates == 100 and early_gap is None:
            early_gap = learner.epsilon_gap(held_out)

    temperature = agents.act(held_out)[..., 0]
    assert (temperature.mean(0) - target).abs().max() < 0.1, temperature.mean(0)
    assert (temperature - target).abs().max() < 0.15  # every question, not just on average
    late_gap = learner.epsilon_gap(held_out)
    assert 0.0 <= late_gap < 0.5 * early_gap, (early_gap, late_gap)
