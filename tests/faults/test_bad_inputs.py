"""Bad input at the edge: one line on stderr naming the problem, exit status 2, no traceback,
no run directory, no request sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from faultkit import one_error_line

from econ.belief.checkpoint import CheckpointError, load_checkpoint

# Nothing listens here, and no case below may get as far as calling it.
NOWHERE = "openai:m@http://127.0.0.1:9/v1"
DEMO_ROW = {"id": "d1", "question": "1+1?", "answer": 2, "kind": "numeric"}


def jsonl(*rows: dict) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


# (files to create: name -> bytes, extra environment, arguments, what the line must say)
CASES = {
    "empty-data": ({"empty.jsonl": b"\n"}, {}, ["--data", "empty.jsonl"], "holds no questions"),
    "duplicate-ids": (
        {"dup.jsonl": jsonl(DEMO_ROW, {**DEMO_ROW, "question": "2+2?"})},
        {},
        ["--data", "dup.jsonl"],
        "duplicate question id 'd1' (first at dup.jsonl:1)",
    ),
    "data-not-utf8": (
        {
            "latin.jsonl": json.dumps(
                {**DEMO_ROW, "question": "caf\xe9?"}, ensure_ascii=False
            ).encode("latin-1")
        },
        {},
        ["--data", "latin.jsonl"],
        "latin.jsonl is not UTF-8 text",
    ),
    "url-without-host": ({}, {}, ["--model", "openai:m@http://"], "it has no host"),
    "host-with-space": (
        {},
        {},
        ["--model", "openai:m@http://my host:8000/v1"],
        "it contains whitespace",
    ),
    "port-out-of-range": (
        {},
        {},
        ["--model", "openai:m@http://127.0.0.1:99999/v1"],
        "its port is not a number",
    ),
    "port-not-a-number": (
        {},
        {},
        ["--model", "openai:m@http://127.0.0.1:80a/v1"],
        "its port is not a number",
    ),
    "config-not-utf8": (
        {"bad.yaml": "model: caf\xe9\n".encode("latin-1")},
        {},
        ["--config", "bad.yaml"],
        "bad.yaml is not UTF-8 text",
    ),
    "run-is-a-number-with-a-flag": (
        {"run5.yaml": b"run: 5\n"},
        {},
        ["--config", "run5.yaml", "--limit", "2"],
        "invalid config: run: must be a mapping, got int 5",
    ),
    "econ-is-a-list-with-a-flag": (
        {"econ.yaml": b"econ: [1, 2]\n"},
        {},
        ["--config", "econ.yaml", "--executors", "2"],
        "invalid config: econ: must be a mapping, got list [1, 2]",
    ),
    "out-is-a-file": ({"taken": b"x"}, {}, ["--out", "taken"], "--out taken is an existing file"),
    "out-under-a-file": (
        {"taken": b"x"},
        {},
        ["--out", "taken/run"],
        "cannot write the run directory taken/run",
    ),
    "non-ascii-api-key": (
        {},
        {"ECON_TEST_KEY": "sk-\u2019abc"},
        ["--config", "key.yaml"],
        "non-ASCII",
    ),
    "embedded-key-variable-unset": (
        {"fake.gguf": b"GGUF", "ekey.yaml": b"llm: {embedded_api_key_env: ECON_TEST_UNSET}\n"},
        {},
        ["--model", "local:fake.gguf", "--config", "ekey.yaml"],
        "names $ECON_TEST_UNSET, which is not set",
    ),
    "limit-not-a-number": ({}, {}, ["--limit", "abc"], "Invalid value for '--limit'"),
    "epochs-zero": ({}, {}, ["--epochs", "0"], "run.epochs"),
    "fail-on-error-negative": ({}, {}, ["--fail-on-error", "-1"], "must be 0 or more"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_and_exit_2(case, cli, monkeypatch):
    files, env, args, needle = CASES[case]
    Path("key.yaml").write_text("llm: {api_key_env: ECON_TEST_KEY}\n")
    for name, data in files.items():
        Path(name).write_bytes(data)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    base = ["eval", "--method", "cot", "--benchmark", "demo"]
    if "--model" not in args:
        base += ["--model", NOWHERE]
    code, _, err = cli(*base, *args)
    assert code == 2, err
    assert needle in one_error_line(err)
    assert not Path("runs").exists() and not Path("taken/run").exists()


def test_no_arguments_still_shows_help(cli):
    code, out, err = cli()
    assert "Usage" in out + err and "eval" in out + err


@pytest.mark.parametrize(
    "change",
    [
        {"user": 5},
        {"belief_config": [1, 2]},
        {"learner_config": "adam"},
        {"learner_config": {}, "learner": [1]},
        {"learner_config": {}, "learner": {}, "reward_weights": None},
    ],
    ids=["user", "belief_config", "learner_config", "learner", "reward_weights"],
)
def test_checkpoint_state_with_a_wrong_type_is_refused(tmp_path, change):
    """state.json has no checksum of its own, so its types are checked before any use."""
    from econ.belief.checkpoint import FORMAT_VERSION

    state = {
        "format": FORMAT_VERSION,
        "sha256": {},
        "belief_config": {},
        "learner_config": None,
        "user": {},
        **change,
    }
    (tmp_path / "state.json").write_text(json.dumps(state))
    with pytest.raises(CheckpointError, match="has the wrong type") as info:
        load_checkpoint(tmp_path)
    assert len(str(info.value).splitlines()) == 1
