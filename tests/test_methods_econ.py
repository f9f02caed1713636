"""Protocol tests for ECON with a scripted backend (the real sentence encoder, fake LLMs)."""

from __future__ import annotations

import asyncio
import re

import pytest
import torch
from fakes import ScriptedCut, ScriptedLLM, last_user, record

from econ.belief.embedder import Embedder
from econ.belief.networks import BeliefConfig, EconAgents
from econ.methods.econ import EconSystem
from econ.tasks import get_benchmark

GSM = get_benchmark("gsm8k")
Q = "Tom has 3 apples and buys 4 more. How many apples does he have?"


# The paper's protocol: a commitment call on every question, whose explicit answer always
# wins, stated after its reasons at the run's token cap; a cut strategy trimmed. The tests of
# that path pin it; the defaults (the measured protocol) have tests of their own below.
PAPER = dict(
    skip_unanimous=False,
    override="always",
    strategy_when_cut="trim",
    commit_format="reason-first",
    commit_max_tokens=None,
    waves=False,
)


@pytest.fixture(scope="module")
def embedder():
    return Embedder()


class FixedAgents:
    """Belief networks replaced by fixed, distinct actions: isolates the protocol under test."""

    def __init__(self, actions, controls=("temperature", "top_p")):
        self.actions = torch.tensor(actions, dtype=torch.float32)
        self.control_names = controls
        self.cfg = BeliefConfig(n_agents=len(actions))

    def act(self, obs):
        assert obs.shape[:2] == (1, len(self.actions))
        return self.actions.unsqueeze(0)


def coordinator(
    commit_answer="7", strategy="Add the two amounts.", commit=None, reask="\\boxed{7}"
):
    """A scripted coordinator; `commit` replaces the whole commitment text when given."""

    def reply(messages, params):
        text = last_user(messages)
        if "which quantities to work out" in text:
            return strategy
        if text.startswith("State only your final answer"):
            return reask
        return commit or f"Most solutions add correctly. \\boxed{{{commit_answer}}}"

    return ScriptedLLM(reply, name="coord")


def executor(i, answer="7"):
    return ScriptedLLM(
        lambda m, p: f"EXEC{i}-TEXT adding gives \\boxed{{{answer}}}", name=f"exec{i}"
    )


def test_executors_are_independent_and_use_their_own_actions(embedder):
    coord = coordinator()
    execs = [executor(i, a) for i, a in enumerate(["7", "7", "6"])]
    acts = [[0.2, 0.6], [0.7, 0.8], [1.1, 0.95]]
    system = EconSystem(coord, execs, FixedAgents(acts), embedder=embedder, **PAPER)
    result = asyncio.run(system.solve(Q, GSM))

    assert result.answer == "7"
    assert result.usage.calls == 3 + 2
    for i, ex in enumerate(execs):
        (call,) = ex.calls
        prompt = " ".join(m["content"] for m in call["messages"])
        assert "EXEC" not in prompt, "an executor saw another executor's response"
        assert "Add the two amounts." in prompt, "the strategy must reach every executor"
        assert (call["temperature"], call["top_p"]) == pytest.approx(tuple(acts[i]))
        assert call["repetition_penalty"] is None
        assert result.executors[i].controls["temperature"] == pytest.approx(acts[i][0])
    assert result.decided_by == "commitment"
    commit_prompt = last_user(coord.calls[-1]["messages"])
    assert all(f"EXEC{i}-TEXT" in commit_prompt for i in range(3))
    assert [c.role for c in result.trace].count("coordinator") == 1


def test_untrained_networks_choose_range_midpoints(embedder):
    execs = [executor(i) for i in range(3)]
    controls = {"temperature": (0.1, 1.2), "top_p": (0.5, 1.0)}
    agents = EconAgents(BeliefConfig(n_agents=3, controls=controls))
    system = EconSystem(coordinator(), execs, agents, embedder=embedder, waves=False)
    asyncio.run(system.solve(Q, GSM))
    for ex in execs:
        assert ex.calls[0]["temperature"] == pytest.approx(0.65, abs=1e-3)
        assert ex.calls[0]["top_p"] == pytest.approx(0.75, abs=1e-3)


