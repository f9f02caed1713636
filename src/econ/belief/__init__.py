"""The learning core of ECON: belief networks, rewards, replay, the learner and checkpoints."""

from econ.belief.buffer import Batch, ReplayBuffer, Transition
from econ.belief.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from econ.belief.learner import Learner, LearnerConfig
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
    "EconAgents",
    "Learner",
    "LearnerConfig",
    "ReplayBuffer",
    "RewardWeights",
    "Transition",
    "action_likelihood",
    "agent_rewards",
    "load_checkpoint",
    "project_simplex",
    "save_checkpoint",
    "team_reward",
    "update_alpha",
]
