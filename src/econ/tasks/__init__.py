"""Benchmarks: loading questions, extracting answers from responses, and grading them."""

from econ.tasks.datasets import Question, load_questions
from econ.tasks.grade import BENCHMARKS, Benchmark, get_benchmark

__all__ = ["BENCHMARKS", "Benchmark", "Question", "get_benchmark", "load_questions"]
