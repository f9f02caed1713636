"""Benchmarks and how their answers are compared (docs/how_econ_works.md, answer extraction).

Numbers compare numerically with a relative tolerance, math500 answers symbolically with
math-verify, yes/no answers by their normalized word, free text exactly after folding case
and whitespace. ``normalize`` gives the key that majority votes count, so it must map
answers that grade equal onto the same string. A benchmark of your own names one of these
answer types (config ``run.answer_type``) and needs no code.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from math_verify import parse, verify

from econ.errors import UserError
from econ.tasks import catalog
from econ.tasks.extract import (
    extract_math,
    extract_mixed,
    extract_numeric,
    extract_text,
    extract_yesno,
    format_number,
    parse_number,
    plain_latex,
    text_answer,
    to_yesno,
    unwrap_text,
)
from econ.tasks.plans.checks import verdict
from econ.tasks.plans.schema import dump_plan, extract_plan, load_plan

# math-verify logs a warning whenever its timeouts are off (which they must be outside the
# main thread) and on each timeout; both only mean "not equal" to us, so keep them off stderr.
logging.getLogger("math_verify").setLevel(logging.ERROR)

_MATH_TIMEOUT_S = 5
_MATH_NOISE = (
    "\\left",
    "\\right",
    "\\!",
    "\\,",
    "\\;",
    "\\:",
    "\\ ",
    "$",
    "^\\circ",
    "^{\\circ}",
    "\\%",
)
_PLAIN_NUMBER_RE = re.compile(r"-?[\d,]*\.?\d+")

_EXTRACTORS: dict[str, Callable[[str], str | None]] = {
    "numeric": extract_numeric,
    "math": extract_math,
    "yesno": extract_yesno,
    "mixed": extract_mixed,
    "text": extract_text,
    "plan": lambda text, finished, explicit_only: extract_plan(text, finished),
}
# Config `run.answer_type` -> Benchmark.kind, for benchmarks of your own.
ANSWER_TYPES: dict[str, str] = {
    "number": "numeric",
    "yes-no": "yesno",
    "math": "math",
    "text": "text",
}
# A benchmark of your own names run directories (runs/<time>-<benchmark>-...), so no slashes.
_OWN_NAME_RE = re.compile(r"[A-Za-z0-9][\w.-]*")


@dataclass(frozen=True)
class Benchmark:
    """A benchmark's answer format: how to extract, compare and vote on answers.

    ``kind`` is "numeric", "math", "yesno", "text", "mixed" (the demo set: yes/no where
    the gold is yes/no, numeric otherwise), or "plan" (TravelPlanner: a plan in JSON, correct
    when it passes every constraint of its query, `econ.tasks.plans.checks`). Numbers are equal
    within ``rel_tol`` of the larger or within ``abs_tol``. GSM-Hard's golds are floats
    computed by a program (3244047.0999999996, often above 1e6), so a relative slack would
    accept answers off by hundreds: there numbers are equal when they agree to half a cent
    (abs_tol 0.005) and nothing relative.
    """

    name: str
    kind: str
    rel_tol: float = 1e-6
    abs_tol: float = 1e-9

    def extract(
        self, text: str, finish_reason: str | None = None, *, explicit_only: bool = False
    ) -> str | None:
        """Final answer stated in a model response, None when there is none.

        ``finish_reason`` "length" marks a response cut off at the token limit: only an
        explicit answer counts then. ``explicit_only`` ignores bare numbers and yes/no words
        everywhere (for a coordinator's commitment, whose prose discusses other answers).
        """
        finished = finish_reason != "length"
        return _EXTRACTORS[self.kind](text, finished, explicit_only)

    def grade(self, prediction: str | None, gold: str) -> bool:
        """Whether the prediction is the gold answer; a missing prediction is wrong."""
        if prediction is None:
            return False
        if self.kind == "plan":
            return verdict(prediction, gold).final_pass
        if self.kind == "math":
            return _math_equal(gold, prediction)
        if self.kind == "yesno" or (self.kind == "mixed" and _is_yesno(gold)):
            return to_yesno(prediction) is not None and to_yesno(prediction) == to_yesno(gold)
        if self.kind == "text":
            return self.normalize(prediction) == self.normalize(gold)
        return self._numbers_equal(prediction, gold)

    def same_answer(self, a: str | None, b: str | None) -> bool:
        """Whether two predictions give the same answer; None never equals anything."""
        if a is None or b is None:
            return False
        if self.kind == "math":
            return _math_equal(a, b)
        if self.kind == "plan":
            return self.normalize(a) is not None and self.normalize(a) == self.normalize(b)
        if self.kind in ("numeric", "mixed") and self._numbers_equal(a, b):
            return True
        return self.normalize(a) == self.normalize(b)

    def normalize(self, answer: str | None) -> str | None:
        """Voting key: answers that are the same map to the same string."""
        if answer is None:
            return None
        if self.kind == "plan":
            plan = load_plan(answer)
            return dump_plan(plan) if plan is not None else None
        if self.kind == "math":
            return _normalize_math(answer)
        if self.kind == "text":
            return " ".join(text_answer(answer).casefold().split())
        if self.kind in ("numeric", "mixed"):
            value = parse_number(answer)
            if value is not None:
                return format_number(value)
        if self.kind in ("yesno", "mixed"):
            word = to_yesno(answer)
            if word is not None:
                return word
        return " ".join(unwrap_text(answer).lower().split())

    def _numbers_equal(self, a: str, b: str) -> bool:
        x, y = parse_number(a), parse_number(b)
        if x is None or y is None:
            return False
        return math.isclose(x, y, rel_tol=self.rel_tol, abs_tol=self.abs_tol)


_built: dict[str, tuple[catalog.Declared, Benchmark]] = {}


def _builtin(name: str) -> Benchmark | None:
    """The built-in benchmark of that name, as `econ.tasks.catalog` declares it (one
    instance per declaration)."""
    declared = catalog.BUILTIN.get(name)
    if declared is None:
        return None
    if name not in _built or _built[name][0] is not declared:
        bench = Benchmark(declared.name, declared.kind, declared.rel_tol, declared.abs_tol)
        _built[name] = (declared, bench)
    return _built[name][1]


def get_benchmark(name: str, answer_type: str | None = None) -> Benchmark:
    """The built-in benchmark called ``name``, or with ``answer_type`` (config
    ``run.answer_type``) a benchmark of your own of that name; a UserError saying what is
    valid otherwise.

    A built-in benchmark keeps its own answer format (GSM-Hard's tolerance, the demo set's
    mix), so an answer type that contradicts it is refused rather than ignored.
    """
    builtin = _builtin(name)
    if builtin is not None:
        if answer_type is not None and ANSWER_TYPES.get(answer_type) != builtin.kind:
            raise UserError(
                f"run.answer_type {answer_type!r} does not fit benchmark {name!r}, which "
                f"compares {builtin.kind} answers; name a benchmark of your own instead "
                "(e.g. --benchmark custom)"
            )
        return builtin
    if answer_type is None:
        raise UserError(
            f"unknown benchmark {name!r}; valid benchmarks: {', '.join(catalog.names())}, or a "
            f"name of your own with run.answer_type ({', '.join(ANSWER_TYPES)}), "
            "run.question_field and run.answer_field"
        )
    if answer_type not in ANSWER_TYPES:
        raise UserError(f"unknown answer type {answer_type!r}; valid: {', '.join(ANSWER_TYPES)}")
    if not _OWN_NAME_RE.fullmatch(name):
        raise UserError(f"benchmark name {name!r} may hold only letters, digits, '.', '_' and '-'")
    return Benchmark(name, ANSWER_TYPES[answer_type])


def _is_yesno(gold: str) -> bool:
    return gold.strip().lower() in ("yes", "no")


def _normalize_math(answer: str) -> str:
    """LaTeX with spacing, sizing, ``\\text`` wrappers and ``$`` removed; plain numbers
    in canonical form ("1,000.0" -> "1000")."""
    s = plain_latex(answer)
    for token in _MATH_NOISE:
        s = s.replace(token, "")
    s = "".join(s.split()).rstrip(".")
    if _PLAIN_NUMBER_RE.fullmatch(s):
        value = parse_number(s)
        if value is not None:
            return format_number(value)
    return s


def _math_timeout() -> int | None:
    """math-verify's timeouts use SIGALRM, which only works on the main thread; elsewhere
    (graders run from worker threads too) they must be off, or every call would fail."""
    return _MATH_TIMEOUT_S if threading.current_thread() is threading.main_thread() else None


@lru_cache(maxsize=4096)
def _parse_latex(answer: str) -> tuple:
    try:
        return tuple(parse("$" + answer + "$", parsing_timeout=_math_timeout()))
    except Exception:  # math-verify raises assorted errors on odd LaTeX; treat as unparseable
        return ()


def _math_equal(gold: str, prediction: str) -> bool:
    """Symbolic equality via math-verify, with normalized string equality as the fallback."""
    if _normalize_math(gold) == _normalize_math(prediction):
        return True
    gold_parsed, pred_parsed = _parse_latex(gold), _parse_latex(prediction)
    if not gold_parsed or not pred_parsed:
        return False
    try:
        return verify(list(gold_parsed), list(pred_parsed), timeout_seconds=_math_timeout())
    except Exception:  # a failed comparison means we cannot call them equal
        return False
