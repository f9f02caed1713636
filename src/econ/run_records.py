"""A run's record files (records.jsonl, episodes.jsonl): one JSON object per line, appended
and fsynced one by one, so a run killed at any moment loses only the records in flight; a line
torn by a kill can only be the last one, and is cut off before a resume appends after it. Any
other damaged line costs only its own record. Reading returns `econ.records` models and checks
that the records belong to the run (`load_run_records`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from pydantic import ValidationError

from econ.errors import UserError
from econ.records import READABLE_LAYOUTS, EvalRecord
from econ.runs import own_file

if TYPE_CHECKING:
    from econ.config import RunConfig
    from econ.tasks import Question


# ---- writing ------------------------------------------------------------------------------


def append_record(out: IO[str], record: Mapping[str, Any]) -> None:
    """Append one record as one line, on disk before this returns: a kill afterwards cannot
    lose it, and a kill during the write tears only this last line."""
    out.write(json.dumps(record, ensure_ascii=False) + "\n")
    out.flush()
    os.fsync(out.fileno())


def rewrite_records(path: Path, records: list[dict]) -> None:
    """Replace a records file atomically: a crash leaves the old file or the new one."""
    from econ.files import write_atomically

    text = "".join(json.dumps(rec, ensure_ascii=False) + "\n" for rec in records)
    write_atomically(path, text.encode("utf-8"))


# ---- reading ------------------------------------------------------------------------------


def _parsed_lines(path: Path, repair: bool) -> list[tuple[int, Any]]:
    """(line number, parsed JSON, None when the line is damaged) for each complete line.

    A last line without its newline was torn by a kill mid-write, or is still being written;
    with `repair` it is cut off so appends start clean, else only skipped. Any other bad line
    is kept in the file and left to the caller.
    """
    if not path.is_file():
        return []
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    torn = lines.pop()  # b"" when the file ends with a newline
    if torn and repair:
        with open(path, "r+b") as f:
            f.truncate(len(raw) - len(torn))
    parsed: list[tuple[int, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            parsed.append((number, json.loads(line)))
        except (ValueError, RecursionError):  # invalid JSON, not UTF-8, nested past reading
            parsed.append((number, None))
    return parsed


def parsed_lines(path: Path) -> list[tuple[int, Any]]:
    """(line number, parsed JSON or None) for every complete line, read-only: what a reader
    that must count damaged lines, not skip them, goes by."""
    return _parsed_lines(path, repair=False)


def read_records(path: Path, *, repair: bool = True) -> list[dict]:
    """Every complete line of a JSONL file that holds a JSON object, in order. `repair`
    cuts off a torn last line (before a resume appends); a reader that must not touch a run
    still being written passes False."""
    return [obj for _, obj in _parsed_lines(path, repair) if isinstance(obj, dict)]


def eval_record(obj: Any) -> EvalRecord | None:
    """A parsed line as an `EvalRecord`, None when it is not one (damaged)."""
    if not isinstance(obj, dict):
        return None
    try:
        return EvalRecord.model_validate(obj)
    except ValidationError:
        return None


def record_key(record: EvalRecord) -> tuple[str, str, int]:
    """What a record answers: (question id, method, epoch)."""
    return record.id, record.method, record.epoch


def latest_records(records: list[EvalRecord]) -> list[EvalRecord]:
    """One record per (id, method, epoch), the last one written: `--resume` appends a new
    attempt after an errored record instead of rewriting the file, so earlier ones are
    history and must not be counted again."""
    return list({record_key(r): r for r in records}.values())


def read_eval_records(path: Path) -> list[EvalRecord]:
    """The latest record per (id, method, epoch) of a records file, read-only, damaged lines
    skipped, a record of a layout this econ cannot read refused: what a reader of a finished
    (or running) run takes."""
    records = []
    for number, obj in parsed_lines(path):
        if isinstance(obj, dict):
            check_layout(obj, f"{path}:{number}")
        if (rec := eval_record(obj)) is not None:
            records.append(rec)
    return latest_records(records)


def load_run_records(
    path: Path, cfg: RunConfig, questions: list[Question]
) -> tuple[list[EvalRecord], int]:
    """The latest record per (id, method, epoch), and how many lines were damaged.

    A line that is not a record (not JSON, not an object, not an `EvalRecord`) is damaged and
    costs only itself. A well-formed record that the config cannot have produced (another
    method, benchmark or question set) means records of two runs are mixed, and is refused
    with one line rather than merged into this run's results.
    """
    ids = {q.id for q in questions}
    own_file(path)
    kept: list[EvalRecord] = []
    damaged = 0
    for number, obj in _parsed_lines(path, repair=True):
        where = f"{path}:{number}"
        if isinstance(obj, dict):
            check_layout(obj, where)
        rec = eval_record(obj)
        if rec is None:
            damaged += 1
            continue
        if rec.method not in cfg.run.methods:
            raise UserError(
                f"{where} is a record of method {rec.method!r}, which this run's config "
                f"does not list ({', '.join(cfg.run.methods)}); the records belong to another run"
            )
        if rec.benchmark != cfg.run.benchmark:
            raise UserError(
                f"{where} is a record of benchmark {rec.benchmark!r}, but this run is "
                f"{cfg.run.benchmark!r}; the records belong to another run"
            )
        if rec.id not in ids:
            raise UserError(
                f"{where} is a record of question {rec.id!r}, which is not among this "
                f"run's {len(ids)} questions; the records belong to another run"
            )
        if rec.epoch >= cfg.run.epochs:
            raise UserError(
                f"{where} is a record of epoch {rec.epoch}, but this run has "
                f"{cfg.run.epochs} epoch(s)"
            )
        kept.append(rec)
    return latest_records(kept), damaged


def check_layout(rec: dict[str, Any], where: str) -> None:
    """Refuse a record of a layout this econ cannot read, saying which one it is."""
    version = rec.get("layout", 1)
    if version not in READABLE_LAYOUTS:
        raise UserError(
            f"{where} is a record of layout {version!r}; this econ reads layouts "
            f"{', '.join(map(str, READABLE_LAYOUTS))}: read it with the econ that wrote it"
        )