def test_nine_executors_in_groups_of_three_keep_prompts_bounded(embedder):
    coord = coordinator()
    execs = [executor(i, str(7 + (i % 4 == 0))) for i in range(9)]
    system = EconSystem(
        coord,
        execs,
        EconAgents(BeliefConfig(n_agents=9)),
        embedder=embedder,
        group_size=3,
        **PAPER,
    )
    result = asyncio.run(system.solve(Q, GSM))
    roles = [c.role for c in result.trace]
    assert roles.count("strategy") == 1
    assert roles.count("local_coordinator") == 3 and roles.count("coordinator") == 1
    for call in coord.calls[1:]:
        text = last_user(call["messages"])
        shown = len(re.findall(r"^(Solution|Group) \d+", text, flags=re.M))
        assert 1 <= shown <= 3
    glob = last_user(coord.calls[-1]["messages"])
    assert "Group 3 committed to 7" in glob and "of 3 of its solvers" in glob


def test_stage_two_revises_dissenters_and_stops_when_commitment_repeats(embedder):
    coord = coordinator("7")
    revised_prompts = []

    def dissenter(messages, params):
        if len(messages) > 1:
            revised_prompts.append(messages)
            return "On reflection \\boxed{7}"
        return "DISSENT-TEXT \\boxed{6}"

    execs = [executor(0), executor(1), ScriptedLLM(dissenter, name="exec2")]
    system = EconSystem(
        coord,
        execs,
        EconAgents(BeliefConfig(n_agents=3)),
        embedder=embedder,
        bne_rounds=3,
        **PAPER,
    )
    result = asyncio.run(system.solve(Q, GSM))
    assert result.rounds == 1
    assert result.commitments == ["7", "7"]
    assert len(execs[0].calls) == 1 and len(execs[2].calls) == 2
    (msgs,) = revised_prompts
    feedback = msgs[-1]["content"]
    assert "committed to the answer 7" in feedback
    assert "EXEC0-TEXT" not in " ".join(m["content"] for m in msgs)
    assert result.usage.calls == 1 + 3 + 1 + 1 + 1


def test_strategy_that_states_the_answer_is_retried_then_trimmed(embedder):
    coord = coordinator(strategy="Add 3 and 4. The final answer is 7.")
    system = EconSystem(
        coord, [executor(0)], EconAgents(BeliefConfig(n_agents=1)), embedder=embedder
    )
    result = asyncio.run(system.solve(Q, GSM))
    assert [c.role for c in result.trace].count("strategy") == 2
    assert result.strategy == "Add 3 and 4."


def test_method_only_strategy_is_not_retried(embedder):
    coord = coordinator(strategy="Add the two amounts to get the final answer.")
    system = EconSystem(
        coord, [executor(0)], EconAgents(BeliefConfig(n_agents=1)), embedder=embedder
    )
    result = asyncio.run(system.solve(Q, GSM))
    assert [c.role for c in result.trace].count("strategy") == 1
    assert result.strategy == "Add the two amounts to get the final answer."


def test_cut_strategy_is_trimmed_at_its_last_sentence_without_a_retry(embedder):
    def reply(messages, params):
        if "which quantities to work out" in last_user(messages):
            assert params["max_tokens"] == 50
            return ScriptedCut("First count the apples Tom has. Then add the ones he bu")
        return "\\boxed{7}"

    coord = ScriptedLLM(reply, name="coord")
    system = EconSystem(
        coord, [executor(0)], EconAgents(BeliefConfig(n_agents=1)), embedder=embedder, **PAPER
    )
    result = asyncio.run(system.solve(Q, GSM))
    assert [c.role for c in result.trace].count("strategy") == 1
    assert result.strategy == "First count the apples Tom has."
    assert "First count the apples Tom has." in last_user(result.trace[1].messages)

    dropping = EconSystem(
        coord,
        [executor(0)],
        EconAgents(BeliefConfig(n_agents=1)),
        embedder=embedder,
        strategy_when_cut="drop",
    )
    result = asyncio.run(dropping.solve(Q, GSM))
    assert [c.role for c in result.trace].count("strategy") == 1
    assert result.strategy == ""
    assert "coordinator suggests" not in last_user(result.trace[1].messages)


