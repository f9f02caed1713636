"""Learner: the losses by hand on a tiny case, masks, exploration, the trust-region gap, the
actor bound, the alpha step, and a noiseless bandit."""

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
from econ.belief.rewards import agent_rewards

TWO = {"temperature": (0.1, 1.2), "top_p": (0.5, 1.0)}
SMALL = BeliefConfig(embed_dim=16, belief_dim=32, hidden_dim=64, controls=TWO)


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


def _constant_critic(agents: EconAgents, values: list[float]) -> None:
    """Q_i = values[i] whatever the input; belief head predicts 0.5 and logit 0."""
    with torch.no_grad():
        agents.critic_out.weight.zero_()
        agents.critic_out.bias.copy_(torch.tensor(values).unsqueeze(1))
        agents.critic_action_out.weight.zero_()
        agents.critic_action_out.bias.zero_()
        agents.belief_head.weight.zero_()
        agents.belief_head.bias.zero_()


def test_losses_by_hand_on_a_constant_critic():
    cfg = SMALL
    agents = EconAgents(cfg)
    _constant_critic(agents, [0.2, 0.5, 0.8])
    learner = Learner(agents, LearnerConfig(batch_size=4, actor="critic"), RewardWeights())
    g = torch.Generator().manual_seed(0)
    # T = 0.1, 0.65, 1.2 and top_p = 0.5, 0.75, 1.0 are normalised actions 0, 0.5, 1
    actions = torch.tensor([[0.1, 0.5], [0.65, 0.75], [1.2, 1.0]])
    t = _transition(cfg, g, actions=actions, rewards=torch.tensor([0.0, 1.0, 0.5]))
    learner.store([t] * 4)
    with torch.no_grad():
        b = agents.beliefs(t.obs.unsqueeze(0))
        q_tot = agents.mix(torch.tensor([[0.2, 0.5, 0.8]]), agents.group(b)).item()
    m = learner.update()
    assert m["td"] == pytest.approx(0.2**2 + 0.5**2 + 0.3**2)
    assert m["actor"] == pytest.approx(-(0.2 + 0.5 + 0.8))
    assert m["bound"] == 0.0  # an untrained actor sits at the midpoints, far from the bound
    # others' mean action: agent 0 -> 0.75, agent 1 -> 0.5, agent 2 -> 0.25 (both dims);
    # prediction 0.5 -> MSE sum 2 * 0.0625 + 0 + 2 * 0.0625; BCE(logit 0, 1) = ln 2 per agent
    assert m["belief"] == pytest.approx(0.25 + 3 * math.log(2), rel=1e-5)
    assert m["q_mean"] == pytest.approx(0.5)
    # L_m targets stopgrad(Q_tot) itself, since r_tot is the mean of the r_i
    assert m["mix"] == pytest.approx(sum((q - q_tot) ** 2 for q in (0.2, 0.5, 0.8)), rel=1e-5)
    combined = m["td_tot"] + m["td"] + 0.1 * (m["sd"] + m["mix"] + m["belief"]) + m["actor"]
    assert m["loss"] == pytest.approx(combined, rel=1e-5)


def test_executors_that_did_not_act_get_no_critic_target():
    agents = EconAgents(SMALL)
    _constant_critic(agents, [0.2, 0.5, 0.8])
    learner = Learner(agents, LearnerConfig(batch_size=2), RewardWeights())
    g = torch.Generator().manual_seed(0)
    acted = torch.tensor([1.0, 0.0, 1.0])  # a stage-2 round: executor 1 kept its answer
    learner.store(
        [
            _transition(SMALL, g, rewards=torch.tensor([0.0, 1.0, 0.5]), acted=acted)
            for _ in range(2)
        ]
    )
    assert learner.update()["td"] == pytest.approx(0.2**2 + 0.3**2)


def test_updates_train_every_parameter():
    """With the critic's actor every parameter trains. With the evidence's actor and no
    evidence yet, exactly the action heads get no gradient: nothing has sent a control
    anywhere."""
    cfg = SMALL
    for actor in ("critic", "evidence"):
        agents = EconAgents(cfg)
        learner = Learner(agents, LearnerConfig(batch_size=4, actor=actor), RewardWeights())
        g = torch.Generator().manual_seed(1)
        learner.store([_transition(cfg, g) for _ in range(4)])
        learner.update()
        # the last actor layer starts at zero, so its inputs' layer gets gradient from step 2
        learner.update()
        no_grad = [k for k, p in agents.named_parameters() if p.grad is None or not p.grad.any()]
        heads = [k for k, p in agents.named_parameters() if k.startswith("actor_")]
        assert no_grad == ([] if actor == "critic" else heads), actor


