"""The learning core of ECON: belief networks, rewards, replay, the learner and checkpoints."""

from econ.belief.buffer import Batch, ReplayBuffer, Transition
from econ.belief.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_user_tensors,
    save_checkpoint,
)
from econ.belief.controls import DEFAULT_CONTROLS, Controls, check_controls
from econ.belief.early_stop import EarlyStop, EarlyStopConfig
from econ.belief.learner import Gap, Learner, LearnerConfig
from econ.belief.networks import BeliefConfig, EconAgents
from econ.belief.rewards import (
    RewardWeights,
    action_likelihood,
    agent_rewards,
    project_simplex,
    team_reward,
    update_alpha,
)

__all__ = [
    "Batch",
    "BeliefConfig",
    "CheckpointError",
    "Controls",
    "DEFAULT_CONTROLS",
    "EarlyStop",
    "EarlyStopConfig",
    "EconAgents",
    "Gap",
    "Learner",
    "LearnerConfig",
    "ReplayBuffer",
    "RewardWeights",
    "Transition",
    "action_likelihood",
    "agent_rewards",
    "check_controls",
    "load_checkpoint",
    "load_user_tensors",
    "project_simplex",
    "save_checkpoint",
    "team_reward",
    "update_alpha",
]
