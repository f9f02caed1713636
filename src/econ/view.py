"""`econ view RUN`: one self-contained HTML page for reading a run.

A run's transcripts (every call of every method on every question) are the evidence behind its
numbers, and records.jsonl is unreadable as text. This writes a single file that opens offline
in any browser, with nothing to install and no server: the run's data is embedded as JSON, its
plots as data: URIs, and the page's own script (templates/view.html) draws the tables, the
filters and the per-record drill-down from that JSON.

Reading is strictly read-only: a run may still be writing, so a half-written last line or a
damaged one is skipped here, never cut off (`read_eval_records`, and for episodes
`read_records(..., repair=False)`; a resume repairs the file before it appends).
"""

from __future__ import annotations

import base64
import json
import math
import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from econ.compute import build_report
from econ.episodes import EPISODES
from econ.errors import UserError
from econ.records import EvalRecord
from econ.run_records import read_eval_records, read_records
from econ.runs import CONFIG, RECORDS, SUMMARY, own_file
from econ.stats import SIGNIFICANCE
from econ.tasks import get_benchmark

VIEW = "view.html"
PLACEHOLDER = "__ECON_VIEW_DATA__"
VIEW_MARK = '<meta name="generator" content="econ view">'  # in the template's head
# The most characters of one text (a response, a prompt) the page embeds: a transcript is read
# by a person, and one runaway reply must not make the page too large for a browser to open.
SHOWN_CHARS = 20_000


def write_view(run_dir: Path, out: Path | None = None) -> Path:
    """Write the page (to RUN/view.html unless `out` is given) and return its path.

    The page replaces only a page: an existing `out` that is not one `econ view` wrote (a
    run's records, its config, anything else) is refused, and the file is replaced
    atomically, never written through a symlink to wherever it points.
    """
    from econ.files import write_atomically

    path = out if out is not None else run_dir / VIEW
    if path.exists() and not path.is_symlink() and not _is_view(path):
        raise UserError(f"{path} exists and is not a page econ view wrote; choose another --out")
    html = render(view_data(run_dir))
    try:
        write_atomically(path, html.encode("utf-8"))
    except OSError as e:
        raise UserError(f"cannot write {path}: {e.strerror or e}") from None
    return path


def _is_view(path: Path) -> bool:
    if not path.is_file():
        return False
    with open(path, "rb") as f:
        head = f.read(4096)
    return head.lower().startswith(b"<!doctype html>") and VIEW_MARK.encode() in head


def view_data(run_dir: Path) -> dict[str, Any]:
    """Everything the page shows, as one JSON-ready dict."""
    if not run_dir.exists():
        raise UserError(f"{run_dir} does not exist")
    if not run_dir.is_dir():
        raise UserError(f"{run_dir} is not a directory")
    if not (run_dir / RECORDS).is_file() and not (run_dir / EPISODES).is_file():
        raise UserError(
            f"{run_dir} is not a run directory: it holds neither {RECORDS} (eval, compare) "
            f"nor {EPISODES} (train)"
        )
    own_file(run_dir / RECORDS)
    own_file(run_dir / EPISODES)
    config_text = _read_text(run_dir / CONFIG)
    config = _parse_config(config_text)
    records = read_eval_records(run_dir / RECORDS)
    methods = _method_order(records, config)
    records.sort(key=lambda r: (_natural(r.id), r.epoch, methods.index(r.method)))
    report = _report(run_dir / SUMMARY, records, methods, _section(config, "run"))
    agreement = _agreement(records, _section(config, "run").get("answer_type"))
    clipped = [0]  # what is read from the texts is read above, from the whole texts
    return {
        "run": run_dir.resolve().name,
        "path": str(run_dir.resolve()),
        "config": config_text,
        "benchmark": _section(config, "run").get("benchmark"),
        "methods": methods,
        "summary": report["methods"],
        "paired": report.get("paired") or [],
        "compute": report.get("compute"),
        "plans": report.get("plans"),
        "significance": SIGNIFICANCE,
        "plots": _plots(run_dir),
        "records": _clipped([r.model_dump(mode="json") for r in records], clipped),
        "agreement": agreement,
        # passed through as written: the page shows old and hand-edited episodes too
        "episodes": _clipped(read_records(run_dir / EPISODES, repair=False), clipped),
        "controls": _names(_section(config, "econ").get("controls")),
        "clipped": clipped[0],
        "shown_chars": SHOWN_CHARS,
    }


def _clipped(value: Any, count: list[int]) -> Any:
    """`value` with every string longer than SHOWN_CHARS cut to its start and end and a note
    of what was left out (the whole text stays in the run's files); `count[0]` counts them."""
    if isinstance(value, str) and len(value) > SHOWN_CHARS:
        count[0] += 1
        half = SHOWN_CHARS // 2
        left = len(value) - 2 * half
        return f"{value[:half]}\n[... {left:,} characters not shown here ...]\n{value[-half:]}"
    if isinstance(value, dict):
        return {k: _clipped(v, count) for k, v in value.items()}
    if isinstance(value, list):
        return [_clipped(v, count) for v in value]
    return value


