"""Plain helpers for the fault suite (fixtures live in conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

# Fast retries, a bounded attempt and no real key: what every fault case runs with.
FAST_LLM = {
    "max_retries": 1,
    "backoff_s": 0.01,
    "timeout_s": 10.0,
    "api_key_env": "ECON_TEST_NO_KEY",
}


# How econ's log lines on stderr begin (econ.cli's log format).
LOG_LEVELS = ("DEBUG: ", "INFO: ", "WARNING: ")


def write_config(path: Path, **sections) -> Path:
    """A YAML config with FAST_LLM under `llm` (overridable) plus any other sections."""
    llm = {**FAST_LLM, **sections.pop("llm", {})}
    path.write_text(yaml.safe_dump({"llm": llm, **sections}))
    return path


def records(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "records.jsonl").read_text().splitlines()]


def question_of(body: dict) -> str:
    """The text of the first user message of a request body (the question for cot)."""
    return [m for m in body["messages"] if m["role"] == "user"][0]["content"]


def one_error_line(err: str) -> str:
    """The single error line on stderr of a refused or failed command; fails if there are
    more. Log lines (a retried request's warning) are not errors and are skipped."""
    lines = [line for line in err.strip().splitlines() if not line.startswith(LOG_LEVELS)]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]
