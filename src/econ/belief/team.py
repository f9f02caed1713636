"""Loading a trained team for inference: belief networks plus the history they ended with."""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path
from typing import Any

from econ.belief.checkpoint import load_checkpoint
from econ.belief.checkpoint_files import CheckpointError
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
    networks would act on the wrong executors or send the wrong controls. Each call returns
    its own copy, but the files are read and verified once while they stay unchanged: a run's
    checks and every team the run builds share that read.
    """
    path = Path(checkpoint)
    if (path / CHECKPOINT).is_dir():
        path = path / CHECKPOINT
    loaded, history_state = _load(path, _stamp(path))
    agents = copy.deepcopy(loaded)
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
    history = AgentHistory.from_state(history_state) if history_state is not None else None
    return agents, history


@functools.lru_cache(maxsize=4)
def _load(path: Path, stamp: tuple) -> tuple[EconAgents, dict[str, Any] | None]:
    """The checkpoint's networks and saved history, read once per `stamp` of its files."""
    agents, _, state = load_checkpoint(path)
    return agents, state.get("history")


def _stamp(path: Path) -> tuple:
    """Identity, size and modification time of every file in the directory: a checkpoint
    rewritten or damaged since it was read has another stamp (empty when there is none)."""
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError:
        return ()
    return tuple(
        (e.name, s.st_ino, s.st_mtime_ns, s.st_size)
        for e in entries
        if e.is_file() and (s := e.stat())
    )
