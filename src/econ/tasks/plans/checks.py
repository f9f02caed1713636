"""TravelPlanner's constraints, written here from the published definitions (Xie et al., ICML
2024: 8 commonsense and 5 hard constraints), and its official metrics.

A plan is checked against its query (`Query`: origin, destination, days, cities to visit,
people, budget, local constraints) and the query's reference information (`Reference`), the
sandbox of the sole-planning setting. Where the official evaluator is ambiguous or differs from
its own definitions, the reading chosen here:

- *Within sandbox* looks entities up in the query's reference information, not in the full
  database (which the model never saw). A name matches a row whose name contains it and whose
  city is the same, as the official lookup does; an empty name matches nothing.
- *Within current city* uses the day's cities as a list (the official code iterates over the
  characters of a single city's name, a known bug that lets almost anything pass).
- Attractions are the non-empty pieces of the field split on ";" (the official code drops the
  last piece, which is empty when the string ends with ";", as its parser writes them).
- *Reasonable city route* accepts a city when it is the origin or a city the reference lists
  attractions, restaurants or accommodations for (the official list of cities with their states
  is not shipped; for a state destination the reference lists that state's cities).
- *Cuisine* skips a meal taken in the origin city (the official code skips the rest of that
  day too); *transportation* finds "flight" / "self-driving" in any case.
- Restaurants (and attractions) are told apart by their folded "Name, City" text.

Hard constraints are checked only when the plan passes *complete information* and *within
sandbox*, as in the official evaluator; otherwise every hard constraint counts as failed.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from econ.tasks.plans.reference import Reference, read_reference
from econ.tasks.plans.schema import EMPTY, Plan, load_plan

if TYPE_CHECKING:
    from econ.records import EvalRecord

COMMONSENSE = (
    "reasonable_city_route",
    "diverse_restaurants",
    "diverse_attractions",
    "minimum_nights_stay",
    "non_conflicting_transportation",
    "within_current_city",
    "within_sandbox",
    "complete_information",
)
HARD = ("budget", "room_rule", "cuisine", "room_type", "transportation")
MEALS = ("breakfast", "lunch", "dinner")
_FROM_TO_RE = re.compile(r"from\s+(.+?)\s+to\s+([^,]+)", re.IGNORECASE)
_FLIGHT_NO_RE = re.compile(r"flight number:\s*([^,\s]+)", re.IGNORECASE)
_ROOM_TYPES = {
    "entire room": lambda t: t == "entire home/apt",
    "private room": lambda t: t == "private room",
    "shared room": lambda t: t == "shared room",
    "not shared room": lambda t: t != "shared room",
}


@dataclass(frozen=True)
class Query:
    """What a plan is checked against: the query's fields and its local constraints (None
    where not given)."""

    org: str
    dest: str
    days: int
    visiting_city_number: int
    people_number: int
    budget: float
    house_rule: str | None = None
    cuisine: tuple[str, ...] | None = None
    room_type: str | None = None
    transportation: str | None = None

    def hard_given(self) -> int:
        """How many hard constraints apply: the budget and each local constraint given."""
        given = (self.house_rule, self.cuisine, self.room_type, self.transportation)
        return 1 + sum(v is not None for v in given)


def local_constraints(raw: Any) -> dict[str, Any]:
    """A record's `local_constraint` (the text of a Python dict, or the dict) as a dict."""
    value = ast.literal_eval(raw) if isinstance(raw, str) else raw
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("local_constraint is not a dict")
    return value


def query_of(fields: dict[str, Any]) -> Query:
    """A `Query` from a record's fields (the public format's names)."""
    local = local_constraints(fields.get("local_constraint"))
    cuisine = local.get("cuisine")
    if isinstance(cuisine, str):
        cuisine = [cuisine]
    return Query(
        org=str(fields["org"]).strip(),
        dest=str(fields["dest"]).strip(),
        days=int(fields["days"]),
        visiting_city_number=int(fields["visiting_city_number"]),
        people_number=int(fields["people_number"]),
        budget=float(fields["budget"]),
        house_rule=local.get("house rule") or None,
        cuisine=tuple(cuisine) if cuisine else None,
        room_type=local.get("room type") or None,
        transportation=local.get("transportation") or None,
    )


# ---- reading a plan's fields -------------------------------------------------------------


def _paren(text: str) -> str:
    """A name without a parenthetical: "Dayton(Ohio)" -> "Dayton"."""
    return text.split("(", 1)[0].strip()


