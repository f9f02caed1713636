"""The reference information a TravelPlanner query comes with, read into tables a checker can
look entities up in.

In the public record format `reference_information` is the text of a Python list of
`{"Description": ..., "Content": ...}` entries. A Description names what its Content holds:
"Flight from A to B on 2022-03-16", "Self-driving from A to B", "Taxi from A to B",
"Attractions in C", "Restaurants in C", "Accommodations in C". Flights, attractions,
restaurants and accommodations are pandas text tables (`DataFrame.to_string()`: right-aligned
columns under their headers, restaurants with the row index first); a route is one line
("self-driving, from A to B, duration: 1 hour 2 mins, distance: 98 km, cost: 4") or says it
has no valid information.

This reference is the sandbox of the sole-planning setting: the checker asks whether a plan's
entities are in it (the official evaluator asks its whole database, which the model never
saw and which is not shipped).
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from typing import Any

from econ.tasks.number_text import parse_number


class UnreadableReference(ValueError):
    """Reference information this reader cannot take; the loader names the row."""


COLUMNS = {
    "flights": ("Flight Number", "Price", "DepTime", "ArrTime", "ActualElapsedTime",
                "FlightDate", "OriginCityName", "DestCityName", "Distance"),
    "attractions": ("Name", "Latitude", "Longitude", "Address", "Phone", "Website", "City"),
    "restaurants": ("Name", "Average Cost", "Cuisines", "Aggregate Rating", "City"),
    "accommodations": ("NAME", "price", "room type", "house_rules", "minimum nights",
                       "maximum occupancy", "review rate number", "city"),
}  # fmt: skip
"""The columns each table's header holds, in order (extra columns are ignored)."""
_TABLE_RE = re.compile(r"^(Attractions|Restaurants|Accommodations) in (.+)$")
_FLIGHT_RE = re.compile(r"^Flight from (.+) to (.+) on (\d{4}-\d{2}-\d{2})$")
_ROUTE_RE = re.compile(r"^(Self-driving|Taxi) from (.+) to (.+)$", re.IGNORECASE)
_COST_RE = re.compile(r"cost:\s*\$?([\d,]+(?:\.\d+)?)", re.IGNORECASE)
_DURATION_RE = re.compile(r"duration:\s*([^,]*)", re.IGNORECASE)


@dataclass
class Reference:
    """What a query's reference information holds. Rows are dicts keyed by `COLUMNS` names
    (numbers parsed); `routes` maps (mode, origin, destination), mode "self-driving" or
    "taxi", to the cost of one vehicle, None where the reference says there is no route;
    `cities` are the cities it lists attractions, restaurants or accommodations for."""

    flights: list[dict[str, Any]] = field(default_factory=list)
    attractions: list[dict[str, Any]] = field(default_factory=list)
    restaurants: list[dict[str, Any]] = field(default_factory=list)
    accommodations: list[dict[str, Any]] = field(default_factory=list)
    routes: dict[tuple[str, str, str], float | None] = field(default_factory=dict)
    cities: set[str] = field(default_factory=set)


def entries(raw: Any) -> list[dict[str, str]]:
    """The Description/Content entries of a record's `reference_information`: the text of a
    Python (or JSON) list, or the list itself."""
    value = raw
    if isinstance(raw, str):
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            try:
                value = json.loads(raw)
            except (ValueError, RecursionError):
                raise UnreadableReference("reference_information is not a list literal") from None
    if not isinstance(value, list) or not all(
        isinstance(e, dict) and isinstance(e.get("Description"), str)
        and isinstance(e.get("Content"), str)
        for e in value
    ):  # fmt: skip
        raise UnreadableReference("reference_information is not a list of {Description, Content}")
    return value


def read_reference(raw: Any) -> Reference:
    """A record's `reference_information` as tables (`Reference`)."""
    ref = Reference()
    for entry in entries(raw):
        desc, content = entry["Description"].strip(), entry["Content"]
        if m := _TABLE_RE.match(desc):
            kind, city = m.group(1).lower(), m.group(2).strip()
            ref.cities.add(city)
            getattr(ref, kind).extend(read_table(content, COLUMNS[kind], desc))
        elif _FLIGHT_RE.match(desc):
            if not content.strip().lower().startswith("there is no flight"):
                ref.flights.extend(read_table(content, COLUMNS["flights"], desc))
        elif m := _ROUTE_RE.match(desc):
            key = (m.group(1).lower(), m.group(2).strip(), m.group(3).strip())
            ref.routes[key] = route_cost(content)
    return ref


def route_cost(content: str) -> float | None:
    """One vehicle's cost of a self-driving or taxi route, None when it has no valid
    information (or takes days, which the official sandbox also treats as none)."""
    text = content.strip()
    duration = _DURATION_RE.search(text)
    cost = _COST_RE.search(text)
    if "no valid information" in text.lower() or cost is None:
        return None
    if duration is not None and "day" in duration.group(1).lower():
        return None
    return parse_number(cost.group(1).replace(",", ""))


def read_table(content: str, columns: tuple[str, ...], where: str) -> list[dict[str, Any]]:
    """A pandas text table as rows keyed by `columns`.

    pandas right-aligns every column under its header, so a cell is the text between the end
    of the previous column's header and the end of its own. A row index, when the table has
    one, stands left of the first header and is dropped."""
    lines = [ln for ln in content.split("\n") if ln.strip()]
    if not lines:
        return []
    header, rows = lines[0], lines[1:]
    ends, at = [], 0
    for name in columns:
        found = _find_label(header, name, at)
        if found < 0:
            raise UnreadableReference(f"{where}: the table has no column {name!r}")
        at = found + len(name)
        ends.append(at)
    first_start = len(header) - len(header.lstrip())
    index_width = _index_width(rows, first_start)
    table = []
    for line in rows:
        cells, start = {}, index_width
        for name, end in zip(columns, ends, strict=True):
            cells[name] = _cell(name, line[start:end].strip())
            start = end
        table.append(cells)
    return table


def _find_label(header: str, name: str, start: int) -> int:
    """Where `name` stands in the header as a whole label (not inside a longer one)."""
    for m in re.finditer(re.escape(name), header[start:]):
        at = start + m.start()
        before = header[at - 1] if at > 0 else " "
        after = header[at + len(name)] if at + len(name) < len(header) else " "
        if before == " " and after == " ":
            return at
    return -1


def _index_width(rows: list[str], first_start: int) -> int:
    """The width of a row-index column (distinct integers left of the first header), or 0."""
    tokens = [re.match(r"\d+(?= )", row) for row in rows]
    if not rows or any(t is None or t.end() >= first_start for t in tokens):
        return 0
    values = [t.group() for t in tokens if t is not None]
    return max(t.end() for t in tokens if t is not None) if len(set(values)) == len(values) else 0


_NUMERIC = {"Price", "Distance", "Average Cost", "Aggregate Rating", "price", "minimum nights",
            "maximum occupancy", "review rate number", "Latitude", "Longitude"}  # fmt: skip


def _cell(name: str, text: str) -> Any:
    if name in _NUMERIC:
        value = parse_number(text.replace(",", ""))
        return value if value is not None else text
    return text
