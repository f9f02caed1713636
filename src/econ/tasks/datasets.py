"""Load benchmark questions from a local JSONL file, the packaged demo set, or the hub.

Local files use the same record format as the public Hugging Face datasets (see
shared/data/README.md), so one row parser serves both sources.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from econ.errors import UserError
from econ.tasks.extract import format_number, parse_number
from econ.tasks.grade import get_benchmark


@dataclass(frozen=True)
class Question:
    """One benchmark problem with its canonical gold answer."""

    id: str
    question: str
    gold: str
    benchmark: str


class _RowError(Exception):
    """A record lacks what its benchmark needs; the loader adds where it came from."""


# Hub id, config, and the hub's split name for each split we ask for. gsm-hard publishes
# its test problems as the hub's only split, "train".
_HUB: dict[str, tuple[str, str | None, dict[str, str]]] = {
    "gsm8k": ("openai/gsm8k", "main", {}),
    "gsm-hard": ("reasoning-machines/gsm-hard", None, {"test": "train"}),
    "svamp": ("ChilleD/SVAMP", None, {}),
    "math500": ("HuggingFaceH4/MATH-500", None, {}),
    "strategyqa": ("ChilleD/StrategyQA", None, {}),
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
        number = float(value)
    if number is None or not math.isfinite(number):
        raise _RowError(f"unparseable gold answer {value!r}")
    return format_number(number)


def _yesno_gold(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and value.strip().lower() in ("yes", "no", "true", "false"):
        return "yes" if value.strip().lower() in ("yes", "true") else "no"
    raise _RowError(f"unparseable gold answer {value!r} (expected true/false)")


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


_PARSERS: dict[str, Callable[[dict[str, Any], int], tuple[str, str, str]]] = {
    "gsm8k": _gsm8k,
    "gsm-hard": _gsm_hard,
    "svamp": _svamp,
    "math500": _math500,
    "strategyqa": _strategyqa,
    "demo": _demo,
}


def _jsonl_rows(path: Path, text: str) -> Iterator[tuple[str, Any]]:
    """(location, record) for each non-blank line; invalid JSON is a UserError.

    Lines split on "\\n" only: records may hold U+2028, which ``str.splitlines`` splits on.
    """
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            yield where, json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{where}: invalid JSON ({exc.msg})") from None


def _to_questions(
    name: str, rows: Iterable[tuple[str, Any]], limit: int | None
) -> list[Question]:
    parser = _PARSERS[name]
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


def _hub_rows(name: str, split: str) -> Iterator[tuple[str, Any]]:
    hub_id, config, split_names = _HUB[name]
    hub_split = split_names.get(split, split)
    try:
        import datasets  # slow to import; only the hub path needs it

        rows = datasets.load_dataset(hub_id, config, split=hub_split)
    except Exception as exc:
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise UserError(
            f"could not load {name} from the hub ({hub_id}, split {hub_split}): {reason}; "
            "pass --data PATH to use a local JSONL file"
        ) from None
    for index, row in enumerate(rows):
        yield f"{hub_id}[{hub_split}] row {index}", row


def load_questions(
    name: str,
    data: str | Path | None = None,
    limit: int | None = None,
    split: str = "test",
) -> list[Question]:
    """Questions of benchmark ``name``, the first ``limit`` in file order when given.

    ``data`` is a local JSONL file in the benchmark's record format; without it the demo
    set comes from the package and the others from the Hugging Face hub (``split`` picks
    the hub split).
    """
    get_benchmark(name)
    if limit is not None and limit < 0:
        raise UserError(f"limit must be non-negative, got {limit}")
    if data is not None:
        path = Path(data)
        if not path.is_file():
            raise UserError(f"data file not found: {path}")
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UserError(
                f"data file {path} is not UTF-8 text (bad byte at offset {exc.start})"
            ) from None
        questions = _to_questions(name, _jsonl_rows(path, text), limit)
        if not questions and limit != 0:
            raise UserError(f"data file {path} holds no questions")
        return questions
    if name == "demo":
        packaged = resources.files("econ.tasks").joinpath("data/demo.jsonl")
        rows = _jsonl_rows(Path("demo.jsonl"), packaged.read_text(encoding="utf-8"))
        return _to_questions(name, rows, limit)
    return _to_questions(name, _hub_rows(name, split), limit)