def from_to(text: str) -> tuple[str, str] | None:
    m = _FROM_TO_RE.search(text)
    return (_paren(m.group(1)), _paren(m.group(2))) if m else None


def is_travel(day: dict) -> bool:
    return from_to(day["current_city"]) is not None


def day_cities(day: dict) -> list[str]:
    """The cities a day is in: origin and destination on a travel day, else its city."""
    route = from_to(day["current_city"])
    return list(route) if route else [_paren(day["current_city"])]


def name_city(entry: str) -> tuple[str, str]:
    """ "Name, City" split at its last comma; ("", "") without one."""
    if "," not in entry:
        return "", ""
    name, city = entry.rsplit(",", 1)
    return name.strip(), _paren(city)


def attractions(field: str) -> list[str]:
    return [p.strip() for p in field.split(";") if p.strip() and p.strip() != EMPTY]


def filled(value: str) -> bool:
    return value.strip() not in ("", EMPTY)


def mode(transport: str) -> str | None:
    text = transport.lower()
    for name in ("taxi", "self-driving", "flight"):
        if name in text:
            return name
    return None


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def find(rows: list[dict], name_key: str, city_key: str, entry: str) -> list[dict]:
    """Rows whose name contains the entry's name and whose city is the entry's city."""
    name, city = name_city(entry)
    if not name:
        return []
    return [r for r in rows if name in str(r[name_key]) and str(r[city_key]).strip() == city]


def _route(day: dict) -> tuple[str, str] | None:
    return from_to(day["transportation"]) or from_to(day["current_city"])


def _flight(ref: Reference, transport: str, route: tuple[str, str] | None) -> dict | None:
    m = _FLIGHT_NO_RE.search(transport)
    if m is None:
        return None
    rows = [r for r in ref.flights if str(r["Flight Number"]) == m.group(1)]
    if route is not None:
        rows = [r for r in rows if (r["OriginCityName"], r["DestCityName"]) == route]
    return rows[0] if rows else None


# ---- the 8 commonsense constraints -------------------------------------------------------


def reasonable_city_route(days: Plan, q: Query, ref: Reference) -> bool:
    """Starts at the origin, returns to it, visits no city twice, stays at least a day in each
    city it visits, and names only cities it can know."""
    cities: list[str] = []
    for i, day in enumerate(days):
        route = from_to(day["current_city"])
        if route and i == 0 and route[0] != q.org:
            return False
        cities += list(route) if route else [_paren(day["current_city"])]
    if len(cities) < 3 or cities[0] != q.org or cities[-1] != q.org:
        return False
    runs: list[tuple[str, int]] = []
    for city in cities:
        if runs and runs[-1][0] == city:
            runs[-1] = (city, runs[-1][1] + 1)
        else:
            runs.append((city, 1))
    middle = runs[1:-1]
    if any(length < 2 for _, length in middle):
        return False
    seen = [c for c, _ in middle]
    if len(set(seen)) != len(seen) or q.org in seen:
        return False
    return all(c in ref.cities for c in seen)


def diverse_restaurants(days: Plan) -> bool:
    meals = [_fold(day[m]) for day in days for m in MEALS if filled(day[m])]
    return len(set(meals)) == len(meals)


def diverse_attractions(days: Plan) -> bool:
    sights = [_fold(a) for day in days for a in attractions(day["attraction"])]
    return len(set(sights)) == len(sights)


def minimum_nights_stay(days: Plan, ref: Reference) -> bool:
    """Each stay lasts at least its accommodation's minimum nights (a name that matches no
    single row is not judged)."""
    stays: list[tuple[str, int]] = []
    for day in days:
        place = day["accommodation"]
        if stays and stays[-1][0] == place:
            stays[-1] = (place, stays[-1][1] + 1)
        else:
            stays.append((place, 1))
    for place, nights in stays:
        if not filled(place):
            continue
        rows = find(ref.accommodations, "NAME", "city", place)
        if len(rows) == 1 and nights < float(rows[0]["minimum nights"]):
            return False
    return True


def non_conflicting_transportation(days: Plan) -> bool:
    """The first day travels, and self-driving is not mixed with flights or taxis."""
    if not days or not filled(days[0]["transportation"]):
        return False
    modes = {mode(day["transportation"]) for day in days if filled(day["transportation"])}
    return not ({"self-driving", "flight"} <= modes or {"self-driving", "taxi"} <= modes)


