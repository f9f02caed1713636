"""`econ rescore`: stored responses decided and graded again with the current code."""

from __future__ import annotations

import json

import fakes
from typer.testing import CliRunner

from econ.cli import app
from econ.config import load_config, save_config
from econ.runs import CONFIG, RECORDS


def call(role, response, *, agent=None, round_no=0, finish="stop"):
    return fakes.call(
        role=role, round=round_no, agent=agent, response=response, finish_reason=finish
    )


def record(qid, method, trace, prediction, correct, gold="18"):
    return fakes.record(
        id=qid,
        method=method,
        benchmark="gsm8k",
        gold=gold,
        prediction=prediction,
        correct=correct,
        prompt_tokens=10,
        completion_tokens=10,
        calls=len(trace),
        latency_s=1.0,
        trace=trace,
    ).model_dump(mode="json")


def write_run(tmp_path, records):
    cfg = load_config(None, {"run.benchmark": "gsm8k", "run.methods": ["cot", "econ"]})
    save_config(cfg, tmp_path / CONFIG)
    (tmp_path / RECORDS).write_text("".join(json.dumps(r) + "\n" for r in records))


def test_rescore_regrades_from_the_trace_and_counts_changed_verdicts(tmp_path):
    executors = [
        call("executor", f"so \\boxed{{{a}}}", agent=i) for i, a in enumerate("18 18 3".split())
    ]
    records = [
        # an old extractor read the year in the note
        record(
            "q1", "cot", [call("solver", "The answer is 18.\nNote: prices of 2023.")], "2023", False
        ),
        # a cut-off response: the number it stopped on is no answer, even when it equals the gold
        record(
            "q2", "cot", [call("solver", "9 * 2 = 18 and then 18", finish="length")], "18", True
        ),
        # a commitment without a box: its "Solution 3" is commentary; the majority decides
        record(
            "q1",
            "econ",
            [
                call("strategy", "Double it."),
                *executors,
                call("coordinator", "Solution 1 and Solution 2 agree. Solution 3 is wrong."),
            ],
            "3",
            False,
        ),
        record(
            "q2",
            "econ",
            [call("strategy", "x"), *executors, call("coordinator", "\\boxed{18}")],
            "18",
            True,
        ),
    ]
    write_run(tmp_path, records)

    result = CliRunner().invoke(app, ["rescore", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "verdicts changed: 3" in result.output

    rescored = {(r["id"], r["method"]): r for r in map(json.loads, open(tmp_path / RECORDS))}
    assert rescored["q1", "cot"]["prediction"] == "18" and rescored["q1", "cot"]["correct"]
    assert rescored["q2", "cot"]["prediction"] is None and not rescored["q2", "cot"]["correct"]
    assert rescored["q1", "econ"]["details"]["decided_by"] == "majority"
    assert rescored["q1", "econ"]["prediction"] == "18"
    assert rescored["q2", "econ"]["details"]["decided_by"] == "commitment"
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["methods"]["econ"]["decided_by"] == {"commitment": 1, "majority": 1}
    assert summary["methods"]["cot"]["correct"] == 1

    again = CliRunner().invoke(app, ["rescore", str(tmp_path)])
    assert "verdicts changed: 0" in again.output


def test_rescore_of_a_directory_without_a_run_is_one_line_exit_2(tmp_path):
    result = CliRunner().invoke(app, ["rescore", str(tmp_path)])
    assert result.exit_code == 2
    assert "is not a run directory" in result.output


def test_replayed_vote_counts_calls_by_agent_not_by_finishing_order():
    """Agent 2 finished first; a 1-1 tie must still go to agent 0, as in the live vote."""
    from econ.methods.self_consistency import SelfConsistency
    from econ.tasks import get_benchmark

    trace = [
        call("sampler", "\\boxed{7}", agent=2),
        call("sampler", "No.", agent=1),
        call("sampler", "\\boxed{5}", agent=0),
    ]
    assert SelfConsistency.replay(trace, get_benchmark("gsm8k")).prediction == "5"


def test_a_run_saved_before_the_commitment_rules_is_rescored_as_it_was_decided(tmp_path):
    """Its config.yaml has no econ.override: it reads as the paper's protocol ("always"), so
    a commitment that overruled the executors' majority with a new answer still stands."""
    import yaml

    from econ.config import PROTOCOL_BEFORE_RULES, load_saved_config

    answers = ["3", "3", "5"]
    executors = [call("executor", f"\\boxed{{{a}}}", agent=i) for i, a in enumerate(answers)]
    trace = [call("strategy", "x"), *executors, call("coordinator", "It is \\boxed{18}.")]
    write_run(tmp_path, [record("q1", "econ", trace, "18", True)])
    data = yaml.safe_load((tmp_path / CONFIG).read_text())
    for key in PROTOCOL_BEFORE_RULES:
        data["econ"].pop(key)
    (tmp_path / CONFIG).write_text(yaml.safe_dump(data) + "# end of econ config\n")
    assert load_saved_config(tmp_path / CONFIG).econ.override == "always"
    result = CliRunner().invoke(app, ["rescore", str(tmp_path)])
    assert result.exit_code == 0 and "verdicts changed: 0" in result.output, result.output
    (rescored,) = map(json.loads, open(tmp_path / RECORDS))
    assert rescored["prediction"] == "18" and rescored["details"]["decided_by"] == "commitment"


def test_a_run_saved_by_an_older_layout_of_the_training_settings_rescores(tmp_path):
    """config.yaml as commit 4833019 wrote it (its `train` section had another layout, which
    no eval record depends on): rescored, and the config file left as it was."""
    from pathlib import Path

    saved = (Path(__file__).parent / "fixtures" / "config_4833019.yaml").read_text()
    (tmp_path / CONFIG).write_text(saved.replace("benchmark: demo", "benchmark: gsm8k"))
    rows = [record("q1", "cot", [call("solver", "so \\boxed{18}")], "2023", False)]
    (tmp_path / RECORDS).write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = CliRunner().invoke(app, ["rescore", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "verdicts changed: 1" in result.output
    assert (tmp_path / CONFIG).read_text() == saved.replace("benchmark: demo", "benchmark: gsm8k")
    # a resume still refuses it: it would train or run under settings it never had
    resumed = CliRunner().invoke(app, ["eval", "--resume", str(tmp_path)])
    assert resumed.exit_code == 2 and "train" in resumed.output
