"""The option table (econ.options): what help shows is what runs, and help stays light.

Help is built without importing the methods or the config (so it starts in well under a
second), which means the method names and defaults are written out in the table; these tests
keep them equal to the registry and to `RunConfig`. Timings are measured by
benchmarks/cli_startup.py, not asserted here.
"""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from econ import __version__
from econ.cli import app
from econ.config import RunConfig
from econ.errors import UserError
from econ.methods.build import method_names
from econ.options import (
    BUILTIN_BENCHMARKS,
    DEFAULT_COMPARE,
    FLAGS,
    METHODS,
    flags_of,
    overrides,
    takes_options,
)
from econ.tasks import BENCHMARKS

# The method implementations and the config stay unread: help reads econ.methods.catalog only.
HEAVY = (
    "torch", "sentence_transformers", "math_verify", "scipy", "econ.methods.base",
    "econ.methods.build", "econ.config",
)  # fmt: skip


def test_help_lists_the_registered_methods_and_built_in_benchmarks():
    assert sorted(METHODS) == sorted(method_names())
    assert BUILTIN_BENCHMARKS.replace(" or ", ", ").split(", ") == list(BENCHMARKS)


def config_default(key: str) -> object:
    node = RunConfig().model_dump()
    for part in key.split("."):
        assert part in node, f"{key}: no such config key"
        node = node[part]
    return node


@pytest.mark.parametrize("flag", [f for f in FLAGS if f.key], ids=lambda f: f.names[0])
def test_each_config_flag_names_a_key_and_shows_its_default(flag):
    default = config_default(flag.key)
    if flag.names == ("--methods",):  # compare's own default, not the config's
        assert flag.shown == DEFAULT_COMPARE
    elif isinstance(default, bool):  # an on/off pair shows the name of the side in force
        on, off = flag.names[0].split("/")
        assert flag.shown == (on if default else off).lstrip("-")
    elif isinstance(default, list):
        assert flag.shown == ",".join(default)
    elif default is not None:  # None defaults are described in words
        assert flag.shown == str(default)


def test_flags_become_overrides_and_absent_ones_leave_the_config_alone():
    opts = {
        "method": "debate",
        "split": "validation",
        "revision": "abc123",
        "executor": [],
        "limit": None,
        "cache": False,
        "out": "somewhere",
    }
    assert overrides("eval", opts) == {
        "run.methods": ["debate"],
        "run.split": "validation",
        "run.revision": "abc123",
        "llm.cache": False,
    }
    assert overrides("compare", {"methods": "cot, econ,"}) == {"run.methods": ["cot", "econ"]}
    with pytest.raises(UserError, match="--methods is empty"):
        overrides("compare", {"methods": " , "})


def test_a_command_gets_its_rows_after_its_own_parameters():
    @takes_options("rescore")
    def command(run: str, **opts: object) -> None:
        """A stand-in."""

    names = list(inspect.signature(command).parameters)
    assert names == ["run", *(f.name for f in flags_of("rescore"))] == ["run", "format"]


@pytest.mark.parametrize(
    "args",
    [["--help"], ["eval", "--help"], ["train", "--help"], ["models", "list", "--help"]],
    ids=" ".join,
)
def test_help_imports_no_heavy_library(args):
    code = (
        "import sys\nfrom econ.cli import app\n"
        f"try:\n    app({args!r}, prog_name='econ')\nexcept SystemExit:\n    pass\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules], file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "Usage" in proc.stdout, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "[]", proc.stderr


def flat(text: str) -> str:
    """Help text without rich's box lines and wrapping."""
    return " ".join(text.replace("│", " ").split())


def test_help_shows_the_real_defaults():
    out = flat(CliRunner().invoke(app, ["eval", "--help"], env={"COLUMNS": "200"}).stdout)
    cfg = RunConfig()
    for shown in ("cot", "demo", cfg.model, cfg.max_tokens, cfg.seed, cfg.run.epochs, "md", 0):
        assert f"[default: ({shown})]" in out or f"[default: {shown}]" in out, shown
    out = flat(CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "200"}).stdout)
    assert f"[default: ({cfg.train.episodes})]" in out and "[default: (fixed-alpha)]" in out


def test_version():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout == f"econ {__version__}\n"


def test_models_list_piped_is_a_markdown_table():
    lines = CliRunner().invoke(app, ["models", "list"]).stdout.strip().splitlines()
    assert lines[:2] == ["| name | size | installed | path |", "|---|---|---|---|"]
    assert len(lines) > 2 and all(line.count(" | ") == 3 for line in lines[2:])


def test_resume_refuses_a_split_that_differs(tmp_path):
    """--split is a config key like any other, so --resume checks it against the run's."""
    from econ.config import load_config, save_config

    save_config(load_config(None, {"run.split": "test"}), tmp_path / "config.yaml")
    result = CliRunner().invoke(app, ["eval", "--resume", str(tmp_path), "--split", "train"])
    assert result.exit_code == 2
    assert "--split 'train' conflicts with its run.split 'test'" in flat(result.stderr)
