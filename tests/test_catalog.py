"""A built-in benchmark is declared in one place: declaring one is enough for the loader,
the grader and the CLI's help to know it."""

from __future__ import annotations

import json
import subprocess
import sys

from econ.tasks import catalog, get_benchmark, load_questions
from econ.tasks.rows import field, number_gold, text

DECLARE = """
from econ.tasks import catalog
from econ.tasks.rows import field, number_gold, text

def read(row, index):
    return f"arith-{index}", text(row, "q"), number_gold(field(row, "a"))

catalog.declare(catalog.Declared("arith", "numeric", read, "sums written out in words"))
"""


def test_a_declared_benchmark_is_known_to_the_loader_the_grader_and_help(tmp_path):
    data = tmp_path / "arith.jsonl"
    data.write_text(json.dumps({"q": "What is two plus two?", "a": "4"}) + "\n")

    def read(row, index):
        return f"arith-{index}", text(row, "q"), number_gold(field(row, "a"))

    catalog.declare(catalog.Declared("arith", "numeric", read, "sums written out in words"))
    try:
        (q,) = load_questions("arith", data)
        assert (q.id, q.gold, q.benchmark) == ("arith-0", "4", "arith")
        bench = get_benchmark("arith")
        assert bench.kind == "numeric" and bench.grade(bench.extract("so \\boxed{4.0}"), q.gold)
        assert "arith" in catalog.help_text()
    finally:
        del catalog.BUILTIN["arith"]
    # the CLI builds its help from the table: declared before it is built, it is listed
    code = DECLARE + "\nfrom econ.cli import app\napp(['eval', '--help'], prog_name='econ')\n"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"COLUMNS": "200"}
    )
    assert proc.returncode == 0, proc.stderr
    assert "strategyqa, travelplanner, demo or arith" in " ".join(proc.stdout.split())


def test_a_declared_method_is_known_to_help_the_builder_and_rescore():
    """A method outside the package: its class with `from_config`, and one `declare`."""
    code = """
import sys, types
from econ.methods import catalog
from econ.methods.base import Method, Solution

class Echo(Method):
    name = "echo"
    @classmethod
    def from_config(cls, cfg, make_llm):
        return cls()
    async def solve(self, question, benchmark, log):
        return Solution("42")
    @staticmethod
    def replay(calls, benchmark, settings=None):
        return Solution("42")

module = types.ModuleType("echo_method")
module.Echo = Echo
sys.modules["echo_method"] = module
catalog.declare(catalog.Declared("echo", "always answers 42", "echo_method:Echo"))

from econ.config import RunConfig
from econ.methods.build import build_method, method_class
assert isinstance(build_method("echo", RunConfig()), Echo)
assert method_class("echo").replay([], None).prediction == "42"
from econ.cli import app
app(["eval", "--help"], prog_name="econ")
"""
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"COLUMNS": "200"}
    )
    assert proc.returncode == 0, proc.stderr
    assert "econ-nostrategy, echo" in " ".join(proc.stdout.split())
