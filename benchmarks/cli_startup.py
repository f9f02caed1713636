"""Wall time of `econ ... --help` and `econ --version`: what a user waits for before any work.

Each command runs as a fresh process (the installed `econ` entry point of this interpreter's
environment), `--repeat` times; the median is printed, so one slow start on a busy machine
does not decide the figure. The target is under 1 s for every command: help must not import
torch, sentence-transformers, math-verify or the methods.

Usage: python benchmarks/cli_startup.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = [
    ["--help"],
    ["--version"],
    ["eval", "--help"],
    ["compare", "--help"],
    ["solve", "--help"],
    ["train", "--help"],
    ["rescore", "--help"],
    ["view", "--help"],
    ["models", "list", "--help"],
    ["models", "fetch", "--help"],
]


def wall_s(argv: list[str]) -> tuple[float, int]:
    """(seconds from spawning the process to its exit, its exit status)."""
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    econ = str(Path(sys.executable).parent / "econ")
    print("| command | median s | min s | max s | exit |\n|---|---|---|---|---|")
    for command in COMMANDS:
        runs = [wall_s([econ, *command]) for _ in range(args.repeat)]
        times = [t for t, _ in runs]
        print(
            f"| econ {' '.join(command)} | {statistics.median(times):.2f} | "
            f"{min(times):.2f} | {max(times):.2f} | {max(rc for _, rc in runs)} |"
        )


if __name__ == "__main__":
    main()
