"""Any dataset: local JSONL/JSON/CSV/Parquet files and hub ids for `--data`, benchmarks of your
own described by config fields, and the data fingerprint that config.yaml records. Hub data is
faked (no network in tests) by replacing `datasets.load_dataset`."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
import sys
import types
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from fakes import ScriptedLLM, last_user, llms

from econ.config import load_config, load_saved_config
from econ.errors import UserError
from econ.evaluate import run_methods
from econ.rescore import rescore_run
from econ.run_records import read_records
from econ.runs import CONFIG, RECORDS, new_run_dir
from econ.tasks import Fields, data_fingerprint, get_benchmark, load_questions, read_run_data

FIXTURES = Path(__file__).parent / "fixtures"
GSM8K_ROWS = [
    json.loads(line) for line in (FIXTURES / "gsm8k.jsonl").read_text("utf-8").split("\n") if line
]
CAPITALS = [
    {"qid": "c1", "prompt": "Capital of France?", "target": "Paris"},
    {"qid": "c2", "prompt": "Capital of Japan?", "target": "Tokyo"},
    {"qid": "c3", "prompt": "Capital of the USA?", "target": "Washington, D.C."},
]


def write_csv(path: Path, rows: list[dict], bom: bool = False) -> Path:
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_parquet(path: Path, rows: list[dict]) -> Path:
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def run_spec(**run):
    return load_config(None, {f"run.{k}": v for k, v in run.items()}).run


class FakeHubDataset(list):
    """What `datasets.load_dataset(..., split=...)` returns, as far as econ uses it."""

    _fingerprint = "f00dcafe12345678"


@pytest.fixture
def hub(monkeypatch):
    """A fake `datasets` module; `hub.calls` lists each load_dataset call's arguments."""
    calls: list[tuple] = []
    rows = {"rows": GSM8K_ROWS}

    def load_dataset(path, name=None, *, split, revision=None):
        calls.append((path, name, split, revision))
        return FakeHubDataset(rows["rows"])

    module = types.ModuleType("datasets")
    module.load_dataset = load_dataset
    monkeypatch.setitem(sys.modules, "datasets", module)
    return types.SimpleNamespace(calls=calls, rows=rows)


# ---- local files -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "write",
    [
        lambda p: p.with_suffix(".json").write_text(json.dumps(GSM8K_ROWS)),
        lambda p: p.with_suffix(".json").write_text(json.dumps({"version": 2, "data": GSM8K_ROWS})),
        lambda p: p.with_suffix(".json").write_text(json.dumps({"problems": GSM8K_ROWS})),
        lambda p: write_csv(p.with_suffix(".csv"), GSM8K_ROWS),
        lambda p: write_csv(p.with_suffix(".csv"), GSM8K_ROWS, bom=True),
        lambda p: write_parquet(p.with_suffix(".parquet"), GSM8K_ROWS),
    ],
    ids=["json-list", "json-data-key", "json-only-list", "csv", "csv-bom", "parquet"],
)
def test_every_format_gives_the_jsonl_questions(tmp_path, write):
    """Multi-line answers, U+2028 and commas inside a CSV cell survive every format."""
    write(tmp_path / "rows")
    (path,) = [p for p in tmp_path.iterdir()]
    expected = load_questions("gsm8k", FIXTURES / "gsm8k.jsonl")
    assert load_questions("gsm8k", path) == expected
    assert load_questions("gsm8k", path, limit=2) == expected[:2]


