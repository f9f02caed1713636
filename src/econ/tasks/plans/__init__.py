"""TravelPlanner (Xie et al., ICML 2024) in the sole-planning setting: a query with its
reference information in, a day-by-day plan out, graded by the benchmark's constraints.

`schema` reads a plan out of a response, `reference` reads the reference information,
`checks` holds the constraints and the official metrics. `read_row` turns a record of the
public format into a question: the query followed by the reference information, and as its
gold the JSON of what checking a plan needs (the query's fields and its reference).
"""

from __future__ import annotations

import json
from typing import Any

from econ.tasks.plans.checks import query_of
from econ.tasks.plans.reference import UnreadableReference, entries, read_reference
from econ.tasks.rows import RowError, field, text

REQUIRED = ("org", "dest", "days", "visiting_city_number", "people_number", "budget")
GOLD_FIELDS = (
    "org",
    "dest",
    "days",
    "visiting_city_number",
    "date",
    "people_number",
    "local_constraint",
    "budget",
    "level",
)


def read_row(row: dict[str, Any], index: int) -> tuple[str, str, str]:
    """A TravelPlanner record (the public format) as (id, question, gold)."""
    query = text(row, "query")
    raw_ref = field(row, "reference_information")
    for name in REQUIRED:
        field(row, name)
    kept = {k: row.get(k) for k in GOLD_FIELDS}
    try:
        query_of(kept)
        read_reference(raw_ref)
        context = "\n\n".join(
            f"{e['Description'].strip()}:\n{e['Content'].rstrip()}" for e in entries(raw_ref)
        )
    except UnreadableReference as exc:
        raise RowError(str(exc)) from None
    except (KeyError, TypeError, ValueError, SyntaxError) as exc:
        raise RowError(f"unreadable query fields: {exc}") from None
    question = f"{query}\n\nGiven information:\n\n{context}"
    gold = json.dumps({**kept, "reference_information": raw_ref}, ensure_ascii=False)
    qid = str(row["idx"]) if isinstance(row.get("idx"), int | str) else f"travelplanner-{index}"
    return qid, question, gold
