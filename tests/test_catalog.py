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
    assert "strategyqa, demo or arith" in " ".join(proc.stdout.split())
