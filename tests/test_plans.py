"""TravelPlanner: reading plans and reference information, each constraint on hand-built plans
that pass or fail it for a known reason, the official metrics, and the methods on plans."""

from __future__ import annotations

import ast
import asyncio
import copy
import json
from pathlib import Path

import pytest
from fakes import ScriptedLLM, last_user, llms, record

from econ.compute import build_report
from econ.config import RunConfig
from econ.errors import UserError
from econ.methods.build import build_method
from econ.methods.calls import CallLog
from econ.methods.econ import Econ
from econ.tasks import get_benchmark, load_questions
from econ.tasks.plans import checks as C
from econ.tasks.plans.reference import UnreadableReference, read_reference, read_table
from econ.tasks.plans.schema import as_plan, dump_plan, extract_plan, plan_agreement

FIXTURE = Path(__file__).parent / "fixtures" / "travelplanner.jsonl"
ROWS = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
BENCH = get_benchmark("travelplanner")


def annotated(i: int) -> list[dict]:
    """The fixture's hand-written plan for query i (it passes every constraint)."""
    return as_plan(ast.literal_eval(ROWS[i]["annotated_plan"])[1:])


def task(i: int, **changes) -> tuple[C.Query, C.Reference]:
    query, ref = C.task_of(load_questions("travelplanner", FIXTURE)[i].gold)
    return C.Query(**{**query.__dict__, **changes}), ref


def check(plan, i: int, **changes) -> C.Verdict:
    return C.check_plan(plan, *task(i, **changes))


def failed(v: C.Verdict) -> set[str]:
    common = {k for k, ok in (v.commonsense or {}).items() if not ok}
    return common | {k for k, ok in (v.hard or {}).items() if ok is False}


# ---- the fixture and the loader ----------------------------------------------------------


def test_the_fixture_loads_and_every_annotated_plan_passes_every_constraint():
    questions = load_questions("travelplanner", FIXTURE)
    assert [q.id for q in questions] == [f"travelplanner-{i}" for i in range(4)]
    assert "Given information:" in questions[0].question
    assert "Restaurants in Austin:" in questions[0].question
    for i, q in enumerate(questions):
        v = C.verdict(dump_plan(annotated(i)), q.gold)
        assert v.final_pass, (i, failed(v))
        assert BENCH.grade(dump_plan(annotated(i)), q.gold)
    # constraints given: easy none, cuisine, three of them, room type
    assert [C.task_of(q.gold)[0].hard_given() for q in questions] == [1, 2, 4, 2]


def test_a_row_without_what_checking_needs_is_one_clear_error(tmp_path):
    row = {k: v for k, v in ROWS[0].items() if k != "budget"}
    bad = tmp_path / "tp.jsonl"
    bad.write_text(json.dumps(row) + "\n")
    with pytest.raises(UserError, match="tp.jsonl:1: missing field 'budget'"):
        load_questions("travelplanner", bad)
    bad.write_text(json.dumps({**ROWS[0], "reference_information": "[{'Desc"}) + "\n")
    with pytest.raises(UserError, match="reference_information is not a list literal"):
        load_questions("travelplanner", bad)


# ---- reading the reference information ---------------------------------------------------


def test_reference_tables_are_read_by_their_headers():
    ref = read_reference(ROWS[3]["reference_information"])
    assert ref.cities == {"Burlington", "Montpelier"}
    # restaurant tables carry the database's row numbers; names keep their spaces
    assert ref.restaurants[0] == {
        "Name": "Church Street Creamery",
        "Average Cost": 9.0,
        "Cuisines": "Desserts, Cafe",
        "Aggregate Rating": 4.5,
        "City": "Burlington",
    }
    stay = ref.accommodations[0]
    assert (stay["NAME"], stay["room type"], stay["house_rules"]) == (
        "Room in a lake cottage",
        "Private room",
        "No pets",
    )
    assert stay["minimum nights"] == 2.0 and stay["maximum occupancy"] == 2.0
    assert [f["Flight Number"] for f in ref.flights] == ["F4410733"]  # "no flight" read as none
    assert ref.routes[("taxi", "Montpelier", "Boston")] == 290.0
    assert ref.routes[("self-driving", "Burlington", "Montpelier")] == 3.0


