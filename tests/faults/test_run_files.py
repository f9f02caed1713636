"""Run files under damage and resume: a damaged records line costs that record only,
config.yaml is written atomically and checked, records of another run are refused, errored
questions are retried, epochs are keyed, and a run's exit status tells the truth."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import pytest
import yaml
from fakes import completion_body, free_port
from faultkit import one_error_line, question_of, records

from econ import __version__
from econ.config import END_MARKER, load_config, load_saved_config, save_config
from econ.errors import UserError
from econ.llm import registry
from econ.run_records import read_records
from econ.runs import provenance
from econ.tasks import load_questions

DEMO = load_questions("demo", limit=6)
BOXED = completion_body("\\boxed{5}")


@pytest.fixture
def server(serve):
    return serve(lambda hit, h: (200, BOXED))


def evaluate(cli, config, server, *extra, limit=4, out="run"):
    return cli(
        "eval", "--method", "cot", "--limit", limit, "--model", f"openai:m@{server.url}",
        "--config", config(), "--out", out, *extra,
    )  # fmt: skip


def test_damaged_lines_cost_only_their_own_records(cli, config, server, caplog):
    assert evaluate(cli, config, server, limit=5)[0] == 0
    path = Path("run/records.jsonl")
    lines = path.read_text().splitlines(keepends=True)
    lines[1] = '{"id": "demo-02", "method": "cot", "corr\n'  # invalid JSON
    lines[2] = "[1, 2, 3]\n"  # not an object
    lines[3] = '{"method": "cot", "error": null}\n'  # no id
    path.write_text("".join(lines))
    hits = server.hits
    caplog.set_level(logging.WARNING)
    code, _, err = cli("eval", "--resume", "run")
    assert code == 0, err
    assert server.hits - hits == 3  # only the three damaged records ran again
    assert "3 damaged line(s) skipped" in caplog.text
    after = read_records(path)
    assert sorted(r["id"] for r in after if "id" in r) == sorted(q.id for q in DEMO[:5])
    assert path.read_text().splitlines(keepends=True)[4] == lines[4]  # valid record after damage


def test_config_yaml_is_replaced_atomically(tmp_path, monkeypatch):
    path = tmp_path / "config.yaml"
    save_config(load_config(None, {"run.methods": ["debate"]}), path)
    before = path.read_bytes()
    assert before.decode().rstrip().endswith(END_MARKER)

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        save_config(load_config(None, {"run.methods": ["cot"]}), path)
    assert path.read_bytes() == before  # the old file, whole
    assert [p.name for p in tmp_path.iterdir()] == ["config.yaml"]  # no temp file left


@pytest.mark.parametrize(
    "damage, needle",
    [
        (lambda text: text[: len(text) // 2], "is incomplete"),
        (lambda text: text.replace(END_MARKER, ""), "is incomplete"),
        (lambda text: text.replace("benchmark: demo", "benchmark: [demo"), "not valid YAML"),
        (lambda text: text.replace("max_tokens: 512", "max_tokens: lots"), "max_tokens"),
        (lambda text: text.replace("benchmark: demo", "benchmark: d\udcffmo"), "not UTF-8"),
    ],
    ids=["truncated", "no-marker", "bad-yaml", "bad-value", "not-utf8"],
)
def test_damaged_config_yaml_refuses_resume_with_one_line(cli, config, server, damage, needle):
    assert evaluate(cli, config, server, limit=2)[0] == 0
    path = Path("run/config.yaml")
    text = damage(path.read_text())
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    hits = server.hits
    code, _, err = cli("eval", "--resume", "run")
    assert code == 2
    line = one_error_line(err)
    assert "cannot resume" in line and needle in line
    assert server.hits == hits


def test_config_saved_before_the_marker_still_resumes(tmp_path):
    """Runs started by older versions: complete file, no marker, llm.concurrency."""
    data = load_config(None, {"run.methods": ["cot"]}).model_dump(mode="json")
    data.pop("provenance")
    data["concurrency"], data["llm"]["concurrency"] = 4, 4
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    cfg = load_saved_config(path)
    assert cfg.concurrency == cfg.llm.concurrency == 4
    del data["run"]["methods"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(UserError, match="incomplete"):
        load_saved_config(path)


@pytest.mark.parametrize(
    "change, needle",
    [
        ({"method": "debate"}, "method 'debate'"),
        ({"benchmark": "gsm8k"}, "benchmark 'gsm8k'"),
        ({"id": "demo-99"}, "question 'demo-99'"),
        ({"epoch": 3}, "epoch 3"),
    ],
)
def test_records_of_another_run_are_refused(cli, config, server, change, needle):
    assert evaluate(cli, config, server, limit=2)[0] == 0
    path = Path("run/records.jsonl")
    first = json.loads(path.read_text().splitlines()[0])
    with path.open("a") as f:
        f.write(json.dumps({**first, **change}) + "\n")
    code, _, err = cli("eval", "--resume", "run")
    assert code == 2
    line = one_error_line(err)
    assert needle in line and "records.jsonl:3" in line


def test_errored_questions_fail_the_run_and_are_retried_on_resume(serve, cli, config):
    down = {"yes": True}

    def behaviour(hit, h, body):
        if down["yes"] and DEMO[1].question in question_of(body):
            return 500, {"error": "down"}
        return 200, BOXED

    server = serve(behaviour)
    code, out, err = evaluate(cli, config, server, limit=3)
    assert code == 1
    assert "1 answer(s) ended in an error" in one_error_line(err)
    assert "--resume run" in err
    summary = json.loads(Path("run/summary.json").read_text())["methods"]["cot"]
    assert summary["errors"] == 1 and summary["n"] == 3  # written before the exit

    down["yes"] = False
    hits = server.hits
    code, _, err = cli("eval", "--resume", "run")
    assert code == 0, err
    assert server.hits - hits == 1  # only the errored question
    recs = records(Path("run"))
    assert [r["id"] for r in recs].count(DEMO[1].id) == 2  # the attempt is kept as history
    summary = json.loads(Path("run/summary.json").read_text())["methods"]["cot"]
    assert summary["errors"] == 0 and summary["n"] == 3  # the latest record wins


def test_fail_on_error_allows_up_to_n(cli, config):
    dead = f"openai:m@http://127.0.0.1:{free_port()}/v1"
    args = ["eval", "--method", "cot", "--limit", 2, "--model", dead]
    args += ["--config", config(llm={"max_retries": 0})]
    code, _, err = cli(*args, "--out", "strict")
    assert code == 1 and "2 answer(s) ended in an error" in one_error_line(err)
    assert len(records(Path("strict"))) == 2 and Path("strict/summary.md").exists()
    code, _, err = cli(*args, "--out", "lenient", "--fail-on-error", 2)
    assert code == 0, err


@pytest.mark.parametrize(
    "flags, needle",
    [
        (["--method", "debate"], "--method ['debate'] conflicts with its run.methods ['cot']"),
        (["--limit", "5"], "--limit 5 conflicts with its run.limit 2"),
        (["--max-tokens", "9"], "--max-tokens 9 conflicts"),
        (["--epochs", "2"], "--epochs 2 conflicts"),
        (["--config", "run.yaml"], "--config cannot be combined with --resume"),
        (["--out", "elsewhere"], "--out cannot be combined with --resume"),
    ],
)
def test_resume_with_conflicting_flags_is_refused(cli, config, server, flags, needle):
    assert evaluate(cli, config, server, limit=2)[0] == 0
    hits = server.hits
    code, _, err = cli("eval", "--resume", "run", *flags)
    assert code == 2
    assert needle in one_error_line(err)
    assert server.hits == hits and not Path("elsewhere").exists()


def test_resume_accepts_equal_flags_and_a_new_concurrency(cli, config, server):
    assert evaluate(cli, config, server, limit=2)[0] == 0
    code, _, err = cli(
        "eval", "--resume", "run", "--limit", 2, "--method", "cot", "--concurrency", 1
    )
    assert code == 0, err
    assert len(records(Path("run"))) == 2


def test_epochs_repeat_questions_with_other_seeds_and_resume_by_epoch(serve, cli, config):
    server = serve(lambda hit, h: (200, BOXED))
    code, _, err = evaluate(cli, config, server, "--epochs", 2, "--seed", 3, limit=2)
    assert code == 0, err
    recs = records(Path("run"))
    assert sorted((r["id"], r["epoch"]) for r in recs) == [
        (DEMO[0].id, 0), (DEMO[0].id, 1), (DEMO[1].id, 0), (DEMO[1].id, 1),
    ]  # fmt: skip
    assert sorted(body["seed"] for _, body in server.requests) == [3, 3, 1_000_003, 1_000_003]
    assert yaml.safe_load(Path("run/config.yaml").read_text())["run"]["epochs"] == 2

    # Drop one epoch-1 record: resume runs exactly that (id, method, epoch) again.
    path = Path("run/records.jsonl")
    kept = [r for r in recs if (r["id"], r["epoch"]) != (DEMO[1].id, 1)]
    path.write_text("".join(json.dumps(r) + "\n" for r in kept))
    hits = server.hits
    assert cli("eval", "--resume", "run")[0] == 0
    assert server.hits - hits == 1 and server.requests[-1][1]["seed"] == 1_000_003
    assert question_of(server.requests[-1][1]).startswith(DEMO[1].question)


def test_records_without_epoch_read_as_epoch_zero(cli, config, server):
    assert evaluate(cli, config, server, limit=2)[0] == 0
    path = Path("run/records.jsonl")
    old = [{k: v for k, v in r.items() if k != "epoch"} for r in records(Path("run"))]
    path.write_text("".join(json.dumps(r) + "\n" for r in old))
    hits = server.hits
    assert cli("eval", "--resume", "run")[0] == 0
    assert server.hits == hits


def test_config_records_provenance(cli, config, server, tmp_path, monkeypatch):
    assert evaluate(cli, config, server, limit=1)[0] == 0
    saved = yaml.safe_load(Path("run/config.yaml").read_text())["provenance"]
    assert saved["econ"] == __version__
    assert saved["python"].count(".") == 2 and saved["torch"] and saved["xllamacpp"]
    assert "git" in saved and "started" in saved

    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF" + bytes(60))
    monkeypatch.setenv("PATH", str(tmp_path))  # no git here: the commit is None, no failure
    cfg = load_config(None, {"model": f"local:{gguf}", "econ.coordinator": "local:smollm2-135m"})
    found = provenance(cfg)
    assert found["git"] is None
    digest = hashlib.sha256(gguf.read_bytes()).hexdigest()
    assert found["models"][f"local:{gguf}"]["sha256"] == digest
    pinned = found["models"]["local:smollm2-135m"]
    assert pinned["sha256"] == registry.MODELS["smollm2-135m"].sha256
