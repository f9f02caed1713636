"""Fixtures of the fault suite: fake OpenAI-compatible servers on 127.0.0.1, a directory per
case, and the `econ` command line run in-process (a subprocess per case would spend most of
the suite's time importing torch)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fakes import fake_servers
from faultkit import write_config

from econ.cli import app


@pytest.fixture
def serve():
    with fake_servers() as start:
        yield start


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch) -> Path:
    """Every case runs in its own directory, so a stray runs/ would be noticed."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def cli(capsys) -> Callable[..., tuple[int, str, str]]:
    """cli(*args) -> (exit status, stdout, stderr) of `econ ARGS`, through the entry point's
    own error handling."""

    def run(*args: object) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as info:
            app([str(a) for a in args], prog_name="econ")
        out = capsys.readouterr()
        return info.value.code, out.out, out.err

    return run


@pytest.fixture
def config(tmp_path) -> Callable[..., Path]:
    """config(**sections) writes run.yaml (fast retries under `llm`) and returns its path."""
    return lambda **sections: write_config(tmp_path / "run.yaml", **sections)
