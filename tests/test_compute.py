"""Matched compute from stored calls: SC@k for every k, ECON's replayed majority and overrides,
and the verdict against self-consistency at the nearest k at or above a method's tokens."""

from __future__ import annotations

import json

import fakes

from econ.compute import build_report, econ_replays, sc_prefix_records
from econ.report import render_report, write_report
from econ.tasks import get_benchmark

GSM = get_benchmark("gsm8k")


def call(role, answer, agent=None, prompt=100, completion=50, round_no=0):
    return fakes.call(
        role=role,
        round=round_no,
        agent=agent,
        response=f"so \\boxed{{{answer}}}" if answer is not None else "no idea",
        prompt_tokens=prompt,
        completion_tokens=completion,
        latency_s=1.0,
    )


def record(qid, method, trace, prediction, gold="7"):
    return fakes.record(
        id=qid,
        method=method,
        benchmark="gsm8k",
        gold=gold,
        prediction=prediction,
        correct=GSM.grade(prediction, gold),
        prompt_tokens=sum(c.prompt_tokens for c in trace),
        completion_tokens=sum(c.completion_tokens for c in trace),
        calls=len(trace),
        latency_s=1.0,
        trace=trace,
    )


def sc(qid, answers, method="self_consistency"):
    trace = [call("sampler", a, agent=i) for i, a in enumerate(answers)]
    return record(qid, method, trace, None)


def econ(qid, answers, committed, commit=True):
    trace = [call("strategy", None, prompt=60, completion=20)]
    trace += [call("executor", a, agent=i) for i, a in enumerate(answers)]
    if commit:
        trace.append(call("coordinator", committed, prompt=500, completion=30))
    return record(qid, "econ", trace, committed)


def test_sc_at_k_votes_over_the_first_k_samples_and_costs_their_tokens():
    # q1: 3, 7, 7 -> SC@1 wrong, SC@2 a tie that goes to the earliest (3, wrong), SC@3 right.
    rows = sc_prefix_records([sc("q1", ["3", "7", "7"]), sc("q2", ["7", "7", "1"])], GSM)
    by = {(r.id, r.method): r for r in rows["self_consistency"]}
    assert [by["q1", f"self_consistency@{k}"].correct for k in (1, 2, 3)] == [
        False,
        False,
        True,
    ]
    assert [by["q2", f"self_consistency@{k}"].correct for k in (1, 2, 3)] == [True] * 3
    assert [by["q1", f"self_consistency@{k}"].prompt_tokens for k in (1, 2, 3)] == [
        100,
        200,
        300,
    ]


def test_econ_replay_counts_overrides_by_whether_they_were_right():
    records = [
        econ("q1", ["7", "7", "3"], "3"),  # right -> wrong
        econ("q2", ["3", "3", "7"], "7"),  # wrong -> right
        econ("q3", ["7", "7", "7"], "7"),  # unanimous, kept
        econ("q4", ["2", "2", "7"], "5"),  # wrong -> wrong
    ]
    rows, counts = econ_replays(records, GSM)
    assert counts["econ"] == {
        "questions": 4,
        "unanimous": 1,
        "overrides": 3,
        "wrong_to_right": 1,
        "right_to_wrong": 1,
        "wrong_to_wrong": 1,
    }
    majority = {r.id: r for r in rows if r.method == "econ:majority"}
    assert [majority[q].correct for q in ("q1", "q2", "q3", "q4")] == [True, False, True, False]
    # the majority costs the strategy and the executors, not the commitment
    assert majority["q1"].prompt_tokens == 60 + 3 * 100


def test_two_waves_replay_stops_where_the_first_two_of_three_agree():
    records = [
        econ("q1", ["7", "7", "3"], "3"),  # first wave agrees on 7: right, without the rest
        econ("q2", ["3", "7", "7"], "7"),  # first wave splits: the run's own outcome
        econ("q3", [None, None, "7"], "7"),  # no answer is no agreement
        econ("q4", ["7", "7", "7"], "7", commit=False),  # unanimous, no commitment call
    ]
    rows, _ = econ_replays(records, GSM)
    wave = {r.id: r for r in rows if r.method == "econ:two-wave"}
    assert [wave[q].prediction for q in ("q1", "q2", "q3", "q4")] == ["7", "7", "7", "7"]
    assert wave["q1"].correct and not records[0].correct
    # two executors and the strategy, against the record's full cost when the wave split
    assert wave["q1"].prompt_tokens == 60 + 2 * 100
    assert wave["q4"].prompt_tokens == 60 + 2 * 100
    assert wave["q2"].prompt_tokens == records[1].prompt_tokens == 60 + 300 + 500
    assert wave["q3"].calls == records[2].calls


def test_matched_verdict_uses_the_smallest_k_at_or_above_the_methods_tokens(tmp_path):
    records = []
    for i in range(6):
        records.append(sc(f"q{i}", ["7", "3", "7", "7", "7"]))
        records.append(econ(f"q{i}", ["7", "7", "3"], "3" if i < 4 else "7"))
    report = build_report(records, ["self_consistency", "econ"], GSM)
    compute = report["compute"]
    curve = compute["curves"]["self_consistency"]
    assert [c["k"] for c in curve] == [1, 2, 3, 4, 5]
    assert [c["tokens_per_q"] for c in curve] == [150, 300, 450, 600, 750]
    # econ costs 80 + 450 + 530 = 1060 tokens: no k reaches it, so SC@5 and covers False
    (econ_row, majority_row, wave_row) = compute["matched"]
    assert econ_row["method"] == "econ" and econ_row["against"] == "self_consistency@5"
    assert econ_row["covers"] is False
    assert (econ_row["correct"], econ_row["against_correct"]) == (2, 6)
    assert (econ_row["only_a"], econ_row["only_b"]) == (0, 4)
    # the replayed majority costs 80 + 450 = 530: SC@4 (600) is the nearest at or above
    assert majority_row["method"] == "econ:majority"
    assert majority_row["against"] == "self_consistency@4" and majority_row["covers"]
    assert compute["replays"]["econ"]["right_to_wrong"] == 4
    # two waves: the first two executors agree on 7 everywhere, at 80 + 300 = 380 tokens
    assert wave_row["method"] == "econ:two-wave" and wave_row["correct"] == 6
    assert wave_row["against"] == "self_consistency@3"
    assert compute["replays"]["econ"]["two_wave"]["tokens_per_q"] == 380

    write_report(tmp_path, report, "t")
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["compute"]["matched"][0]["against"] == "self_consistency@5"
    md = (tmp_path / "summary.md").read_text()
    assert "at matched tokens: econ 2/6 vs self_consistency@5 6/6" in md
    assert "| self_consistency | 3 | 6 |" in md
    assert render_report(saved, "md") in md
    assert (tmp_path / "accuracy_vs_tokens.png").stat().st_size > 1000


def test_a_run_without_sc_or_econ_has_no_compute_section():
    trace = [call("solver", "7")]
    report = build_report([record("q1", "cot", trace, "7")], ["cot"], GSM)
    assert "compute" not in report