def test_commitment_without_a_box_is_reasked_never_read_from_commentary(embedder):
    coord = coordinator(
        commit="Solution 1 and Solution 2 are correct. Solution 3 is also correct.",
        reask="\\boxed{4.5}",
    )
    execs = [executor(i, "4.5") for i in range(3)]
    system = EconSystem(
        coord, execs, EconAgents(BeliefConfig(n_agents=3)), embedder=embedder, **PAPER
    )
    result = asyncio.run(system.solve(Q, GSM))
    assert result.answer == "4.5" and result.decided_by == "reask"
    assert result.usage.calls == 1 + 3 + 2
    assert [c.max_tokens for c in result.trace if c.role == "coordinator"][1] <= 64


def test_failed_reask_falls_back_to_the_executors_majority(embedder):
    coord = coordinator(commit="Solution 3 looks best.", reask="I would go with Solution 3.")
    execs = [executor(0, "7"), executor(1, "7"), executor(2, "3")]
    system = EconSystem(
        coord, execs, EconAgents(BeliefConfig(n_agents=3)), embedder=embedder, **PAPER
    )
    result = asyncio.run(system.solve(Q, GSM))
    assert result.answer == "7" and result.decided_by == "majority"
    assert result.to_json()["decided_by"] == "majority"


def test_configured_controls_reach_the_executor_by_name(embedder):
    agents = FixedAgents([[0.3, 1.15]], controls=("temperature", "repetition_penalty"))
    ex = executor(0)
    system = EconSystem(coordinator(), [ex], agents, embedder=embedder)
    result = asyncio.run(system.solve(Q, GSM))
    (call,) = ex.calls
    assert call["temperature"] == pytest.approx(0.3)
    assert call["repetition_penalty"] == pytest.approx(1.15)
    assert call["top_p"] == 1.0
    assert result.executors[0].controls == pytest.approx(
        {"temperature": 0.3, "repetition_penalty": 1.15}
    )


def test_policy_is_called_per_round_and_steps_record_who_acted(embedder):
    def dissenter(messages, params):
        return "On reflection \\boxed{7}" if len(messages) > 1 else "\\boxed{6}"

    execs = [executor(0), executor(1), ScriptedLLM(dissenter, name="exec2")]
    system = EconSystem(
        coordinator("7"),
        execs,
        EconAgents(BeliefConfig(n_agents=3)),
        embedder=embedder,
        bne_rounds=2,
        waves=False,
    )
    seen = []

    def policy(obs):
        seen.append(obs)
        return torch.full((3, 1), 0.2 + 0.5 * len(seen))

    result = asyncio.run(system.solve(Q, GSM, policy=policy))
    assert len(seen) == 2 and torch.equal(seen[0][:, :384], seen[1][:, :384])
    assert not torch.equal(seen[0][:, 384:768], seen[1][:, 384:768]), "revision sees the commitment"
    assert [s.acted for s in result.steps] == [[True] * 3, [False, False, True]]
    assert result.steps[1].answers == ["7", "7", "7"]
    assert execs[2].calls[1]["temperature"] == pytest.approx(1.2)


def test_vote_ablation_skips_the_commitment_call(embedder):
    coord = coordinator("9")
    execs = [executor(0, "7"), executor(1, "7"), executor(2, "6")]
    agents = EconAgents(BeliefConfig(n_agents=3))
    system = EconSystem(coord, execs, agents, embedder=embedder, commit_by_vote=True, waves=False)
    result = asyncio.run(system.solve(Q, GSM))
    assert result.answer == "7" and result.usage.calls == 4


