"""Belief networks: shapes, the configurable action space, neutral start, distinct agents that
still depend on the question, seeding, an action-aware critic, QMIX monotonicity."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError

from econ.belief import BeliefConfig, EconAgents, Learner, LearnerConfig, RewardWeights, Transition
from econ.belief.controls import check_controls, same_controls

TWO = {"temperature": (0.1, 1.2), "top_p": (0.5, 1.0)}
SMALL = BeliefConfig(embed_dim=16, belief_dim=32, hidden_dim=64, controls=TWO)


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


@pytest.mark.parametrize(
    "controls",
    [
        {"temperature": (0.0, 0.8)},
        {"repetition_penalty": (1.0, 1.3), "temperature": (0.1, 1.0)},
        {
            "temperature": (0.1, 1.2),
            "top_p": (0.5, 1.0),
            "repetition_penalty": (1.0, 1.3),
            "max_tokens": (128.0, 512.0),
        },
    ],
)
def test_action_dim_and_order_follow_the_configured_controls(controls):
    cfg = BeliefConfig(embed_dim=16, belief_dim=32, hidden_dim=64, controls=controls)
    agents = EconAgents(cfg, seed=1)
    assert agents.control_names == tuple(controls)
    actions = agents.act(_obs(cfg, 4))
    assert actions.shape == (4, 3, len(controls))
    midpoints = torch.tensor([(lo + hi) / 2 for lo, hi in controls.values()])
    torch.testing.assert_close(actions, midpoints.expand(4, 3, -1), rtol=0, atol=1e-5)
    u = torch.rand(4, 3, len(controls))
    torch.testing.assert_close(agents.normalise(agents.denormalise(u)), u)


@pytest.mark.parametrize(
    ("controls", "message"),
    [
        ({}, "at least one control"),
        ({"temp": (0.1, 1.0)}, "unknown control 'temp'"),
        ({"temperature": (1.0, 0.5)}, "low < high"),
        ({"top_p": (0.5, 1.5)}, "top_p range"),
    ],
)
def test_bad_controls_are_refused(controls, message):
    with pytest.raises(ValidationError, match=message):
        BeliefConfig(controls=controls)


def test_controls_compare_with_their_order():
    a = check_controls({"temperature": (0.1, 1.0), "top_p": [0.5, 1.0]})
    b = {"top_p": (0.5, 1.0), "temperature": (0.1, 1.0)}
    assert a == b  # dict equality ignores the order ...
    assert not same_controls(a, b)  # ... but the order is the action layout
    assert same_controls(a, {"temperature": [0.1, 1.0], "top_p": (0.5, 1)})


def test_same_observation_gives_each_agent_its_own_belief():
    agents = EconAgents(SMALL)
    obs = _obs(SMALL, 1)[:, :1].expand(1, 3, -1)  # identical input for all three agents
    b = agents.beliefs(obs)[0]
    assert not torch.allclose(b[0], b[1]) and not torch.allclose(b[1], b[2])


def test_belief_depends_more_on_the_question_than_on_the_agent():
    """Unit-norm sentence embeddings (the real input) must not be drowned by the agent id: the
    untrained belief varies across questions about as much as across agents (it was 20 times
    less before the observation was normalised)."""
    cfg = BeliefConfig()
    agents = EconAgents(cfg, seed=0)
    g = torch.Generator().manual_seed(0)
    topic = torch.nn.functional.normalize(torch.randn(cfg.embed_dim, generator=g), dim=0)
    texts = torch.nn.functional.normalize(
        0.6 * topic
        + 0.8
        * torch.nn.functional.normalize(torch.randn(64, 2, cfg.embed_dim, generator=g), dim=-1),
        dim=-1,
    )  # 64 questions with strategies, pairwise cosine ~0.37 like GSM8K questions
    obs = torch.cat([texts.flatten(1), torch.zeros(64, cfg.history_dim)], dim=1)
    b = agents.beliefs(obs.unsqueeze(1).expand(-1, cfg.n_agents, -1))
    across_questions = b.std(dim=0).mean()
    across_agents = b.std(dim=1).mean()
    assert across_questions > 0.5 * across_agents, (across_questions, across_agents)


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
    learner = Learner(agents, LearnerConfig(batch_size=16, actor="critic"), RewardWeights())
    g = torch.Generator().manual_seed(0)
    obs_eval = _obs(cfg, 8, seed=9)
    start = agents.act(obs_eval)[..., 0].mean(0)
    assert torch.allclose(start, torch.full((3,), 0.65))
    for _ in range(100):
        u = torch.rand(3, 2, generator=g)
        reward = torch.stack([u[0, 0], torch.tensor(0.5), 1 - u[2, 0]])
        learner.store(
            [
                Transition(
                    obs=torch.randn(3, cfg.obs_dim, generator=g),
                    actions=agents.denormalise(u),
                    rewards=reward,
                    reward_tot=reward.mean().item(),
                    commit_emb=torch.randn(cfg.embed_dim, generator=g),
                    commit_correct=1.0,
                )
            ]
        )
        if learner.ready:
            for _ in range(learner.cfg.updates_per_episode):
                learner.update()
    t = agents.act(obs_eval)[..., 0].mean(0)
    assert t[0] > 0.8 and t[2] < 0.5, t
    assert abs(t[1] - 0.65) < 0.1  # a constant reward moves nothing much