def test_a_file_whose_name_does_not_say_its_format_is_refused(tmp_path):
    for name in ("rows.txt", "rows"):
        path = tmp_path / name
        path.write_bytes((FIXTURES / "gsm8k.jsonl").read_bytes())
        with pytest.raises(UserError, match="cannot tell the format of data file .*: name it"):
            load_questions("gsm8k", path)


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("x.json", b'{"a": [1], "b": [2]}', "holds lists under 'a', 'b': expected a JSON list"),
        ("x.json", b'"just text"', "holds no list: expected a JSON list"),
        ("x.json", b'[{"question": "q",\n "answer": }]', "x.json:2: invalid JSON"),
        ("x.json", b"[]", "x.json holds no questions"),
        ("x.json", b'[{"question": "q", "answer": "#### 1"}, 7]', "x.json row 1: record is not"),
        ("x.csv", b"question,answer\n", "x.csv holds no questions"),
        ("x.csv", b"question,answer\nq,#### 1\nq2,#### 2,extra\n", "x.csv:3: 3 cells, but the"),
        ("x.csv", b"question,answer\nq,no marker\n", "x.csv:2: unparseable gold answer"),
        ("x.csv", b'question,answer\n"q,#### 1\n', "x.csv:2: invalid CSV"),
        ("x.csv", b'question,answer\nq,"a"b\n', "x.csv:2: invalid CSV"),
        ("x.csv", "question,answer\ncaf\xe9,#### 1\n".encode("latin-1"), "x.csv is not UTF-8"),
        ("x.parquet", b"PAR1 but not really", "x.parquet is not a Parquet file"),
    ],
)
def test_bad_files_are_one_line_errors(tmp_path, name, content, fragment):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UserError) as info:
        load_questions("gsm8k", path)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_parquet_rows_name_their_index(tmp_path):
    path = write_parquet(
        tmp_path / "x.parquet", [*GSM8K_ROWS[:2], {"question": "q", "answer": None}]
    )
    with pytest.raises(UserError, match=r"x.parquet row 2: missing field 'answer'"):
        load_questions("gsm8k", path)