def test_routes_without_valid_information_cost_none():
    raw = [
        {"Description": "Taxi from A to B", "Content": "taxi, from A to B, no valid information."},
        {"Description": "Self-driving from A to C", "Content": "No valid information."},
        {
            "Description": "Self-driving from A to D",
            "Content": "self-driving, from A to D, duration: 1 day 2 hours, distance: 2,900 km, "
            "cost: 145",
        },
    ]
    ref = read_reference(str(raw))
    assert set(ref.routes.values()) == {None}


def test_a_table_missing_a_column_is_refused_naming_it():
    with pytest.raises(UnreadableReference, match="no column 'Cuisines'"):
        read_table("Name  Average Cost  City\nA  3  X", C_RESTAURANT, "Restaurants in X")


C_RESTAURANT = ("Name", "Average Cost", "Cuisines", "Aggregate Rating", "City")


# ---- reading a plan out of a response ------------------------------------------------------


def test_a_plan_is_read_from_a_fence_or_bare_json_and_canonicalised():
    day = {"day": 1, "Current_City": "from A to B", "attraction": ["X, B", "Y, B"]}
    fenced = f"Here it is:\n```json\n{json.dumps([day])}\n```\nEnjoy!"
    plan = json.loads(extract_plan(fenced))
    assert plan == [
        {
            "days": 1,
            "current_city": "from A to B",
            "transportation": "-",
            "breakfast": "-",
            "attraction": "X, B;Y, B",
            "lunch": "-",
            "dinner": "-",
            "accommodation": "-",
        }
    ]
    assert extract_plan(f"Plan: {json.dumps({'plan': [day]})} done") == extract_plan(fenced)
    assert extract_plan('```json\n[{"current_city": "A", "breakfast": "x, A"') is None  # cut off
    assert extract_plan('[{"breakfast": "x, A"}]') is None  # no city: not a day of a plan
    assert extract_plan("The answer is 42") is None


def test_plan_agreement_counts_shared_fields():
    a = annotated(0)
    b = copy.deepcopy(a)
    b[1]["lunch"] = "Red River Smokehouse, Austin"
    assert plan_agreement(dump_plan(a), dump_plan(a)) == 1.0
    assert plan_agreement(dump_plan(a), dump_plan(b)) == pytest.approx(20 / 21)
    assert plan_agreement(dump_plan(a), None) == 0.0


# ---- each constraint, failing for a known reason ----------------------------------------


def edit(i: int, changes: dict[int, dict]) -> list[dict]:
    plan = copy.deepcopy(annotated(i))
    for day, fields in changes.items():
        plan[day].update(fields)
    return plan


def test_reasonable_city_route():
    start = edit(0, {0: {"current_city": "from Houston to Austin"}})
    assert "reasonable_city_route" in failed(check(start, 0))
    no_return = edit(0, {2: {"current_city": "Austin", "transportation": "-"}})
    assert "reasonable_city_route" in failed(check(no_return, 0))
    unknown_city = edit(3, {2: {"current_city": "from Burlington to Rutland"}})
    assert "reasonable_city_route" in failed(check(unknown_city, 3))


def test_diverse_restaurants_and_attractions():
    plan = edit(0, {1: {"dinner": "Red River Smokehouse, Austin"}})
    assert failed(check(plan, 0)) == {"diverse_restaurants"}
    plan = edit(0, {1: {"attraction": "Lady Bird Lake Boardwalk, Austin"}})
    assert failed(check(plan, 0)) == {"diverse_attractions"}


def test_minimum_nights_stay():
    # the craftsman house asks for 2 nights; one night there, then another place
    plan = edit(1, {1: {"accommodation": "Cozy room near Hawthorne, Portland"}})
    assert failed(check(plan, 1)) == {"minimum_nights_stay"}


def test_non_conflicting_transportation():
    mixed = edit(
        1, {2: {"transportation": "Taxi, from Portland to Seattle, Duration: 2 hours 55 mins"}}
    )
    assert failed(check(mixed, 1)) == {"non_conflicting_transportation"}
    no_start = edit(0, {0: {"transportation": "-"}})
    assert "non_conflicting_transportation" in failed(check(no_start, 0))


def test_within_current_city():
    plan = edit(0, {1: {"lunch": "Sunrise Tortilla Kitchen, Dallas"}})
    assert "within_current_city" in failed(check(plan, 0))
    plan = edit(0, {0: {"accommodation": "Quiet loft near the river, Dallas"}})
    assert "within_current_city" in failed(check(plan, 0))


