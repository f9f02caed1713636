"""The config's shared parts: one checked type for an action space, and the reward weights
that training, checkpoints and the learner share, with the keys configs used to spell."""

from __future__ import annotations

import pytest
import yaml

from econ.belief.networks import BeliefConfig
from econ.belief.rewards import RewardWeights
from econ.cli_run import resumed_config
from econ.config import END_MARKER, RunConfig, load_config, load_saved_config, save_config
from econ.errors import UserError


@pytest.mark.parametrize(
    ("controls", "message"),
    [
        ({"temprature": (0.0, 1.0)}, "unknown control 'temprature'"),
        ({"top_p": (0.9, 0.5)}, "control top_p range \\[0.9, 0.5\\] must satisfy"),
        ({}, "at least one control"),
    ],
)
def test_both_configs_check_controls_alike(controls, message):
    with pytest.raises(UserError, match=f"econ.controls: Value error, {message}"):
        load_config(None, {"econ.controls": controls})
    with pytest.raises(ValueError, match=message):
        BeliefConfig(controls=controls)
    assert RunConfig().econ.controls == BeliefConfig().controls == {"temperature": (0.0, 0.8)}


def test_reward_weights_are_the_train_section_and_the_old_keys_are_refused():
    cfg = load_config(None, {"train.rewards.alpha": [0.5, 0.3, 0.2], "train.rewards.eta": 0.01})
    assert cfg.train.rewards == RewardWeights(alpha=(0.5, 0.3, 0.2), dynamic=False, eta=0.01)
    for old, new in (("alpha", "alpha"), ("dynamic_alpha", "dynamic"), ("alpha_eta", "eta")):
        with pytest.raises(
            UserError, match=f"train.{old} no longer exists; see train.rewards.{new}"
        ):
            load_config(None, {f"train.{old}": [0.5, 0.3, 0.2] if old == "alpha" else True})
    with pytest.raises(UserError, match="train.rewards.alpha: .*sum to 1"):
        load_config(None, {"train.rewards.alpha": [0.5, 0.5, 0.5]})
    with pytest.raises(UserError, match="train.rewards.eta"):
        load_config(None, {"train.rewards.eta": 0})


def test_reward_weights_are_named_never_positional():
    assert RewardWeights(alpha=(0.2, 0.4, 0.4), dynamic=True).alpha == (0.2, 0.4, 0.4)
    with pytest.raises(TypeError):
        RewardWeights((0.2, 0.4, 0.4))


def test_a_run_saved_with_the_old_keys_resumes(tmp_path):
    data = RunConfig().model_dump(mode="json")
    rewards = data["train"].pop("rewards")
    data["train"].update(
        alpha=rewards["alpha"], dynamic_alpha=rewards["dynamic"], alpha_eta=rewards["eta"]
    )
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False) + END_MARKER + "\n")
    assert load_saved_config(path) == RunConfig()
    assert resumed_config("train", path, {"train.rewards.dynamic": False}) == RunConfig()
    with pytest.raises(UserError, match="--dynamic-alpha True conflicts with its train.rewards"):
        resumed_config("train", path, {"train.rewards.dynamic": True})
    save_config(RunConfig(), tmp_path / "new.yaml")
    saved = yaml.safe_load((tmp_path / "new.yaml").read_text())["train"]
    assert saved["rewards"] == {"alpha": [0.4, 0.4, 0.2], "dynamic": False, "eta": 0.001}
    assert not {"alpha", "dynamic_alpha", "alpha_eta"} & saved.keys()
