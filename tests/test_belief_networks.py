"""Belief networks: shapes, neutral start, distinct agents, seeding, action-aware critic, QMIX."""

from __future__ import annotations

import torch

from econ.belief import BeliefConfig, EconAgents, Learner, LearnerConfig, RewardWeights, Transition

SMALL = BeliefConfig(embed_dim=16, belief_dim=32, hidden_dim=64)


def _obs(cfg: BeliefConfig, batch: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, cfg.n_agents, cfg.obs_dim, generator=g)


def test_shapes():
    cfg = SMALL
    agents = EconAgents(cfg)
    obs = _obs(cfg, 5)
    b = agents.beliefs(obs)
    assert b.shape == (5, 3, cfg.belief_dim)
    u = agents.normalise(agents.act(obs))
    assert agents.act(obs).shape == (5, 3, 2)
    assert agents.q_values(b, u).shape == (5, 3)
    assert agents.q_values(b, torch.rand(5, 3, 7, 2)).shape == (5, 3, 7)
    e = agents.group(b)
    assert e.shape == (5, cfg.belief_dim)
    assert agents.mix(agents.q_values(b, u), e).shape == (5,)
    assert agents.commitment_projection(u, e).shape == (5, 3, cfg.embed_dim)
    others, logit = agents.belief_predictions(b)
    assert others.shape == (5, 3, 2) and logit.shape == (5, 3)
    assert BeliefConfig().obs_dim == 2 * 384 + 4


def test_untrained_actions_are_range_midpoints():
    agents = EconAgents(BeliefConfig(), seed=7)
    actions = agents.act(_obs(BeliefConfig(), 4))
    expected = torch.tensor([0.65, 0.75]).expand(4, 3, 2)
    torch.testing.assert_close(actions, expected, rtol=0, atol=1e-7)


def test_exploration_noise_is_seeded_and_stays_in_range():
    agents = EconAgents(SMALL)
    obs = _obs(SMALL, 64)
    a1 = agents.act(obs, noise_std=0.5, generator=torch.Generator().manual_seed(1))
    a2 = agents.act(obs, noise_std=0.5, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(a1, a2)
    assert a1[..., 0].min() >= 0.1 and a1[..., 0].max() <= 1.2
    assert a1[..., 1].min() >= 0.5 and a1[..., 1].max() <= 1.0
    assert a1.std() > 0.05  # noise really was added


def test_same_observation_gives_each_agent_its_own_belief():
    agents = EconAgents(SMALL)
    obs = _obs(SMALL, 1)[:, :1].expand(1, 3, -1)  # identical input for all three agents
    b = agents.beliefs(obs)[0]
    assert not torch.allclose(b[0], b[1]) and not torch.allclose(b[1], b[2])


def test_seed_fixes_weights_without_touching_global_rng():
    before = torch.get_rng_state()
    a, b, c = EconAgents(SMALL, seed=3), EconAgents(SMALL, seed=3), EconAgents(SMALL, seed=4)
    assert torch.equal(torch.get_rng_state(), before)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(sa["obs_in.weight"], sc["obs_in.weight"])


def test_critic_depends_on_action():
    agents = EconAgents(SMALL)
    b = agents.beliefs(_obs(SMALL, 4))
    u = torch.full((4, 3, 2), 0.5, requires_grad=True)
    (grad,) = torch.autograd.grad(agents.q_values(b, u).sum(), u)
    assert grad.abs().min() > 0


def test_mixer_is_monotonic_in_every_agent_q():
    agents = EconAgents(SMALL, seed=2)
    e = agents.group(agents.beliefs(_obs(SMALL, 64)))
    q = (3 * torch.randn(64, 3, generator=torch.Generator().manual_seed(5))).requires_grad_()
    (grad,) = torch.autograd.grad(agents.mix(q, e).sum(), q)
    assert (grad >= 0).all() and (grad > 0).any()


def test_agents_diverge_when_rewarded_differently():
    """Agent 0 is paid for high temperature, agent 2 for low; agent 1 gets a constant."""
    cfg = SMALL
    agents = EconAgents(cfg, seed=1)
    learner = Learner(agents, LearnerConfig(update_every=1, batch_size=16), RewardWeights())
    g = torch.Generator().manual_seed(0)
    obs_eval = _obs(cfg, 8, seed=9)
    start = agents.act(obs_eval)[..., 0].mean(0)
    assert torch.allclose(start, torch.full((3,), 0.65))
    for _ in range(150):
        u = torch.rand(3, 2, generator=g)
        reward = torch.stack([u[0, 0], torch.tensor(0.5), 1 - u[2, 0]])
        learner.add(
            Transition(
                obs=torch.randn(3, cfg.obs_dim, generator=g),
                actions=agents.denormalise(u),
                rewards=reward,
                reward_tot=reward.mean().item(),
                commit_emb=torch.randn(cfg.embed_dim, generator=g),
                commit_correct=1.0,
            )
        )
    t = agents.act(obs_eval)[..., 0].mean(0)
    assert t[0] > 0.7 and t[2] < 0.6, t
    assert t[0] - t[2] > 0.2
