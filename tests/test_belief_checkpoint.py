"""Checkpoints: exact round trip, atomic overwrite, and clear refusals of bad checkpoints."""

from __future__ import annotations

import json

import pytest
import torch

from econ.belief import (
    BeliefConfig,
    CheckpointError,
    EconAgents,
    Learner,
    LearnerConfig,
    RewardWeights,
    Transition,
    load_checkpoint,
    load_user_tensors,
    save_checkpoint,
)
from econ.belief.team import load_team
from econ.errors import UserError

TWO = {"temperature": (0.1, 1.2), "top_p": (0.5, 1.0)}
SMALL = BeliefConfig(embed_dim=16, belief_dim=32, hidden_dim=64, controls=TWO)


def _trained(updates: int = 3) -> Learner:
    cfg = SMALL
    learner = Learner(
        EconAgents(cfg, seed=5),
        LearnerConfig(batch_size=4, buffer_size=16, updates_per_episode=1),
        RewardWeights(dynamic=True),
    )
    g = torch.Generator().manual_seed(0)
    while learner.updates < updates:
        obs = torch.randn(1, 3, cfg.obs_dim, generator=g)
        learner.store(
            [
                Transition(
                    obs=obs[0],
                    actions=learner.explore(obs)[0],
                    rewards=torch.rand(3, generator=g),
                    reward_tot=0.4,
                    commit_emb=torch.randn(cfg.embed_dim, generator=g),
                    commit_correct=1.0,
                )
            ]
        )
        if learner.ready:
            learner.update()
    learner.alpha = (0.5, 0.3, 0.2)
    return learner


def test_round_trip_gives_identical_actions_and_identical_next_updates(tmp_path):
    learner = _trained()
    path = tmp_path / "ckpt"
    save_checkpoint(path, learner.agents, learner, {"question_index": 7})
    agents2, learner2, state = load_checkpoint(path)
    assert state == {"question_index": 7}
    assert learner2 is not None
    assert (learner2.updates, learner2.episodes, learner2.alpha) == (
        learner.updates,
        learner.episodes,
        learner.alpha,
    )
    assert learner2.noise_std == learner.noise_std
    assert learner2.reward_weights == learner.reward_weights
    obs = torch.randn(4, 3, SMALL.obs_dim, generator=torch.Generator().manual_seed(1))
    assert torch.equal(agents2.act(obs), learner.agents.act(obs))
    assert torch.equal(learner2.explore(obs), learner.explore(obs))  # exploration RNG restored
    for _ in range(3):
        assert learner2.update() == learner.update()
    for k, v in learner.agents.state_dict().items():
        assert torch.equal(agents2.state_dict()[k], v), k


def test_agents_only_checkpoint(tmp_path):
    agents = EconAgents(SMALL, seed=2)
    save_checkpoint(tmp_path / "c", agents, None, {})
    loaded, learner, state = load_checkpoint(tmp_path / "c")
    assert learner is None and state == {}
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == [
        "state.json",
        "weights.safetensors",
    ]
    with pytest.raises(CheckpointError, match="no learner state"):
        load_checkpoint(tmp_path / "c", learner_cfg=LearnerConfig())


def test_overwrite_replaces_the_old_checkpoint_and_leaves_no_temp_dirs(tmp_path):
    path = tmp_path / "ckpt"
    save_checkpoint(path, EconAgents(SMALL, seed=1), None, {"v": 1})
    learner = _trained()
    save_checkpoint(path, learner.agents, learner, {"v": 2})
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]
    agents, loaded, state = load_checkpoint(path)
    assert state == {"v": 2} and loaded is not None
    assert torch.equal(agents.obs_in.weight, learner.agents.obs_in.weight)


def test_flipped_byte_in_weights_is_refused(tmp_path):
    path = tmp_path / "ckpt"
    learner = _trained()
    save_checkpoint(path, learner.agents, learner, {})
    weights = path / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="weights.safetensors is corrupt") as exc:
        load_checkpoint(path)
    assert isinstance(exc.value, UserError) and "\n" not in str(exc.value)


def test_missing_directory_and_missing_file_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nowhere")
    learner = _trained()
    save_checkpoint(tmp_path / "c", learner.agents, learner, {})
    (tmp_path / "c" / "optimizer.safetensors").unlink()
    with pytest.raises(CheckpointError, match="missing optimizer.safetensors"):
        load_checkpoint(tmp_path / "c")


