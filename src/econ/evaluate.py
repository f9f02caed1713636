"""The benchmark harness: run methods over questions, one JSONL record per (question, method).

Records are appended and fsynced one by one as questions finish, so a run killed at any
moment loses only the questions in flight; `--resume` re-reads the file (dropping a torn
last line) and runs exactly the (id, method) pairs that are missing.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import datetime
from pathlib import Path

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from econ.config import RunConfig, save_config
from econ.errors import UserError
from econ.llm import aclose_all
from econ.llm.base import LLMError
from econ.methods.base import CallLog, Method
from econ.methods.registry import build_method
from econ.report import summarize, write_report
from econ.tasks import Benchmark, Question, get_benchmark, load_questions

RECORDS = "records.jsonl"
CONFIG = "config.yaml"


def new_run_dir(out: str | None, cfg: RunConfig) -> Path:
    """`--out DIR`, or runs/<time>-<benchmark>-<methods> under the current directory."""
    if out:
        path = Path(out)
        if (path / RECORDS).exists():
            raise UserError(f"{path} already holds a run; use --resume {path} to continue it")
    else:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path = Path("runs") / f"{stamp}-{cfg.run.benchmark}-{'+'.join(cfg.run.methods)}"
    path.mkdir(parents=True, exist_ok=True)
    save_config(cfg, path / CONFIG)
    return path


def read_records(path: Path) -> list[dict]:
    """Complete records only. A line torn by a kill is cut off so appends start clean."""
    if not path.exists():
        return []
    raw = path.read_bytes()
    records, good_len = [], 0
    for line in raw.splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break
        good_len += len(line)
    if good_len != len(raw):
        with open(path, "r+b") as f:
            f.truncate(good_len)
    return records


async def solve_one(method: Method, q: Question, bench: Benchmark) -> dict:
    """Run one method on one question; a call that fails for good becomes the record's error."""
    log = CallLog()
    start = time.perf_counter()
    prediction, details, error = None, {}, None
    try:
        solution = await method.solve(q.question, bench, log)
        prediction, details = solution.prediction, solution.details
    except LLMError as e:
        error = str(e)
    usage = log.usage()
    return {
        "id": q.id,
        "method": method.name,
        "benchmark": q.benchmark,
        "question": q.question,
        "gold": q.gold,
        "prediction": prediction,
        "correct": error is None and bench.grade(prediction, q.gold),
        "prompt_tokens": usage["prompt_tokens"],
        "completion_tokens": usage["completion_tokens"],
        "calls": usage["calls"],
        "latency_s": round(time.perf_counter() - start, 4),
        "llm_seconds": usage["llm_seconds"],
        "per_model": usage["per_model"],
        "error": error,
        "details": details,
        "trace": log.calls,
    }


async def run_methods(cfg: RunConfig, run_dir: Path, show_progress: bool = True) -> dict:
    """Run every configured method on the same questions; returns the summary per method."""
    bench = get_benchmark(cfg.run.benchmark)
    questions = load_questions(cfg.run.benchmark, cfg.run.data, cfg.run.limit)
    methods = {name: build_method(name, cfg) for name in cfg.run.methods}
    records_path = run_dir / RECORDS
    done = {(r["id"], r["method"]) for r in read_records(records_path)}
    todo = [(q, m) for q in questions for m in methods if (q.id, m) not in done]

    limit = asyncio.Semaphore(cfg.concurrency)
    try:
        with open(records_path, "a", encoding="utf-8") as out, progress_bar(show_progress) as bar:
            task = bar.add_task("questions", total=len(questions) * len(methods), info="")
            bar.update(task, completed=len(questions) * len(methods) - len(todo))
            right = total = 0

            async def one(q: Question, name: str) -> None:
                nonlocal right, total
                async with limit:
                    rec = await solve_one(methods[name], q, bench)
                out.write(json.dumps(rec, ensure_ascii=False) + "\n")
                out.flush()
                os.fsync(out.fileno())
                right, total = right + rec["correct"], total + 1
                bar.update(task, advance=1, info=f"acc {right}/{total}")

            await asyncio.gather(*(one(q, m) for q, m in todo))
    finally:
        await aclose_all()

    summary = summarize(read_records(records_path), list(methods))
    write_report(run_dir, summary, title=f"{cfg.run.benchmark} ({len(questions)} questions)")
    return summary


def progress_bar(enabled: bool) -> Progress:
    """The bar every long command shows: count, a live `info` field, elapsed and remaining."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=not enabled,
    )
