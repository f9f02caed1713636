"""The training loop with scripted LLMs: rewards reach the learner per round, the records and
logs are named, resume is exact and makes no strategy call twice."""

from __future__ import annotations

import asyncio
import json
import random

import torch
from fakes import ScriptedLLM, last_user, llms
from safetensors.torch import load_file

from econ.config import load_config
from econ.episodes import EpisodeRecord
from econ.runs import new_run_dir
from econ.tasks.datasets import read_run_data
from econ.train import train

CONTROLS = {"temperature": [0.1, 1.2], "top_p": [0.5, 1.0]}
STRATEGY = "You lead a team of solvers"


def team(revise_to: str | None = None) -> ScriptedLLM:
    """Executors answer right or wrong at random (seeded by the prompt and temperature), the
    coordinator commits to the most common answer; asked to revise, an executor gives
    `revise_to` (or answers at random again)."""

    def reply(messages, params):
        text = last_user(messages)
        if STRATEGY in text:
            return "Work out each quantity, then combine them."
        if "Independent solutions" in text:
            answers = [
                line.split("answer: ")[1].rstrip("):")
                for line in text.splitlines()
                if "(answer: " in line
            ]
            return f"Most agree. \\boxed{{{max(set(answers), key=answers.count)}}}"
        if "The coordinator committed" in text and revise_to is not None:
            return f"On reflection \\boxed{{{revise_to}}}"
        rng = random.Random(f"{text}{params['temperature']:.3f}")
        return f"So the result is \\boxed{{{rng.choice([5, 7, 7.2])}}}"

    return ScriptedLLM(reply)


def run_train(tmp_path, name, episodes, fake, run_dir=None, **extra):
    cfg = load_config(
        None,
        {
            "run.benchmark": "demo",
            "econ.controls": CONTROLS,
            "train.episodes": episodes,
            "train.checkpoint_every": 3,
            "train.gap_every": 3,
            "train.learner.batch_size": 2,
            **extra,
        },
    )
    data = read_run_data(cfg.run, "train")  # as `econ train` does: read once, checked, recorded
    run_dir = run_dir or new_run_dir(str(tmp_path / name), cfg, split="train", data=data)
    report = train(cfg, run_dir, show_progress=False, make_llm=llms(fake), data=data)
    return asyncio.run(report), run_dir


def read_episodes(run_dir) -> list[dict]:
    return [json.loads(x) for x in (run_dir / "episodes.jsonl").read_text().splitlines()]


def test_training_updates_networks_and_logs(tmp_path, monkeypatch):
    # the critic's actor: six scripted episodes hold no evidence, and the evidence's would
    # rightly wait; every episode reaches the learner through `econ.train.learn`
    import econ.train

    learned, real = [], econ.train.learn
    monkeypatch.setattr(econ.train, "learn", lambda *a: learned.append(a) or real(*a))
    report, run_dir = run_train(tmp_path, "a", 6, team(), **{"train.learner.actor": "critic"})
    assert len(learned) == 6
    episodes = read_episodes(run_dir)
    assert [e["episode"] for e in episodes] == list(range(6))
    assert all(list(e) == list(EpisodeRecord.model_fields) for e in episodes)  # in field order
    assert all(len(e["rewards"]) == 3 and e["error"] is None for e in episodes)
    assert all(e["losses"] is not None for e in episodes[1:])  # a batch of 2 fits after one
    assert {"td", "td_tot", "actor", "bound", "mix", "sd", "belief"} <= set(episodes[-1]["losses"])
    assert all(set(a) == {"temperature", "top_p"} for e in episodes for a in e["actions"])
    assert 0.2 < episodes[0]["exploration_std"] <= 0.3
    assert [g[0] for g in report["gaps"]] == [3, 6] and all(len(g) == 3 for g in report["gaps"])
    assert report["episodes"] == 6 and not report["stopped_early"]
    assert all(e["stable"] and e["rounds"] == 0 for e in episodes)  # no stage 2: nothing revised
    assert report["commitment_stability"] == 1.0
    before = torch.tensor([[0.65, 0.75]] * 3)
    after = torch.tensor([[a["temperature"], a["top_p"]] for a in report["actions"]])
    assert not torch.allclose(before, after, atol=1e-4), "training did not move any action"
    assert (run_dir / "training.png").stat().st_size > 10_000  # plotted panels, not blank
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"losses/td", "losses/actor", "rewards/team", "equilibrium/gap_rel"} <= tags
    assert "actions/agent2_top_p" in tags
    assert {"evidence/agent0_temperature_t", "evidence/agent2_top_p_boundary"} <= tags
    test = episodes[-1]["evidence"][0]["temperature"]
    assert set(test) == {"t", "boundary", "target"} and test["boundary"] > 3


def test_stage_two_stores_one_transition_per_round(tmp_path):
    """Executors that disagree revise to 7: each question has two rounds, the second acted on
    only by the dissenters, and both rounds reach the replay buffer with their own mask."""
    _, run_dir = run_train(tmp_path, "s2", 4, team(revise_to="7"), **{"econ.bne_rounds": 1})
    episodes = read_episodes(run_dir)
    buffer = load_file(run_dir / "checkpoint" / "buffer.safetensors")
    acted = buffer["buffer.acted"]
    revised = [e for e in episodes if e["rounds"] == 1]
    assert revised, "no question went to stage 2"
    assert acted.shape[0] == len(episodes) + len(revised)  # one row per round
    assert (acted == 0).any() and (acted.sum(dim=1) == 3).sum() >= len(episodes)


