"""What the run commands print: `--format md|json|csv` on stdout, markdown that stays one
table when piped (CliRunner's stdout is not a terminal), notes and logs on stderr, and
records.jsonl that pandas reads back with gold answers intact. Runs go to a fake
OpenAI-compatible server, so no model is loaded."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pytest
import yaml
from fakes import completion_body, fake_servers
from typer.testing import CliRunner

from econ.cli import app
from econ.report import CSV_COLUMNS
from econ.tasks.sources import FileSource

BOXED = completion_body("so \\boxed{5}")
# Fast retries, and no key from the environment.
LLM = {"max_retries": 1, "backoff_s": 0.01, "timeout_s": 10.0, "api_key_env": "ECON_TEST_NO_KEY"}
# gsm8k rows whose gold answers are all numbers: pandas' dtype inference bites on those.
ROWS = [("1+4?", "5"), ("9*2?", "18"), ("10-3?", "7")]


@pytest.fixture
def server():
    with fake_servers() as start:
        yield start(lambda hit, headers: (200, BOXED))


@pytest.fixture
def args(tmp_path, monkeypatch, server) -> list[str]:
    """Flags of a small gsm8k run against the fake server, run in tmp_path."""
    monkeypatch.chdir(tmp_path)
    Path("run.yaml").write_text(yaml.safe_dump({"llm": LLM}))
    lines = [json.dumps({"question": q, "answer": f"... #### {a}"}) for q, a in ROWS]
    Path("data.jsonl").write_text("\n".join(lines) + "\n")
    return ["--benchmark", "gsm8k", "--data", "data.jsonl", "--config", "run.yaml"] + [
        "--model", f"openai:m@{server.url}", "--out", "run",
    ]  # fmt: skip


def econ(*argv: str, code: int = 0):
    result = CliRunner().invoke(app, list(argv))
    assert result.exit_code == code, result.output
    return result


def test_compare_markdown_stays_one_table_when_piped(args):
    result = econ("compare", "--methods", "cot,self_consistency", *args)
    out = result.stdout
    table = [line for line in out.splitlines() if line.startswith("|")]
    header = "| method | n | accuracy | 95% CI | prompt tok/q | completion tok/q | calls/q | s/q"
    assert table[0].startswith(header) and len(table[0]) > 80  # wider than a terminal, unwrapped
    assert table[1].startswith("|---|")
    cells = table[0].count("|")
    assert all(line.endswith("|") and line.count("|") == cells for line in table[:4])
    assert "| cot | 3 | 33.3% |" in out and "| self_consistency | 3 | 33.3% |" in out
    assert "## Paired comparison against cot" in out  # summary.md's body, tests included
    assert out.startswith("\n| method |") and out.endswith("\n\nrun written to run\n")
    assert result.stderr == ""


def test_eval_json_is_summary_json(args):
    result = econ("eval", "--method", "cot", "--format", "json", *args)
    assert json.loads(result.stdout) == json.loads(Path("run/summary.json").read_text())
    assert "run written to run" in result.stderr  # stdout holds only the JSON


def test_csv_has_one_row_per_method_and_rescore_prints_it_too(args):
    result = econ("compare", "--methods", "cot,self_consistency", "--format", "csv", *args)
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["method"] for r in rows] == ["cot", "self_consistency"]
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert rows[0]["n"] == "3" and rows[0]["correct"] == "1"  # the fake always answers 5
    assert float(rows[0]["ci95_low"]) < float(rows[0]["accuracy"]) < float(rows[0]["ci95_high"])
    again = econ("rescore", "run", "--format", "csv")
    assert again.stdout == result.stdout and "verdicts changed: 0" in again.stderr


def test_gold_stays_a_string_for_pandas(args):
    """Gold answers are JSON strings ("5", never 5). pandas infers a column of number-like
    strings as numbers unless told otherwise, so records are read with gold and prediction
    as str: pd.read_json(path, lines=True, dtype={"gold": str, "prediction": str})."""
    pd = pytest.importorskip("pandas")
    econ("eval", "--method", "cot", *args)
    path = Path("run/records.jsonl")
    golds = [json.loads(line)["gold"] for line in path.read_text().splitlines()]
    assert sorted(golds) == sorted(a for _, a in ROWS)  # strings in the file
    frame = pd.read_json(path, lines=True, dtype={"gold": str, "prediction": str})
    assert sorted(frame["gold"]) == sorted(golds) and set(frame["prediction"]) == {"5"}


def test_a_retried_request_is_a_warning_unless_the_log_level_is_error(args, server):
    def flaky(hit, headers):
        return (500, {"error": "busy"}) if hit == 1 else (200, BOXED)

    server.behaviour = flaky
    err = econ("eval", "--method", "cot", "--limit", "1", *args).stderr
    assert "WARNING: openai:m@" in err and "HTTP 500; retrying in" in err
    assert "(attempt 2 of 2)" in err

    server.requests.clear()  # hit 1 fails again, in a fresh run directory
    quiet = econ("--log-level", "error", "eval", "--method", "cot", "--limit", "1", *args[:-1],
                 "run2").stderr  # fmt: skip
    assert "WARNING" not in quiet and server.hits == 2


def test_info_shows_each_step(args):
    err = econ("--log-level", "info", "eval", "--method", "cot", "--limit", "1", *args).stderr
    assert "INFO: config, data and models checked; starting" in err


def test_a_run_reads_its_data_once(args, monkeypatch):
    """The checks, config.yaml's fingerprint and the run share one read of the data file."""
    opened, real_open = [], FileSource.open
    monkeypatch.setattr(FileSource, "open", lambda self: opened.append(self) or real_open(self))
    econ("eval", "--method", "cot", *args)
    assert len(opened) == 1
    saved = yaml.safe_load(Path("run/config.yaml").read_text())["provenance"]["data"]
    assert saved["sha256"] == hashlib.sha256(Path("data.jsonl").read_bytes()).hexdigest()
    econ("eval", "--resume", "run")
    assert len(opened) == 2 and len(Path("run/records.jsonl").read_text().splitlines()) == 3