def test_no_strategy_ablation(embedder):
    coord = coordinator()
    execs = [executor(i) for i in range(3)]
    system = EconSystem(
        coord,
        execs,
        EconAgents(BeliefConfig(n_agents=3)),
        embedder=embedder,
        use_strategy=False,
        **PAPER,
    )
    result = asyncio.run(system.solve(Q, GSM))
    assert result.strategy == "" and result.usage.calls == 4
    assert "strategy" not in execs[0].calls[0]["messages"][0]["content"]


def test_mismatched_network_size_is_refused(embedder):
    from econ.errors import UserError

    with pytest.raises(UserError, match="belief networks are for 3 executors"):
        EconSystem(
            coordinator(), [executor(0)], EconAgents(BeliefConfig(n_agents=3)), embedder=embedder
        )


def test_embedder_cache_is_bounded_and_order_independent():
    small = Embedder(cache_size=3)
    a = small.encode(["one", "two"])
    b = small.encode(["two", "three", "one"])  # overflows the cache: cleared, then refilled
    assert len(small._cache) <= 3
    assert torch.equal(a[0], b[2]) and torch.equal(a[1], b[0])


def test_checkpoint_for_another_team_size_is_refused(tmp_path):
    from econ.belief.checkpoint import CheckpointError, save_checkpoint
    from econ.belief.controls import default_controls
    from econ.belief.team import load_team

    controls = default_controls()
    save_checkpoint(tmp_path / "checkpoint", EconAgents(BeliefConfig(n_agents=2)), None, {})
    agents, history = load_team(tmp_path / "checkpoint", 2, controls)
    assert agents.cfg.n_agents == 2 and history is None
    with pytest.raises(CheckpointError, match="for 2 executors, but the team has 3"):
        load_team(tmp_path, 3, controls)  # a run directory holding checkpoint/ works too
    with pytest.raises(CheckpointError, match="does not exist"):
        load_team(tmp_path / "missing", 3, controls)


def test_heterogeneous_team_is_accounted_per_model(embedder):
    small = [executor(i) for i in range(2)]
    big = ScriptedLLM(lambda m, p: "BIG thinks \\boxed{7}", name="big")
    system = EconSystem(
        coordinator(),
        [*small, big],
        EconAgents(BeliefConfig(n_agents=3)),
        embedder=embedder,
        **PAPER,
    )
    result = asyncio.run(system.solve(Q, GSM))
    per_model = result.usage.per_model
    assert set(per_model) == {"coord", "exec0", "exec1", "big"}
    assert per_model["coord"].calls == 2 and per_model["big"].calls == 1
    assert sum(m.completion_tokens for m in per_model.values()) == result.usage.completion_tokens
    assert [e.model for e in result.executors] == ["exec0", "exec1", "big"]


def test_team_options_resolve_from_flags():
    from econ.config import load_config

    cfg = load_config(None, {"model": "local:a", "econ.executors": ["local:b", "local:c"]})
    assert cfg.coordinator_model() == "local:a"
    assert cfg.executor_models() == ["local:b", "local:c"] and cfg.econ.n_executors == 2
    cfg = load_config(
        None, {"model": "local:a", "econ.n_executors": 4, "econ.coordinator": "local:z"}
    )
    assert cfg.executor_models() == ["local:a"] * 4 and cfg.coordinator_model() == "local:z"
    assert cfg.model_specs() == ["local:a", "local:z"]


