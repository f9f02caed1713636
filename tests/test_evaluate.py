"""The harness with a scripted backend: records, summaries, resume, per-question errors."""

from __future__ import annotations

import asyncio
import functools
import json

import pytest
from fakes import ScriptedLLM, failing, last_user, llms, record

from econ.config import load_config
from econ.errors import UserError
from econ.evaluate import run_methods, solve_one
from econ.methods.build import build_method
from econ.plots import rolling_mean
from econ.records import EvalRecord
from econ.run_records import latest_records, read_records
from econ.runs import RECORDS, new_run_dir
from econ.stats import wilson_interval
from econ.tasks import get_benchmark, load_questions


def answer_42(messages, params):
    return "\\boxed{42}"


def make_cfg(tmp_path, methods=("cot",), limit=4):
    cfg = load_config(
        None, {"run.benchmark": "demo", "run.limit": limit, "run.methods": list(methods)}
    )
    return cfg, new_run_dir(str(tmp_path / "run"), cfg)


def run(cfg, run_dir, fake):
    return asyncio.run(run_methods(cfg, run_dir, show_progress=False, make_llm=llms(fake)))


def test_records_and_summary(tmp_path):
    cfg, run_dir = make_cfg(tmp_path, ("cot", "self_consistency"))
    summary = run(cfg, run_dir, ScriptedLLM(answer_42))
    records = read_records(run_dir / RECORDS)
    assert len(records) == 8
    assert {r["method"] for r in records} == {"cot", "self_consistency"}
    for r in records:
        assert r["prediction"] == "42" and r["prompt_tokens"] > 0 and r["error"] is None
        assert r["calls"] == (1 if r["method"] == "cot" else 3) == len(r["trace"])
    assert summary["cot"]["n"] == 4 and summary["self_consistency"]["calls_per_q"] == 3
    for name in ("summary.json", "summary.md", "accuracy_vs_tokens.png", "config.yaml"):
        assert (run_dir / name).exists()
    assert "| self_consistency | 4 |" in (run_dir / "summary.md").read_text()


def test_resume_runs_only_missing_pairs_and_drops_a_torn_line(tmp_path):
    fake = ScriptedLLM(answer_42)
    cfg, run_dir = make_cfg(tmp_path, limit=5)
    cfg.run.limit = 2
    run(cfg, run_dir, fake)
    with open(run_dir / RECORDS, "a") as f:
        f.write('{"id": "torn", "meth')  # a write cut by SIGKILL
    cfg.run.limit = 5
    fake.calls.clear()
    run(cfg, run_dir, fake)
    ids = [r["id"] for r in read_records(run_dir / RECORDS)]
    assert len(ids) == len(set(ids)) == 5
    assert len(fake.calls) == 3
    assert all(json.loads(line) for line in (run_dir / RECORDS).read_text().splitlines())


def test_failed_calls_become_error_records_and_the_run_finishes(tmp_path):
    count = {"n": 0}

    def flaky(messages, params):
        count["n"] += 1
        return failing("HTTP 500 after 4 retries") if count["n"] % 2 else "\\boxed{1}"

    cfg, run_dir = make_cfg(tmp_path, limit=6)
    summary = run(cfg, run_dir, ScriptedLLM(flaky))
    records = read_records(run_dir / RECORDS)
    errors = [r for r in records if r["error"]]
    assert len(errors) == 3 and len(records) == 6
    assert summary["cot"]["errors"] == len(errors)
    assert summary["cot"]["n"] == len(records)
    for r in errors:
        assert r["correct"] is False and "HTTP 500" in r["error"]


def test_rolling_mean_uses_what_exists_at_the_start():
    assert rolling_mean([2.0, 4.0, 6.0, 8.0], 2) == [2.0, 3.0, 5.0, 7.0]
    assert rolling_mean([], 3) == []


def test_wilson_interval():
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and 0.25 < hi < 0.35
    lo, hi = wilson_interval(5, 10)
    assert lo < 0.5 < hi and abs((lo + hi) / 2 - 0.5) < 1e-9
    assert wilson_interval(0, 0) == (0.0, 0.0)


