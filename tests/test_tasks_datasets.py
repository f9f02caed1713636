"""Loading questions from the shared benchmark files, the packaged demo set, and the hub."""

import json
import sys
import types
from pathlib import Path

import pytest

from econ.errors import UserError
from econ.tasks import Question, get_benchmark, load_questions

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FILES = {
    "gsm8k": DATA / "gsm8k" / "test-first300.jsonl",
    "gsm-hard": DATA / "gsm-hard" / "test-first200.jsonl",
    "svamp": DATA / "svamp" / "test-first300.jsonl",
    "math500": DATA / "math500" / "test-first200.jsonl",
    "strategyqa": DATA / "strategyqa" / "dev.jsonl",
}
COUNTS = {"gsm8k": 300, "gsm-hard": 200, "svamp": 300, "math500": 200, "strategyqa": 229}


@pytest.mark.parametrize("name", sorted(FILES))
def test_shared_files_load_whole_with_unique_ids(name):
    questions = load_questions(name, FILES[name])
    assert len(questions) == COUNTS[name]
    assert len({q.id for q in questions}) == len(questions)
    assert all(q.benchmark == name and q.question and q.gold for q in questions)


def test_gsm8k_first_rows():
    first, second = load_questions("gsm8k", FILES["gsm8k"], limit=2)
    assert first == Question(
        id="gsm8k-0",
        question=first.question,
        gold="18",
        benchmark="gsm8k",
    )
    assert first.question.startswith("Janet\u2019s ducks lay 16 eggs per day.")
    assert (second.id, second.gold) == ("gsm8k-1", "3")


def test_gsm8k_train_split_has_comma_golds_and_line_separators():
    """train.jsonl holds U+2028 inside records and golds such as "1,080"."""
    questions = load_questions("gsm8k", DATA / "gsm8k" / "train.jsonl", split="train")
    assert len(questions) == 7473
    assert [q.gold for q in questions[:2]] == ["72", "10"]
    assert all("," not in q.gold and float(q.gold) == float(q.gold) for q in questions)


def test_gsm_hard_first_rows():
    questions = load_questions("gsm-hard", FILES["gsm-hard"], limit=8)
    assert [q.gold for q in questions[:2]] == ["-9867630", "3431580"]
    assert questions[1].question.startswith("A robe takes 2287720 bolts")
    assert float(questions[7].gold) == pytest.approx(3244047.0999999996, rel=1e-12)
    assert [q.id for q in questions[:2]] == ["gsm-hard-0", "gsm-hard-1"]


def test_svamp_first_rows():
    first, second, third = load_questions("svamp", FILES["svamp"], limit=3)
    assert first.id == "chal-1" and first.gold == "51"
    assert first.question == (
        "Each pack of dvds costs 76 dollars. If there is a discount of 25 dollars on each pack"
        " How much do you have to pay to buy each pack?"
    )
    assert (second.id, second.gold) == ("chal-2", "1")
    assert (third.id, third.gold) == ("chal-3", "17")


def test_math500_first_rows():
    questions = load_questions("math500", FILES["math500"], limit=3)
    golds = [r"\left( 3, \frac{\pi}{2} \right)", "p - q", r"\frac{14}{3}"]
    assert [q.gold for q in questions] == golds
    assert questions[0].question.startswith("Convert the point $(0,3)$")
    assert questions[2].id == "math500-2"


def test_strategyqa_first_rows():
    first, second = load_questions("strategyqa", FILES["strategyqa"], limit=2)
    assert (first.id, first.gold) == ("e0044a7b4d146d611e73", "no")
    assert (second.id, second.gold) == ("c69397b4341b65ed080f", "yes")
    assert first.question.startswith("Will the Albany in Georgia")


def test_limit_takes_first_rows_in_file_order():
    whole = load_questions("svamp", FILES["svamp"])
    assert load_questions("svamp", FILES["svamp"], limit=5) == whole[:5]
    assert load_questions("svamp", str(FILES["svamp"]), limit=0) == []
    assert len(load_questions("svamp", FILES["svamp"], limit=10_000)) == 300


def test_ids_are_stable_across_loads():
    path = FILES["math500"]
    assert load_questions("math500", path) == load_questions("math500", path)


