"""A checkpoint's files: a directory of named blobs, swapped in whole and verified on read.

The directory is built beside its destination and renamed into place (every file and both
directories fsynced), so a crash leaves either the old directory or the new one, never a
half-written mix. Reading checks each blob against the sha256 that the checkpoint's state
lists, so later damage is caught. What the blobs hold is `econ.belief.checkpoint`'s business.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import safetensors.torch
import torch

from econ.errors import UserError
from econ.files import fsync_dir


class CheckpointError(UserError):
    """A checkpoint that is missing, damaged or does not fit the requested configuration."""


def tensors_bytes(tensors: dict[str, torch.Tensor]) -> bytes:
    """Tensors as a safetensors blob (detached, on the CPU)."""
    return safetensors.torch.save({k: v.detach().cpu().contiguous() for k, v in tensors.items()})


def write_dir_atomically(path: Path, blobs: dict[str, bytes]) -> None:
    """Replace directory `path` with one file per blob, all at once."""
    parent = path.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=parent))
    try:
        for name, data in blobs.items():
            with open(tmp / name, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        fsync_dir(tmp)
        if path.exists():
            old = parent / f".{path.name}.old-{uuid.uuid4().hex}"
            os.rename(path, old)
            os.rename(tmp, path)
            shutil.rmtree(old)
        else:
            os.rename(tmp, path)
        fsync_dir(parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def recover_dir(path: Path) -> None:
    """Undo a `write_dir_atomically` that a kill cut between its two renames: `path` is gone
    and the previous directory waits aside as .NAME.old-*; it is put back (the newer copy,
    never renamed into place, is dropped with the other leftovers)."""
    parent = path.parent
    if not parent.is_dir():
        return
    if not path.exists():
        olds = sorted(parent.glob(f".{path.name}.old-*"), key=lambda p: p.stat().st_mtime)
        if olds and not olds[-1].is_symlink():
            os.rename(olds[-1], path)
            fsync_dir(parent)
    for leftover in [*parent.glob(f".{path.name}.old-*"), *parent.glob(f".{path.name}.tmp-*")]:
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)


def read_verified(path: Path, meta: dict[str, Any], name: str) -> bytes:
    """Blob `name` of checkpoint `path`, refused unless its sha256 is the one `meta` lists."""
    file = path / name
    if not file.is_file():
        raise CheckpointError(f"checkpoint {path} is missing {name}")
    data = file.read_bytes()
    if hashlib.sha256(data).hexdigest() != meta["sha256"].get(name):
        raise CheckpointError(f"checkpoint {path}: {name} is corrupt (sha256 mismatch)")
    return data


def read_tensors(path: Path, meta: dict[str, Any], name: str) -> dict[str, torch.Tensor]:
    """A verified safetensors blob's tensors (nothing is unpickled)."""
    data = read_verified(path, meta, name)
    try:
        return safetensors.torch.load(data)
    except Exception as exc:  # safetensors raises its own error types for malformed files
        raise CheckpointError(f"checkpoint {path}: {name} is not a valid safetensors file") from exc
