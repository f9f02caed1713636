"""Loading questions from local files in the public record formats, the packaged demo set, and
the hub. The local files are tests/fixtures/: invented rows with the hard cases of the real ones,
so the tests pass on any clone."""

import json
import sys
import types
from pathlib import Path

import pytest

from econ.errors import UserError
from econ.tasks import Question, get_benchmark, load_questions

FIXTURES = Path(__file__).parent / "fixtures"
COUNTS = {"gsm8k": 4, "gsm-hard": 3, "svamp": 4, "math500": 4, "strategyqa": 3}


def fixture(name: str) -> Path:
    return FIXTURES / f"{name}.jsonl"


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_files_load_whole_with_unique_ids(name):
    questions = load_questions(name, fixture(name))
    assert len(questions) == COUNTS[name]
    assert len({q.id for q in questions}) == len(questions)
    assert all(q.benchmark == name and q.question and q.gold for q in questions)


def test_gsm8k_rows():
    first, second = load_questions("gsm8k", fixture("gsm8k"), limit=2)
    assert first == Question(
        id="gsm8k-0",
        question="Priya\u2019s bakery fills 14 trays with 9 rolls each and sells 100 rolls before"
        " noon. How many rolls are left?",
        gold="26",
        benchmark="gsm8k",
    )
    assert (second.id, second.gold) == ("gsm8k-1", "1080")


def test_gsm8k_comma_golds_and_line_separators_inside_records():
    """U+2028 inside a record must not split it (str.splitlines would), and "1,080" is 1080."""
    path = fixture("gsm8k")
    assert path.read_text(encoding="utf-8").count("\u2028") == 2
    questions = load_questions("gsm8k", path)
    assert [q.gold for q in questions] == ["26", "1080", "12500", "1750"]
    assert questions[1].question == (
        "A library has 3 shelves of 360 books each.\u2028How many books are on the shelves?"
    )


def test_gsm_hard_negative_and_float_golds():
    questions = load_questions("gsm-hard", fixture("gsm-hard"))
    assert [q.id for q in questions] == ["gsm-hard-0", "gsm-hard-1", "gsm-hard-2"]
    assert questions[0].gold == "-10123455"
    assert questions[0].question.startswith("A warehouse starts the year owing 2345678")
    assert float(questions[1].gold) == pytest.approx(5061724.699999999, rel=1e-12)
    assert questions[2].gold == "2456789"


def test_svamp_joins_body_and_question():
    first, second, third = load_questions("svamp", fixture("svamp"), limit=3)
    assert first.id == "chal-901" and first.gold == "35"
    assert first.question == (
        "A bus carries 48 passengers. At the first stop 13 passengers get off."
        " How many passengers are left on the bus?"
    )
    assert (second.id, second.gold) == ("chal-902", "2.5")
    assert (third.id, third.gold) == ("chal-903", "43")


def test_math500_latex_golds():
    questions = load_questions("math500", fixture("math500"))
    golds = [r"\left( 4, \pi \right)", "a + b", r"\frac{7}{3}", r"\sqrt{5}"]
    assert [q.gold for q in questions] == golds
    assert questions[0].question.startswith("Convert the point $(-4,0)$")
    assert questions[2].id == "math500-2"


def test_strategyqa_boolean_golds():
    questions = load_questions("strategyqa", fixture("strategyqa"))
    assert [(q.id, q.gold) for q in questions] == [
        ("a1f3c9e07b2d4c5e6f10", "yes"),
        ("b27e4d10c3a95f8e1d22", "no"),
        ("c3907b5a2e14d6f0a833", "yes"),
    ]
    assert questions[1].question.startswith("Would a penguin need a passport")


def test_limit_takes_first_rows_in_file_order():
    path = fixture("svamp")
    whole = load_questions("svamp", path)
    assert load_questions("svamp", path, limit=2) == whole[:2]
    assert load_questions("svamp", str(path), limit=0) == []
    assert load_questions("svamp", path, limit=10_000) == whole


def test_ids_are_stable_across_loads():
    path = fixture("math500")
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
