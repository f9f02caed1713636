"""Benchmarks: loading questions, extracting answers from responses, and grading them."""

from econ.tasks.datasets import Fields, Question, data_fingerprint, load_questions, read_run_data
from econ.tasks.grade import ANSWER_TYPES, BENCHMARKS, Benchmark, get_benchmark

__all__ = [
    "ANSWER_TYPES",
    "BENCHMARKS",
    "Benchmark",
    "Fields",
    "Question",
    "data_fingerprint",
    "get_benchmark",
    "load_questions",
    "read_run_data",
]
