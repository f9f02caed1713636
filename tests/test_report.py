"""Summaries from records: epochs, intervals, ECON's decision paths and paired McNemar tests."""

from __future__ import annotations

import json

import pytest
from fakes import record

from econ.records import EvalRecord
from econ.report import write_report
from econ.stats import clustered_interval, paired_stats, summarize, wilson_interval


def rec(method: str, qid: str, correct: bool, epoch: int = 0, **details) -> EvalRecord:
    """A record with the figures the report reads."""
    return record(
        id=qid,
        method=method,
        epoch=epoch,
        correct=correct,
        prompt_tokens=100,
        completion_tokens=50,
        latency_s=2.0,
        details=details,
    )


def run(method: str, right: str, epoch: int = 0) -> list[EvalRecord]:
    """One record per question q0..q9; `right` is a 10-character string of 1s and 0s."""
    return [rec(method, f"q{i}", c == "1", epoch) for i, c in enumerate(right)]


def test_mcnemar_counts_discordant_pairs_against_the_first_method():
    records = run("cot", "1100000000") + run("econ", "0111110000") + run("sc", "1111000000")
    paired = paired_stats(records, ["cot", "econ", "sc"])
    # econ: only cot right on q0, only econ right on q2..q5 -> 1 vs 4, 2 * P(X <= 1 | 5) = 12/32.
    # sc: 0 vs 2 -> 2 * (1/4).
    assert paired == [
        {"a": "cot", "b": "econ", "n": 10, "only_a": 1, "only_b": 4, "p_value": 0.375},
        {"a": "cot", "b": "sc", "n": 10, "only_a": 0, "only_b": 2, "p_value": 0.5},
    ]


def test_mcnemar_p_matches_the_readme_hand_computations():
    """README: 1 vs 3 discordant gives p = 0.63, 1 vs 5 gives 0.22; 0 vs 8 is significant."""
    for only_a, only_b, p in [(1, 3, 10 / 16), (1, 5, 14 / 64), (0, 8, 2 / 256)]:
        a = "1" * only_a + "0" * only_b
        b = "0" * only_a + "1" * only_b
        a, b = a.ljust(10, "1"), b.ljust(10, "1")
        (pair,) = paired_stats(run("a", a) + run("b", b), ["a", "b"])
        assert (pair["only_a"], pair["only_b"]) == (only_a, only_b)
        assert pair["p_value"] == pytest.approx(p, rel=1e-9)


def test_mcnemar_uses_only_shared_questions_and_is_1_without_discordance():
    records = run("a", "1010101010") + run("b", "1010101010")[:6] + [rec("b", "extra", True)]
    (pair,) = paired_stats(records, ["a", "b"])
    assert pair == {"a": "a", "b": "b", "n": 6, "only_a": 0, "only_b": 0, "p_value": 1.0}
    assert paired_stats(records, ["a"]) == []
    assert paired_stats(records, []) == []


def test_mcnemar_pairs_by_question_and_epoch():
    """A record without `epoch` is epoch 0; epoch 1 of one method pairs only with epoch 1."""
    records = [
        rec("a", "q0", True),
        rec("a", "q0", False, epoch=1),
        rec("b", "q0", True, epoch=0),
        rec("b", "q0", True, epoch=1),
        rec("b", "q0", True, epoch=2),  # a has no epoch 2: not a pair
    ]
    (pair,) = paired_stats(records, ["a", "b"])
    assert (pair["n"], pair["only_a"], pair["only_b"]) == (2, 0, 1)


def test_single_epoch_summary_is_the_plain_wilson_interval():
    (s,) = summarize(run("cot", "1110000000"), ["cot"]).values()
    assert (s["n"], s["epochs"], s["correct"], s["accuracy"]) == (10, 1, 3, 0.3)
    assert s["ci95"] == pytest.approx([round(x, 4) for x in wilson_interval(3, 10)])
    assert s["epoch_accuracy"] == [0.3] and s["decided_by"] == {}
    assert s["prompt_tokens_per_q"] == 100 and s["errors"] == 0


