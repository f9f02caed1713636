"""`econ view`'s "methods disagree" filter on a benchmark of your own: answers are compared the
way the run's `run.answer_type` compares them (its records name only the benchmark), and as
plain text only when the config says nothing usable.

The runs are written by hand with test_view's helpers; no LLM, no browser.
"""

from __future__ import annotations

import pytest
from test_view import cot, self_consistency, write_jsonl

from econ.view import view_data


def custom_run(tmp_path, answer_type, pairs):
    """A cot + self-consistency run on benchmark "mine"; pairs[i]: both methods' answers to
    question i (one of test_view's two questions)."""
    run = tmp_path / "run"
    run.mkdir()
    records = []
    for qid, (a, b) in zip(("q1", "q2"), pairs):
        records += [cot(qid, a), self_consistency(qid, [b, b, b])]
    for r in records:
        r["benchmark"] = "mine"
    type_line = f"  answer_type: {answer_type}\n" if answer_type else ""
    (run / "config.yaml").write_text(
        "model: local:qwen2.5-coder-0.5b\n"
        f"run:\n  benchmark: mine\n  data: mine.csv\n{type_line}"
        "  methods: [cot, self_consistency]\n"
    )
    write_jsonl(run / "records.jsonl", records)
    return run


def differ(run):
    return {k: v["answers_differ"] for k, v in view_data(run)["agreement"].items()}


@pytest.mark.parametrize(
    "answer_type, same, different",
    [
        ("number", ("1,200", "1200.0"), ("12", "13")),
        ("yes-no", ("Yes", "yes."), ("yes", "no")),
        ("text", ("**Paris**", "paris."), ("Paris", "Lyon")),
    ],
)
def test_answers_compare_by_the_runs_answer_type(tmp_path, answer_type, same, different):
    run = custom_run(tmp_path, answer_type, [same, different])
    assert differ(run) == {"q1|0": False, "q2|0": True}


def test_without_an_answer_type_answers_compare_as_text(tmp_path):
    run = custom_run(tmp_path, None, [("1200", " 1200 "), ("1,200", "1200.0")])
    assert differ(run) == {"q1|0": False, "q2|0": True}
