"""`econ rescore RUN`: decide and grade every stored question again with the current code.

Answer extraction improves; old runs should not have to pay their LLM calls again to benefit.
Every record holds the full trace of its calls, so each method's `replay` re-reads the answers
from the stored responses and re-aggregates them (vote, commitment, re-ask, majority) exactly
as a live run would, with no LLM call. Records that ended in an error stay as they are.
"""

from __future__ import annotations

from pathlib import Path

from econ.compute import build_report
from econ.config import load_config
from econ.errors import UserError
from econ.methods.registry import method_class
from econ.report import write_report
from econ.runs import CONFIG, RECORDS, latest_records, read_records, rewrite_records
from econ.tasks import get_benchmark


def rescore_run(run_dir: Path) -> int:
    """Re-grade the run in place (records, summary.json/md, plot); returns how many verdicts
    (correct or not) changed. The rewritten records file keeps only the latest record per
    (id, method, epoch): earlier ones were superseded by `--resume`."""
    if not (run_dir / CONFIG).is_file() or not (run_dir / RECORDS).is_file():
        raise UserError(f"{run_dir} is not a run directory (no {CONFIG} and {RECORDS})")
    cfg = load_config(run_dir / CONFIG)
    bench = get_benchmark(cfg.run.benchmark, cfg.run.answer_type)
    records = latest_records(read_records(run_dir / RECORDS))
    changed = 0
    for rec in records:
        if rec.get("error") is not None:
            continue
        solution = method_class(rec["method"]).replay(rec["trace"], bench, cfg.econ)
        correct = bench.grade(solution.prediction, rec["gold"])
        changed += correct != rec["correct"]
        rec["prediction"], rec["correct"] = solution.prediction, correct
        rec["details"] = {**rec.get("details", {}), **solution.details}
    rewrite_records(run_dir / RECORDS, records)
    methods = list(dict.fromkeys(cfg.run.methods + [r["method"] for r in records]))
    title = f"{cfg.run.benchmark} ({len({r['id'] for r in records})} questions, rescored)"
    report = build_report(records, methods, bench)
    write_report(
        run_dir, report["methods"], title, paired=report["paired"], compute=report.get("compute")
    )
    return changed
