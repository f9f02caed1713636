"""The training loop with scripted LLMs: rewards reach the learner, resume is exact."""

from __future__ import annotations

import asyncio
import json
import random

import torch
from fakes import ScriptedLLM, last_user
from safetensors.torch import load_file

from econ.config import load_config
from econ.evaluate import new_run_dir
from econ.train import train


def team():
    """Executors answer right or wrong at random (seeded by the prompt), the coordinator votes."""

    def reply(messages, params):
        text = last_user(messages)
        if "Write a short strategy" in text:
            return "Work out each quantity, then combine them."
        if "Independent solutions" in text:
            answers = [
                line.split("answer: ")[1].rstrip("):")
                for line in text.splitlines()
                if "(answer: " in line
            ]
            return f"Most agree. \\boxed{{{max(set(answers), key=answers.count)}}}"
        rng = random.Random(f"{text}{params['temperature']:.3f}")
        return f"So the result is \\boxed{{{rng.choice([5, 7, 7.2])}}}"

    return ScriptedLLM(reply)


def run_train(tmp_path, name, episodes, run_dir=None):
    cfg = load_config(
        None,
        {
            "run.benchmark": "demo",
            "train.episodes": episodes,
            "train.checkpoint_every": 3,
            "train.gap_every": 3,
            "train.learner.batch_size": 2,
            "train.learner.update_every": 1,
        },
    )
    run_dir = run_dir or new_run_dir(str(tmp_path / name), cfg)
    return asyncio.run(train(cfg, run_dir, show_progress=False)), run_dir


def test_training_updates_networks_and_logs(tmp_path, patch_llm):
    patch_llm(team())
    report, run_dir = run_train(tmp_path, "a", 6)
    episodes = [json.loads(x) for x in (run_dir / "episodes.jsonl").read_text().splitlines()]
    assert [e["episode"] for e in episodes] == list(range(6))
    assert all(len(e["rewards"]) == 3 and e["losses"] is not None for e in episodes[1:])
    assert len(report["gaps"]) == 2 and report["episodes"] == 6
    assert all(e["stable"] and e["rounds"] == 0 for e in episodes)  # no stage 2: nothing revised
    assert report["commitment_stability"] == 1.0
    before = torch.tensor([[0.65, 0.75]] * 3)
    after = torch.tensor([[a["temperature"], a["top_p"]] for a in report["actions"]])
    assert not torch.allclose(before, after, atol=1e-4), "training did not move any action"
    assert (run_dir / "training.png").stat().st_size > 10_000  # three plotted panels, not blank


def test_resume_continues_exactly(tmp_path, patch_llm):
    patch_llm(team())
    _, straight = run_train(tmp_path, "straight", 6)
    _, split = run_train(tmp_path, "split", 3)
    run_train(tmp_path, "split", 6, run_dir=split)  # the 'killed' run picks up at episode 3
    a = load_file(straight / "checkpoint" / "weights.safetensors")
    b = load_file(split / "checkpoint" / "weights.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert episode_rewards(straight) == episode_rewards(split)


def episode_rewards(run_dir):
    return [json.loads(x)["rewards"] for x in (run_dir / "episodes.jsonl").read_text().splitlines()]
