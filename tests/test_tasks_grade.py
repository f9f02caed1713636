"""Grading, answer equality and voting keys for each benchmark kind."""

import asyncio
import threading

import pytest

from econ.errors import UserError
from econ.tasks import BENCHMARKS, Benchmark, get_benchmark

GSM = get_benchmark("gsm8k")
HARD = get_benchmark("gsm-hard")
MATH = get_benchmark("math500")
YESNO = get_benchmark("strategyqa")
DEMO = get_benchmark("demo")


def test_registry():
    assert BENCHMARKS == (
        "gsm8k",
        "gsm-hard",
        "svamp",
        "math500",
        "strategyqa",
        "travelplanner",
        "demo",
    )
    assert {name: get_benchmark(name).kind for name in BENCHMARKS} == {
        "gsm8k": "numeric",
        "gsm-hard": "numeric",
        "svamp": "numeric",
        "math500": "math",
        "strategyqa": "yesno",
        "travelplanner": "plan",
        "demo": "mixed",
    }
    assert (HARD.rel_tol, HARD.abs_tol) == (0.0, 0.005) and GSM.rel_tol == 1e-6


def test_unknown_benchmark_lists_valid_names():
    with pytest.raises(UserError) as info:
        get_benchmark("gsm9k")
    message = str(info.value)
    assert "gsm9k" in message and "\n" not in message
    assert all(name in message for name in BENCHMARKS)


@pytest.mark.parametrize(
    ("prediction", "gold"),
    [
        ("1,234", "1234"),
        ("$5", "5"),
        (r"\$5", "5"),
        ("5%", "5"),
        ("5.0", "5"),
        ("2.50", "2.5"),
        ("-7", "-7"),
        ("3/4", "0.75"),
        (r"\frac{3}{4}", "0.75"),
        ("18 dollars", "18"),
        ("1000.0000001", "1000"),
    ],
)
def test_numeric_equal(prediction, gold):
    assert GSM.grade(prediction, gold)


@pytest.mark.parametrize(
    ("prediction", "gold"),
    [
        (None, "5"),
        ("", "5"),
        ("6", "5"),
        ("-5", "5"),
        ("5.01", "5"),
        ("five", "5"),
        ("1001", "1000"),
    ],
)
def test_numeric_wrong(prediction, gold):
    assert not GSM.grade(prediction, gold)


def test_gsm_hard_tolerance_is_to_the_cent():
    gold = "14053029.6666667"
    assert HARD.grade("14053029.67", gold)
    assert not HARD.grade("14053000", gold)  # off by 29.67: a relative 1e-4 would accept it
    assert not HARD.grade("14052900", gold)
    assert HARD.grade("3244047.1", "3244047.0999999996")  # float noise in the gold
    assert not HARD.grade("3244047", "3244047.0999999996")
    assert HARD.grade("-9867630", "-9867630")


def test_no_answer_is_graded_wrong_everywhere():
    for name in BENCHMARKS:
        benchmark = get_benchmark(name)
        response = "I am not sure how to approach this."
        assert benchmark.extract(response) is None
        assert not benchmark.grade(benchmark.extract(response), "5")
        assert not benchmark.grade(None, "yes")


@pytest.mark.parametrize(
    ("prediction", "gold"),
    [
        ("0.5", r"\frac{1}{2}"),
        (r"\dfrac12", r"\frac{1}{2}"),
        ("(3,-1)", "(3, -1)"),
        ("1+x^2", "x^2+1"),
        (r"(3, \pi/2)", r"\left( 3, \frac{\pi}{2} \right)"),
        ("-q + p", "p - q"),
        ("10080", r"10,\!080"),
        ("Evelyn", r"\text{Evelyn}"),
        ("90", r"90^\circ"),
        ("-2, 1", "1,-2"),
        (r"\frac{270}{7}", r"\frac{270}7\text{ degrees}"),
        ("5.0", "5"),
    ],
)
def test_math_equivalent(prediction, gold):
    assert MATH.grade(prediction, gold)


@pytest.mark.parametrize(
    ("prediction", "gold"),
    [
        ("(-1,3)", "(3,-1)"),
        ("x^2-1", "x^2+1"),
        ("0.51", r"\frac{1}{2}"),
        ("(3,4)", "(3,4]"),
        ("west", r"\text{east}"),
        (r"\frac{1}{", r"\frac{1}{2}"),
    ],
)
def test_math_different(prediction, gold):
    assert not MATH.grade(prediction, gold)


def test_math_grading_works_off_the_main_thread():
    """math-verify's signal timeouts fail outside the main thread; grading must not."""
    results = []
    worker = threading.Thread(target=lambda: results.append(MATH.grade("1+x^2", "x^2+1")))
    worker.start()
    worker.join()
    assert results == [True]

    async def grade_in_thread():
        return await asyncio.to_thread(MATH.grade, r"\dfrac{6}{4}", r"\frac{3}{2}")

    assert asyncio.run(grade_in_thread())


@pytest.mark.parametrize(
    ("prediction", "gold", "correct"),
    [
        ("yes", "yes", True),
        ("Yes.", "yes", True),
        ("TRUE", "yes", True),
        ("**No**", "no", True),
        ("false", "no", True),
        ("yes", "no", False),
        ("maybe", "no", False),
        ("", "yes", False),
    ],
)
def test_yesno_grade(prediction, gold, correct):
    assert YESNO.grade(prediction, gold) is correct


def test_demo_grades_by_the_gold_kind():
    assert DEMO.grade("yes", "yes") and not DEMO.grade("no", "yes")
    assert DEMO.grade("27.750", "27.75") and not DEMO.grade("yes", "27.75")
    assert not DEMO.grade("1", "yes")


def test_same_answer_and_normalize_agree():
    assert GSM.same_answer("1,000.0", "1000") and GSM.normalize("1,000.0") == "1000"
    assert GSM.normalize("$18") == GSM.normalize("18 dollars") == "18"
    assert GSM.normalize("3/4") == GSM.normalize(r"\frac{3}{4}") == "0.75"
    assert not GSM.same_answer("5", "6")
    assert YESNO.same_answer("Yes", "true") and YESNO.normalize("True.") == "yes"
    assert not YESNO.same_answer("yes", "no")
    assert MATH.same_answer(r"\dfrac{1}{2}", "0.5") and not MATH.same_answer("1", "2")
    assert MATH.normalize(r"\left( 3, \dfrac{1}{2} \right)") == r"(3,\frac{1}{2})"
    assert MATH.normalize(r"10,\!080") == MATH.normalize("10080.0") == "10080"
    assert MATH.normalize(r"\text{east}") == "east"
    assert DEMO.normalize("Yes") == "yes" and DEMO.normalize("$21.50") == "21.5"
    assert HARD.same_answer("100000.001", "100000") and not HARD.same_answer("100000", "100001")


def test_none_never_equals_anything():
    for name in BENCHMARKS:
        benchmark = get_benchmark(name)
        assert not benchmark.same_answer(None, None)
        assert not benchmark.same_answer(None, "5")
        assert not benchmark.same_answer("yes", None)
        assert benchmark.normalize(None) is None


def test_benchmark_is_frozen():
    with pytest.raises(AttributeError):
        GSM.rel_tol = 0.5  # type: ignore[misc]
    assert Benchmark("x", "numeric").rel_tol == 1e-6
