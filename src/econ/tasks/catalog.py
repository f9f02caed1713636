"""The built-in benchmarks, each declared once: how its answers are compared, where its data
lives on the hub, how a row of its public record format becomes a question, and its line of
help. `econ.tasks.get_benchmark`, the loader (`econ.tasks.datasets`) and `--help` all read
this table, so adding a benchmark means adding one `declare(...)` here (or calling it before
the CLI is built) and nothing else.

This module stays light (no math-verify, no datasets): the CLI reads it to build its help.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from econ.tasks.rows import Parser, RowError, field, number_gold, text, yesno_gold
from econ.tasks.sources import HubHome


@dataclass(frozen=True)
class Declared:
    """One built-in benchmark. `kind` is the answer kind grading knows (numeric, yesno, math,
    text, mixed, plan); tolerances apply to numeric answers."""

    name: str
    kind: str
    read_row: Parser  # (row, index) -> (question id, question, canonical gold)
    help: str
    hub: HubHome | None = None  # None: no hub dataset (packaged, or --data only)
    packaged: str | None = None  # its data shipped in econ.tasks (a path inside the package)
    rel_tol: float = 1e-6
    abs_tol: float = 1e-9


BUILTIN: dict[str, Declared] = {}


def declare(benchmark: Declared) -> Declared:
    """Add a built-in benchmark (or replace one of the same name)."""
    BUILTIN[benchmark.name] = benchmark
    return benchmark


def names() -> tuple[str, ...]:
    return tuple(BUILTIN)


def help_text() -> str:
    """The built-in names as the CLI's help lists them ("a, b or c")."""
    listed = list(BUILTIN)
    return ", ".join(listed[:-1]) + " or " + listed[-1] if len(listed) > 1 else "".join(listed)


def _gsm8k(row: dict[str, Any], index: int) -> tuple[str, str, str]:
    answer = text(row, "answer")
    if "####" not in answer:
        raise RowError("unparseable gold answer: no '####' in field 'answer'")
    gold = number_gold(answer.rsplit("####", 1)[1].strip().replace(",", ""))
    return f"gsm8k-{index}", text(row, "question"), gold


def _gsm_hard(row: dict[str, Any], index: int) -> tuple[str, str, str]:
    return f"gsm-hard-{index}", text(row, "input"), number_gold(field(row, "target"))


def _svamp(row: dict[str, Any], index: int) -> tuple[str, str, str]:
    question = text(row, "Body") + " " + text(row, "Question")
    return str(field(row, "ID")), question, number_gold(field(row, "Answer"))


def _math500(row: dict[str, Any], index: int) -> tuple[str, str, str]:
    return f"math500-{index}", text(row, "problem"), text(row, "answer")


def _strategyqa(row: dict[str, Any], index: int) -> tuple[str, str, str]:
    return str(field(row, "qid")), text(row, "question"), yesno_gold(field(row, "answer"))


def _demo(row: dict[str, Any], index: int) -> tuple[str, str, str]:
    kind = field(row, "kind")
    if kind not in ("numeric", "yesno"):
        raise RowError(f"field 'kind' is {kind!r}, expected 'numeric' or 'yesno'")
    answer = field(row, "answer")
    gold = yesno_gold(answer) if kind == "yesno" else number_gold(answer)
    return str(field(row, "id")), text(row, "question"), gold


def _travelplanner(row: dict[str, Any], index: int) -> tuple[str, str, str]:
    from econ.tasks.plans import read_row

    return read_row(row, index)


declare(
    Declared(
        "gsm8k",
        "numeric",
        _gsm8k,
        "grade-school math word problems (openai/gsm8k)",
        HubHome("openai/gsm8k", "main"),
    )
)
# GSM-Hard's golds are floats computed by a program (3244047.0999999996): half a cent, absolute.
# It publishes its test problems as the hub's only split, "train".
declare(
    Declared(
        "gsm-hard",
        "numeric",
        _gsm_hard,
        "GSM8K with large numbers (gsm-hard)",
        HubHome("reasoning-machines/gsm-hard", split_names={"test": "train"}),
        rel_tol=0.0,
        abs_tol=0.005,
    )
)
declare(
    Declared(
        "svamp",
        "numeric",
        _svamp,
        "varied arithmetic word problems (SVAMP)",
        HubHome("ChilleD/SVAMP"),
    )
)
declare(
    Declared(
        "math500",
        "math",
        _math500,
        "competition math, compared symbolically",
        HubHome("HuggingFaceH4/MATH-500"),
    )
)
declare(
    Declared(
        "strategyqa",
        "yesno",
        _strategyqa,
        "yes/no questions needing several facts",
        HubHome("ChilleD/StrategyQA"),
    )
)
# Plans, not short answers: a row is a query with its reference information, graded by the
# benchmark's constraints (econ.tasks.plans). The test split's gold is the authors' leaderboard,
# so the hub default is the validation set (--data osunlp/TravelPlanner:train --split train for
# the 45 annotated training queries).
declare(
    Declared(
        "travelplanner",
        "plan",
        _travelplanner,
        "trip plans under constraints, sole-planning (TravelPlanner)",
        HubHome("osunlp/TravelPlanner", "validation", split_names={"test": "validation"}),
    )
)
declare(
    Declared(
        "demo",
        "mixed",
        _demo,
        "24 questions shipped in the package, offline",
        packaged="data/demo.jsonl",
    )
)
