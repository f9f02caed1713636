"""What models write that extraction used to misread: thousands with a space or a LaTeX thin
space, scientific notation, numbers in words, an unevaluated sum in the box, and a refusal
that names the yes/no choice without making it. Each case read wrongly before the fix."""

from __future__ import annotations

import pytest

from econ.tasks import get_benchmark
from econ.tasks.number_text import arithmetic_value, parse_number, words_value

GSM = get_benchmark("gsm8k")
STRATEGY = get_benchmark("strategyqa")


@pytest.mark.parametrize(
    ("response", "answer"),
    [
        ("She has 1 000 apples in all.", "1000"),  # was 0 (the group after the space)
        ("The total is 1\\,000 apples.", "1000"),
        ("The total is 1\u2009250 dollars.", "1250"),
        ("There are 1.2e6 stars in the field.", "1200000"),  # was 6
        ("\\boxed{1.2 \\times 10^6}", "1200000"),  # was 1.2
        ("The population is 3 \\times 10^{4}.", "30000"),  # was 4
        ("The answer is twelve.", "12"),  # was no answer
        ("\\boxed{twenty-one}", "21"),
        ("\\boxed{one hundred and five}", "105"),
        ("The answer is a dozen eggs.", "12"),
        ("She is left with twelve apples.", "12"),  # no digits anywhere: the words count
        ("\\boxed{12 + 6}", "18"),  # was 12
        ("\\boxed{(2 + 3) \\times 4}", "20"),
        ("\\boxed{10 \\div 4}", "2.5"),
        ("Answer: 5 + 7 = 12", "12"),  # an evaluated sum keeps its result
        ("\\boxed{18 (= 9 eggs x $2)}", "18"),  # a note in parentheses stays a note
    ],
)
def test_numbers_are_read_as_written(response, answer):
    assert GSM.extract(response, "stop") == answer


@pytest.mark.parametrize(
    "response",
    [
        "Tom has 5 100-dollar bills",  # two quantities, not 5,100
        "In 2023 100 people came",
    ],
)
def test_a_space_between_quantities_is_not_a_thousands_separator(response):
    assert GSM.extract(response, "stop") == "100"


@pytest.mark.parametrize(
    "response",
    [
        "I cannot answer this with a yes or no.",  # was "no"
        "This is not a yes/no question; it depends on the year.",
        "Yes or no: it is hard to say without more facts.",
        "That is a true or false matter I cannot settle.",
    ],
)
def test_naming_the_yes_no_choice_is_no_verdict(response):
    assert STRATEGY.extract(response, "stop") is None


def test_a_verdict_beside_a_named_choice_still_counts():
    assert STRATEGY.extract("No. A yes or no answer needs the date, which is 1850.") == "no"
    assert STRATEGY.extract("Asked yes or no, the answer is yes.") == "yes"


def test_readers_refuse_what_is_not_a_number():
    assert parse_number("1e999") is None and parse_number("2 \\times 10^{999}") is None
    assert arithmetic_value("2 ** 999999") is None  # no powers: nothing explodes
    assert arithmetic_value("1 / 0") is None and arithmetic_value("__import__('os')") is None
    assert arithmetic_value("12") is None  # a bare number is parse_number's
    assert words_value("twelve apples") is None and words_value("and") is None
