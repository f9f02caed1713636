"""Peak resident memory (RSS) of an econ command: the process and every process it starts.

The command runs as a child process; every `--interval` seconds (default 0.2) the RSS of the
child and all its descendants is read from /proc (VmRSS, split into anonymous memory and
file-backed pages: mapped libraries, and model files where they are mmapped). Printed: the
peak of the summed RSS, each process's own peak, the breakdown at the peak, the wall time, and
`ru_maxrss` of the waited-for children from `resource.getrusage(RUSAGE_CHILDREN)` (the
kernel's high-water mark, which also sees peaks shorter than the sampling interval, but only
per process). The default command is
the run of README command (a) without its install steps: the embedded default model
(qwen2.5-coder-1.5b) answering 5 demo questions with chain-of-thought and ECON. The goal is
under 3 GB.

    python benchmarks/peak_memory.py                          # README command (a)
    python benchmarks/peak_memory.py --json
    python benchmarks/peak_memory.py -- econ eval --method cot --benchmark demo --limit 5

Linux only (/proc). The command's own output goes to stderr, the figures to stdout. An
`eval`, `compare` or `train` without `--out` writes its run to a temporary directory, deleted
afterwards unless `--keep-run` (then its path is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

# README command (a) without its install steps
DEFAULT_COMMAND = "econ compare --methods cot,econ --benchmark demo --limit 5".split()
GB = 1e9


def children_of() -> dict[int, list[int]]:
    """Parent pid -> child pids, for every process visible in /proc."""
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:  # exited meanwhile
            continue
        # the name (field 2) is in parentheses and may hold spaces; ppid follows its ")"
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> list[int]:
    """pid and all its descendants alive now."""
    tree = children_of()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(tree.get(p, []))
    return out


def rss_of(pid: int) -> dict[str, int] | None:
    """{"rss", "anon", "file", "shmem"} in bytes and the command name, or None if gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            status = f.read()
    except OSError:
        return None
    fields = {}
    for line in status.splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    if "VmRSS" not in fields:  # a zombie has no memory left
        return None

    def kb(name: str) -> int:
        return int(fields.get(name, "0 kB").split()[0]) * 1024

    return {
        "name": fields.get("Name", "?"),
        "rss": kb("VmRSS"),
        "anon": kb("RssAnon"),
        "file": kb("RssFile"),
        "shmem": kb("RssShmem"),
    }


@dataclass
class Peak:
    """What the sampler saw over the whole run."""

    total: int = 0  # largest sum of RSS over the process tree at one sample
    at_peak: dict[int, dict] = field(default_factory=dict)  # pid -> rss_of() at that sample
    per_process: dict[int, dict] = field(default_factory=dict)  # pid -> its own largest sample
    samples: int = 0

    def add(self, sample: dict[int, dict]) -> None:
        self.samples += 1
        total = sum(s["rss"] for s in sample.values())
        if total > self.total:
            self.total, self.at_peak = total, sample
        for pid, s in sample.items():
            if s["rss"] > self.per_process.get(pid, {"rss": -1})["rss"]:
                self.per_process[pid] = s


def sample_tree(pid: int) -> dict[int, dict]:
    out = {}
    for p in descendants(pid):
        s = rss_of(p)
        if s is not None:
            out[p] = s
    return out


def measure(argv: list[str], interval: float = 0.2, **popen) -> dict:
    """Run argv to its end, sampling the RSS of its process tree; the figures as a dict."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    peak = Peak()
    start = time.perf_counter()
    proc = subprocess.Popen(argv, **popen)
    while proc.poll() is None:
        peak.add(sample_tree(proc.pid))
        time.sleep(interval)
    wall = time.perf_counter() - start
    # ru_maxrss (kB on Linux) is the largest of all waited-for children so far: only a figure
    # for this command when it exceeds what earlier children of this process reached.
    maxrss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    at_peak = peak.at_peak.values()
    return {
        "command": shlex.join(argv),
        "exit": proc.returncode,
        "wall_s": round(wall, 1),
        "samples": peak.samples,
        "interval_s": interval,
        "peak_rss_gb": round(peak.total / GB, 3),
        "at_peak_gb": {
            key: round(sum(s[key] for s in at_peak) / GB, 3) for key in ("anon", "file", "shmem")
        },
        "ru_maxrss_children_gb": round(maxrss * 1024 / GB, 3) if maxrss > before else None,
        "per_process": [
            {"pid": pid, "name": s["name"], "peak_rss_gb": round(s["rss"] / GB, 3)}
            for pid, s in sorted(peak.per_process.items(), key=lambda kv: -kv[1]["rss"])
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between samples")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    parser.add_argument("--keep-run", action="store_true", help="keep the run directory")
    parser.add_argument("command", nargs="*", help="the command (after --); default README (a)")
    args = parser.parse_args()
    argv = args.command or list(DEFAULT_COMMAND)
    if argv[0] == "econ":  # this interpreter's environment, whatever PATH says
        argv[0] = str(Path(sys.executable).parent / "econ")
    out_dir = None
    if argv[1:2] in (["eval"], ["compare"], ["train"]) and "--out" not in argv:
        out_dir = tempfile.mkdtemp(prefix="econ-peak-memory-")
        argv += ["--out", os.path.join(out_dir, "run")]
    try:
        result = measure(argv, args.interval, stdout=sys.stderr)
    finally:
        if out_dir and not args.keep_run:
            shutil.rmtree(out_dir, ignore_errors=True)
    if out_dir and args.keep_run:
        result["run_dir"] = os.path.join(out_dir, "run")
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"command: {result['command']}")
        print(
            f"exit {result['exit']}, wall {result['wall_s']} s, {result['samples']} samples "
            f"every {args.interval} s"
        )
        parts = ", ".join(f"{k} {v:.3f}" for k, v in result["at_peak_gb"].items())
        print(f"peak RSS, all processes: {result['peak_rss_gb']:.3f} GB ({parts})")
        if result["ru_maxrss_children_gb"] is not None:
            print(f"ru_maxrss (largest child): {result['ru_maxrss_children_gb']:.3f} GB")
        if "run_dir" in result:
            print(f"run directory: {result['run_dir']}")
        print("\n| pid | process | peak RSS GB |\n|---|---|---|")
        for p in result["per_process"]:
            print(f"| {p['pid']} | {p['name']} | {p['peak_rss_gb']:.3f} |")
    sys.exit(result["exit"] if result["exit"] and result["exit"] > 0 else 0)


if __name__ == "__main__":
    main()