def test_evidence_reads_own_correctness_on_own_offsets_and_pools_by_model():
    """Executor correctness that falls with the exploration offset gives a large negative t in
    the pooled test; a test whose correctness ignores the offset stays inside its boundary;
    an executor that did not act adds nothing."""
    from econ.belief.evidence import Evidence

    g = torch.Generator().manual_seed(4)
    pooled, separate = Evidence([0, 0, 0], 2, 0.05, 100.0), Evidence([0, 1, 2], 2, 0.05, 100.0)
    for _ in range(400):
        x = 0.3 * torch.randn(3, 2, generator=g)
        hard = torch.rand((), generator=g).item() < 0.5  # shared by the question
        p = (0.5 - 0.8 * x[:, 0]).clamp(0, 1) * (0.4 if hard else 1.0)
        correct = (torch.rand(3, generator=g) < p).tolist()
        for ev in (pooled, separate):
            ev.add(x, correct, [True, True, False])
    t = pooled.t()
    assert t.shape == (1, 2) and t[0, 0] < -6 and abs(t[0, 1]) < 3, t
    assert pooled.decisions().tolist() == [[-1.0, 0.0]]
    assert pooled.sums[0, 0, 0].item() == 800  # two acting executors x 400 questions
    assert separate.sums[2, 0, 0].item() == 0 and separate.t()[2].eq(0).all()
    assert separate.per_agent(separate.t()).shape == (3, 2)
    bound = pooled.boundary()
    assert 2.9 < bound[0, 0] < 3.3  # the sequential boundary at n = 800
    pooled.restart(0, 0)
    assert pooled.t()[0, 0] == 0 and pooled.sums[0, 1, 0] == 800
    state = pooled.state_dict()
    again = Evidence([0, 0, 0], 2, 0.05, 100.0)
    again.load_state_dict(state)
    assert torch.equal(again.sums, pooled.sums)
    with pytest.raises(ValueError, match="groups"):
        Evidence([0, 1, 1], 2, 0.05, 100.0).load_state_dict(state)


def test_the_boundary_holds_on_noise_over_every_look():
    """Correctness that ignores the offsets, looked at after every question for 1000
    questions, over 40 seeds: the boundary is crossed in at most a few of them (a fixed
    |t| > 2 is crossed in most)."""
    from econ.belief.evidence import Evidence

    crossed = fixed = 0
    for seed in range(40):
        g = torch.Generator().manual_seed(seed)
        ev = Evidence([0, 0, 0], 1, 0.05, 100.0)
        hit = hit_fixed = False
        for _ in range(1000):
            offsets = 0.3 * torch.randn(3, 1, generator=g)
            ev.add(offsets, (torch.rand(3, generator=g) < 0.3).tolist(), [True] * 3)
            hit |= bool(ev.decisions().any())
            hit_fixed |= bool(ev.t().abs().max() > 2)
        crossed += hit
        fixed += hit_fixed
    assert crossed <= 4 and fixed >= 20, (crossed, fixed)


def test_a_decided_test_sends_the_control_one_step_its_way():
    """Once the evidence crosses its boundary, every executor of the group gets a target one
    `evidence_step` from where its policy stands, in the evidence's direction, the test
    restarts, and the updates pull the policy there."""
    cfg = LearnerConfig(batch_size=4, evidence_step=0.3)
    learner = Learner(EconAgents(SMALL), cfg, RewardWeights())
    g = torch.Generator().manual_seed(5)
    obs = torch.randn(3, SMALL.obs_dim, generator=g)
    moves = []
    for _ in range(300):
        actions = learner.explore(obs.unsqueeze(0))[0]
        u = learner.agents.normalise(actions)
        correct = (torch.rand(3, generator=g) < (1.0 - u[:, 0])).tolist()  # low temperature wins
        moves += learner.record_evidence(obs, actions, correct, [True] * 3)
        learner.store([_transition(SMALL, g, actions=actions)])
        if moves:
            break
    assert sorted(i for i, _, _ in moves) == [0, 1, 2] and {k for _, k, _ in moves} == {0}
    assert all(t == pytest.approx(0.2, abs=1e-3) for _, _, t in moves)  # 0.5 - 0.3
    assert learner.evidence.sums[0, 0, 0] == 0  # restarted
    u = learner.agents.policy(learner.agents.beliefs(obs.unsqueeze(0)))[0]
    assert (u[:, 0] - 0.2).abs().max() < 1e-4, "the move is made at once"
    for _ in range(60):
        learner.update()
    u = learner.agents.policy(learner.agents.beliefs(obs.unsqueeze(0)))[0]
    assert (u[:, 0] - 0.2).abs().max() < 0.03, "and held there by the updates"
    assert (u[:, 1] - 0.5).abs().max() < 0.03, "top_p had no evidence: it stays"


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


