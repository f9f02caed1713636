"""The benchmark harness: run methods over questions, one record per (question, method, epoch).

Each record is appended to the run directory's records.jsonl as its question finishes
(econ.runs). `--resume` re-reads the file and runs exactly the (id, method, epoch) keys that
have no record or only an errored one; when a key has several records the latest wins.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from econ.compute import build_report
from econ.config import EPOCH_SEED_STRIDE, RunConfig
from econ.errors import UserError
from econ.llm import aclose_all, default_concurrency
from econ.llm import make_llm as default_make_llm
from econ.llm.base import LLMError
from econ.methods.base import MakeLLM, Method
from econ.methods.build import build_method
from econ.methods.calls import CallLog, gather_all
from econ.records import RECORD_LAYOUT, EvalRecord
from econ.report import write_report
from econ.run_records import append_record, load_run_records, record_key
from econ.runs import RECORDS, progress_bar, run_lock
from econ.tasks import Benchmark, Question, get_benchmark
from econ.tasks.datasets import RunData, read_run_data

__all__ = ["questions_in_flight", "run_methods", "solve_one"]

log = logging.getLogger(__name__)


async def solve_one(method: Method, q: Question, bench: Benchmark, epoch: int = 0) -> EvalRecord:
    """Run one method on one question; whatever goes wrong becomes the record's error.

    An LLMError is a call that failed for good. Anything else is a bug or a reply no check
    foresaw; it is recorded with where it was raised, so it costs this one question rather
    than the run and its summary.
    """
    calls = CallLog()
    start = time.perf_counter()
    prediction, details, error, correct = None, {}, None, False
    try:
        solution = await method.solve(q.question, bench, calls)
        prediction, details = solution.prediction, solution.details
        correct = bench.grade(prediction, q.gold)
    except LLMError as e:
        error = str(e)
    except Exception as e:
        frame = traceback.extract_tb(e.__traceback__)[-1]
        where = f"{Path(frame.filename).name}:{frame.lineno}"
        error = f"internal error: {type(e).__name__}: {e} (at {where})"
    usage = calls.usage()
    return EvalRecord(
        id=q.id,
        method=method.name,
        epoch=epoch,
        benchmark=q.benchmark,
        question=q.question,
        gold=q.gold,
        prediction=prediction,
        correct=error is None and bool(correct),
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        calls=usage.calls,
        failed_requests=usage.failed_requests,
        empty_responses=usage.empty_responses,
        latency_s=round(time.perf_counter() - start, 4),
        llm_seconds=usage.llm_seconds,
        per_model=usage.per_model,
        error=error,
        details=details,
        trace=calls.calls,
        layout=RECORD_LAYOUT,
    )


def questions_in_flight(cfg: RunConfig) -> int:
    """As many questions as the busiest endpoint takes requests: each question keeps at least
    one request in flight, so this saturates every endpoint without a second setting."""
    return max(default_concurrency(spec, cfg.llm) for spec in cfg.model_specs())


async def run_methods(
    cfg: RunConfig,
    run_dir: Path,
    show_progress: bool = True,
    make_llm: MakeLLM = default_make_llm,
    data: RunData | None = None,
    only: Sequence[str] | None = None,
) -> dict:
    """`_run_methods` while holding the run directory (`econ.runs.run_lock`): a second
    process resuming or rescoring the same run is refused instead of writing beside it.

    `only` runs a subset of the configured methods now (a suite run in phases, each phase
    waiting for the one before); the records of the others stay part of the run."""
    with run_lock(run_dir):
        return await _run_methods(cfg, run_dir, show_progress, make_llm, data, only)


async def _run_methods(
    cfg: RunConfig,
    run_dir: Path,
    show_progress: bool,
    make_llm: MakeLLM,
    data: RunData | None,
    only: Sequence[str] | None,
) -> dict:
    """Run every configured method on the same questions for every epoch; returns the summary.

    Epoch k runs with seed + k * EPOCH_SEED_STRIDE, so sampling methods draw afresh; epochs
    run one after another, each with its own method instances (ECON's history included),
    whose LLMs `make_llm` builds. The questions are `data`, the ones the run's checks read
    (`econ.cli_run.check_inputs`), else read here.
    """
    bench = get_benchmark(cfg.run.benchmark, cfg.run.answer_type)
    questions = (data or read_run_data(cfg.run, "test")).questions
    names = list(only if only is not None else cfg.run.methods)
    if unknown := [n for n in names if n not in cfg.run.methods]:
        raise UserError(f"method(s) {', '.join(unknown)} are not among the run's methods")
    records_path = run_dir / RECORDS
    records, damaged = load_run_records(records_path, cfg, questions)
    if damaged:
        log.warning(
            "%s: %d damaged line(s) skipped; their questions run again", records_path, damaged
        )
    done = {record_key(r) for r in records if r.error is None and r.method in names}

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
                append_record(out, rec.model_dump(mode="json"))
                right, total = right + rec.correct, total + 1
                bar.update(task, advance=1, info=f"acc {right}/{total}")

            for epoch in range(cfg.run.epochs):
                todo = [(q, n) for q in questions for n in names if (q.id, n, epoch) not in done]
                if not todo:
                    continue
                seeded = cfg.model_copy(update={"seed": cfg.seed + epoch * EPOCH_SEED_STRIDE})
                methods = {
                    n: build_method(n, seeded, make_llm) for n in dict.fromkeys(n for _, n in todo)
                }
                await gather_all(*(one(methods[n], q, epoch) for q, n in todo))
    finally:
        await aclose_all()

    records, _ = load_run_records(records_path, cfg, questions)
    seen = {r.method for r in records}
    present = [n for n in cfg.run.methods if n in names or n in seen]
    report = build_report(records, present, bench)
    title = f"{cfg.run.benchmark} ({len(questions)} questions)"
    write_report(run_dir, report, title)
    return report["methods"]
