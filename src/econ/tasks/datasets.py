"""Turn rows into benchmark questions: the built-in benchmarks' record formats, or the
fields a benchmark of your own names in its config.

Rows come from a local file, the packaged demo set or the hub (``econ.tasks.sources``). Local
files of a built-in benchmark use the public Hugging Face datasets' record format, so one row
parser serves every source. A benchmark of your own needs no code: ``run.question_field``,
``run.answer_field``, optionally ``run.id_field``, and ``run.answer_type`` say how to read it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from econ.errors import UserError
from econ.tasks.catalog import BUILTIN
from econ.tasks.grade import get_benchmark
from econ.tasks.rows import GOLDS, Parser, RowError, field, id_text, text
from econ.tasks.sources import Rows, Source, resolve

if TYPE_CHECKING:
    from econ.config import RunSpec


@dataclass(frozen=True)
class Question:
    """One benchmark problem with its canonical gold answer."""

    id: str
    question: str
    gold: str
    benchmark: str


@dataclass(frozen=True)
class RunData:
    """What a run reads, from one read of its source: the questions, and the source's
    fingerprint that config.yaml records (see `data_fingerprint`)."""

    questions: list[Question]
    fingerprint: dict[str, Any]


@dataclass(frozen=True)
class Fields:
    """Where a benchmark of your own keeps each part of a row; without ``id`` a question's
    id is its row index."""

    question: str
    answer: str
    id: str | None = None


def _mapped_parser(name: str, kind: str, fields: Fields) -> Parser:
    """A row parser that reads the fields the config names."""
    gold = GOLDS[kind]

    def parse(row: dict[str, Any], index: int) -> tuple[str, str, str]:
        qid = id_text(field(row, fields.id)) if fields.id else f"{name}-{index}"
        return qid, text(row, fields.question), gold(field(row, fields.answer))

    return parse


def _to_questions(name: str, parser: Parser, rows: Rows, limit: int | None) -> list[Question]:
    questions: list[Question] = []
    first_seen: dict[str, str] = {}
    # islice stops before reading past the limit, so later rows (even malformed) are ignored.
    for index, (where, row) in enumerate(itertools.islice(rows, limit)):
        try:
            if not isinstance(row, dict):
                raise RowError("record is not a JSON object")
            qid, question, gold = parser(row, index)
        except RowError as exc:
            raise UserError(f"{where}: {exc}") from None
        # Records and resume are keyed by id: a repeated id would share one record.
        if qid in first_seen:
            raise UserError(f"{where}: duplicate question id {qid!r} (first at {first_seen[qid]})")
        first_seen[qid] = where
        questions.append(Question(id=qid, question=question, gold=gold, benchmark=name))
    return questions


def _source(name: str, data: str | Path | None, split: str, revision: str | None) -> Source:
    declared = BUILTIN.get(name)
    if data is None and declared is not None and declared.packaged:
        data = Path(str(resources.files("econ.tasks").joinpath(declared.packaged)))
    hub = declared.hub if declared is not None else None
    if data is None and hub is None:
        raise UserError(
            f"benchmark {name!r} has no data of its own: pass --data with a local file "
            "(JSONL, JSON, CSV, Parquet) or a hub id (owner/name)"
        )
    return resolve(data, split, revision, hub)


def load_questions(
    name: str,
    data: str | Path | None = None,
    limit: int | None = None,
    split: str = "test",
    *,
    revision: str | None = None,
    fields: Fields | None = None,
    answer_type: str | None = None,
) -> list[Question]:
    """Questions of benchmark ``name``, the first ``limit`` in file order when given.

    ``data`` is a local JSONL, JSON, CSV or Parquet file, or a hub id (``owner/name``,
    ``owner/name:config``) loaded at ``split`` and ``revision``; without it the demo set
    comes from the package and the other built-in benchmarks from their hub datasets.
    Rows are in the benchmark's record format, or with ``fields`` read from the named
    fields; a name that is not built in is a benchmark of your own, which needs ``fields``
    and ``answer_type``.
    """
    return _read(name, data, limit, split, revision, fields, answer_type).questions


def _read(
    name: str,
    data: str | Path | None,
    limit: int | None,
    split: str,
    revision: str | None,
    fields: Fields | None,
    answer_type: str | None,
) -> RunData:
    bench = get_benchmark(name, answer_type)
    if limit is not None and limit < 0:
        raise UserError(f"limit must be non-negative, got {limit}")
    if fields is None and name not in BUILTIN:
        raise UserError(
            f"benchmark {name!r} is not built in: set run.question_field and "
            "run.answer_field to say where its rows keep question and answer"
        )
    source = _source(name, data, split, revision)
    rows, fingerprint = source.open()
    parser = _mapped_parser(name, bench.kind, fields) if fields else BUILTIN[name].read_row
    questions = _to_questions(name, parser, rows, limit)
    if not questions and limit != 0:
        raise UserError(f"{source.label} holds no questions")
    return RunData(questions, fingerprint)


def read_run_data(run: RunSpec, default_split: str) -> RunData:
    """The questions a config's ``run`` section names, with their source's fingerprint;
    ``default_split`` is the hub split read when ``run.split`` is unset ("test", or "train"
    for training). A run reads them once: its checks, its config.yaml and the run share it."""
    return _read(
        run.benchmark,
        run.data,
        run.limit,
        run.split or default_split,
        run.revision,
        _fields(run),
        run.answer_type,
    )


def data_fingerprint(run: RunSpec, default_split: str) -> dict[str, Any]:
    """What data the config's ``run`` section reads, for config.yaml: a file's path, format,
    size and sha256, or a hub dataset's id, config, split, revision and `datasets`
    fingerprint, for a run directory made without `read_run_data`'s result at hand. Only the
    source is opened; the rows were checked when the run started."""
    source = _source(run.benchmark, run.data, run.split or default_split, run.revision)
    return source.open()[1]


def _fields(run: RunSpec) -> Fields | None:
    if run.question_field is None and run.answer_field is None:
        if run.id_field is not None:
            raise UserError("run.id_field needs run.question_field and run.answer_field")
        return None
    if run.question_field is None or run.answer_field is None:
        raise UserError("run.question_field and run.answer_field go together: set both")
    return Fields(run.question_field, run.answer_field, run.id_field)