def test_actor_bound_pulls_a_saturated_policy_back():
    """With a flat critic only the bound moves the actor: a head saturated at z = 5 comes back
    towards the bound, and without the bound (a huge one) it stays where it is."""
    g = torch.Generator().manual_seed(3)
    transitions = [_transition(SMALL, g) for _ in range(4)]
    obs = torch.randn(8, 3, SMALL.obs_dim, generator=g)
    moved = {}
    for bound in (3.0, 100.0):
        agents = EconAgents(SMALL)
        _constant_critic(agents, [0.5, 0.5, 0.5])  # no reason to move but the bound
        with torch.no_grad():
            agents.actor_out.bias.fill_(5.0)  # sigmoid(5) = 0.993: near the top of the range
        learner = Learner(agents, LearnerConfig(batch_size=4, actor_bound=bound), RewardWeights())
        learner.store(transitions)
        start = agents.pre_squash(agents.beliefs(obs)).mean().item()
        for _ in range(50):
            learner.update()
        moved[bound] = agents.pre_squash(agents.beliefs(obs)).mean().item() - start
    assert moved[3.0] < -0.1, moved
    assert abs(moved[100.0]) < 0.01, moved


def test_store_counts_episodes_and_exploration_anneals():
    cfg = LearnerConfig(
        batch_size=2, noise_std=0.3, noise_std_final=0.1, noise_decay_start=2,
        noise_decay_episodes=10,
    )  # fmt: skip
    learner = Learner(EconAgents(SMALL), cfg, RewardWeights())
    g = torch.Generator().manual_seed(2)
    assert learner.noise_std == pytest.approx(0.3) and not learner.ready
    learner.store([_transition(SMALL, g), _transition(SMALL, g)])  # one episode, two rounds
    assert learner.episodes == 1 and len(learner.buffer) == 2 and learner.ready
    learner.store([_transition(SMALL, g)])
    assert learner.noise_std == pytest.approx(0.3)  # wide for the first 2 episodes
    for _ in range(5):
        learner.store([_transition(SMALL, g)])
    assert learner.noise_std == pytest.approx(0.2)
    for _ in range(20):
        learner.store([_transition(SMALL, g)])
    assert learner.noise_std == pytest.approx(0.1)


def test_exploration_is_seeded_reflected_into_range_and_wide():
    agents = EconAgents(SMALL)
    obs = torch.randn(256, 3, SMALL.obs_dim, generator=torch.Generator().manual_seed(0))
    a1 = Learner(agents, LearnerConfig(), RewardWeights(), seed=4).explore(obs)
    a2 = Learner(agents, LearnerConfig(), RewardWeights(), seed=4).explore(obs)
    torch.testing.assert_close(a1, a2)
    u = agents.normalise(a1)
    assert u.min() >= 0.0 and u.max() <= 1.0
    assert 0.25 < u.std() < 0.35  # std 0.3 around the 0.5 midpoint
    assert (u == 0).sum() + (u == 1).sum() == 0  # reflected, not piled up on the ends
    other = Learner(agents, LearnerConfig(), RewardWeights(), seed=5).explore(obs)
    assert not torch.equal(a1, other)