def test_within_sandbox_and_hard_constraints_skipped_when_it_fails():
    invented = edit(0, {1: {"lunch": "Imaginary Noodles, Austin"}})
    v = check(invented, 0)
    assert failed(v) == {"within_sandbox"} and v.hard is None and not v.hard_pass
    wrong_flight = edit(
        0, {0: {"transportation": "Flight Number: F9999999, from Dallas to Austin"}}
    )
    assert failed(check(wrong_flight, 0)) == {"within_sandbox"}
    no_route = edit(1, {2: {"transportation": "Flight Number: F2203118, from Portland to Seattle"}})
    assert "within_sandbox" in failed(check(no_route, 1))


def test_complete_information():
    short = annotated(0)[:2]
    assert "complete_information" in failed(check(short, 0))
    no_sight = edit(0, {1: {"attraction": "-"}})
    assert "complete_information" in failed(check(no_sight, 0))
    homeless = edit(0, {1: {"accommodation": "-"}})
    assert "complete_information" in failed(check(homeless, 0))


def test_budget():
    total = C.total_cost(annotated(0), *task(0))
    assert total == 2 * (89 + 95) + 2 * (14 + 31 + 11 + 22 + 38) + 2 * 160
    assert failed(check(annotated(0), 0, budget=total - 1)) == {"budget"}
    assert check(annotated(0), 0, budget=total).final_pass  # a tie passes
    # four people in a 6-person townhouse pay one room a night; seven would pay two
    assert C.total_cost(annotated(2), *task(2, people_number=7)) > 2 * 2 * 220


def test_room_rule_room_type_and_transportation():
    smoke_free = edit(2, {0: {"accommodation": "Family flat in Walker's Point, Milwaukee"}})
    assert failed(check(smoke_free, 2)) >= {"room_rule"}
    private = edit(
        2,
        {
            0: {"accommodation": "Spare room near campus, Milwaukee"},
            1: {"accommodation": "Spare room near campus, Milwaukee"},
        },
    )
    assert failed(check(private, 2)) == {"room_type"}
    flying = edit(2, {0: {"transportation": "Flight Number: F3310452, from Chicago to Milwaukee"}})
    assert "transportation" in failed(check(flying, 2))
    # a constraint not given is not checked
    assert check(smoke_free, 2, house_rule=None).hard["room_rule"] is None


def test_cuisine():
    no_italian = edit(
        1, {0: {"dinner": "Belmont Pie Shop, Portland"}, 1: {"dinner": "Alder Grill, Portland"}}
    )
    no_italian[2]["breakfast"] = "-"
    assert failed(check(no_italian, 1)) == {"cuisine"}


# ---- metrics -----------------------------------------------------------------------------


def test_official_metrics_and_their_denominators():
    q0, _ = task(0)
    q2, _ = task(2)
    good = check(annotated(0), 0)  # 8/8 commonsense, 1/1 hard
    over = check(annotated(2), 2, budget=10)  # 8/8 commonsense, 3/4 hard
    bad = check(edit(0, {1: {"lunch": "Imaginary Noodles, Austin"}}), 0)  # 7/8, hard skipped
    none = C.check_plan(None, q0, task(0)[1])  # not delivered
    m = C.plan_metrics([good, over, bad, none], [q0, q2, q0, q0])
    assert m["n"] == 4 and m["delivery_rate"] == 0.75
    assert m["commonsense_micro"] == (8 + 8 + 7) / 32
    assert m["commonsense_macro"] == 2 / 4
    assert m["hard_micro"] == (1 + 3) / (1 + 4 + 1 + 1)
    assert m["hard_macro"] == 1 / 4 and m["final_pass"] == 1 / 4


# ---- methods on plans --------------------------------------------------------------------


def plan_reply(plan: list[dict]) -> str:
    return f"```json\n{json.dumps(plan)}\n```"


