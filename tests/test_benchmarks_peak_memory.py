"""benchmarks/peak_memory.py's sampler: the RSS of a command's whole process tree, read from
/proc. Measured on small `python -c` children of known size; no LLM (about 2 s)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "peak_memory.py"
_spec = importlib.util.spec_from_file_location("peak_memory", SCRIPT)
peak_memory = sys.modules["peak_memory"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(peak_memory)

MB = 1e6


def hold(mb: int, seconds: float = 0.6) -> str:
    """Python code that keeps `mb` MB resident (every page written) for a while."""
    return f"import time; x = b'x' * {mb * 1_000_000}; time.sleep({seconds})"


def test_peak_of_one_process():
    result = peak_memory.measure(
        [sys.executable, "-c", hold(200)], interval=0.05, stdout=subprocess.DEVNULL
    )
    assert result["exit"] == 0 and result["samples"] >= 3
    assert 200 * MB <= result["peak_rss_gb"] * 1e9 <= 320 * MB, result
    assert result["at_peak_gb"]["anon"] * 1e9 >= 200 * MB
    assert len(result["per_process"]) == 1
    assert result["per_process"][0]["peak_rss_gb"] == result["peak_rss_gb"]


def test_children_are_summed_and_listed():
    """A parent of 150 MB starts a child of 100 MB and waits for it: both count at once."""
    child = hold(100)
    parent = (
        f"import subprocess, sys; x = b'y' * 150_000_000; "
        f"subprocess.run([sys.executable, '-c', {child!r}])"
    )
    result = peak_memory.measure([sys.executable, "-c", parent], interval=0.05)
    assert result["exit"] == 0
    peaks = sorted(p["peak_rss_gb"] * 1e9 for p in result["per_process"])
    assert len(peaks) == 2 and peaks[0] >= 100 * MB and peaks[1] >= 150 * MB, result
    assert result["peak_rss_gb"] * 1e9 >= 250 * MB
    assert result["peak_rss_gb"] * 1e9 <= sum(peaks) + 1 * MB


def test_a_failing_command_reports_its_exit_status():
    result = peak_memory.measure([sys.executable, "-c", "raise SystemExit(3)"], interval=0.05)
    assert result["exit"] == 3
