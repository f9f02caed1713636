"""Where benchmark rows come from, and a fingerprint of what a run read.

A source is a local file (JSONL, JSON, CSV or Parquet, told apart by the suffix) or a dataset
on the Hugging Face hub. Opening one gives its rows as (location, record) pairs, the location
naming file and line (or row) so a bad record is reported in one line, and its fingerprint
for config.yaml: a file's sha256, or a hub dataset's id, config, split, revision and the
`datasets` fingerprint of what was loaded. Which record fields mean what is the business of
the benchmark parsers in ``econ.tasks.datasets``, not of this module.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from econ.errors import UserError

Rows = Iterator[tuple[str, Any]]

# Suffix -> format. Any other suffix is read as JSONL, the format econ has always read, so
# existing `--data rows.txt` files keep working.
FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
# Where a JSON object may keep its list of records, in order of preference; an object with
# exactly one list needs none of these names.
_JSON_LIST_KEYS = ("data", "rows", "examples", "questions", "records", "items")
# owner/name with an optional :config, as the hub spells them ("openai/gsm8k:main").
_HUB_ID_RE = re.compile(r"([A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)(?::([\w.-]+))?")


@dataclass(frozen=True)
class HubHome:
    """A built-in benchmark's dataset on the hub: its id, config, and the hub's names for
    the splits econ asks for (gsm-hard publishes its test problems as "train")."""

    hub_id: str
    config: str | None = None
    split_names: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FileSource:
    """A local data file, read whole (the bytes parsed are the bytes hashed)."""

    path: Path

    @property
    def label(self) -> str:
        return f"data file {self.path}"

    def open(self) -> tuple[Rows, dict[str, Any]]:
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            raise UserError(f"cannot read {self.label}: {exc.strerror or exc}") from None
        fmt = FORMATS.get(self.path.suffix.lower())
        if fmt is None:
            raise UserError(
                f"cannot tell the format of {self.label} from its name: name it "
                f"{', '.join(FORMATS)}"
            )
        fingerprint = {
            "path": str(self.path),
            "format": fmt,
            "sha256": hashlib.sha256(raw).hexdigest(),
            "bytes": len(raw),
        }
        if fmt == "parquet":
            return _parquet_rows(self.path, raw), fingerprint
        try:
            text = raw.decode("utf-8").removeprefix("\ufeff")  # spreadsheets write a BOM
        except UnicodeDecodeError as exc:
            raise UserError(
                f"{self.label} is not UTF-8 text (bad byte at offset {exc.start})"
            ) from None
        readers = {"jsonl": _jsonl_rows, "json": _json_rows, "csv": _csv_rows}
        return readers[fmt](self.path, text), fingerprint


@dataclass(frozen=True)
class HubSource:
    """One split of a hub dataset, at ``revision`` (a commit sha or tag) when one is pinned."""

    hub_id: str
    config: str | None
    split: str
    revision: str | None = None

    @property
    def label(self) -> str:
        at = f" at revision {self.revision}" if self.revision else ""
        return f"{self.hub_id} split {self.split}{at}"

    def open(self) -> tuple[Rows, dict[str, Any]]:
        # Passed only when set, so a fake `load_dataset` need not know the keyword.
        pin = {"revision": self.revision} if self.revision else {}
        try:
            import datasets  # slow to import; only hub data needs it

            table = datasets.load_dataset(self.hub_id, self.config, split=self.split, **pin)
        except Exception as exc:
            reason = " ".join(str(exc).split())[:200] or type(exc).__name__
            raise UserError(
                f"could not load {self.label} from the hub: {reason}; "
                "pass --data PATH to use a local file"
            ) from None
        fingerprint = {
            "hub": self.hub_id,
            "config": self.config,
            "split": self.split,
            "revision": self.revision,
            "fingerprint": getattr(table, "_fingerprint", None),
            "datasets": _version("datasets"),
        }
        where = f"{self.hub_id}[{self.split}] row"
        return ((f"{where} {index}", row) for index, row in enumerate(table)), fingerprint


Source = FileSource | HubSource


def resolve(
    data: str | Path | None, split: str, revision: str | None, home: HubHome | None
) -> Source:
    """The source ``--data`` names: an existing file, else a hub id (``owner/name`` or
    ``owner/name:config``); without ``data``, the benchmark's ``home`` on the hub.

    A hub id that is the benchmark's home takes its config and split names. A revision pins
    hub data only, so one given with a local file is an error rather than silently unused.
    """
    if data is None:
        if home is None:
            raise UserError("no data: pass --data with a local file or a hub id (owner/name)")
        hub_id, config = home.hub_id, home.config
    else:
        path = Path(data)
        if path.is_file():
            if revision is not None:
                raise UserError(
                    f"run.revision (--revision) pins a hub dataset, but {path} is a local file"
                )
            return FileSource(path)
        match = _HUB_ID_RE.fullmatch(str(data))
        if path.exists():
            raise UserError(f"data path {path} is not a file")
        if match is None or path.suffix.lower() in FORMATS:
            raise UserError(f"data file not found: {path}")
        hub_id, config = match.group(1), match.group(2)
        if config is None and home is not None and home.hub_id == hub_id:
            config = home.config
    renames = home.split_names if home is not None and home.hub_id == hub_id else {}
    return HubSource(hub_id, config, renames.get(split, split), revision)


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _jsonl_rows(path: Path, text: str) -> Rows:
    """One record per non-blank line; invalid JSON is a UserError naming the line.

    Lines split on "\\n" only: records may hold U+2028, which ``str.splitlines`` splits on.
    """
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        yield where, _json(line, where)


def _json_rows(path: Path, text: str) -> Rows:
    """A JSON list of records, or an object that holds one (``{"data": [...]}``)."""
    data = _json(text, str(path))
    records = data if isinstance(data, list) else _list_in(path, data)
    for index, row in enumerate(records):
        yield f"{path} row {index}", row


def _json(text: str, where: str) -> Any:
    """Parsed JSON, or one line naming what is wrong: invalid JSON, nesting too deep for the
    parser, or an integer too long to convert (Python's 4,300-digit limit)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        at = where if ":" in where.rsplit("/", 1)[-1] else f"{where}:{exc.lineno}"
        raise UserError(f"{at}: invalid JSON ({exc.msg})") from None
    except RecursionError:
        raise UserError(f"{where}: JSON nested too deeply to read") from None
    except ValueError as exc:  # "Exceeds the limit (4300 digits) for integer string conversion"
        raise UserError(f"{where}: {exc}".split("; use")[0]) from None


def _list_in(path: Path, data: Any) -> list[Any]:
    lists = [k for k, v in data.items() if isinstance(v, list)] if isinstance(data, dict) else []
    named = [k for k in _JSON_LIST_KEYS if k in lists]
    if named or len(lists) == 1:
        return data[(named or lists)[0]]
    found = f"lists under {', '.join(map(repr, lists))}" if lists else "no list"
    raise UserError(
        f"data file {path} holds {found}: expected a JSON list of records, or an object "
        "with one under 'data', 'rows' or 'examples'"
    )


def _csv_rows(path: Path, text: str) -> Rows:
    """One record per row under a header line; every value is text, as CSV has no types."""
    # strict: a stray or unclosed quote is an error, not a cell that swallows the next lines.
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        header = reader.fieldnames or []
        repeated = sorted({name for name in header if header.count(name) > 1})
        if repeated:
            raise UserError(
                f"{path}:1: the header names {', '.join(map(repr, repeated))} more than once; "
                "each column needs its own name"
            )
        for row in reader:
            where = f"{path}:{reader.line_num}"
            if None in row:  # DictReader's key for cells beyond the header
                width = len(reader.fieldnames or ())
                raise UserError(
                    f"{where}: {width + len(row[None])} cells, but the header has {width}"
                )
            yield where, row
    except csv.Error as exc:  # line_num counts the lines read before the bad one
        raise UserError(f"{path}:{reader.line_num + 1}: invalid CSV ({exc})") from None


def _parquet_rows(path: Path, raw: bytes) -> Rows:
    """Rows batch by batch, so a --limit stops reading early."""
    try:
        import pyarrow as pa  # a dependency of `datasets`
        import pyarrow.parquet as pq
    except ImportError:
        raise UserError(f"reading {path} needs pyarrow: pip install pyarrow") from None
    try:
        table = pq.ParquetFile(pa.BufferReader(raw))
    except (pa.ArrowException, OSError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise UserError(f"data file {path} is not a Parquet file ({reason})") from None
    index = 0
    batches = table.iter_batches()
    while True:
        try:  # the footer read, a page can still be damaged: it fails when its batch is read
            batch = next(batches, None)
        except (pa.ArrowException, OSError) as exc:
            reason = " ".join(str(exc).split())[:200]
            raise UserError(f"data file {path}: damaged at row {index} ({reason})") from None
        if batch is None:
            return
        for row in batch.to_pylist():
            yield f"{path} row {index}", row
            index += 1
