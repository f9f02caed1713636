"""Bad input: one line on stderr naming the problem, exit status 2, no traceback, no run dir."""

from __future__ import annotations

import subprocess
import sys

import pytest


def econ(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "econ.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


@pytest.mark.parametrize(
    "args, needle",
    [
        (["eval", "--method", "cot", "--benchmark", "nope"], "unknown benchmark 'nope'"),
        (["eval", "--method", "magic", "--benchmark", "demo"], "unknown method 'magic'"),
        (["compare", "--methods", "cot,magic", "--benchmark", "demo"], "unknown method 'magic'"),
        (
            ["eval", "--method", "cot", "--benchmark", "demo", "--model", "local:nope"],
            "unknown local model 'nope'",
        ),
        (
            ["eval", "--method", "cot", "--benchmark", "demo", "--model", "gpt4"],
            "invalid model spec",
        ),
        (
            ["eval", "--method", "cot", "--benchmark", "gsm8k", "--data", "/no/such.jsonl"],
            "/no/such.jsonl",
        ),
        (["eval", "--resume", "/no/such/run"], "nothing to resume"),
        (["models", "fetch", "nope"], "nope"),
        (["solve", "  "], "question is empty"),
        (["eval", "--method", "cot", "--limit", "abc"], "Invalid value for '--limit'"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, needle, tmp_path):
    proc = econ(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "runs").exists()


def test_malformed_row_names_file_and_line(tmp_path):
    data = tmp_path / "bad.jsonl"
    data.write_text('{"question": "1+1?", "answer": "#### 2"}\n{"question": "oops"\n')
    proc = econ(
        "eval", "--method", "cot", "--benchmark", "gsm8k", "--data", str(data), cwd=tmp_path
    )
    assert proc.returncode == 2
    assert "bad.jsonl" in proc.stderr and "2" in proc.stderr


def test_invalid_config_is_refused(tmp_path):
    cfg = tmp_path / "run.yaml"
    cfg.write_text("model: local:smollm2-135m\ndebate:\n  rouns: 2\n")
    proc = econ("eval", "--method", "cot", "--config", str(cfg), cwd=tmp_path)
    assert proc.returncode == 2
    assert "debate.rouns" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
