"""The benchmark harness: run methods over questions, one JSONL record per (question, method,
epoch).

Records are appended and fsynced one by one as questions finish, so a run killed at any
moment loses only the questions in flight. `--resume` re-reads the file and runs exactly the
(id, method, epoch) keys that have no record or only an errored one; when a key has several
records the latest wins. A line torn by a kill is cut off; any other damaged line costs only
its own record, which runs again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import platform
import subprocess
import time
import traceback
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from econ.config import EPOCH_SEED_STRIDE, RunConfig, save_config
from econ.errors import UserError
from econ.llm import aclose_all, default_concurrency, model_file_identity
from econ.llm.base import LLMError
from econ.methods.base import CallLog, Method, gather_all
from econ.methods.registry import build_method
from econ.report import paired_stats, summarize, write_report
from econ.tasks import Benchmark, Question, data_fingerprint, get_benchmark, run_questions

RECORDS = "records.jsonl"
CONFIG = "config.yaml"

log = logging.getLogger(__name__)


def new_run_dir(out: str | None, cfg: RunConfig, split: str = "test") -> Path:
    """`--out DIR`, or runs/<time>-<benchmark>-<methods> under the current directory.

    Writes config.yaml there, with the run's provenance; a path that cannot hold a run is a
    UserError before anything else happens. ``split`` is the hub split the run reads when
    `run.split` is unset ("train" for training runs), for the data's fingerprint.
    """
    if out:
        path = Path(out)
        if path.exists() and not path.is_dir():
            raise UserError(f"--out {path} is an existing file, not a directory")
        if (path / RECORDS).exists():
            raise UserError(f"{path} already holds a run; use --resume {path} to continue it")
    else:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path = Path("runs") / f"{stamp}-{cfg.run.benchmark}-{'+'.join(cfg.run.methods)}"
    found = provenance(cfg, split)  # before mkdir: data that cannot be read leaves no directory
    try:
        path.mkdir(parents=True, exist_ok=True)
        save_config(cfg.model_copy(update={"provenance": found}), path / CONFIG)
    except OSError as e:
        raise UserError(f"cannot write the run directory {path}: {e.strerror or e}") from None
    return path


def provenance(cfg: RunConfig, split: str = "test") -> dict[str, Any]:
    """What produced a run's records, for config.yaml: package and library versions, the
    working directory's git commit (None outside a repository or without git), the identity
    of every local model file the config names, and the fingerprint of the data (read at
    ``split`` when `run.split` is unset)."""
    return {
        "econ": _version("econ-bne"),
        "git": _git_state(),
        "python": platform.python_version(),
        "torch": _version("torch"),
        "xllamacpp": _version("xllamacpp"),
        "models": {
            spec: ident
            for spec in cfg.model_specs()
            if (ident := model_file_identity(spec)) is not None
        },
        "data": data_fingerprint(cfg.run, split),
        "started": datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _git_state() -> dict[str, Any] | None:
    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], capture_output=True, text=True, timeout=10, check=True
        )
        return done.stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": dirty}


def _parsed_lines(path: Path) -> list[tuple[int, Any]]:
    """(line number, parsed JSON, None when the line is damaged) for each complete line.

    A last line without its newline was torn by a kill mid-write; it is cut off so appends
    start clean. Any other bad line is kept in the file and left to the caller.
    """
    if not path.exists():
        return []
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    torn = lines.pop()  # b"" when the file ends with a newline
    if torn:
        with open(path, "r+b") as f:
            f.truncate(len(raw) - len(torn))
    parsed: list[tuple[int, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            parsed.append((number, json.loads(line)))
        except ValueError:  # invalid JSON or not UTF-8
            parsed.append((number, None))
    return parsed


def read_records(path: Path) -> list[dict]:
    """Every complete line of a JSONL file that holds a JSON object, in order."""
    return [obj for _, obj in _parsed_lines(path) if isinstance(obj, dict)]


def record_key(record: dict) -> tuple[str, str, int]:
    """What a record answers: (question id, method, epoch); records without epoch are epoch 0."""
    return record["id"], record["method"], record.get("epoch", 0)


def latest_records(records: list[dict]) -> list[dict]:
    """One record per (id, method, epoch), the last one written: `--resume` appends a new
    attempt after an errored record instead of rewriting the file, so earlier ones are
    history and must not be counted again."""
    return list({record_key(r): r for r in records}.values())


def load_run_records(
    path: Path, cfg: RunConfig, questions: list[Question]
) -> tuple[list[dict], int]:
    """The latest record per (id, method, epoch), and how many lines were damaged.

    A line that is not a record (not JSON, not an object, no string id or method, a bad
    epoch) is damaged and costs only itself. A well-formed record that the config cannot
    have produced (another method, benchmark or question set) means records of two runs are
    mixed, and is refused with one line rather than merged into this run's results.
    """
    ids = {q.id for q in questions}
    kept: list[dict] = []
    damaged = 0
    for number, rec in _parsed_lines(path):
        if not _well_formed(rec):
            damaged += 1
            continue
        where = f"{path}:{number}"
        if rec["method"] not in cfg.run.methods:
            raise UserError(
                f"{where} is a record of method {rec['method']!r}, which this run's config "
                f"does not list ({', '.join(cfg.run.methods)}); the records belong to another run"
            )
        if rec.get("benchmark", cfg.run.benchmark) != cfg.run.benchmark:
            raise UserError(
                f"{where} is a record of benchmark {rec['benchmark']!r}, but this run is "
                f"{cfg.run.benchmark!r}; the records belong to another run"
            )
        if rec["id"] not in ids:
            raise UserError(
                f"{where} is a record of question {rec['id']!r}, which is not among this "
                f"run's {len(ids)} questions; the records belong to another run"
            )
        if record_key(rec)[2] >= cfg.run.epochs:
            raise UserError(
                f"{where} is a record of epoch {rec['epoch']}, but this run has "
                f"{cfg.run.epochs} epoch(s)"
            )
        kept.append(rec)
    return latest_records(kept), damaged


def _well_formed(rec: Any) -> bool:
    if not isinstance(rec, dict):
        return False
    epoch = rec.get("epoch", 0)
    return (
        isinstance(rec.get("id"), str)
        and isinstance(rec.get("method"), str)
        and "error" in rec
        and isinstance(epoch, int)
        and not isinstance(epoch, bool)
        and epoch >= 0
    )


async def solve_one(method: Method, q: Question, bench: Benchmark, epoch: int = 0) -> dict:
    """Run one method on one question; whatever goes wrong becomes the record's error.

    An LLMError is a call that failed for good. Anything else is a bug or a reply no check
    foresaw; it is recorded with where it was raised, so it costs this one question rather
    than the run and its summary.
    """
    log = CallLog()
    start = time.perf_counter()
    prediction, details, error, correct = None, {}, None, False
    try:
        solution = await method.solve(q.question, bench, log)
        prediction, details = solution.prediction, solution.details
        correct = bench.grade(prediction, q.gold)
    except LLMError as e:
        error = str(e)
    except Exception as e:
        frame = traceback.extract_tb(e.__traceback__)[-1]
        where = f"{Path(frame.filename).name}:{frame.lineno}"
        error = f"internal error: {type(e).__name__}: {e} (at {where})"
    usage = log.usage()
    return {
        "id": q.id,
        "method": method.name,
        "epoch": epoch,
        "benchmark": q.benchmark,
        "question": q.question,
        "gold": q.gold,
        "prediction": prediction,
        "correct": error is None and bool(correct),
        "prompt_tokens": usage["prompt_tokens"],
        "completion_tokens": usage["completion_tokens"],
        "calls": usage["calls"],
        "failed_requests": usage["failed_requests"],
        "empty_responses": usage["empty_responses"],
        "latency_s": round(time.perf_counter() - start, 4),
        "llm_seconds": usage["llm_seconds"],
        "per_model": usage["per_model"],
        "error": error,
        "details": details,
        "trace": log.calls,
    }


def questions_in_flight(cfg: RunConfig) -> int:
    """As many questions as the busiest endpoint takes requests: each question keeps at least
    one request in flight, so this saturates every endpoint without a second setting."""
    return max(default_concurrency(spec, cfg.llm) for spec in cfg.model_specs())


async def run_methods(cfg: RunConfig, run_dir: Path, show_progress: bool = True) -> dict:
    """Run every configured method on the same questions for every epoch; returns the summary.

    Epoch k runs with seed + k * EPOCH_SEED_STRIDE, so sampling methods draw afresh; epochs
    run one after another, each with its own method instances (ECON's history included).
    """
    bench = get_benchmark(cfg.run.benchmark, cfg.run.answer_type)
    questions = run_questions(cfg.run, "test")
    names = list(cfg.run.methods)
    records_path = run_dir / RECORDS
    records, damaged = load_run_records(records_path, cfg, questions)
    if damaged:
        log.warning(
            "%s: %d damaged line(s) skipped; their questions run again", records_path, damaged
        )
    done = {record_key(r) for r in records if r["error"] is None}

    limit = asyncio.Semaphore(questions_in_flight(cfg))
    try:
        with open(records_path, "a", encoding="utf-8") as out, progress_bar(show_progress) as bar:
            task = bar.add_task(
                "questions", total=len(questions) * len(names) * cfg.run.epochs, info=""
            )
            bar.update(task, completed=len(done))
            right = total = 0

            async def one(method: Method, q: Question, epoch: int) -> None:
                nonlocal right, total
                async with limit:
                    rec = await solve_one(method, q, bench, epoch)
                out.write(json.dumps(rec, ensure_ascii=False) + "\n")
                out.flush()
                os.fsync(out.fileno())
                right, total = right + rec["correct"], total + 1
                bar.update(task, advance=1, info=f"acc {right}/{total}")

            for epoch in range(cfg.run.epochs):
                todo = [(q, n) for q in questions for n in names if (q.id, n, epoch) not in done]
                if not todo:
                    continue
                seeded = cfg.model_copy(update={"seed": cfg.seed + epoch * EPOCH_SEED_STRIDE})
                methods = {n: build_method(n, seeded) for n in dict.fromkeys(n for _, n in todo)}
                await gather_all(*(one(methods[n], q, epoch) for q, n in todo))
    finally:
        await aclose_all()

    records, _ = load_run_records(records_path, cfg, questions)
    summary = summarize(records, names)
    title = f"{cfg.run.benchmark} ({len(questions)} questions)"
    write_report(run_dir, summary, title, paired=paired_stats(records, names))
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
