"""A travel plan as TravelPlanner's official plan schema writes it, read out of a model response.

A plan is a list of days; each day holds the same eight fields as the official submissions:
`days` (1, 2, ...), `current_city` ("from A to B" on a travel day, else the city),
`transportation`, `breakfast`, `attraction` (several separated by ";"), `lunch`, `dinner` and
`accommodation`; "-" marks a field with nothing in it. Models are asked for this JSON directly
(no second model parses prose into it), and `extract_plan` reads it back: the last JSON list of
day objects in the response (a fenced block or bare), or an object holding one under `plan`.

The canonical form (`dump_plan`) is what a run records as the prediction and what a vote
counts: two plans are the same answer when their canonical JSON is the same string.
"""

from __future__ import annotations

import json
import re
from typing import Any

FIELDS = (
    "current_city",
    "transportation",
    "breakfast",
    "attraction",
    "lunch",
    "dinner",
    "accommodation",
)
"""A day's fields besides its number, in the official order."""
EMPTY = "-"
_SPELLINGS = {"day": "days", "city": "current_city", "attractions": "attraction"}
_FENCE_RE = re.compile(r"```(?:json|JSON)?\s*\n(.*?)```", re.DOTALL)
_MAX_DAYS = 30

Plan = list[dict[str, Any]]


def _value(raw: Any) -> str:
    """A field's value as text: a list (of attractions) joined with ";", nothing as "-"."""
    if raw is None:
        return EMPTY
    if isinstance(raw, list):
        parts = [_value(x) for x in raw]
        return ";".join(p for p in parts if p != EMPTY) or EMPTY
    if isinstance(raw, dict):
        return EMPTY if not raw else json.dumps(raw, ensure_ascii=False)
    text = " ".join(str(raw).split())
    return text or EMPTY


def as_plan(raw: Any) -> Plan | None:
    """`raw` (parsed JSON) as a plan in the official schema, or None when it is not one: a list
    of 1 to 30 objects that each name at least a current city. Keys are matched without case,
    a missing field is "-", a day number missing or not a number is the day's position."""
    if isinstance(raw, dict):
        inner = next((raw[k] for k in raw if str(k).lower() in ("plan", "travel_plan")), None)
        raw = inner if isinstance(inner, list) else None
    if not isinstance(raw, list) or not 1 <= len(raw) <= _MAX_DAYS:
        return None
    plan: Plan = []
    for position, day in enumerate(raw, start=1):
        if not isinstance(day, dict):
            return None
        keys = {_SPELLINGS.get(str(k).strip().lower(), str(k).strip().lower()): v
                for k, v in day.items()}  # fmt: skip
        if _value(keys.get("current_city")) == EMPTY:
            return None
        number = keys.get("days")
        if isinstance(number, str) and number.strip().isdigit():
            number = int(number)
        if not isinstance(number, int) or isinstance(number, bool):
            number = position
        plan.append({"days": number, **{f: _value(keys.get(f)) for f in FIELDS}})
    return plan


def dump_plan(plan: Plan) -> str:
    """The canonical text of a plan: compact JSON, fields in the official order."""
    return json.dumps(plan, ensure_ascii=False, separators=(",", ":"))


def load_plan(text: str | None) -> Plan | None:
    """A recorded prediction (canonical or any JSON text of a plan) back as a plan."""
    if text is None:
        return None
    try:
        return as_plan(json.loads(text))
    except (ValueError, RecursionError):
        return None


def _json_values(text: str) -> list[Any]:
    """Every JSON list or object that starts somewhere in `text` and parses, outermost first:
    a scan with the decoder from each opening bracket not inside one already read."""
    decoder = json.JSONDecoder()
    found, i = [], 0
    while i < len(text):
        if text[i] in "[{":
            try:
                value, end = decoder.raw_decode(text, i)
            except (ValueError, RecursionError):
                i += 1
                continue
            found.append(value)
            i = end
        else:
            i += 1
    return found


def extract_plan(text: str, finished: bool = True) -> str | None:
    """The plan a response states, canonical (`dump_plan`), or None when it states none.

    Fenced code blocks are read first (the last one holding a plan wins), then JSON anywhere in
    the text. A response cut off at the token limit rarely closes its JSON; when it does, the
    plan it closed is still the plan it wrote, so `finished` changes nothing here."""
    blocks = _FENCE_RE.findall(text)
    for candidates in ([v for b in blocks for v in _json_values(b)], _json_values(text)):
        for value in reversed(candidates):
            plan = as_plan(value)
            if plan is not None:
                return dump_plan(plan)
    return None


def plan_agreement(a: str | None, b: str | None) -> float:
    """The share of (day, field) slots two plans fill the same way, over the longer plan's
    days: 1.0 for the same plan, 0.0 when either is missing. Training's AL term reads this
    where a short answer would read an embedding's cosine."""
    pa, pb = load_plan(a), load_plan(b)
    if not pa or not pb:
        return 0.0
    slots = max(len(pa), len(pb)) * len(FIELDS)
    same = sum(_fold(da[f]) == _fold(db[f]) for da, db in zip(pa, pb, strict=False) for f in FIELDS)
    return same / slots


def _fold(value: str) -> str:
    return " ".join(value.casefold().split())


def render_plan(plan: Plan) -> str:
    """A plan as short lines a coordinator can read: one line per day."""
    lines = []
    for day in plan:
        filled = "; ".join(f"{f}: {day[f]}" for f in FIELDS if day[f] != EMPTY)
        lines.append(f"Day {day['days']}: {filled}")
    return "\n".join(lines)