def render(data: dict[str, Any]) -> str:
    """The template with the data embedded.

    Every "<" in the JSON becomes the JSON escape \\u003c: a response holding "</script>" or
    "<!--" then cannot end or alter the script element, and JSON.parse restores it exactly.
    """
    template = resources.files("econ").joinpath("templates", VIEW).read_text(encoding="utf-8")
    payload = json.dumps(_finite(data), ensure_ascii=False).replace("<", "\\u003c")
    return template.replace(PLACEHOLDER, payload, 1)


def _finite(value: Any) -> Any:
    """NaN and infinities (a diverged loss, say) as null: JSON.parse rejects them, and one
    would leave the whole page blank."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _read_text(path: Path) -> str | None:
    """A run file's text; None when it is missing or a symlink (a page meant to be shared
    embeds the run's own files, never what a link inside it points to)."""
    if path.is_symlink() or not path.is_file():
        return None
    return path.read_text(encoding="utf-8", errors="replace")


def _parse_config(text: str | None) -> dict[str, Any]:
    """config.yaml as a dict; one the page cannot parse is still shown verbatim."""
    try:
        parsed = yaml.safe_load(text) if text else None
    except yaml.YAMLError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _section(config: dict[str, Any], name: str) -> dict[str, Any]:
    section = config.get(name)
    return section if isinstance(section, dict) else {}


def _names(value: Any) -> list[str]:
    """The names a config list (run.methods) or mapping (econ.controls) holds; nothing for a
    value of another shape (a hand-edited config.yaml the page still shows)."""
    if isinstance(value, dict | list):
        return [n for n in value if isinstance(n, str)]
    return []


def _natural(text: str) -> list[Any]:
    """Sort key that puts "q2" before "q10": ASCII digit runs (the odd parts of the split)
    compare as numbers; other digits ("q\u00b2") stay text."""
    return [int(part) if i % 2 else part for i, part in enumerate(re.split(r"([0-9]+)", text))]


def _method_order(records: list[EvalRecord], config: dict[str, Any]) -> list[str]:
    """The config's method order (its first method is the paired tests' reference), then any
    method found only in the records."""
    configured = _names(_section(config, "run").get("methods"))
    seen = dict.fromkeys(r.method for r in records)
    return [m for m in configured if m in seen] + [m for m in seen if m not in configured]


def _report(path: Path, records: list[EvalRecord], methods: list[str], run: dict) -> dict[str, Any]:
    """summary.json as the run wrote it (or `econ rescore` rewrote it); a run still going or
    killed before its summary gets one computed from its records (with the figures at matched
    compute when the run's benchmark can still be read)."""
    if path.is_file():
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            report = None
        if isinstance(report, dict) and isinstance(report.get("methods"), dict):
            return report
    answer_type = run.get("answer_type") if isinstance(run.get("answer_type"), str) else None
    try:
        bench = get_benchmark(str(run.get("benchmark", "demo")), answer_type)
    except UserError:
        bench = None
    if bench is None:
        from econ.stats import paired_stats, summarize

        return {"methods": summarize(records, methods), "paired": paired_stats(records, methods)}
    return build_report(records, methods, bench)


def _agreement(records: list[EvalRecord], answer_type: Any = None) -> dict[str, dict[str, bool]]:
    """Per "id|epoch" answered by two or more methods: whether their answers differ (compared
    the way the benchmark compares answers, so "5" and "5.0" agree; a benchmark of your own by
    the config's `run.answer_type`) and whether their verdicts differ (some right, some wrong)."""
    groups: dict[str, list[EvalRecord]] = {}
    for r in records:
        groups.setdefault(f"{r.id}|{r.epoch}", []).append(r)
    agreement = {}
    for key, group in groups.items():
        if len(group) < 2:
            continue
        answers = {_normalized(r, answer_type) for r in group}
        verdicts = {r.correct for r in group}
        agreement[key] = {"answers_differ": len(answers) > 1, "verdicts_differ": len(verdicts) > 1}
    return agreement


def _normalized(record: EvalRecord, answer_type: Any = None) -> str | None:
    if record.prediction is None:
        return None
    answer_type = answer_type if isinstance(answer_type, str) else None
    try:  # a built-in benchmark, or one of your own with the config's answer type
        bench = get_benchmark(record.benchmark, answer_type)
    except UserError:  # no (valid) answer type, or a name this version refuses
        return record.prediction.strip()
    return bench.normalize(record.prediction)


def _plots(run_dir: Path) -> list[dict[str, str]]:
    """Every PNG the run wrote (accuracy_vs_tokens.png, training.png), inlined."""
    return [
        {
            "name": p.name,
            "src": f"data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()}",
        }
        for p in sorted(run_dir.glob("*.png"))
        if p.is_file() and not p.is_symlink()
    ]