def test_an_unexpected_exception_costs_one_question_not_the_run(tmp_path):
    def reply(messages, params):
        if "muffins" in last_user(messages):  # demo-01
            return ValueError("reply nobody foresaw")
        return "\\boxed{5}"

    cfg, run_dir = make_cfg(tmp_path, limit=3)
    summary = run(cfg, run_dir, ScriptedLLM(reply))
    by_id = {r["id"]: r for r in read_records(run_dir / RECORDS)}
    assert len(by_id) == 3 and summary["cot"]["errors"] == 1
    error = by_id["demo-01"]["error"]
    assert error.startswith("internal error: ValueError: reply nobody foresaw (at fakes.py:")
    assert by_id["demo-01"]["trace"][0]["error"] == "reply nobody foresaw"
    assert by_id["demo-01"]["calls"] == 1 and by_id["demo-02"]["error"] is None


def test_latest_record_per_key_wins():
    old = record(id="q1", method="cot", error="HTTP 500", calls=1)
    retry = record(id="q1", method="cot", calls=2)
    other_epoch = record(id="q1", method="cot", epoch=1, calls=3)
    assert latest_records([old, other_epoch, retry]) == [retry, other_epoch]


# The keys of a record, in the order every run so far has written them: readers (report,
# rescore, view, benchmarks) and old runs depend on this layout.
RECORD_KEYS = [
    "id", "method", "epoch", "benchmark", "question", "gold", "prediction", "correct",
    "prompt_tokens", "completion_tokens", "calls", "failed_requests", "empty_responses",
    "latency_s", "llm_seconds", "per_model", "error", "details", "trace", "layout",
]  # fmt: skip


TRACE_KEYS = [
    "role", "round", "agent", "model", "temperature", "top_p", "repetition_penalty",
    "max_tokens", "messages", "response", "finish_reason", "empty", "prompt_tokens",
    "completion_tokens", "latency_s", "requests", "failed_attempts", "error", "cached",
]  # fmt: skip


def test_a_record_is_written_with_the_keys_and_order_runs_have_on_disk():
    fake = ScriptedLLM(answer_42, name="m")
    cfg = load_config(None, {"run.methods": ["self_consistency"]})
    method = build_method("self_consistency", cfg, llms(fake))
    q = load_questions("demo", limit=1)[0]
    rec = asyncio.run(solve_one(method, q, get_benchmark("demo"), epoch=2)).model_dump()
    assert list(rec) == RECORD_KEYS == list(EvalRecord.model_fields)
    tokens = {k: rec[k] for k in ("prompt_tokens", "completion_tokens")}
    assert rec["per_model"] == {"m": {**tokens, "calls": 3}}
    assert (rec["epoch"], rec["calls"], rec["prediction"], rec["error"]) == (2, 3, "42", None)
    assert [list(call) for call in rec["trace"]] == [TRACE_KEYS] * 3
    assert json.loads(json.dumps(rec)) == rec  # plain JSON values throughout
    assert all(EvalRecord.model_fields[k].description for k in RECORD_KEYS)  # each documented


def test_a_suite_runs_in_phases_and_resumes_each_phase_beside_the_others(tmp_path):
    """`only`: the later phase's records do not make the earlier phase's resume refuse the run."""
    cfg, run_dir = make_cfg(tmp_path, ("cot", "self_consistency"), limit=3)
    fake = ScriptedLLM(answer_42)
    go = functools.partial(run_methods, cfg, run_dir, show_progress=False, make_llm=llms(fake))
    summary = asyncio.run(go(only=["cot"]))
    assert set(summary) == {"cot"} and len(fake.calls) == 3
    asyncio.run(go(only=["self_consistency"]))
    fake.calls.clear()
    summary = asyncio.run(go(only=["cot"]))  # resuming the first phase: nothing left to do
    assert fake.calls == [] and set(summary) == {"cot", "self_consistency"}
    with pytest.raises(UserError, match="debate"):
        asyncio.run(go(only=["debate"]))


def test_a_record_of_another_layout_is_refused_naming_it(tmp_path):
    cfg, run_dir = make_cfg(tmp_path, limit=2)
    run(cfg, run_dir, ScriptedLLM(answer_42))
    (first,) = read_records(run_dir / RECORDS)[:1]
    assert first["layout"] == 2
    with open(run_dir / RECORDS, "a") as f:  # from an econ that writes a later layout
        f.write(json.dumps({**first, "layout": 3}) + "\n")
    with pytest.raises(UserError, match="records.jsonl:3 is a record of layout 3"):
        run(cfg, run_dir, ScriptedLLM(answer_42))
    old = {k: v for k, v in first.items() if k != "layout"}  # layout 1: read as it is
    (run_dir / RECORDS).write_text(json.dumps(old) + "\n")
    summary = run(cfg, run_dir, ScriptedLLM(answer_42))
    assert summary["cot"]["n"] == 2
