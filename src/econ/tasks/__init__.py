"""Benchmarks: loading questions, extracting answers from responses, and grading them.

The names below load on first use: `econ.tasks.catalog` (the built-in benchmarks, which the
CLI reads to build its help) must not pull in math-verify and the dataset readers with it.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "Fields": "datasets",
    "Question": "datasets",
    "data_fingerprint": "datasets",
    "load_questions": "datasets",
    "read_run_data": "datasets",
    "ANSWER_TYPES": "grade",
    "Benchmark": "grade",
    "get_benchmark": "grade",
}

__all__ = ["BENCHMARKS", *_HOMES]


def __getattr__(name: str) -> Any:
    if name == "BENCHMARKS":  # the built-in names, as declared now
        return importlib.import_module("econ.tasks.catalog").names()
    if name in _HOMES:
        return getattr(importlib.import_module(f"econ.tasks.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'econ.tasks' has no attribute {name!r}")