def test_a_directory_or_a_missing_file_is_not_taken_for_a_hub_id(tmp_path, hub, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("openai/gsm8k").mkdir(parents=True)
    with pytest.raises(UserError, match="data path openai/gsm8k is not a file"):
        load_questions("gsm8k", "openai/gsm8k")
    with pytest.raises(UserError, match="data file not found: data/test.jsonl"):
        load_questions("gsm8k", "data/test.jsonl")
    with pytest.raises(UserError, match="data file not found: nope"):
        load_questions("gsm8k", "./nope")
    assert hub.calls == []


def test_a_revision_with_a_local_file_is_refused(tmp_path):
    with pytest.raises(UserError, match="pins a hub dataset, but .*gsm8k.jsonl is a local file"):
        load_questions("gsm8k", FIXTURES / "gsm8k.jsonl", revision="abc123")


# ---- hub ids ---------------------------------------------------------------------------------


def test_hub_id_as_data_with_split_and_revision(hub):
    questions = load_questions("gsm8k", "someone/gsm8k-copy", split="validation", revision="v1.0")
    assert [q.gold for q in questions] == ["26", "1080", "12500", "1750"]
    assert hub.calls == [("someone/gsm8k-copy", None, "validation", "v1.0")]


def test_hub_id_config_suffix_and_the_benchmarks_own_dataset(hub):
    load_questions("gsm8k", "someone/multi:main", limit=1)
    load_questions("gsm8k", "openai/gsm8k", limit=1)  # its own dataset: config "main"
    hub.rows["rows"] = [{"input": "q", "target": 2.0}]
    load_questions("gsm-hard", "reasoning-machines/gsm-hard")  # its test split is "train"
    assert hub.calls == [
        ("someone/multi", "main", "test", None),
        ("openai/gsm8k", "main", "test", None),
        ("reasoning-machines/gsm-hard", None, "train", None),
    ]


def test_run_split_defaults_by_command_and_wins_when_set(hub):
    read_run_data(run_spec(benchmark="gsm8k", revision="0123abcd"), "train")
    read_run_data(run_spec(benchmark="gsm8k", split="validation"), "train")
    assert hub.calls == [
        ("openai/gsm8k", "main", "train", "0123abcd"),
        ("openai/gsm8k", "main", "validation", None),
    ]


def test_empty_hub_split_holds_no_questions(hub):
    hub.rows["rows"] = []
    with pytest.raises(UserError, match="openai/gsm8k split test at revision r1 holds no"):
        load_questions("gsm8k", revision="r1")


# ---- benchmarks of your own ------------------------------------------------------------------


def test_own_benchmark_from_csv_needs_no_code(tmp_path):
    path = write_csv(tmp_path / "capitals.csv", CAPITALS)
    run = run_spec(
        benchmark="capitals",
        data=str(path),
        question_field="prompt",
        answer_field="target",
        id_field="qid",
        answer_type="text",
    )
    questions = read_run_data(run, "test").questions
    assert [(q.id, q.question, q.gold, q.benchmark) for q in questions][2] == (
        "c3",
        "Capital of the USA?",
        "Washington, D.C.",
        "capitals",
    )
    bench = get_benchmark(run.benchmark, run.answer_type)
    assert bench.grade(bench.extract("The capital is on the Seine.\n\n**paris**"), "Paris")
    assert bench.grade(bench.extract("Final answer: washington,  d.c."), questions[2].gold)
    assert not bench.grade(bench.extract("The answer is Kyoto."), "Tokyo")


@pytest.mark.parametrize(
    ("answer_type", "answers", "golds"),
    [
        ("number", ["1,080", 2.50, "-7"], ["1080", "2.5", "-7"]),
        ("yes-no", [True, "no", "TRUE"], ["yes", "no", "yes"]),
        ("math", ["\\frac{1}{2}", 3.0, " x^2 "], ["\\frac{1}{2}", "3", "x^2"]),
        ("text", ["Paris", 12, "  New York "], ["Paris", "12", "New York"]),
    ],
)
def test_own_benchmark_golds_by_answer_type(tmp_path, answer_type, answers, golds):
    path = tmp_path / "own.jsonl"
    path.write_text(
        "".join(json.dumps({"q": f"q{i}", "a": a}) + "\n" for i, a in enumerate(answers))
    )
    questions = load_questions("own", path, fields=Fields("q", "a"), answer_type=answer_type)
    assert [q.gold for q in questions] == golds
    assert [q.id for q in questions] == ["own-0", "own-1", "own-2"]  # default: the row index


def test_field_mapping_reads_a_built_in_benchmark_from_other_columns(tmp_path):
    rows = [{"Q": "Is ice cold?", "label": "True"}, {"Q": "Is fire cold?", "label": "false"}]
    path = write_csv(tmp_path / "sqa.csv", rows)
    run = run_spec(benchmark="strategyqa", data=str(path), question_field="Q", answer_field="label")
    assert [(q.id, q.gold) for q in read_run_data(run, "test").questions] == [
        ("strategyqa-0", "yes"),
        ("strategyqa-1", "no"),
    ]


@pytest.mark.parametrize(
    ("run", "fragment"),
    [
        ({"benchmark": "mine"}, "unknown benchmark 'mine'; valid benchmarks: gsm8k"),
        ({"benchmark": "mine", "answer_type": "text"}, "set run.question_field and run.answer"),
        (
            {"benchmark": "mine", "answer_type": "text", "question_field": "q"},
            "run.question_field and run.answer_field go together",
        ),
        ({"benchmark": "demo", "id_field": "id"}, "run.id_field needs run.question_field"),
        ({"benchmark": "gsm8k", "answer_type": "math"}, "does not fit benchmark 'gsm8k'"),
        ({"benchmark": "demo", "answer_type": "number"}, "does not fit benchmark 'demo'"),
        ({"benchmark": "a/b", "answer_type": "text"}, "may hold only letters, digits"),
        (
            {
                "benchmark": "mine",
                "answer_type": "text",
                "question_field": "q",
                "answer_field": "a",
            },
            "benchmark 'mine' has no data of its own: pass --data",
        ),
    ],
)
def test_own_benchmark_config_errors(run, fragment):
    with pytest.raises(UserError) as info:
        read_run_data(run_spec(**run), "test")
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_built_in_benchmark_accepts_its_own_answer_type():
    assert get_benchmark("gsm-hard", "number").abs_tol == 0.005
    assert get_benchmark("math500", "math") is get_benchmark("math500")


def test_answer_type_is_validated_by_the_config():
    with pytest.raises(UserError, match="invalid config: run.answer_type: Input should be"):
        load_config(None, {"run.answer_type": "float"})


@pytest.mark.parametrize(
    ("rows", "fragment"),
    [
        ([{"id": True, "q": "q", "a": "x"}], "row 0: id True is not a non-empty string"),
        ([{"id": " ", "q": "q", "a": "x"}], "row 0: id ' ' is not a non-empty string"),
        ([{"id": 7, "q": "q", "a": "x"}, {"id": "7", "q": "r", "a": "y"}], "duplicate question id"),
        ([{"id": 1, "q": "q"}], "row 0: missing field 'a'"),
    ],
)
def test_own_benchmark_row_errors(tmp_path, rows, fragment):
    path = tmp_path / "own.json"
    path.write_text(json.dumps(rows))
    with pytest.raises(UserError, match=fragment):
        load_questions("own", path, fields=Fields("q", "a", "id"), answer_type="text")


# ---- fingerprints in config.yaml -------------------------------------------------------------


def test_file_fingerprint_is_the_sha256_of_its_bytes(tmp_path):
    path = write_csv(tmp_path / "capitals.csv", CAPITALS)
    found = data_fingerprint(run_spec(benchmark="gsm8k", data=str(path)), "test")
    raw = path.read_bytes()
    assert found == {
        "path": str(path),
        "format": "csv",
        "sha256": hashlib.sha256(raw).hexdigest(),
        "bytes": len(raw),
    }
    demo = data_fingerprint(run_spec(benchmark="demo"), "test")
    assert demo["path"].endswith("demo.jsonl") and len(demo["sha256"]) == 64


def test_hub_fingerprint_names_id_split_revision_and_datasets_fingerprint(hub):
    found = data_fingerprint(
        run_spec(benchmark="gsm8k", data="openai/gsm8k", revision="e53f"), "test"
    )
    assert {k: found[k] for k in ("hub", "config", "split", "revision", "fingerprint")} == {
        "hub": "openai/gsm8k",
        "config": "main",
        "split": "test",
        "revision": "e53f",
        "fingerprint": "f00dcafe12345678",
    }
    assert "datasets" in found


def test_config_yaml_records_the_data_and_the_new_keys(tmp_path, hub):
    path = write_csv(tmp_path / "capitals.csv", CAPITALS)
    keys = {
        "run.benchmark": "capitals",
        "run.data": str(path),
        "run.question_field": "prompt",
        "run.answer_field": "target",
        "run.id_field": "qid",
        "run.answer_type": "text",
    }
    run_dir = new_run_dir(str(tmp_path / "run"), load_config(None, keys))
    saved = yaml.safe_load((run_dir / CONFIG).read_text())
    assert saved["provenance"]["data"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert load_saved_config(run_dir / CONFIG).run == load_config(None, keys).run

    train_cfg = load_config(None, {"run.benchmark": "gsm8k", "run.revision": "v2"})
    train_dir = new_run_dir(str(tmp_path / "train"), train_cfg, split="train")
    data = yaml.safe_load((train_dir / CONFIG).read_text())["provenance"]["data"]
    assert (data["hub"], data["split"], data["revision"]) == ("openai/gsm8k", "train", "v2")


def test_unreadable_data_leaves_no_run_directory(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise ConnectionError("no network")

    module = types.ModuleType("datasets")
    module.load_dataset = offline
    monkeypatch.setitem(sys.modules, "datasets", module)
    with pytest.raises(UserError, match="could not load someone/data split test from the hub"):
        new_run_dir(str(tmp_path / "run"), load_config(None, {"run.data": "someone/data"}))
    assert not (tmp_path / "run").exists()


def test_own_text_benchmark_runs_and_rescores(tmp_path):
    """eval and rescore grade a benchmark of your own with its answer type, not a built-in's."""
    replies = {
        "France": "It is Paris.\n\nparis",
        "Japan": "\\boxed{Kyoto}",
        "USA": "Washington, D.C.",
    }

    def reply(messages, params):
        return next(text for key, text in replies.items() if key in last_user(messages))

    keys = {
        "run.benchmark": "capitals",
        "run.data": str(write_csv(tmp_path / "capitals.csv", CAPITALS)),
        "run.question_field": "prompt",
        "run.answer_field": "target",
        "run.answer_type": "text",
    }
    cfg = load_config(None, keys)
    run_dir = new_run_dir(str(tmp_path / "run"), cfg)
    fake = llms(ScriptedLLM(reply))
    summary = asyncio.run(run_methods(cfg, run_dir, show_progress=False, make_llm=fake))
    records = {r["id"]: r for r in read_records(run_dir / RECORDS)}
    assert {k: (r["prediction"], r["correct"]) for k, r in records.items()} == {
        "capitals-0": ("paris", True),
        "capitals-1": ("Kyoto", False),
        "capitals-2": ("Washington, D.C", True),
    }
    assert summary["cot"]["n"] == 3
    assert rescore_run(run_dir) == 0