def within_current_city(days: Plan) -> bool:
    """What a day lists happens in the cities it is in: transportation names all of them, each
    meal and attraction one of them, the accommodation the city the day ends in."""
    for day in days:
        cities = day_cities(day)
        if filled(day["transportation"]) and not all(c in day["transportation"] for c in cities):
            return False
        for entry in [day[m] for m in MEALS if filled(day[m])] + attractions(day["attraction"]):
            if not any(c in entry for c in cities):
                return False
        if filled(day["accommodation"]) and cities[-1] not in day["accommodation"]:
            return False
    return True


def within_sandbox(days: Plan, ref: Reference) -> bool:
    """Every flight, route, restaurant, attraction and accommodation is in the reference."""
    for day in days:
        transport = day["transportation"]
        if filled(transport):
            route, how = _route(day), mode(transport)
            if "flight number" in transport.lower():
                if route is None or _flight(ref, transport, route) is None:
                    return False
            elif how in ("self-driving", "taxi"):
                if route is None or ref.routes.get((how, *route)) is None:
                    return False
        for meal in (day[m] for m in MEALS if filled(day[m])):
            if not find(ref.restaurants, "Name", "City", meal):
                return False
        for sight in attractions(day["attraction"]):
            if not find(ref.attractions, "Name", "City", sight):
                return False
        if filled(day["accommodation"]) and not find(
            ref.accommodations, "NAME", "city", day["accommodation"]
        ):
            return False
    return True


def complete_information(days: Plan, q: Query) -> bool:
    """As many days as asked and the cities asked for; every travel day has its transport,
    every other day an attraction and three meals, every night but the last a place to stay;
    and at most half of the fields empty."""
    if len(days) != q.days:
        return False
    visited = {c for day in days for c in day_cities(day)} - {q.org}
    if len(visited) != q.visiting_city_number:
        return False
    count = 0
    for i, day in enumerate(days):
        travel = is_travel(day)
        if travel and not filled(day["transportation"]):
            return False
        if not travel and not filled(day["attraction"]):
            return False
        if i != q.days - 1 and not filled(day["accommodation"]):
            return False
        if not travel and not all(filled(day[m]) for m in MEALS):
            return False
        count += 1 + sum(filled(v) for k, v in day.items() if k != "days")
    return count / (6 * q.days) >= 0.5


# ---- the 5 hard constraints --------------------------------------------------------------


def total_cost(days: Plan, q: Query, ref: Reference) -> float:
    """Flights per person, a self-driving car per 5 people, a taxi per 4, meals per person, a
    room per its maximum occupancy per night; entities the reference lacks cost nothing."""
    people, total = q.people_number, 0.0
    for day in days:
        transport = day["transportation"]
        if filled(transport):
            route, how = _route(day), mode(transport)
            if "flight number" in transport.lower():
                flight = _flight(ref, transport, None)
                total += float(flight["Price"]) * people if flight else 0.0
            elif how in ("self-driving", "taxi") and route is not None:
                cost = ref.routes.get((how, *route)) or 0.0
                total += cost * math.ceil(people / (5 if how == "self-driving" else 4))
        for meal in (day[m] for m in MEALS if filled(day[m])):
            rows = find(ref.restaurants, "Name", "City", meal)
            total += float(rows[0]["Average Cost"]) * people if rows else 0.0
        if filled(day["accommodation"]):
            rows = find(ref.accommodations, "NAME", "city", day["accommodation"])
            if rows:
                room = rows[0]
                total += float(room["price"]) * math.ceil(people / float(room["maximum occupancy"]))
    return total


def _stays(days: Plan, ref: Reference) -> Iterable[dict]:
    for day in days:
        if filled(day["accommodation"]):
            rows = find(ref.accommodations, "NAME", "city", day["accommodation"])
            if rows:
                yield rows[0]


def room_rule(days: Plan, q: Query, ref: Reference) -> bool | None:
    if q.house_rule is None:
        return None
    banned = f"no {q.house_rule}".lower()
    return not any(banned in str(r["house_rules"]).lower() for r in _stays(days, ref))


def cuisine(days: Plan, q: Query, ref: Reference) -> bool | None:
    """Every cuisine asked for is served somewhere on the trip (meals in the origin city do
    not count)."""
    if q.cuisine is None:
        return None
    served = set()
    for day in days:
        for meal in (day[m] for m in MEALS if filled(day[m])):
            if name_city(meal)[1] == q.org:
                continue
            for row in find(ref.restaurants, "Name", "City", meal)[:1]:
                served |= {c for c in q.cuisine if c.lower() in str(row["Cuisines"]).lower()}
    return len(served) == len(set(q.cuisine))