def test_resume_continues_exactly_without_repeating_strategy_calls(tmp_path):
    _, straight = run_train(tmp_path, "straight", 6, team())
    _, split = run_train(tmp_path, "split", 3, team())
    resumed = team()
    run_train(tmp_path, "split", 6, resumed, run_dir=split)  # the 'killed' run goes on at 3
    strategy_calls = [c for c in resumed.calls if STRATEGY in last_user(c["messages"])]
    assert len(strategy_calls) == 3  # the three new episodes; held-out observations were saved
    a = load_file(straight / "checkpoint" / "weights.safetensors")
    b = load_file(split / "checkpoint" / "weights.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert [e["rewards"] for e in read_episodes(straight)] == [
        e["rewards"] for e in read_episodes(split)
    ]
    assert [e["actions"] for e in read_episodes(straight)] == [
        e["actions"] for e in read_episodes(split)
    ]


def test_al_reads_each_rounds_own_texts(tmp_path, monkeypatch):
    """AL compares each executor's response with the round's commitment: the coordinator's
    words when it was asked, else the committed answer boxed; stage 2 scores the revised
    responses against the second commitment. The texts come from the round itself."""
    from econ.belief.embedder import Embedder

    seen: list[list[str]] = []
    real = Embedder.encode
    monkeypatch.setattr(
        Embedder, "encode", lambda self, texts: seen.append(texts) or real(self, texts)
    )
    run_train(tmp_path, "al", 3, team(revise_to="7"), **{"econ.bne_rounds": 1})
    scored = [t for t in seen if len(t) == 4]  # [commitment, response x 3]
    kinds = set()
    for commitment, *responses in scored:
        values = {r.split("\\boxed{")[1].split("}")[0] for r in responses}
        if len(values) == 1:  # settled without a call: the answer boxed
            assert commitment == f"\\boxed{{{values.pop()}}}"
            kinds.add("settled")
        else:
            assert commitment.startswith("Most agree. \\boxed{")
            kinds.add("asked")
        kinds |= {"revised"} if any("On reflection" in r for r in responses) else set()
    assert kinds == {"settled", "asked", "revised"}


def test_an_episode_record_of_another_layout_is_refused_on_resume(tmp_path):
    import pytest

    from econ.episodes import EPISODE_LAYOUT, records_before
    from econ.errors import UserError

    path = tmp_path / "episodes.jsonl"
    old = {"episode": 0, "id": "q0", "gold": "1"}  # written before the field: layout 1
    path.write_text(json.dumps(old) + "\n")
    assert [e.layout for e in records_before(path, 1)] == [EPISODE_LAYOUT]
    path.write_text(json.dumps({**old, "layout": 99}) + "\n")
    with pytest.raises(UserError, match="record 1 is an episode record of layout 99"):
        records_before(path, 1)
    assert json.loads(path.read_text())["layout"] == 99  # nothing rewritten


def test_training_on_plans_rewards_plan_passes_and_plan_agreement(tmp_path, monkeypatch):
    """TravelPlanner: CC is the executor's own plan's final pass, TS the committed plan's, and
    AL's similarity the share of day fields the plan shares with the committed one."""
    import ast
    from pathlib import Path

    import econ.train
    from econ.tasks.plans.schema import as_plan

    fixture = Path(__file__).parent / "fixtures" / "travelplanner.jsonl"
    rows = [json.loads(line) for line in fixture.read_text().splitlines()]
    good = {r["query"]: as_plan(ast.literal_eval(r["annotated_plan"])[1:]) for r in rows}

    def reply(messages, params):
        text = last_user(messages)
        if "You lead a team of travel planners" in text:
            return "Book the stays first."
        if "Candidate plans:" in text:
            return "\\boxed{1} Plan 1 keeps to the given information."
        plan = next(p for q, p in good.items() if q in text)
        if params["temperature"] > 0.4:  # hotter executors invent a lunch place
            plan = [dict(d) for d in plan]
            plan[1]["lunch"] = "Imaginary Noodles, " + plan[1]["current_city"]
        return f"```json\n{json.dumps(plan)}\n```"

    seen = []
    real = econ.train.agent_rewards
    monkeypatch.setattr(econ.train, "agent_rewards", lambda *a: seen.append(a) or real(*a))
    run_train(
        tmp_path,
        "plans",
        4,
        ScriptedLLM(reply),
        **{
            "run.benchmark": "travelplanner",
            "run.data": str(fixture),
            "econ.controls": {"temperature": [0.0, 0.8]},
        },  # fmt: skip
    )
    assert len(seen) == 4
    for agree, similarity, own_pass, team_pass, _ in seen:
        assert all(0.0 <= s <= 1.0 for s in similarity)
        for a, s, ok in zip(agree, similarity, own_pass, strict=True):
            assert (s == 1.0) == a  # the committed plan itself, field for field
            assert a or s > 0.9  # one lunch apart
            assert ok == (team_pass if a else not team_pass)  # two kinds of plan: good, broken
        assert team_pass == own_pass[0]  # the coordinator chose plan 1
    assert any(own_pass) and not all(all(p) for _, _, p, _, _ in seen)
