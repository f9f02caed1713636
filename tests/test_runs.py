"""Run directories' files (econ.runs): records appended whole, read back with or without
repairing a line torn by a kill, and rewritten atomically."""

from __future__ import annotations

import json

from fakes import record

from econ.run_records import append_record, eval_record, read_records, rewrite_records
from econ.runs import CONFIG, open_run

ROWS = [{"id": "q1", "method": "cot", "error": None}, {"id": "q2", "method": "cot", "error": None}]
TORN = b'{"id": "q3", "meth'


def write(path, rows, tail=b""):
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in rows) + tail)


def test_reading_for_a_view_skips_a_torn_line_and_leaves_the_file_alone(tmp_path):
    path = tmp_path / "records.jsonl"
    write(path, ROWS, TORN)
    before = path.read_bytes()
    assert read_records(path, repair=False) == ROWS
    assert path.read_bytes() == before  # a run still writing its last line is not cut


def test_reading_before_a_resume_cuts_the_torn_line(tmp_path):
    path = tmp_path / "records.jsonl"
    write(path, ROWS, TORN)
    assert read_records(path) == ROWS
    assert path.read_bytes().endswith(b"}\n") and TORN not in path.read_bytes()


def test_damaged_lines_cost_only_themselves(tmp_path):
    path = tmp_path / "records.jsonl"
    path.write_bytes(b'{"id": "q1", "method": "cot"}\nnot json\n[1, 2]\n\xff\xfe\n\n{"id": "q2"}\n')
    assert read_records(path) == [{"id": "q1", "method": "cot"}, {"id": "q2"}]
    assert read_records(tmp_path / "missing.jsonl") == []


def test_appended_and_rewritten_records_read_back_unchanged(tmp_path):
    path = tmp_path / "records.jsonl"
    with open(path, "a", encoding="utf-8") as out:
        for row in ROWS:
            append_record(out, row)
    assert read_records(path) == ROWS
    rewrite_records(path, ROWS[:1])
    assert read_records(path) == ROWS[:1]
    assert [p.name for p in tmp_path.iterdir()] == ["records.jsonl"]  # no temp file left


def test_a_record_reads_only_with_string_id_and_method_and_an_integer_epoch():
    whole = record(id="q", method="m", epoch=2).model_dump(mode="json")
    assert eval_record(whole).epoch == 2
    assert eval_record({k: v for k, v in whole.items() if k != "epoch"}).epoch == 0  # layout 1
    assert eval_record({**whole, "id": 1}) is None
    assert eval_record({**whole, "epoch": True}) is None
    assert eval_record({**whole, "epoch": "0"}) is None
    assert eval_record({**whole, "epoch": -1}) is None
    assert eval_record({k: v for k, v in whole.items() if k != "trace"}) is None
    assert eval_record([whole]) is None


def test_open_run_creates_a_run_then_continues_it_with_its_saved_config(tmp_path):
    out = tmp_path / "run"
    cfg, path = open_run(out, {"max_tokens": 77, "run.benchmark": "demo", "run.limit": 2})
    assert path == out and (out / CONFIG).is_file() and cfg.max_tokens == 77
    # started again with other overrides: the saved run wins, nothing is rewritten
    saved = (out / CONFIG).read_text()
    again, path = open_run(out, {"max_tokens": 5})
    assert path == out and again.max_tokens == 77 and again.run.limit == 2
    assert (out / CONFIG).read_text() == saved
