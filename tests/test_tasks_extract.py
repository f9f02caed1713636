"""Answer extraction from model responses: boxed, "answer is", last number, yes/no."""

import pytest

from econ.tasks import get_benchmark
from econ.tasks.extract import format_number, last_boxed, parse_number, unwrap_text

GSM = get_benchmark("gsm8k")
MATH = get_benchmark("math500")
YESNO = get_benchmark("strategyqa")
DEMO = get_benchmark("demo")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"so \boxed{\frac{1}{2}}.", r"\frac{1}{2}"),
        (r"\boxed{\frac{\sqrt{3}}{2}} done", r"\frac{\sqrt{3}}{2}"),
        (r"first \boxed{3}, then \boxed{7}", "7"),
        (r"\fbox{12}", "12"),
        (r"$\boxed 42$", "42"),
        (r"\boxed{\{1, 2\}}", r"\{1, 2\}"),
        (r"\boxed{ 5 }", "5"),
        (r"unclosed \boxed{3", None),
        (r"\boxed{4} and unclosed \boxed{3", "4"),
        (r"\boxedx{3}", None),
        ("no box here", None),
    ],
)
def test_last_boxed(text, expected):
    assert last_boxed(text) == expected


def test_unwrap_text_removes_nested_wrappers():
    assert unwrap_text(r"\text{18 \textbf{dollars}} left") == "18 dollars left"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1,234", 1234.0),
        ("$5", 5.0),
        (r"\$5", 5.0),
        ("5%", 5.0),
        (r"5\%", 5.0),
        ("-7", -7.0),
        ("\u22127", -7.0),
        ("2.50", 2.5),
        ("3/4", 0.75),
        (r"\frac{3}{4}", 0.75),
        (r"-\dfrac{3}{4}", -0.75),
        (r"\frac12", 0.5),
        ("18 dollars", 18.0),
        ("5 cm", 5.0),
        (r"\text{5 cm}", 5.0),
        ("(-5)", -5.0),
        ("1e+20", 1e20),
        ("7.", 7.0),
    ],
)
def test_parse_number(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize(
    "text", ["", "abc", "1/0", "inf", "nan", "1,2", "3 + 4", r"\frac{1}", None]
)
def test_parse_number_rejects_non_numbers(text):
    assert parse_number(text) is None


@pytest.mark.parametrize(
    ("value", "text"),
    [(5.0, "5"), (-3.5, "-3.5"), (0.1 + 0.2, "0.3"), (-0.0, "0"), (1e20, "100000000000000000000")],
)
def test_format_number(value, text):
    assert format_number(value) == text


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (r"Half of it: \boxed{\frac{1}{2}}", "0.5"),
        (r"\boxed{1,000}", "1000"),
        (r"Maybe \boxed{3}. No wait, \boxed{4}.", "4"),
        (r"\boxed{\$18}", "18"),
        (r"\boxed{18 \text{ dollars}}", "18"),
        (r"\boxed{5.0}", "5"),
        (r"\boxed{x = 12}", "12"),
        (r"\boxed{-7}", "-7"),
        ("The answer is 42.", "42"),
        ("The answer is: **-7**.", "-7"),
        ("**Answer:** $1,250.50", "1250.5"),
        ("The final answer is 18 dollars per day.", "18"),
        ("So the answer is 3 + 4 = 7.", "7"),
        ("The answer is 5, and 10 was wrong.", "5"),
        # a hedge inside a sentence is not an answer: the bare fallback reads the last number
        ("I think the answer is 5, and 10 was wrong.", "10"),
        ("She makes 9 * 2 = $18 every day.", "18"),
        ("It rose 20% to 60 cm.", "60"),
        ("It is 2.50.", "2.5"),
        ("The temperature drops to -5 degrees.", "-5"),
        ("16 - 3 - 4", "4"),
        ("Each gets 3/4", "0.75"),
        ("There are 1,200 apples", "1200"),
        ("\u22123 is the result", "-3"),
        ("To answer this, we add 2 and 3 to get 5", "5"),
        ("I cannot solve this.", None),
        ("", None),
        (r"\boxed{\text{eighteen}} or 18", "18"),
    ],
)
def test_extract_numeric(response, expected):
    assert GSM.extract(response) == expected


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("Yes.", "yes"),
        ("**No**", "no"),
        ("True", "yes"),
        ("false", "no"),
        (r"\boxed{no}", "no"),
        (r"\boxed{\text{Yes}}", "yes"),
        ("The answer is no, even though yes seemed likely.", "no"),
        ("Yes at first glance... but on reflection, no.", "no"),
        (r"\boxed{yes} Actually the nose knows: no", "yes"),
        ("Answer: TRUE", "yes"),
        ("I do not know.", None),
        ("Nothing notable here.", None),
    ],
)
def test_extract_yesno(response, expected):
    assert YESNO.extract(response) == expected


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (r"\boxed{\frac{1}{2}}", r"\frac{1}{2}"),
        (r"\boxed{(3, -1)}", "(3, -1)"),
        (r"\boxed{x^2+1}", "x^2+1"),
        (r"The answer is $\frac{14}{3}$.", r"\frac{14}{3}"),
        ("The final answer is 3.21.", "3.21"),
        ("so we get 9 in the end", "9"),
        ("no idea", None),
    ],
)
def test_extract_math_keeps_latex(response, expected):
    assert MATH.extract(response) == expected


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (r"\boxed{yes}", "yes"),
        (r"\boxed{27.75}", "27.75"),
        ("The answer is No.", "no"),
        ("The answer is $34.", "34"),
        ("3 > 2, so yes", "yes"),
        ("Yes, she pays 21.5", "21.5"),
        ("nothing", None),
    ],
)
def test_extract_mixed_demo(response, expected):
    assert DEMO.extract(response) == expected


