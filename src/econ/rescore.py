"""`econ rescore RUN`: decide and grade every stored question again with the current code.

Answer extraction improves; old runs should not have to pay their LLM calls again to benefit.
Every record holds the full trace of its calls, so each method's `replay` re-reads the answers
from the stored responses and re-aggregates them (vote, commitment, re-ask, majority) exactly
as a live run would, with no LLM call. Records that ended in an error stay as they are.
"""

from __future__ import annotations

from pathlib import Path

from econ.compute import build_report
from econ.config import load_saved_config
from econ.errors import UserError
from econ.methods.build import method_class
from econ.report import write_report
from econ.run_records import (
    check_layout,
    eval_record,
    latest_records,
    parsed_lines,
    rewrite_records,
)
from econ.runs import CONFIG, RECORDS, run_lock
from econ.tasks import get_benchmark


def rescore_run(run_dir: Path) -> int:
    """Re-grade the run in place (records, summary.json/md, plot); returns how many verdicts
    (correct or not) changed. The rewritten records file keeps only the latest record per
    (id, method, epoch): earlier ones were superseded by `--resume`."""
    if not (run_dir / CONFIG).is_file() or not (run_dir / RECORDS).is_file():
        raise UserError(f"{run_dir} is not a run directory (no {CONFIG} and {RECORDS})")
    with run_lock(run_dir):  # refused while an eval or a resume is still writing the run
        return _rescore(run_dir)


def _rescore(run_dir: Path) -> int:
    cfg = load_saved_config(run_dir / CONFIG, regrading=True)  # torn: refused, not defaults
    bench = get_benchmark(cfg.run.benchmark, cfg.run.answer_type)
    lines = parsed_lines(run_dir / RECORDS)
    for number, obj in lines:
        if isinstance(obj, dict):
            check_layout(obj, f"{run_dir / RECORDS}:{number}")
    read = [(n, eval_record(obj)) for n, obj in lines]
    damaged = [n for n, rec in read if rec is None]
    if damaged:
        raise UserError(
            f"{run_dir / RECORDS} has {len(damaged)} damaged line(s) (first at line "
            f"{damaged[0]}); rescoring would drop them: run --resume {run_dir} first, which "
            "answers those questions again"
        )
    records = latest_records([rec for _, rec in read if rec is not None])
    changed = 0
    for rec in records:
        if rec.error is not None:
            continue
        solution = method_class(rec.method).replay(rec.trace, bench, cfg.econ)
        correct = bench.grade(solution.prediction, rec.gold)
        changed += correct != rec.correct
        rec.prediction, rec.correct = solution.prediction, correct
        rec.details = {**rec.details, **solution.details}
    rewrite_records(run_dir / RECORDS, [r.model_dump(mode="json") for r in records])
    methods = list(dict.fromkeys(cfg.run.methods + [r.method for r in records]))
    title = f"{cfg.run.benchmark} ({len({r.id for r in records})} questions, rescored)"
    report = build_report(records, methods, bench)
    write_report(run_dir, report, title)
    return changed
