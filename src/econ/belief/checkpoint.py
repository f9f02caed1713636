"""Checkpoints as a directory of safetensors + JSON, written atomically, verified on load.

Layout:
    weights.safetensors    network weights
    optimizer.safetensors  Adam state tensors ("<param index>.<name>")
    optimizer.json         Adam param groups (plain numbers)
    buffer.safetensors     replay buffer rows and the sampling/exploration RNG states
    user.safetensors       the caller's tensors (training: the held-out observations)
    state.json             configs, counters, alpha, the caller's state and a sha256 per file

The belief config in state.json includes the action space (the controls, in order, with their
ranges), so a checkpoint cannot silently act on other controls than it was trained for.

Nothing is ever unpickled, so a checkpoint from an untrusted source cannot run code. The
directory is swapped in whole and each file verified against its sha256 on load
(`econ.belief.checkpoint_files`), so a crash or later damage never yields a half-written mix.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from pydantic import ValidationError

from econ.belief.checkpoint_files import (
    CheckpointError,
    read_tensors,
    read_verified,
    tensors_bytes,
    write_dir_atomically,
)
from econ.belief.learner import Learner, LearnerConfig
from econ.belief.networks import BeliefConfig, EconAgents
from econ.belief.rewards import RewardWeights

FORMAT_VERSION = 2  # 2: configurable controls, two optimisers, caller tensors
WEIGHTS, OPTIM, OPTIM_JSON, BUFFER, USER, STATE = (
    "weights.safetensors",
    "optimizer.safetensors",
    "optimizer.json",
    "buffer.safetensors",
    "user.safetensors",
    "state.json",
)
OPTIMIZERS = ("optimizer", "actor_optimizer")  # keys of Learner.state_dict()


def save_checkpoint(
    path: Path,
    agents: EconAgents,
    learner: Learner | None,
    state: dict[str, Any],
    tensors: dict[str, torch.Tensor] | None = None,
) -> None:
    """Write agents (and, if given, the learner's full training state) to directory `path`.

    `state` is the caller's own JSON-serialisable state (e.g. position in the training data),
    `tensors` its own tensors (read back with `load_user_tensors`).
    """
    path = Path(path)
    blobs = {WEIGHTS: tensors_bytes(agents.state_dict())}
    if tensors:
        blobs[USER] = tensors_bytes(tensors)
    meta: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "belief_config": agents.cfg.model_dump(mode="json"),
        "learner_config": None,
        "user": state,
    }
    if learner is not None:
        ls = learner.state_dict()
        opt_tensors, opt_json = {}, {}
        for name in OPTIMIZERS:
            t, j = _split_optimizer(ls[name])
            opt_tensors.update({f"{name}.{k}": v for k, v in t.items()})
            opt_json[name] = j
        blobs[OPTIM] = tensors_bytes(opt_tensors)
        blobs[OPTIM_JSON] = json.dumps(opt_json, indent=1).encode()
        buffer = {f"buffer.{k}": v for k, v in ls["buffer_tensors"].items()}
        buffer["noise_rng"] = ls["noise_rng"]
        blobs[BUFFER] = tensors_bytes(buffer)
        meta["learner_config"] = learner.cfg.model_dump(mode="json")
        meta["reward_weights"] = learner.reward_weights.model_dump(mode="json")
        meta["learner"] = {
            "updates": ls["updates"],
            "episodes": ls["episodes"],
            "alpha": ls["alpha"],
            "buffer": ls["buffer_meta"],
            "evidence": ls["evidence"],
            "targets": ls["targets"],
            "moves": ls["moves"],
        }
    meta["sha256"] = {name: hashlib.sha256(data).hexdigest() for name, data in blobs.items()}
    blobs[STATE] = json.dumps(meta, indent=1).encode()
    write_dir_atomically(path, blobs)


def load_checkpoint(
    path: Path,
    learner_cfg: LearnerConfig | None = None,
    device: str = "cpu",
    belief_cfg: BeliefConfig | None = None,
) -> tuple[EconAgents, Learner | None, dict[str, Any]]:
    """Load agents, the learner (None if none was saved) and the caller's state.

    `learner_cfg` replaces the saved learner config (its lr applies; the buffer size must
    match); `device` places the networks; `belief_cfg`, if given, must equal the saved one.
    Every refusal is a CheckpointError with one line naming the problem.
    """
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"checkpoint {path} does not exist")
    meta = _read_state(path)
    try:
        cfg = BeliefConfig(**meta["belief_config"])
    except (KeyError, TypeError, ValidationError) as exc:
        raise CheckpointError(f"checkpoint {path}: invalid belief config in {STATE}") from exc
    if belief_cfg is not None:
        diff = [
            k
            for k, v in belief_cfg.model_dump().items()
            if (list(v.items()) if isinstance(v, dict) else v)
            != (list(getattr(cfg, k).items()) if isinstance(v, dict) else getattr(cfg, k))
        ]  # dicts compare with their order: the controls' order is the action layout
        if diff:
            detail = ", ".join(
                f"{k}={getattr(cfg, k)} (expected {getattr(belief_cfg, k)})" for k in diff
            )
            raise CheckpointError(f"checkpoint {path} has a different belief config: {detail}")

    agents = EconAgents(cfg)
    _load_weights(path, agents, read_tensors(path, meta, WEIGHTS))
    agents.to(torch.device(device))
    if meta.get("learner_config") is None:
        if learner_cfg is not None:
            raise CheckpointError(f"checkpoint {path} holds no learner state to continue from")
        return agents, None, meta["user"]

    try:
        saved_cfg = LearnerConfig(**meta["learner_config"])
        rewards = RewardWeights.model_validate(meta["reward_weights"])
        counters = meta["learner"]
    except (KeyError, TypeError, ValidationError) as exc:
        raise CheckpointError(f"checkpoint {path}: invalid learner state in {STATE}") from exc
    cfg_l = (learner_cfg or saved_cfg).model_copy(update={"device": device})
    if cfg_l.buffer_size != saved_cfg.buffer_size:
        raise CheckpointError(
            f"checkpoint {path} has buffer_size {saved_cfg.buffer_size}, "
            f"the learner config asks for {cfg_l.buffer_size}"
        )
    groups = (counters.get("evidence") or {}).get("groups")
    learner = Learner(agents, cfg_l, rewards, groups=groups)
    buffer = read_tensors(path, meta, BUFFER)
    opt_tensors = read_tensors(path, meta, OPTIM)
    try:
        opt_json = json.loads(read_verified(path, meta, OPTIM_JSON))
        optimizers = {
            name: _join_optimizer(
                {
                    k.removeprefix(f"{name}."): v
                    for k, v in opt_tensors.items()
                    if k.startswith(f"{name}.")
                },
                opt_json[name],
            )
            for name in OPTIMIZERS
        }
        learner.load_state_dict(
            {
                **optimizers,
                "buffer_tensors": {
                    k.removeprefix("buffer."): v for k, v in buffer.items() if k != "noise_rng"
                },
                "buffer_meta": counters["buffer"],
                "noise_rng": buffer["noise_rng"],
                "updates": counters["updates"],
                "episodes": counters["episodes"],
                "alpha": counters["alpha"],
                "evidence": counters["evidence"],
                "targets": counters["targets"],
                "moves": counters["moves"],
            }
        )
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(
            f"checkpoint {path}: learner state does not fit: {first_line}"
        ) from exc
    return agents, learner, meta["user"]


def load_user_tensors(path: Path) -> dict[str, torch.Tensor]:
    """The caller's tensors saved with `save_checkpoint(..., tensors=...)` ({} if none)."""
    path = Path(path)
    meta = _read_state(path)
    if USER not in meta["sha256"]:
        return {}
    return read_tensors(path, meta, USER)


# --- writing ----------------------------------------------------------------------------------


def _split_optimizer(opt_state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """torch optimizer state_dict -> (tensors, JSON): tensors keyed "<param index>.<name>"."""
    tensors, scalars = {}, {}
    for pid, entries in opt_state["state"].items():
        for name, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{pid}.{name}"] = value
            else:
                scalars[f"{pid}.{name}"] = value
    return tensors, {"param_groups": opt_state["param_groups"], "scalars": scalars}


# --- reading ----------------------------------------------------------------------------------


def _read_state(path: Path) -> dict[str, Any]:
    file = path / STATE
    if not file.is_file():
        raise CheckpointError(f"checkpoint {path} is missing {STATE}")
    try:
        meta = json.loads(file.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"checkpoint {path}: {STATE} is not valid JSON") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
        raise CheckpointError(f"checkpoint {path}: unknown format in {STATE}")
    if not isinstance(meta.get("sha256"), dict) or "user" not in meta:
        raise CheckpointError(f"checkpoint {path}: {STATE} lacks file hashes or user state")
    # state.json itself has no checksum, so a hand-edited or damaged value must fail here,
    # not as a TypeError deep inside loading.
    expected = {"belief_config": dict, "user": dict, "learner_config": (dict, type(None))}
    if meta.get("learner_config") is not None:
        expected.update({"reward_weights": dict, "learner": dict})
    for key, kind in expected.items():
        if not isinstance(meta.get(key), kind):
            raise CheckpointError(f"checkpoint {path}: {STATE} field {key!r} has the wrong type")
    return meta


def _load_weights(path: Path, agents: EconAgents, tensors: dict[str, torch.Tensor]) -> None:
    expected = agents.state_dict()
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        what = f"missing {missing[0]}" if missing else f"unexpected {extra[0]}"
        raise CheckpointError(f"checkpoint {path}: weights do not match the config ({what})")
    for name, value in expected.items():
        if tensors[name].shape != value.shape:
            raise CheckpointError(
                f"checkpoint {path}: weight {name} has shape {tuple(tensors[name].shape)}, "
                f"the config needs {tuple(value.shape)}"
            )
    agents.load_state_dict(tensors)


def _join_optimizer(tensors: dict[str, torch.Tensor], saved: dict) -> dict:
    """Inverse of _split_optimizer."""
    state: dict[int, dict[str, Any]] = {}
    for key, value in [*tensors.items(), *saved["scalars"].items()]:
        pid, name = key.split(".", 1)
        state.setdefault(int(pid), {})[name] = value
    return {"state": state, "param_groups": saved["param_groups"]}
