"""Free-text answers (answer_type "text"): extraction falls back from boxed to an answer phrase
to a finished response's last line, and grading is exact after folding case and whitespace."""

from __future__ import annotations

import pytest

from econ.methods.voting import majority
from econ.tasks import get_benchmark
from econ.tasks.extract import extract_text

TEXT = get_benchmark("capitals", "text")


@pytest.mark.parametrize(
    ("response", "answer"),
    [
        ("Paris is on the Seine, so \\boxed{\\text{Paris}}.\nThanks!", "Paris"),
        ("The answer is New York City.\n\nIt is the largest.", "New York City"),
        ("Final answer: **Mount Everest**", "Mount Everest"),
        ("Let's work out the answer:\nthe capital is clear.\n\nCanberra", "Canberra"),
        ("Thinking...\n\n- `Ottawa`.\n\n", "Ottawa"),
        ("Steps.\n> ## Lima", "Lima"),
        ("It is below freezing:\n-5", "-5"),
    ],
)
def test_text_extraction(response, answer):
    assert extract_text(response) == answer
    assert TEXT.extract(response) == answer


def test_a_cut_off_or_commentary_text_needs_an_explicit_answer():
    assert TEXT.extract("Considering Lyon and then", finish_reason="length") is None
    assert TEXT.extract("So \\boxed{Lyon} and then", finish_reason="length") == "Lyon"
    assert TEXT.extract("Solution 2 says Rome.\nRome", explicit_only=True) is None
    assert TEXT.extract("", finish_reason="stop") is None


@pytest.mark.parametrize(
    ("prediction", "gold", "same"),
    [
        ("paris", "Paris", True),
        ("New   York\nCity", "new york city", True),
        ("**Paris**.", "Paris", True),
        ("\\text{Washington, D.C}", "Washington, D.C.", True),
        ("Paris, France", "Paris", False),
        ("Pari", "Paris", False),
        (None, "Paris", False),
    ],
)
def test_text_grading_folds_only_case_whitespace_and_markup(prediction, gold, same):
    assert TEXT.grade(prediction, gold) is same


def test_votes_count_text_answers_that_grade_equal_as_one():
    assert TEXT.normalize("**Paris**.") == TEXT.normalize(" PARIS ") == "paris"
    assert majority(["Rome", "paris", "Paris.", "Rome", "PARIS"], TEXT) == "paris"
    assert TEXT.same_answer("Tokyo", "tokyo") and not TEXT.same_answer("Tokyo", "Kyoto")
