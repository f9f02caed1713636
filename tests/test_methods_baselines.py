"""Protocol tests for the baselines with a scripted backend: calls, prompts, votes."""

from __future__ import annotations

import asyncio

import pytest
from fakes import ScriptedLLM, last_user, llms

from econ.config import RunConfig, load_config
from econ.errors import UserError
from econ.methods.build import build_method, method_class, method_names
from econ.methods.calls import CallLog
from econ.methods.voting import majority
from econ.tasks import get_benchmark

GSM = get_benchmark("gsm8k")


def run(method, question="What is 2+3?"):
    log = CallLog()
    sol = asyncio.run(method.solve(question, GSM, log))
    return sol, log


def test_cot_is_one_greedy_call():
    fake = ScriptedLLM(lambda m, p: "2 plus 3 is 5. \\boxed{5}")
    sol, log = run(build_method("cot", RunConfig(), llms(fake)))
    assert sol.prediction == "5"
    assert len(fake.calls) == 1 and fake.calls[0]["temperature"] == 0.0
    assert log.usage().calls == 1 and log.calls[0].role == "solver"


def test_self_consistency_samples_k_with_distinct_seeds_and_votes():
    answers = iter(["\\boxed{7}", "\\boxed{5}", "\\boxed{5}", "\\boxed{7}", "\\boxed{5}"])
    fake = ScriptedLLM(lambda m, p: next(answers))
    cfg = RunConfig()
    cfg.self_consistency.samples = 5
    sol, log = run(build_method("self_consistency", cfg, llms(fake)))
    assert sol.prediction == "5"
    assert len(fake.calls) == 5
    assert {c["temperature"] for c in fake.calls} == {0.7}
    assert len({c["seed"] for c in fake.calls}) == 5


def test_majority_tie_goes_to_earliest_and_uses_numeric_equality():
    assert majority(["3", "4", "4.0", "3"], GSM) == "3"
    assert majority(["1,000", "7", "1000"], GSM) == "1,000"
    assert majority([None, None], GSM) is None
    assert majority([None, "8"], GSM) == "8"


def test_debate_rounds_show_only_others_previous_answers():
    def reply(messages, params):
        round_ = 1 if len(messages) == 1 else 2 if "R1-" in last_user(messages) else 3
        agent = params["seed"] % 1000
        return f"R{round_}-agent{agent} says \\boxed{{{4 if round_ < 3 else 9}}}"

    fake = ScriptedLLM(reply)
    cfg = RunConfig()
    cfg.debate.agents, cfg.debate.rounds = 3, 3
    sol, log = run(build_method("debate", cfg, llms(fake)))
    assert len(fake.calls) == 9
    assert [c.round for c in log.calls] == [1, 1, 1, 2, 2, 2, 3, 3, 3]
    for call in log.calls:
        if call.round == 1:
            assert len(call.messages) == 1
            continue
        i, prev = call.agent, call.round - 1
        others = last_user(call.messages)
        own = call.messages[-2]
        assert own["role"] == "assistant" and f"R{prev}-agent{i} " in own["content"]
        assert f"R{prev}-agent{i} " not in others
        for j in {0, 1, 2} - {i}:
            assert f"R{prev}-agent{j} " in others
    assert sol.prediction == "9"


def test_debate_samples_at_its_configured_temperature():
    fake = ScriptedLLM(lambda m, p: "\\boxed{4}")
    cfg = load_config(None, {"debate.agents": 2, "debate.rounds": 2, "debate.temperature": 0.2})
    sol, _ = run(build_method("debate", cfg, llms(fake)))
    assert sol.prediction == "4" and [c["temperature"] for c in fake.calls] == [0.2] * 4


@pytest.mark.parametrize("name", method_names())
def test_every_method_is_built_with_the_llms_it_is_given(name):
    """The registry hands each method the LLMs `make_llm` builds for the config's specs."""
    specs = {"model": "local:m", "econ.coordinator": "local:c", "econ.executors": ["local:e"]}
    fakes = {
        s: ScriptedLLM(lambda m, p: "\\boxed{1}", name=s) for s in ("local:m", "local:c", "local:e")
    }
    method = build_method(name, load_config(None, specs), llms(fakes))
    assert type(method) is method_class(name) and method.name == name
    if name.startswith("econ"):
        assert method.system.coordinator.llm is fakes["local:c"]
        assert method.system.executors == [fakes["local:e"]]
        # the ablations' options reach the system they wrap
        assert method.system.coordinator.by_vote == (name == "econ-vote")
        assert method.system.use_strategy == (name != "econ-nostrategy")
    else:
        assert method.llm is fakes["local:m"]


def test_an_unknown_method_name_is_one_user_error():
    with pytest.raises(UserError, match="unknown method 'magic'; choose from: cot, "):
        build_method("magic", RunConfig())