@pytest.mark.parametrize(
    ("cut", "kept"),
    [
        ("Count the eggs. Then subtract the ones she ea", "Count the eggs."),
        (
            "Steps:\n1. Count eggs.\n2. Subtract the eaten.\n3. Subtract the number",
            "Steps:\n1. Count eggs.\n2. Subtract the eaten.",
        ),
        (
            "Find it. We follow:\n\n1. Determine the distance.\n2. Calculate by",
            "Find it. We follow:\n\n1. Determine the distance.",
        ),
        (
            "It costs 60.5 dollars. Then add 2. Then the rest of",
            "It costs 60.5 dollars. Then add 2.",
        ),
        ("no full sentence at all here and cut mid wo", "no full sentence at all here and cut mid"),
    ],
)
def test_cut_strategy_keeps_whole_sentences_not_list_numbers(cut, kept):
    from econ.methods.econ.prompts import trim_to_sentence

    assert trim_to_sentence(cut) == kept


# ---- the default protocol: pay for a commitment only where the executors leave it open ----


def _team(answers, commit, embedder, **rules):
    """A team whose executors give `answers`; every executor asked unless `waves` says."""
    rules.setdefault("waves", False)
    coord = coordinator(commit=commit)
    execs = [executor(i, a) for i, a in enumerate(answers)]
    n = len(answers)
    return coord, EconSystem(
        coord, execs, EconAgents(BeliefConfig(n_agents=n)), embedder=embedder, **rules
    )


def test_unanimous_executors_commit_without_a_commitment_call(embedder):
    coord, system = _team(["7", "7", "7"], "\\boxed{9}", embedder)
    result = asyncio.run(system.solve(Q, GSM))
    assert result.answer == "7" and result.decided_by == "unanimous"
    assert [c.role for c in result.trace] == ["strategy"] + ["executor"] * 3
    assert len(coord.calls) == 1  # the strategy only

    coord, paying = _team(
        ["7", "7", "7"], "\\boxed{9}", embedder, skip_unanimous=False, override="always"
    )
    result = asyncio.run(paying.solve(Q, GSM))
    assert (result.answer, result.decided_by) == ("9", "commitment")
    assert len(coord.calls) == 2


def test_a_strict_majority_decides_without_a_call_under_override_never(embedder):
    coord, system = _team(["7", "7", "3"], "\\boxed{3}", embedder, override="never")
    result = asyncio.run(system.solve(Q, GSM))
    assert result.answer == "7" and result.decided_by == "vote"
    assert len(coord.calls) == 1


@pytest.mark.parametrize(
    ("override", "commit", "answer", "decided_by"),
    [
        ("always", "\\boxed{9}", "9", "commitment"),  # the paper: the coordinator wins
        ("among", "\\boxed{9}", "7", "vote"),  # a new answer cannot overrule the majority
        ("among", "\\boxed{3}", "3", "commitment"),  # siding with the minority can
        ("never", "\\boxed{3}", "7", "vote"),
    ],
)
def test_override_rules_against_a_strict_majority(embedder, override, commit, answer, decided_by):
    coord, system = _team(["7", "7", "3"], commit, embedder, override=override)
    result = asyncio.run(system.solve(Q, GSM))
    assert (result.answer, result.decided_by) == (answer, decided_by)
    assert len(coord.calls) == (1 if override == "never" else 2)


def test_a_split_is_decided_by_a_short_answer_first_commitment(embedder):
    coord, system = _team(["7", "6", "5"], "\\boxed{6} Solution 2 adds both amounts.", embedder)
    result = asyncio.run(system.solve(Q, GSM))
    assert result.answer == "6" and result.decided_by == "commitment"
    (commit,) = [c for c in result.trace if c.role == "coordinator"]
    assert commit.max_tokens == 96
    prompt = last_user(commit.messages)
    assert "Start your reply with that final answer alone inside \\boxed{}" in prompt


def test_the_coordinator_reads_each_response_condensed_to_its_conclusion(embedder):
    from econ.methods.econ.prompts import condense

    long = "OPENING " + "step " * 400 + "so the total is \\boxed{7}"
    shown = condense(long, 600)
    assert len(shown) <= 610 and shown.startswith("[...] ") and shown.endswith("\\boxed{7}")
    assert "OPENING" not in shown
    assert condense("short \\boxed{7}", 600) == "short \\boxed{7}"