def test_self_consistency_votes_for_the_most_common_plan_else_the_first(tmp_path):
    good, bad = annotated(0), edit(0, {1: {"lunch": "Imaginary Noodles, Austin"}})
    replies = iter([plan_reply(bad), plan_reply(good), plan_reply(good)])
    llm = ScriptedLLM(lambda m, p: next(replies))
    cfg = RunConfig()
    cfg.self_consistency.samples = 3
    method = build_method("self_consistency", cfg, llms(llm))
    q = load_questions("travelplanner", FIXTURE)[0]
    solution = asyncio.run(method.solve(q.question, BENCH, CallLog()))
    assert solution.prediction == dump_plan(good) and BENCH.grade(solution.prediction, q.gold)
    assert "Reply with the JSON only" in last_user(llm.calls[0]["messages"])
    distinct = iter([plan_reply(bad), plan_reply(good), "no plan"])
    llm.reply = lambda m, p: next(distinct)
    solution = asyncio.run(method.solve(q.question, BENCH, CallLog()))
    assert solution.prediction == dump_plan(bad)  # no plan twice: the first plan


def test_econ_coordinator_commits_to_a_plan_by_its_number_and_replay_agrees():
    good, bad = annotated(0), edit(0, {1: {"lunch": "Imaginary Noodles, Austin"}})
    other = edit(0, {1: {"dinner": "South Lamar Fish House, Austin"}})

    def reply(messages, params):
        text = last_user(messages)
        if "You lead a team of travel planners" in text:
            return "Fly both ways and stay in one place."
        if "Candidate plans:" in text:
            assert "Plan 2:\nDay 1: current_city: from Dallas to Austin" in text
            return "\\boxed{2} Plan 2 keeps every name in the given information."
        seed = params["seed"]
        return plan_reply([bad, good, other][seed % 3])

    llm = ScriptedLLM(reply)
    method = build_method("econ", RunConfig(), llms(llm))
    q = load_questions("travelplanner", FIXTURE)[0]
    log = CallLog()
    solution = asyncio.run(method.solve(q.question, BENCH, log))
    answers = [e["answer"] for e in solution.details["executors"]]
    assert len(set(answers)) == 3, "three different plans, so the commitment decides"
    assert solution.details["decided_by"] == "commitment"
    assert solution.prediction == answers[1]
    stored = log.calls
    assert Econ.replay(stored, BENCH).prediction == solution.prediction


def test_a_plan_run_reports_the_official_metrics():
    questions = load_questions("travelplanner", FIXTURE)
    records = [
        record(
            id=q.id,
            benchmark="travelplanner",
            gold=q.gold,
            prediction=dump_plan(annotated(i)) if i < 2 else None,
            correct=i < 2,
        )
        for i, q in enumerate(questions)
    ]
    report = build_report(records, ["cot"], BENCH)
    plans = report["plans"]["cot"]
    assert plans["delivery_rate"] == 0.5 and plans["final_pass"] == 0.5
    assert plans["commonsense_micro"] == 16 / 32
    assert plans["hard_micro"] == (1 + 2) / (1 + 2 + 4 + 2)


def test_debate_revises_plans_and_votes_for_the_most_common():
    good, bad = annotated(0), edit(0, {1: {"lunch": "Imaginary Noodles, Austin"}})

    def reply(messages, params):
        revising = len(messages) > 1
        if revising:
            assert "End with your whole plan as JSON" in last_user(messages)
            return plan_reply(good)  # every agent takes the good plan in round 2
        return plan_reply(bad if params["seed"] % 2 else good)

    llm = ScriptedLLM(reply)
    cfg = RunConfig()
    cfg.debate.agents, cfg.debate.rounds = 3, 2
    method = build_method("debate", cfg, llms(llm))
    q = load_questions("travelplanner", FIXTURE)[0]
    solution = asyncio.run(method.solve(q.question, BENCH, CallLog()))
    assert len(llm.calls) == 6
    assert solution.prediction == dump_plan(good) and BENCH.grade(solution.prediction, q.gold)


def test_the_viewer_shows_a_plan_runs_metrics(tmp_path):
    from econ.view import render, view_data

    questions = load_questions("travelplanner", FIXTURE)
    rows = [
        record(id=q.id, benchmark="travelplanner", gold=q.gold, prediction=dump_plan(annotated(i)),
               correct=True).model_dump(mode="json")
        for i, q in enumerate(questions[:2])
    ]  # fmt: skip
    (tmp_path / "config.yaml").write_text("run:\n  benchmark: travelplanner\n  methods: [cot]\n")
    (tmp_path / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    data = view_data(tmp_path)
    assert data["plans"]["cot"]["final_pass"] == 1.0 and data["plans"]["cot"]["n"] == 2
    assert "renderPlans" in render(data)
