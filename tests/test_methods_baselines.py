"""Protocol tests for the baselines with a scripted backend: calls, prompts, votes."""

from __future__ import annotations

import asyncio

from fakes import ScriptedLLM, last_user

from econ.config import RunConfig
from econ.methods.base import CallLog, majority
from econ.methods.registry import build_method
from econ.tasks import get_benchmark

GSM = get_benchmark("gsm8k")


def run(method, question="What is 2+3?"):
    log = CallLog()
    sol = asyncio.run(method.solve(question, GSM, log))
    return sol, log


def test_cot_is_one_greedy_call(patch_llm):
    fake = ScriptedLLM(lambda m, p: "2 plus 3 is 5. \\boxed{5}")
    patch_llm(fake)
    sol, log = run(build_method("cot", RunConfig()))
    assert sol.prediction == "5"
    assert len(fake.calls) == 1 and fake.calls[0]["temperature"] == 0.0
    assert log.usage()["calls"] == 1 and log.calls[0]["role"] == "solver"


def test_self_consistency_samples_k_with_distinct_seeds_and_votes(patch_llm):
    answers = iter(["\\boxed{7}", "\\boxed{5}", "\\boxed{5}", "\\boxed{7}", "\\boxed{5}"])
    fake = ScriptedLLM(lambda m, p: next(answers))
    patch_llm(fake)
    cfg = RunConfig()
    cfg.self_consistency.samples = 5
    sol, log = run(build_method("self_consistency", cfg))
    assert sol.prediction == "5"
    assert len(fake.calls) == 5
    assert {c["temperature"] for c in fake.calls} == {0.7}
    assert len({c["seed"] for c in fake.calls}) == 5


def test_majority_tie_goes_to_earliest_and_uses_numeric_equality():
    assert majority(["3", "4", "4.0", "3"], GSM) == "3"
    assert majority(["1,000", "7", "1000"], GSM) == "1,000"
    assert majority([None, None], GSM) is None
    assert majority([None, "8"], GSM) == "8"


def test_debate_rounds_show_only_others_previous_answers(patch_llm):
    def reply(messages, params):
        round_ = 1 if len(messages) == 1 else 2 if "R1-" in last_user(messages) else 3
        agent = params["seed"] % 1000
        return f"R{round_}-agent{agent} says \\boxed{{{4 if round_ < 3 else 9}}}"

    fake = ScriptedLLM(reply)
    patch_llm(fake)
    cfg = RunConfig()
    cfg.debate.agents, cfg.debate.rounds = 3, 3
    sol, log = run(build_method("debate", cfg))
    assert len(fake.calls) == 9
    assert [c["round"] for c in log.calls] == [1, 1, 1, 2, 2, 2, 3, 3, 3]
    for call in log.calls:
        if call["round"] == 1:
            assert len(call["messages"]) == 1
            continue
        i, prev = call["agent"], call["round"] - 1
        others = last_user(call["messages"])
        own = call["messages"][-2]
        assert own["role"] == "assistant" and f"R{prev}-agent{i} " in own["content"]
        assert f"R{prev}-agent{i} " not in others
        for j in {0, 1, 2} - {i}:
            assert f"R{prev}-agent{j} " in others
    assert sol.prediction == "9"