def test_mismatched_agent_count_is_refused(tmp_path):
    path = tmp_path / "ckpt"
    learner = _trained()
    save_checkpoint(path, learner.agents, learner, {})
    with pytest.raises(CheckpointError, match="n_agents=3 \\(expected 4\\)"):
        load_checkpoint(path, belief_cfg=SMALL.model_copy(update={"n_agents": 4}))
    # a state.json edited to claim 4 agents no longer fits the (intact) weights
    meta = json.loads((path / "state.json").read_text())
    meta["belief_config"]["n_agents"] = 4
    (path / "state.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="weight agent_id has shape \\(3, 64\\)"):
        load_checkpoint(path)


def test_learner_config_override_applies_lr_and_checks_buffer_size(tmp_path):
    path = tmp_path / "ckpt"
    learner = _trained()
    save_checkpoint(path, learner.agents, learner, {})
    new_cfg = LearnerConfig(
        batch_size=4, buffer_size=16, lr=5e-4, actor_lr=5e-3, critic_weight_decay=0.5
    )
    _, loaded, _ = load_checkpoint(path, learner_cfg=new_cfg)
    assert [g["lr"] for g in loaded.optimizer.param_groups] == [5e-4, 5e-4]
    assert [g["weight_decay"] for g in loaded.optimizer.param_groups] == [0.0, 0.5]
    assert [g["lr"] for g in loaded.actor_optimizer.param_groups] == [5e-3]
    with pytest.raises(CheckpointError, match="buffer_size 16"):
        load_checkpoint(path, learner_cfg=LearnerConfig(batch_size=4, buffer_size=32))


def test_caller_tensors_round_trip_and_are_verified(tmp_path):
    path = tmp_path / "ckpt"
    heldout = torch.randn(4, 3, SMALL.obs_dim)
    save_checkpoint(path, EconAgents(SMALL), None, {}, tensors={"heldout_obs": heldout})
    assert torch.equal(load_user_tensors(path)["heldout_obs"], heldout)
    save_checkpoint(tmp_path / "plain", EconAgents(SMALL), None, {})
    assert load_user_tensors(tmp_path / "plain") == {}
    user = path / "user.safetensors"
    data = bytearray(user.read_bytes())
    data[-1] ^= 0x01
    user.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="user.safetensors is corrupt"):
        load_user_tensors(path)


def test_checkpoint_records_the_action_space_and_a_mismatch_is_one_line(tmp_path):
    save_checkpoint(tmp_path / "checkpoint", EconAgents(SMALL), None, {})
    meta = json.loads((tmp_path / "checkpoint" / "state.json").read_text())
    assert meta["belief_config"]["controls"] == {"temperature": [0.1, 1.2], "top_p": [0.5, 1.0]}
    agents, history = load_team(tmp_path, 3, dict(TWO))  # the run directory works too
    assert agents.control_names == ("temperature", "top_p") and history is None
    for controls in (
        {"temperature": (0.0, 0.8)},  # other ranges and names
        {"top_p": (0.5, 1.0), "temperature": (0.1, 1.2)},  # same controls, other order
    ):
        with pytest.raises(CheckpointError, match="acts on temperature \\[0.1, 1.2\\]") as exc:
            load_team(tmp_path / "checkpoint", 3, controls)
        assert isinstance(exc.value, UserError) and "\n" not in str(exc.value)
    swapped = {"top_p": (0.5, 1.0), "temperature": (0.1, 1.2)}
    reordered = SMALL.model_copy(update={"controls": swapped})
    with pytest.raises(CheckpointError, match="different belief config: controls="):
        load_checkpoint(tmp_path / "checkpoint", belief_cfg=reordered)


def test_load_team_reads_a_checkpoint_once_until_it_changes(tmp_path, monkeypatch):
    """A run's checks and the teams it builds share one read; each gets its own copy, and a
    checkpoint rewritten or damaged since is read again."""
    import econ.belief.team as team

    reads = []
    monkeypatch.setattr(
        team, "load_checkpoint", lambda path: reads.append(path) or load_checkpoint(path)
    )
    save_checkpoint(tmp_path / "checkpoint", EconAgents(SMALL, seed=1), None, {})
    a, _ = load_team(tmp_path, 3, dict(TWO))
    b, _ = load_team(tmp_path / "checkpoint", 3, dict(TWO))
    assert len(reads) == 1 and a is not b
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))
    with torch.no_grad():
        next(a.parameters()).add_(1.0)  # a caller's copy is its own
    again, _ = load_team(tmp_path, 3, dict(TWO))
    assert torch.equal(next(again.parameters()), next(b.parameters()))
    save_checkpoint(tmp_path / "checkpoint", EconAgents(SMALL, seed=2), None, {})
    c, _ = load_team(tmp_path, 3, dict(TWO))
    assert len(reads) == 2 and not torch.equal(next(c.parameters()), next(b.parameters()))
    (tmp_path / "checkpoint" / "weights.safetensors").write_bytes(b"corrupt")
    with pytest.raises(CheckpointError, match="weights.safetensors is corrupt"):
        load_team(tmp_path, 3, dict(TWO))


def test_reward_weights_round_trip_and_refuse_a_bad_alpha(tmp_path):
    learner = Learner(
        EconAgents(SMALL), LearnerConfig(), RewardWeights(alpha=(0.5, 0.3, 0.2), dynamic=True)
    )
    save_checkpoint(tmp_path / "c", learner.agents, learner, {})
    _, loaded, _ = load_checkpoint(tmp_path / "c")
    assert loaded.reward_weights == RewardWeights(alpha=(0.5, 0.3, 0.2), dynamic=True)
    state = json.loads((tmp_path / "c" / "state.json").read_text())
    state["reward_weights"]["alpha"] = [0.9, 0.9, 0.9]
    (tmp_path / "c" / "state.json").write_text(json.dumps(state))
    with pytest.raises(CheckpointError, match="invalid learner state"):
        load_checkpoint(tmp_path / "c")
