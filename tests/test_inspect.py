"""ECON's methods as Inspect AI solvers: the mock model for what goes out and what the log
holds, and the embedded llama.cpp server through Inspect's OpenAI-compatible provider for the
real thing (`inspect eval` on the shipped example task)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("inspect_ai")

from inspect_ai import Task  # noqa: E402
from inspect_ai import eval as inspect_eval  # noqa: E402
from inspect_ai.dataset import Sample  # noqa: E402
from inspect_ai.log import ModelEvent, read_eval_log  # noqa: E402
from inspect_ai.model import ModelOutput, ModelUsage, get_model  # noqa: E402
from inspect_ai.scorer import match  # noqa: E402

from econ.belief.checkpoint import save_checkpoint  # noqa: E402
from econ.belief.networks import BeliefConfig, EconAgents  # noqa: E402
from econ.inspect import (  # noqa: E402
    debate_solver,
    econ_dataset,
    econ_scorer,
    econ_solver,
    self_consistency_solver,
)

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "Tom has 3 apples and buys 4 more. How many apples does he have?"


def mock(name: str, texts: list[str]):
    """Inspect's mock model answering `texts` in turn, with token counts (the mock would
    otherwise count them with a tokenizer it downloads)."""
    outputs = []
    for text in texts:
        out = ModelOutput.from_content("mockllm/model", text)
        out.usage = ModelUsage(input_tokens=10, output_tokens=len(text.split()), total_tokens=0)
        outputs.append(out)
    return get_model("mockllm/model", custom_outputs=outputs, memoize=False, name=name)


def one_sample(solver, model, roles=None, target="7"):
    task = Task(
        dataset=[Sample(input=QUESTION, target=target)],
        solver=solver,
        scorer=[econ_scorer("gsm8k"), match(numeric=True)],
    )
    (log,) = inspect_eval(task, model=model, model_roles=roles, display="none", log_dir="logs")
    assert log.status == "success", log.error
    return log, log.samples[0]


def configs(sample) -> list:
    return [e.config for e in sample.events if isinstance(e, ModelEvent)]


def test_econ_solver_sends_each_executors_controls_and_logs_what_it_did(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    executor = mock("executor", ["so \\boxed{7}", "it is \\boxed{6}", "\\boxed{7}"])
    coordinator = mock("coordinator", ["Add the two amounts.", "\\boxed{7} Solutions agree."])
    log, sample = one_sample(econ_solver(executors=3), executor, roles={"coordinator": coordinator})
    assert sample.output.completion == "7"
    assert {k: s.value for k, s in sample.scores.items()} == {"econ_scorer": "C", "match": "C"}
    econ = sample.metadata["econ"]
    # the first wave split (7, 6): the third executor, then the commitment
    assert econ["details"]["decided_by"] == "commitment" and econ["calls"] == 5
    assert set(econ["per_model"]) == {
        "inspect:coordinator:mockllm/model", "inspect:executor:mockllm/model"
    }  # fmt: skip
    sent = configs(sample)
    strategy, executors, commit = sent[0], sent[1:4], sent[4]
    assert strategy.temperature == 0.0 and strategy.max_tokens == 50
    assert [c.temperature for c in executors] == [0.4] * 3  # untrained: the range midpoint
    assert [c.seed for c in executors] == [0, 1, 2] and commit.max_tokens == 96
    trace = sample.store["econ_trace"]
    assert [c["role"] for c in trace] == ["strategy"] + ["executor"] * 3 + ["coordinator"]
    assert log.stats.model_usage["mockllm/model"].input_tokens == 50


def test_a_checkpoint_and_extra_controls_reach_the_executors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    controls = {"temperature": (0.0, 0.8), "repetition_penalty": (1.0, 1.2)}
    agents = EconAgents(BeliefConfig(n_agents=3, controls=controls), seed=0)
    with torch.no_grad():  # executor 1 trained towards a hotter, more penalised sampler
        agents.actor_out.bias[1] += torch.logit(torch.tensor(0.75))
    save_checkpoint(tmp_path / "checkpoint", agents, None, {})
    executor = mock("executor", ["Add them."] + ["\\boxed{7}"] * 3)  # the coordinator too
    solver = econ_solver(
        executors=3, checkpoint=str(tmp_path), **{"econ.controls": controls, "econ.waves": False}
    )
    _, sample = one_sample(solver, executor)
    executors = configs(sample)[1:4]
    assert [round(c.temperature, 3) for c in executors] == [0.4, 0.6, 0.4]
    assert [c.extra_body for c in executors] == [
        {"repetition_penalty": 1.1}, {"repetition_penalty": 1.15}, {"repetition_penalty": 1.1}
    ]  # fmt: skip


def test_baseline_solvers_and_the_scorer_on_a_plain_generation(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, sample = one_sample(
        self_consistency_solver(samples=3), mock("m", ["\\boxed{7}", "\\boxed{5}", "\\boxed{7}"])
    )
    assert sample.output.completion == "7" and sample.metadata["econ"]["calls"] == 3
    assert [c.temperature for c in configs(sample)] == [0.7] * 3
    _, sample = one_sample(debate_solver(agents=2, rounds=2), mock("m", ["\\boxed{7}"] * 4))
    assert sample.output.completion == "7" and len(configs(sample)) == 4
    # the scorer reads a plain solver's response as `econ eval` reads it
    from inspect_ai.solver import generate

    _, sample = one_sample(generate(), mock("m", ["3 + 4 = 7, so he has \\boxed{7} apples."]))
    assert sample.scores["econ_scorer"].value == "C" and sample.scores["econ_scorer"].answer == "7"


def test_econ_datasets_are_inspect_datasets():
    dataset = econ_dataset("gsm8k", str(ROOT / "tests" / "fixtures" / "gsm8k.jsonl"))
    assert [s.target for s in dataset] == ["26", "1080", "12500", "1750"]
    assert all(s.id.startswith("gsm8k-") for s in dataset)


@pytest.mark.llm
def test_inspect_eval_runs_the_example_task_on_the_embedded_server(tmp_path):
    """`inspect eval` itself, on the tiny packaged model behind Inspect's openai-api provider."""
    from econ.llm import registry
    from econ.llm.embedded import start_server

    server = start_server(registry.model_path("smollm2-135m"), 2, 2048)
    env = {**os.environ, "LLAMACPP_BASE_URL": server.base_url, "LLAMACPP_API_KEY": "none"}
    proc = subprocess.run(
        [sys.executable, "-m", "inspect_ai", "eval", f"{ROOT}/examples/inspect/gsm8k.py@gsm8k_econ",
         "--model", "openai-api/llamacpp/smollm2", "--limit", "2", "--max-tokens", "64",
         "--log-dir", str(tmp_path / "logs"), "--display", "none", "--log-format", "json"],
        capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    (path,) = (tmp_path / "logs").glob("*.json")
    log = read_eval_log(str(path))
    assert log.status == "success" and len(log.samples) == 2
    for sample in log.samples:
        econ = sample.metadata["econ"]
        assert econ["details"]["decided_by"] in {
            "unanimous",
            "vote",
            "commitment",
            "reask",
            "majority",
        }
        assert set(sample.scores) == {"econ_scorer", "match"}
        assert sample.output.completion == (econ["answer"] or "")
        ours = econ["prompt_tokens"] + econ["completion_tokens"]
        theirs = sum(u.input_tokens + u.output_tokens for u in sample.model_usage.values())
        assert ours == theirs > 0
        assert [c.temperature for c in configs(sample)][1:3] == [0.4, 0.4]
    json.dumps(log.results.model_dump())  # the scores are in the log