# ---- failure classes seen in real model output (cases written for these tests) -------------


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        # a leading verdict wins over yes/no words in the explanation after it
        ("Yes. Penguins cannot fly, but no bird is false about it.", "yes"),
        ("No, because a true octopus has no bones.", "no"),
        ("**No**\n\nIt is true that yes-men exist, but...", "no"),
        (
            "Final answer - Yes\n\nExplanation: no mammal lays eggs? False, the platypus does.",
            "yes",
        ),
        ("Answer: No. True, some of them do; yes, rarely.", "no"),
        # prose that mentions an answer is not an answer phrase
        ("One might think the answer is yes, but salt water freezes lower. So: no.", "no"),
        # an explicit phrase still beats the leading verdict
        ("Yes at first. Thinking again, the answer is no.", "no"),
    ],
)
def test_yesno_verdicts(response, expected):
    assert YESNO.extract(response, "stop") == expected


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        # explicit answer followed by a check, a parenthetical, a year or a note
        ("The answer is 18 (= 9 eggs x $2).", "18"),
        (
            "So the answer is 18.\n\nCheck: 16 - 3 - 4 = 9 eggs, 9 x 2 = 18. Prices as of 2023.",
            "18",
        ),
        ("Final answer: 42\n\nNote: this assumes 365 days in 2021.", "42"),
        ("#### 72", "72"),
        ("She earns 36 a week.\n#### 36\nThat is 4 weeks of 9.", "36"),
        # headings and prose around the word "answer"
        ("Let's work out the answer:\nFirst she buys 3, then 4 more, so 7.", "7"),
        ("The answer is found by adding 12 and 30, which gives 42.", "42"),
        ("The answer is not 20 but 18", "18"),
        # signs behind currency
        ("She lost -$42 on the deal.", "-42"),
        ("The answer is -$9,867,630.", "-9867630"),
        (r"The total change is -\$15.", "-15"),
    ],
)
def test_explicit_numeric_answers(response, expected):
    assert GSM.extract(response, "stop") == expected


def test_cut_off_response_without_explicit_answer_has_none():
    cut = "First 16 - 3 = 13, then 13 - 4 = 9, then 9 * 2 = 18, and then again 18"
    assert GSM.extract(cut, "length") is None
    assert GSM.extract(cut, "stop") == "18"
    assert GSM.extract(r"So \boxed{18}. Let me double check 9 * 2 = 1", "length") == "18"
    assert YESNO.extract("Let us think: yes, whales", "length") is None
    assert MATH.extract("We get $2\\sqrt{3}$ and then", "length") is None


def test_explicit_only_ignores_commentary():
    commentary = "Solution 1 and Solution 2 are correct. Solution 3 is also correct."
    assert GSM.extract(commentary, "stop", explicit_only=True) is None
    assert GSM.extract(commentary + " The answer is 4.5.", "stop", explicit_only=True) == "4.5"
    assert YESNO.extract("Yes. All three agree.", "stop", explicit_only=True) == "yes"


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("The final answer is:\n\\[ \\frac{14}{3} \\]", r"\frac{14}{3}"),
        ("Final answer: \\( x^2 + 1 \\)", "x^2 + 1"),
        ("So the side is $2\\sqrt{3}$.", r"2\sqrt{3}"),
        ("Thus the length is $2\\sqrt{3}$ units, since 12 = 4 * 3.", r"2\sqrt{3}"),
    ],
)
def test_math_unboxed_latex(response, expected):
    assert MATH.extract(response, "stop") == expected
