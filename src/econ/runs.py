"""Run directories: where a run's files go, what produced them, one writer at a time.

A run directory holds config.yaml (the resolved config with its provenance), records.jsonl
(`econ.evaluate.EvalRecord` for eval and compare; train's episodes in episodes.jsonl), read
and written by `econ.run_records`, and the summary files `econ.report` writes.

This module stays light to import (no torch): `econ view` reads runs through it. So the
config, model and data modules it needs to start a run are imported where they are used.
"""

from __future__ import annotations

import fcntl
import os
import platform
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from econ.errors import UserError

if TYPE_CHECKING:
    from econ.config import RunConfig
    from econ.tasks.datasets import RunData

RECORDS = "records.jsonl"
CONFIG = "config.yaml"
SUMMARY = "summary.json"


def new_run_dir(
    out: str | None, cfg: RunConfig, split: str = "test", data: RunData | None = None
) -> Path:
    """`--out DIR`, or runs/<time>-<benchmark>-<methods> under the current directory.

    Writes config.yaml there, with the run's provenance; a path that cannot hold a run is a
    UserError before anything else happens. ``data`` is what the run reads, whose fingerprint
    is recorded; without it the source is opened for the fingerprint, at ``split`` when
    `run.split` is unset ("train" for training runs).
    """
    from econ.config import save_config

    if out:
        path = Path(out)
        if path.exists() and not path.is_dir():
            raise UserError(f"--out {path} is an existing file, not a directory")
        if (path / RECORDS).exists():
            raise UserError(f"{path} already holds a run; use --resume {path} to continue it")
    else:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path = Path("runs") / f"{stamp}-{cfg.run.benchmark}-{'+'.join(cfg.run.methods)}"
    # before mkdir: data that cannot be read leaves no directory
    found = provenance(cfg, split, data)
    try:
        path.mkdir(parents=True, exist_ok=True)
        save_config(cfg.model_copy(update={"provenance": found}), path / CONFIG)
    except OSError as e:
        raise UserError(f"cannot write the run directory {path}: {e.strerror or e}") from None
    return path


def open_run(
    out: str | Path, overrides: Mapping[str, Any], split: str = "test"
) -> tuple[RunConfig, Path]:
    """The run in `out` with its saved config, to continue it; else a new run there with the
    defaults plus `overrides` (dotted keys, as `load_config` takes them). For scripts that
    resume by being started again."""
    from econ.config import load_config

    out = Path(out)
    if (out / CONFIG).exists():
        return load_config(out / CONFIG), out
    cfg = load_config(None, dict(overrides))
    return cfg, new_run_dir(str(out), cfg, split)


def provenance(cfg: RunConfig, split: str = "test", data: RunData | None = None) -> dict[str, Any]:
    """What produced a run's records, for config.yaml: package and library versions, the
    working directory's git commit (None outside a repository or without git), the identity
    of every local model file the config names, and the fingerprint of the data: `data`'s,
    else its source's (read at ``split`` when `run.split` is unset)."""
    from econ.llm import model_file_identity
    from econ.tasks import data_fingerprint

    return {
        "econ": _version("econ-bne"),
        "git": _git_state(),
        "python": platform.python_version(),
        "torch": _version("torch"),
        "xllamacpp": _version("xllamacpp"),
        "models": {
            spec: ident
            for spec in cfg.model_specs()
            if (ident := model_file_identity(spec)) is not None
        },
        "data": data.fingerprint if data else data_fingerprint(cfg.run, split),
        "started": datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _git_state() -> dict[str, Any] | None:
    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], capture_output=True, text=True, timeout=10, check=True
        )
        return done.stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": dirty}


def progress_bar(enabled: bool) -> Progress:
    """The bar every long command shows: count, a live `info` field, elapsed and remaining."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=not enabled,
    )


# ---- one writer at a time ------------------------------------------------------------------

LOCK = ".lock"


@contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold the run directory for one writer: eval, compare, train, their resumes and
    `econ rescore` take it for as long as they write there; a second writer is refused with
    one line naming the holder's pid. The lock is an flock on RUN/.lock, so the kernel
    releases it when its process dies, however it dies: no stale lock to clear by hand."""
    path = run_dir / LOCK
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as e:
        raise UserError(f"cannot lock the run directory {run_dir}: {e.strerror or e}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise UserError(
                f"{run_dir} is being written by another econ process (pid {holder}); "
                "wait for it to end or stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def own_file(path: Path) -> Path:
    """`path`, refused when it is a symlink: a run's commands read and write the run's own
    files, never whatever a link placed inside the directory points to."""
    if path.is_symlink():
        raise UserError(f"{path} is a symlink; econ reads and writes only a run's own files")
    return path
