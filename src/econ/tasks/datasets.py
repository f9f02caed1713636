"""Turn rows into benchmark questions: the built-in benchmarks' record formats, or the
fields a benchmark of your own names in its config.

Rows come from a local file, the packaged demo set or the hub (``econ.tasks.sources``). Local
files of a built-in benchmark use the public Hugging Face datasets' record format, so one row
parser serves every source. A benchmark of your own needs no code: ``run.question_field``,
``run.answer_field``, optionally ``run.id_field``, and ``run.answer_type`` say how to read it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from econ.errors import UserError
from econ.tasks.extract import format_number, parse_number
from econ.tasks.grade import get_benchmark
from econ.tasks.sources import HubHome, Rows, Source, resolve

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


class _RowError(Exception):
    """A record lacks what its benchmark needs; the loader adds where it came from."""


# A row and its index -> (question id, question, canonical gold).
Parser = Callable[[dict[str, Any], int], tuple[str, str, str]]


# Each built-in benchmark's dataset on the hub. gsm-hard publishes its test problems as the
# hub's only split, "train".
_HUB: dict[str, HubHome] = {
    "gsm8k": HubHome("openai/gsm8k", "main"),
    "gsm-hard": HubHome("reasoning-machines/gsm-hard", split_names={"test": "train"}),
    "svamp": HubHome("ChilleD/SVAMP"),
    "math500": HubHome("HuggingFaceH4/MATH-500"),
    "strategyqa": HubHome("ChilleD/StrategyQA"),
}


def _field(row: dict[str, Any], name: str) -> Any:
    if name not in row or row[name] is None:
        raise _RowError(f"missing field {name!r}")
    return row[name]


def _text(row: dict[str, Any], name: str) -> str:
    value = _field(row, name)
    if not isinstance(value, str) or not value.strip():
        raise _RowError(f"field {name!r} is not a non-empty string")
    return value.strip()


def _number_gold(value: Any) -> str:
    number = None
    if isinstance(value, str):
        number = parse_number(value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond any float: no answer can be graded to it
            number = None
    if number is None or not math.isfinite(number):
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        raise _RowError(f"unparseable gold answer {shown}")
    return format_number(number)


def _yesno_gold(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and value.strip().lower() in ("yes", "no", "true", "false"):
        return "yes" if value.strip().lower() in ("yes", "true") else "no"
    raise _RowError(f"unparseable gold answer {value!r} (expected true/false)")


def _id_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise _RowError(f"id {value!r} is not a non-empty string or an integer")
    return str(value).strip()


def _literal_gold(value: Any) -> str:
    """A math or free-text gold as written; a number stored as one (JSON, Parquet) in its
    canonical spelling."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return format_number(float(value))
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise _RowError(f"unparseable gold answer {value!r}")


def _mixed_gold(value: Any) -> str:
    """The demo set's kind: yes/no where the gold says so, a number otherwise."""
    try:
        return _yesno_gold(value)
    except _RowError:
        return _number_gold(value)


# Benchmark.kind -> the canonical gold of a row's answer field.
_GOLDS: dict[str, Callable[[Any], str]] = {
    "numeric": _number_gold,
    "yesno": _yesno_gold,
    "math": _literal_gold,
    "text": _literal_gold,
    "mixed": _mixed_gold,
}


def _mapped_parser(name: str, kind: str, fields: Fields) -> Parser:
    """A row parser that reads the fields the config names."""
    gold = _GOLDS[kind]

    def parse(row: dict[str, Any], index: int) -> tuple[str, str, str]:
        qid = _id_text(_field(row, fields.id)) if fields.id else f"{name}-{index}"
        return qid, _text(row, fields.question), gold(_field(row, fields.answer))

    return parse


def _gsm8k(row: dict[str, Any], index: int) -> tuple[str, str, str]:
    answer = _text(row, "answer")
    if "####" not in answer:
        raise _RowError("unparseable gold answer: no '####' in field 'answer'")
    gold = _number_gold(answer.rsplit("####", 1)[1].strip().replace(",", ""))
    return f"gsm8k-{index}", _text(row, "question"), gold


def _gsm_hard(row: dict[str, Any], index: int) -> tuple[str, str, str]:
    return f"gsm-hard-{index}", _text(row, "input"), _number_gold(_field(row, "target"))


def _svamp(row: dict[str, Any], index: int) -> tuple[str, str, str]:
    question = _text(row, "Body") + " " + _text(row, "Question")
    return str(_field(row, "ID")), question, _number_gold(_field(row, "Answer"))


def _math500(row: dict[str, Any], index: int) -> tuple[str, str, str]:
    return f"math500-{index}", _text(row, "problem"), _text(row, "answer")


def _strategyqa(row: dict[str, Any], index: int) -> tuple[str, str, str]:
    return str(_field(row, "qid")), _text(row, "question"), _yesno_gold(_field(row, "answer"))


def _demo(row: dict[str, Any], index: int) -> tuple[str, str, str]:
    kind = _field(row, "kind")
    if kind not in ("numeric", "yesno"):
        raise _RowError(f"field 'kind' is {kind!r}, expected 'numeric' or 'yesno'")
    answer = _field(row, "answer")
    gold = _yesno_gold(answer) if kind == "yesno" else _number_gold(answer)
    return str(_field(row, "id")), _text(row, "question"), gold


_PARSERS: dict[str, Parser] = {
    "gsm8k": _gsm8k,
    "gsm-hard": _gsm_hard,
    "svamp": _svamp,
    "math500": _math500,
    "strategyqa": _strategyqa,
    "demo": _demo,
}


def _to_questions(name: str, parser: Parser, rows: Rows, limit: int | None) -> list[Question]:
    questions: list[Question] = []
    first_seen: dict[str, str] = {}
    # islice stops before reading past the limit, so later rows (even malformed) are ignored.
    for index, (where, row) in enumerate(itertools.islice(rows, limit)):
        try:
            if not isinstance(row, dict):
                raise _RowError("record is not a JSON object")
            qid, question, gold = parser(row, index)
        except _RowError as exc:
            raise UserError(f"{where}: {exc}") from None
        # Records and resume are keyed by id: a repeated id would share one record.
        if qid in first_seen:
            raise UserError(f"{where}: duplicate question id {qid!r} (first at {first_seen[qid]})")
        first_seen[qid] = where
        questions.append(Question(id=qid, question=question, gold=gold, benchmark=name))
    return questions


def _source(name: str, data: str | Path | None, split: str, revision: str | None) -> Source:
    if data is None and name == "demo":
        data = Path(str(resources.files("econ.tasks").joinpath("data/demo.jsonl")))
    if data is None and name not in _HUB:
        raise UserError(
            f"benchmark {name!r} has no data of its own: pass --data with a local file "
            "(JSONL, JSON, CSV, Parquet) or a hub id (owner/name)"
        )
    return resolve(data, split, revision, _HUB.get(name))


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
    if fields is None and name not in _PARSERS:
        raise UserError(
            f"benchmark {name!r} is not built in: set run.question_field and "
            "run.answer_field to say where its rows keep question and answer"
        )
    source = _source(name, data, split, revision)
    rows, fingerprint = source.open()
    parser = _mapped_parser(name, bench.kind, fields) if fields else _PARSERS[name]
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