def test_gap_looks_only_inside_the_trust_region():
    """A critic that rises steeply at the far end of the range, where no data is: the full-box
    gap would be large, the trust-region gap only sees the small rise near the policy."""
    agents = EconAgents(SMALL)
    with torch.no_grad():
        agents.critic_1.weight.zero_()
        agents.critic_1.bias.zero_()
        agents.critic_2.weight.zero_()
        agents.critic_2.bias.zero_()
        agents.critic_out.weight.zero_()
        agents.critic_action_out.weight.zero_()
        # hidden unit 0 = relu(T_input) with T_input = 2u - 1, so Q = relu(2u - 1) per agent
        agents.critic_1.weight[:, SMALL.belief_dim, 0] = 1.0
        agents.critic_2.weight[:, 0, 0] = 1.0
        agents.critic_out.weight[:, 0, 0] = 1.0
    cfg = LearnerConfig(noise_std=0.05, noise_std_final=0.05, trust_region=2.0, gap_grid=5)
    learner = Learner(agents, cfg, RewardWeights())
    g = torch.Generator().manual_seed(0)
    learner.store([_transition(SMALL, g, rewards=torch.tensor(r)) for r in ([0.0] * 3, [1.0] * 3)])
    obs = torch.randn(4, 3, SMALL.obs_dim, generator=g)
    gap = learner.epsilon_gap(obs)
    # policy at u = 0.5 (Q = 0); best deviation inside +-0.1 is u = 0.6: Q = relu(0.2) = 0.2
    assert gap.absolute == pytest.approx(0.2, abs=1e-5)
    assert gap.relative == pytest.approx(0.2 / learner.buffer.reward_std(), rel=1e-5)
    wide = Learner(agents, cfg.model_copy(update={"trust_region": 10.0}), RewardWeights())
    wide.buffer = learner.buffer
    assert wide.epsilon_gap(obs).absolute == pytest.approx(1.0, abs=1e-5)  # u = 1: Q = 1


def test_step_alpha_moves_only_when_enabled_and_rewards_stay_pure():
    cfg = SMALL
    obs, actions = torch.zeros(1, 3, cfg.obs_dim), torch.tensor([[[0.65, 0.75]] * 3])
    args = ([True, False, True], [0.9, 0.1, 0.5], [True, False, True], True)
    static = Learner(EconAgents(cfg), LearnerConfig(), RewardWeights())
    r, parts = agent_rewards(*args, static.alpha)
    assert r == pytest.approx([0.38 + 0.4 + 0.2, 0.02 + 0.4, 0.3 + 0.4 + 0.2])
    static.step_alpha(obs, actions, parts)
    assert static.alpha == (0.4, 0.4, 0.2)
    dynamic = Learner(EconAgents(cfg), LearnerConfig(), RewardWeights(dynamic=True, eta=0.01))
    r_dyn, parts = agent_rewards(*args, dynamic.alpha)
    assert r_dyn == pytest.approx(r)
    dynamic.step_alpha(obs, actions, parts)
    assert dynamic.alpha != (0.4, 0.4, 0.2)
    assert sum(dynamic.alpha) == pytest.approx(1.0)


def test_bandit_agents_learn_their_own_optimal_temperature():
    """No LLM, no noise: agent i is paid r_i = 1 - (T_i - T*_i)^2 with T* = 0.3, 0.6, 0.9.

    Observations are random sentence-embedding-like vectors, so nothing but each agent's own
    reward can tell it where to go. The deterministic policy must reach its own optimum on every
    held-out question.
    """
    cfg = BeliefConfig(embed_dim=32, controls=TWO)
    agents = EconAgents(cfg, seed=0)
    learner = Learner(agents, LearnerConfig(actor="critic"), RewardWeights(), seed=0)
    g = torch.Generator().manual_seed(100)
    target = torch.tensor([0.3, 0.6, 0.9])

    def observe(batch: int) -> torch.Tensor:
        q = F.normalize(torch.randn(batch, 1, cfg.embed_dim, generator=g), dim=-1)
        s = F.normalize(torch.randn(batch, 1, cfg.embed_dim, generator=g), dim=-1)
        history = torch.rand(batch, 3, cfg.history_dim, generator=g)
        return torch.cat([q.expand(-1, 3, -1), s.expand(-1, 3, -1), history], dim=-1)

    held_out = observe(64)
    for _ in range(150):
        obs = observe(1)
        actions = learner.explore(obs)[0]
        reward = 1.0 - (actions[:, 0] - target) ** 2
        learner.store(
            [
                Transition(
                    obs=obs[0],
                    actions=actions,
                    rewards=reward,
                    reward_tot=reward.mean().item(),
                    commit_emb=torch.randn(cfg.embed_dim, generator=g),
                    commit_correct=float(torch.rand(1, generator=g).item() < 0.5),
                )
            ]
        )
        if learner.ready:
            for _ in range(learner.cfg.updates_per_episode):
                learner.update()

    temperature = agents.act(held_out)[..., 0]
    assert (temperature.mean(0) - target).abs().max() < 0.1, temperature.mean(0)
    assert (temperature - target).abs().max() < 0.15  # every question, not just on average