def test_epochs_report_questions_mean_over_epochs_and_per_epoch_accuracy():
    epochs = ["1111000000", "1100000000", "1111110000"]
    records = [r for k, right in enumerate(epochs) for r in run("cot", right, k)]
    (s,) = summarize(records, ["cot"]).values()
    assert (s["n"], s["epochs"], s["correct"]) == (10, 3, 12)
    assert s["epoch_accuracy"] == [0.4, 0.2, 0.6]
    assert s["accuracy"] == pytest.approx(0.4)
    lo, hi = s["ci95"]
    assert lo < 0.4 < hi
    assert s["prompt_tokens_per_q"] == 100  # costs are per attempt, not summed over epochs


def test_repeated_epochs_do_not_narrow_the_interval_when_questions_decide():
    """Epochs that always agree carry no new information: the interval stays at n questions."""
    agree = [1.0] * 4 + [0.0] * 6
    assert clustered_interval(agree, attempts=30) == pytest.approx(wilson_interval(4, 10))
    # Half-right questions add within-question evidence: narrower than 10 questions,
    # never narrower than 20 independent attempts (2 epochs).
    mixed = [1.0, 1.0, 1.0] + [0.5] * 2 + [0.0] * 5
    lo, hi = clustered_interval(mixed, attempts=20)
    lo10, hi10 = wilson_interval(4, 10)
    lo20, hi20 = wilson_interval(8, 20)
    assert hi10 - lo10 > hi - lo > hi20 - lo20
    assert clustered_interval([0.0] * 5, attempts=15) == pytest.approx(wilson_interval(0, 5))
    assert clustered_interval([0.5] * 4, attempts=8) == pytest.approx(wilson_interval(4, 8))
    assert clustered_interval([], attempts=0) == (0.0, 0.0)


def test_decided_by_is_counted_per_method():
    records = [
        rec("econ", "q0", True, decided_by="commitment"),
        rec("econ", "q1", True, decided_by="commitment"),
        rec("econ", "q2", False, decided_by="majority"),
        rec("econ", "q3", False, decided_by="reask"),
        rec("econ", "q4", False),  # an errored question has no details
        rec("cot", "q0", True),
    ]
    summary = summarize(records, ["cot", "econ"])
    assert summary["econ"]["decided_by"] == {"commitment": 2, "majority": 1, "reask": 1}
    assert summary["cot"]["decided_by"] == {}


def test_write_report_json_shape_and_markdown(tmp_path):
    records = run("cot", "1100000000") + run("econ", "0111110000") + run("sc", "1" * 10)
    records[10].details = {"decided_by": "reask"}
    records[11].details = {"decided_by": "commitment"}
    methods = ["cot", "econ", "sc"]
    summary, paired = summarize(records, methods), paired_stats(records, methods)
    write_report(tmp_path, {"methods": summary, "paired": paired}, "demo (10 questions)")

    written = json.loads((tmp_path / "summary.json").read_text())
    assert written == {"methods": summary, "paired": paired}
    md = (tmp_path / "summary.md").read_text()
    assert "| cot | 10 | 20.0% |" in md
    assert "| cot | econ | 10 | 1 | 4 | 0.375 |" in md
    assert "- econ vs cot: not significant at 0.05 (p = 0.375)" in md
    assert "- sc vs cot: significant at 0.05 (p = 0.00781)" in md  # 0 vs 8
    assert "| commitment 1, reask 1 |" in md and md.count("| - |") == 2
    assert "epochs" not in md


def test_markdown_marks_epochs_and_their_caveat(tmp_path):
    records = run("a", "1100000000", 0) + run("a", "1000000000", 1)
    records += run("b", "1111000000", 0) + run("b", "1110000000", 1)
    summary = summarize(records, ["a", "b"])
    write_report(tmp_path, {"methods": summary, "paired": paired_stats(records, ["a", "b"])}, "t")
    md = (tmp_path / "summary.md").read_text()
    assert "| a | 10x2 | 15.0% |" in md
    assert "n x K: n questions, each answered in K epochs" in md
    assert "over 2 epochs" in md and "decided by" not in md


def test_single_method_report_has_no_paired_section(tmp_path):
    summary = summarize(run("cot", "1" * 10), ["cot"])
    write_report(tmp_path, {"methods": summary, "paired": []}, "t")
    assert json.loads((tmp_path / "summary.json").read_text())["paired"] == []
    assert "McNemar" not in (tmp_path / "summary.md").read_text()