def room_type(days: Plan, q: Query, ref: Reference) -> bool | None:
    if q.room_type is None:
        return None
    fits = _ROOM_TYPES.get(q.room_type.lower())
    if fits is None:
        return True
    return all(fits(str(r["room type"]).strip().lower()) for r in _stays(days, ref))


def transportation(days: Plan, q: Query) -> bool | None:
    if q.transportation is None:
        return None
    banned = q.transportation.lower().removeprefix("no ").strip()
    return not any(banned in day["transportation"].lower() for day in days)


# ---- one plan, and the metrics over a run ------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """One plan's checks: None for a plan not delivered; `hard` None when the hard constraints
    were not checked (the plan failed complete information or within sandbox), each hard value
    None where its constraint is not given."""

    commonsense: dict[str, bool] | None
    hard: dict[str, bool | None] | None

    @property
    def commonsense_pass(self) -> bool:
        return self.commonsense is not None and all(self.commonsense.values())

    @property
    def hard_pass(self) -> bool:
        return self.hard is not None and all(v is not False for v in self.hard.values())

    @property
    def final_pass(self) -> bool:
        return self.commonsense_pass and self.hard_pass


def check_plan(plan: Plan | None, q: Query, ref: Reference) -> Verdict:
    """Every constraint on one plan; a plan's days past the query's are not read."""
    if not plan:
        return Verdict(None, None)
    days = plan[: q.days]
    common = {
        "reasonable_city_route": reasonable_city_route(days, q, ref),
        "diverse_restaurants": diverse_restaurants(days),
        "diverse_attractions": diverse_attractions(days),
        "minimum_nights_stay": minimum_nights_stay(days, ref),
        "non_conflicting_transportation": non_conflicting_transportation(days),
        "within_current_city": within_current_city(days),
        "within_sandbox": within_sandbox(days, ref),
        "complete_information": complete_information(days, q),
    }
    if not (common["complete_information"] and common["within_sandbox"]):
        return Verdict(common, None)
    hard = {
        "budget": total_cost(days, q, ref) <= q.budget,
        "room_rule": room_rule(days, q, ref),
        "cuisine": cuisine(days, q, ref),
        "room_type": room_type(days, q, ref),
        "transportation": transportation(days, q),
    }
    return Verdict(common, hard)


@lru_cache(maxsize=256)
def task_of(gold: str) -> tuple[Query, Reference]:
    """A recorded gold (the JSON `econ.tasks.catalog` writes for a TravelPlanner row) as the
    query and reference a plan is checked against."""
    fields = json.loads(gold)
    return query_of(fields), read_reference(fields["reference_information"])


def verdict(prediction: str | None, gold: str) -> Verdict:
    query, ref = task_of(gold)
    return check_plan(load_plan(prediction), query, ref)


def plan_metrics(verdicts: list[Verdict], queries: list[Query]) -> dict[str, Any]:
    """The official metrics over one method's plans, one per query (a query that errored is an
    undelivered plan). Micro rates count passed constraints over all that apply (8 commonsense
    per query; the budget plus each local constraint given); macro rates count plans passing all
    of theirs; every rate's denominator counts undelivered plans."""
    n = len(verdicts)
    if n == 0:
        return {"n": 0}
    common = sum(sum(v.commonsense.values()) for v in verdicts if v.commonsense)
    hard = sum(sum(x is True for x in v.hard.values()) for v in verdicts if v.hard)
    applicable = sum(q.hard_given() for q in queries)
    return {
        "n": n,
        "delivery_rate": sum(v.commonsense is not None for v in verdicts) / n,
        "commonsense_micro": common / (len(COMMONSENSE) * n),
        "commonsense_macro": sum(v.commonsense_pass for v in verdicts) / n,
        "hard_micro": hard / applicable,
        "hard_macro": sum(v.hard_pass for v in verdicts) / n,
        "final_pass": sum(v.final_pass for v in verdicts) / n,
    }


def run_plan_metrics(records: list[EvalRecord], methods: list[str]) -> dict[str, dict[str, Any]]:
    """`plan_metrics` per method over a run's records (one plan per question and epoch; a
    record that errored is a plan not delivered)."""
    out = {}
    for method in methods:
        rows = [r for r in records if r.method == method]
        verdicts = [verdict(r.prediction if r.error is None else None, r.gold) for r in rows]
        out[method] = plan_metrics(verdicts, [task_of(r.gold)[0] for r in rows])
    return out