def test_demo_set():
    questions = load_questions("demo")
    assert len(questions) == 24
    assert len({q.id for q in questions}) == 24
    golds = [q.gold for q in questions]
    assert sum(g in ("yes", "no") for g in golds) == 6
    demo = get_benchmark("demo")
    for q in questions:
        assert demo.grade(demo.extract(f"Working... so \\boxed{{{q.gold}}}"), q.gold), q
        assert demo.grade(demo.extract(f"The answer is {q.gold}."), q.gold), q
    assert load_questions("demo", limit=3) == questions[:3]


def test_demo_loads_from_a_local_copy_too(tmp_path):
    path = tmp_path / "demo.jsonl"
    rows = [
        {"id": "a", "question": "1+1?", "answer": 2, "kind": "numeric"},
        {"id": "b", "question": "Is it?", "answer": "yes", "kind": "yesno"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    assert [(q.id, q.gold) for q in load_questions("demo", path)] == [("a", "2"), ("b", "yes")]


def _write(tmp_path, lines):
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("name", "lines", "line", "fragment"),
    [
        ("gsm8k", ['{"question": "q", "answer": "#### 1"}', "{not json"], 2, "invalid JSON"),
        ("gsm8k", ['{"question": "q"}'], 1, "missing field 'answer'"),
        ("gsm8k", ['{"question": "q", "answer": "no marker 5"}'], 1, "####"),
        ("gsm8k", ['{"question": "q", "answer": "#### lots"}'], 1, "unparseable gold"),
        ("gsm-hard", ['{"input": "q", "target": "abc"}'], 1, "unparseable gold"),
        ("gsm-hard", ['{"input": "q", "target": true}'], 1, "unparseable gold"),
        ("svamp", ['{"ID": "x", "Body": "b", "Answer": 1.0}'], 1, "missing field 'Question'"),
        ("math500", ['{"problem": "p", "answer": ""}'], 1, "'answer'"),
        ("strategyqa", ['{"qid": "x", "question": "q", "answer": "maybe"}'], 1, "unparseable gold"),
        ("strategyqa", ["", "[1, 2]"], 2, "not a JSON object"),
        ("demo", ['{"id": "x", "question": "q", "answer": 1, "kind": "essay"}'], 1, "'kind'"),
    ],
)
def test_malformed_rows_name_file_and_line(tmp_path, name, lines, line, fragment):
    path = _write(tmp_path, lines)
    with pytest.raises(UserError) as info:
        load_questions(name, path)
    message = str(info.value)
    assert f"{path}:{line}:" in message and fragment in message and "\n" not in message


def test_limit_stops_before_later_malformed_rows(tmp_path):
    path = _write(tmp_path, ['{"question": "q", "answer": "#### 1,500"}', "{broken"])
    assert [q.gold for q in load_questions("gsm8k", path, limit=1)] == ["1500"]


def test_missing_file_names_the_path(tmp_path):
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(UserError, match="nope.jsonl"):
        load_questions("gsm8k", missing)


def test_unknown_benchmark(tmp_path):
    with pytest.raises(UserError, match="valid benchmarks: gsm8k"):
        load_questions("gsm9k", tmp_path / "x.jsonl")


def _fake_datasets(monkeypatch, load_dataset):
    module = types.ModuleType("datasets")
    module.load_dataset = load_dataset
    monkeypatch.setitem(sys.modules, "datasets", module)


def test_hub_failure_says_to_pass_data(monkeypatch):
    def offline(*args, **kwargs):
        raise ConnectionError("no network\nat all")

    _fake_datasets(monkeypatch, offline)
    with pytest.raises(UserError) as info:
        load_questions("gsm8k")
    message = str(info.value)
    assert "--data PATH" in message and "openai/gsm8k" in message and "\n" not in message


def test_hub_rows_use_the_same_parser(monkeypatch):
    calls = []

    def fake_load(hub_id, config, split):
        calls.append((hub_id, config, split))
        return [{"input": "q1", "target": 2.5}, {"input": "q2", "target": 4.0}]

    _fake_datasets(monkeypatch, fake_load)
    questions = load_questions("gsm-hard", limit=1)
    assert [(q.id, q.gold) for q in questions] == [("gsm-hard-0", "2.5")]
    assert calls == [("reasoning-machines/gsm-hard", None, "train")]


def test_hub_split_is_passed_through(monkeypatch):
    calls = []

    def fake_load(hub_id, config, split):
        calls.append((hub_id, config, split))
        return [{"question": "q", "answer": "work\n#### 1,080"}]

    _fake_datasets(monkeypatch, fake_load)
    assert [q.gold for q in load_questions("gsm8k", split="train")] == ["1080"]
    assert calls == [("openai/gsm8k", "main", "train")]
