"""End to end through the real CLI on the embedded llama.cpp server with a packaged model.

The tiny model answers badly; these tests check wiring (records, tokens, calls, files, resume,
checkpoints), not accuracy. Accuracy is measured by the scripts in benchmarks/.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from econ.tasks.plans.checks import verdict
from econ.tasks.plans.schema import load_plan

pytestmark = pytest.mark.llm
MODEL = ["--model", "local:smollm2-135m", "--max-tokens", "48"]


def econ(*args, cwd, timeout=900):
    proc = subprocess.run(
        [sys.executable, "-m", "econ.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def records(run_dir):
    return [json.loads(line) for line in (run_dir / "records.jsonl").read_text().splitlines()]


def test_eval_cot_then_resume_repeats_nothing(tmp_path):
    run = tmp_path / "run"
    econ(
        "eval",
        "--method",
        "cot",
        "--benchmark",
        "demo",
        "--limit",
        "3",
        *MODEL,
        "--out",
        str(run),
        cwd=tmp_path,
    )
    first = records(run)
    assert len(first) == 3 and {r["method"] for r in first} == {"cot"}
    for r in first:
        assert r["prompt_tokens"] > 0 and r["completion_tokens"] > 0 and r["calls"] == 1
        assert r["trace"][0]["temperature"] == 0.0 and r["error"] is None
    summary = json.loads((run / "summary.json").read_text())["methods"]["cot"]
    assert summary["n"] == 3 and summary["prompt_tokens_per_q"] > 0
    econ("eval", "--resume", str(run), cwd=tmp_path)
    assert records(run) == first


def test_killed_run_resumes_with_every_question_once(tmp_path):
    run = tmp_path / "run"
    args = [
        sys.executable,
        "-m",
        "econ.cli",
        "eval",
        "--method",
        "cot",
        "--benchmark",
        "demo",
        "--limit",
        "6",
        "--concurrency",
        "2",
        *MODEL,
        "--out",
        str(run),
    ]
    proc = subprocess.Popen(
        args, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 600
    while time.time() < deadline:
        path = run / "records.jsonl"
        if path.exists() and path.read_text().count("\n") >= 2:
            break
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(records(run))
    assert done_before < 6, "the run finished before it could be killed"
    econ("eval", "--resume", str(run), cwd=tmp_path)
    ids = [r["id"] for r in records(run)]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 6


def test_compare_baselines_side_by_side(tmp_path):
    run = tmp_path / "cmp"
    out = econ(
        "compare",
        "--methods",
        "cot,self_consistency,debate",
        "--benchmark",
        "demo",
        "--limit",
        "2",
        *MODEL,
        "--out",
        str(run),
        cwd=tmp_path,
    )
    recs = records(run)
    calls = {(r["method"], r["calls"]) for r in recs}
    assert calls == {("cot", 1), ("self_consistency", 3), ("debate", 9)}
    assert len({r["id"] for r in recs}) == 2
    table = (run / "summary.md").read_text()
    for name in ("cot", "self_consistency", "debate"):
        assert f"| {name} | 2 |" in table
    assert (run / "accuracy_vs_tokens.png").stat().st_size > 5000
    assert "self_consistency" in out.stdout
    debate = next(r for r in recs if r["method"] == "debate")
    assert [c["round"] for c in debate["trace"]] == [1, 1, 1, 2, 2, 2, 3, 3, 3]


def test_compare_econ_at_matched_compute(tmp_path):
    """ECON's default protocol on a real model, judged against self-consistency at every k:
    a commitment call only where the executors leave the question open, the SC@k curve and
    the replayed majority in the summary, a verdict line at matched tokens."""
    run = tmp_path / "cmp"
    econ(
        "compare",
        "--methods",
        "econ,self_consistency-matched-t",
        "--benchmark",
        "demo",
        "--limit",
        "3",
        "--samples",
        "4",
        *MODEL,
        "--out",
        str(run),
        cwd=tmp_path,
    )
    for r in records(run):
        if r["method"] == "self_consistency-matched-t":
            samples = [c for c in r["trace"] if c["role"] == "sampler"]
            assert len(samples) == 4 and all(c["temperature"] == 0.4 for c in samples)
            continue
        roles = [c["role"] for c in r["trace"]]
        execs = [c for c in r["trace"] if c["role"] == "executor"]
        assert all(c["temperature"] == pytest.approx(0.4) for c in execs)
        decided = r["details"]["decided_by"]
        commits = [c for c in r["trace"] if c["role"] == "coordinator"]
        # two waves: the third executor only when the first two disagree
        first = [r["details"]["executors"][i]["answer"] for i in (0, 1)]
        assert len(execs) == (2 if first[0] is not None and first[0] == first[1] else 3)
        if decided == "unanimous":
            assert not commits, "settled by the executors: no commitment call"
        else:  # "vote": the commitment's new answer could not overrule their majority
            assert decided in ("vote", "commitment", "reask", "majority") and commits
            assert commits[0]["max_tokens"] == 96
        assert roles.count("strategy") in (1, 2)
    report = json.loads((run / "summary.json").read_text())
    curve = report["compute"]["curves"]["self_consistency-matched-t"]
    assert [c["k"] for c in curve] == [1, 2, 3, 4]
    assert all(a["tokens_per_q"] < b["tokens_per_q"] for a, b in zip(curve, curve[1:]))
    assert report["compute"]["replays"]["econ"]["questions"] == 3
    matched = {m["method"]: m for m in report["compute"]["matched"]}
    assert set(matched) == {"econ", "econ:majority", "econ:two-wave"}
    assert matched["econ"]["n"] == 3
    assert "at matched tokens: econ " in (run / "summary.md").read_text()


def test_solve_json(tmp_path):
    out = econ(
        "solve",
        "--json",
        "Sara has 4 boxes with 6 pens each. How many pens does she have?",
        *MODEL,
        cwd=tmp_path,
    )
    data = json.loads(out.stdout)
    assert set(data) >= {
        "answer",
        "strategy",
        "executors",
        "commitment",
        "decided_by",
        "rounds",
        "usage",
        "seconds",
    }
    assert len(data["executors"]) == 3
    for e in data["executors"]:
        assert set(e) >= {
            "model",
            "controls",
            "answer",
            "response",
            "finish_reason",
            "completion_tokens",
        }
        assert set(e["controls"]) == {"temperature"}
        assert e["model"] == "local:smollm2-135m"
    assert data["usage"]["calls"] >= 4 and data["usage"]["completion_tokens"] > 0


def test_train_writes_events_and_checkpoint_that_solve_loads(tmp_path):
    run = tmp_path / "train"
    econ(
        "train",
        "--benchmark",
        "demo",
        "--episodes",
        "4",
        "--checkpoint-every",
        "2",
        *MODEL,
        "--out",
        str(run),
        cwd=tmp_path,
    )
    ckpt = run / "checkpoint"
    assert (ckpt / "weights.safetensors").exists() and (ckpt / "state.json").exists()
    assert any(p.name.startswith("events.out.tfevents") for p in (run / "tensorboard").iterdir())
    episodes = [json.loads(x) for x in (run / "episodes.jsonl").read_text().splitlines()]
    assert [e["episode"] for e in episodes] == [0, 1, 2, 3]
    out = econ("solve", "--json", "What is 2 + 2?", *MODEL, "--checkpoint", str(ckpt), cwd=tmp_path)
    assert len(json.loads(out.stdout)["executors"]) == 3

    (ckpt / "weights.safetensors").write_bytes(b"corrupt")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "econ.cli",
            "solve",
            "What is 2 + 2?",
            *MODEL,
            "--checkpoint",
            str(ckpt),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1


def test_travelplanner_plans_through_cot_and_econ(tmp_path):
    """The plan benchmark on a real model: the reference information and the JSON plan format
    in every prompt, plans (or none) as predictions graded by the constraint checker, and the
    official metrics in the summary."""
    fixture = Path(__file__).parent / "fixtures" / "travelplanner.jsonl"
    run = tmp_path / "tp"
    econ(
        "compare",
        "--methods",
        "cot,econ",
        "--benchmark",
        "travelplanner",
        "--data",
        str(fixture),
        "--limit",
        "2",
        "--model",
        "local:smollm2-135m",
        "--max-tokens",
        "96",
        "--out",
        str(run),
        cwd=tmp_path,
    )
    rows = records(run)
    assert {(r["id"], r["method"]) for r in rows} == {
        (f"travelplanner-{i}", m) for i in range(2) for m in ("cot", "econ")
    }
    for r in rows:
        assert r["error"] is None
        first = r["trace"][0]["messages"][-1]["content"]
        assert "Given information:" in first
        if r["method"] == "cot":
            assert "Reply with the JSON only" in first
        else:
            assert "You lead a team of travel planners" in first
            executors = [c for c in r["trace"] if c["role"] == "executor"]
            assert (
                executors and "Reply with the JSON only" in executors[0]["messages"][-1]["content"]
            )
        assert r["correct"] == verdict(r["prediction"], r["gold"]).final_pass
        assert r["prediction"] is None or load_plan(r["prediction"]) is not None
    plans = json.loads((run / "summary.json").read_text())["plans"]
    assert set(plans) == {"cot", "econ"} and all(p["n"] == 2 for p in plans.values())
    assert set(plans["cot"]) >= {"delivery_rate", "commonsense_micro", "hard_micro", "final_pass"}
    assert "Plan constraints (TravelPlanner's metrics)" in (run / "summary.md").read_text()