@pytest.mark.parametrize("override", ["always", "among", "never"])
@pytest.mark.parametrize(
    ("answers", "commit"),
    [
        (["7", "7", "7"], "\\boxed{9}"),
        (["7", "7", "3"], "\\boxed{3}"),
        (["7", "7", "3"], "\\boxed{9}"),
        (["7", "6", "5"], "\\boxed{6} because"),
        (["7", "6", "5"], "Solution 2 is right."),  # no answer: re-ask, then the majority
    ],
)
def test_replay_decides_as_the_live_run_did(embedder, override, answers, commit):
    from econ.config import EconConfig
    from econ.methods.econ import Econ

    _, system = _team(answers, commit, embedder, override=override)
    result = asyncio.run(system.solve(Q, GSM))
    replayed = Econ.replay(result.trace, GSM, EconConfig(override=override))
    assert replayed.prediction == result.answer
    assert replayed.details["decided_by"] == result.decided_by


@pytest.mark.parametrize(
    ("cut", "kept"),
    [
        ("Count the eggs. Then subtract the ones she ea", "Count the eggs."),
        ("Steps:\n1. Count eggs.\n2. Subtract the eaten.\n3. Subtract the number", ""),
        ("Find it. We follow:\n\n1. Determine the distance.\n2. Calculate by", "Find it."),
        ("It costs 6.5 dollars. Then add 2. Then the rest of", "It costs 6.5 dollars. Then add 2."),
        ("no full sentence at all here and cut mid wo", ""),
    ],
)
def test_a_cut_plan_keeps_only_what_is_whole(cut, kept):
    from econ.methods.econ.prompts import trim_plan

    assert trim_plan(cut) == kept


def test_two_waves_ask_the_rest_only_when_the_first_wave_disagrees(embedder):
    coord, system = _team(["7", "7", "3"], "\\boxed{3}", embedder, waves=True)
    result = asyncio.run(system.solve(Q, GSM))
    assert (result.answer, result.decided_by) == ("7", "unanimous")
    assert [c.role for c in result.trace] == ["strategy"] + ["executor"] * 2
    assert system.executors[2].calls == [] and len(coord.calls) == 1
    assert result.executors[2] is None and result.to_json()["executors"][2] is None
    assert result.steps[0].acted == [True, True, False]

    coord, system = _team(["7", "3", "3"], "\\boxed{3}", embedder, waves=True)
    result = asyncio.run(system.solve(Q, GSM))
    assert (result.answer, result.decided_by) == ("3", "commitment")  # the wave split
    assert len(system.executors[2].calls) == 1 and len(coord.calls) == 2
    assert result.steps[0].acted == [True, True, True]


@pytest.mark.parametrize("answers", [["7", "7", "3"], ["7", "3", "7"], ["7", "6", "5"]])
def test_two_waves_live_spend_and_answer_what_the_replay_of_one_wave_predicts(embedder, answers):
    from econ.compute import econ_replays
    from econ.config import EconConfig
    from econ.methods.econ import Econ

    def as_record(result):
        return record(id="q", method="econ", gold="7", prediction=result.answer,
                      correct=GSM.grade(result.answer, "7"), trace=result.trace)  # fmt: skip

    _, one_wave = _team(answers, "\\boxed{6} because", embedder)
    _, two_waves = _team(answers, "\\boxed{6} because", embedder, waves=True)
    full, live = (asyncio.run(s.solve(Q, GSM)) for s in (one_wave, two_waves))
    rows, _ = econ_replays([as_record(full)], GSM)
    (replayed,) = [r for r in rows if r.method == "econ:two-wave"]
    assert replayed.prediction == live.answer
    assert replayed.prompt_tokens == live.usage.prompt_tokens
    assert replayed.completion_tokens == live.usage.completion_tokens
    # and `econ rescore` re-decides the live two-wave run as it was decided
    again = Econ.replay(live.trace, GSM, EconConfig())
    assert (again.prediction, again.details["decided_by"]) == (live.answer, live.decided_by)
