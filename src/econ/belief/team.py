"""Loading a trained team for inference: belief networks plus the history they ended with."""

from __future__ import annotations

from pathlib import Path

from econ.belief.checkpoint import CheckpointError, load_checkpoint
from econ.belief.controls import Controls, describe, same_controls
from econ.belief.history import AgentHistory
from econ.belief.networks import EconAgents

CHECKPOINT = "checkpoint"  # the checkpoint directory inside a training run


def load_team(
    checkpoint: str | Path, n_executors: int, controls: Controls
) -> tuple[EconAgents, AgentHistory | None]:
    """Trained belief networks (and the history features training ended with) for N executors
    acting on `controls`. Accepts a checkpoint directory or the training run that holds one.

    A checkpoint for another team size or another action space is refused with one line: its
    networks would act on the wrong executors or send the wrong controls.
    """
    path = Path(checkpoint)
    if (path / CHECKPOINT).is_dir():
        path = path / CHECKPOINT
    agents, _, state = load_checkpoint(path)
    if agents.cfg.n_agents != n_executors:
        raise CheckpointError(
            f"checkpoint {path} has belief networks for {agents.cfg.n_agents} executors, "
            f"but the team has {n_executors}"
        )
    if not same_controls(agents.cfg.controls, controls):  # order too: it is the action layout
        raise CheckpointError(
            f"checkpoint {path} acts on {describe(agents.cfg.controls)}, "
            f"but econ.controls is {describe(controls)}"
        )
    history = AgentHistory.from_state(state["history"]) if "history" in state else None
    return agents, history
