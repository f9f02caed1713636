"""Reading one row of a dataset: the fields a question needs and its gold answer in canonical
form. Shared by the built-in benchmarks' row readers (`econ.tasks.catalog`) and the fields a
benchmark of your own names (`econ.tasks.datasets`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from econ.tasks.number_text import format_number, parse_number


class RowError(Exception):
    """A record lacks what its benchmark needs; the loader adds where it came from."""


# A row and its index -> (question id, question, canonical gold).
Parser = Callable[[dict[str, Any], int], tuple[str, str, str]]


def field(row: dict[str, Any], name: str) -> Any:
    if name not in row or row[name] is None:
        raise RowError(f"missing field {name!r}")
    return row[name]


def text(row: dict[str, Any], name: str) -> str:
    value = field(row, name)
    if not isinstance(value, str) or not value.strip():
        raise RowError(f"field {name!r} is not a non-empty string")
    return value.strip()


def number_gold(value: Any) -> str:
    number = None
    if isinstance(value, str):
        number = parse_number(value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond any float: no answer can be graded to it
            number = None
    if number is None or not math.isfinite(number):
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        raise RowError(f"unparseable gold answer {shown}")
    return format_number(number)


def yesno_gold(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and value.strip().lower() in ("yes", "no", "true", "false"):
        return "yes" if value.strip().lower() in ("yes", "true") else "no"
    raise RowError(f"unparseable gold answer {value!r} (expected true/false)")


def id_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise RowError(f"id {value!r} is not a non-empty string or an integer")
    return str(value).strip()


def literal_gold(value: Any) -> str:
    """A math or free-text gold as written; a number stored as one (JSON, Parquet) in its
    canonical spelling."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return format_number(float(value))
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise RowError(f"unparseable gold answer {value!r}")


def mixed_gold(value: Any) -> str:
    """The demo set's kind: yes/no where the gold says so, a number otherwise."""
    try:
        return yesno_gold(value)
    except RowError:
        return number_gold(value)


# Benchmark.kind -> the canonical gold of a row's answer field.
GOLDS: dict[str, Callable[[Any], str]] = {
    "numeric": number_gold,
    "yesno": yesno_gold,
    "math": literal_gold,
    "text": literal_gold,
    "mixed": mixed_gold,
}
