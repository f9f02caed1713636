"""ECON and its baselines as Inspect AI solvers, and this project's grading as an Inspect scorer.

    pip install "econ-bne[inspect]"
    inspect eval examples/inspect/gsm8k.py --model openai-api/vllm/Qwen2.5-7B \\
        --model-role coordinator=openai-api/vllm/Qwen2.5-32B

A solver runs the method this package runs (`econ.methods.build.build_method`, no second
implementation): every call it makes goes to an Inspect model, resolved by role (`coordinator`
for ECON's strategy and commitment, `executor` for its executors and for every baseline's
calls), each falling back to the model under evaluation. So Inspect's providers, its cache,
retries and connection limits apply, and the controls an executor's belief network chooses go
out in Inspect's `GenerateConfig` (a repetition penalty in `extra_body`, under the field name the
server reads). The method's answer is the sample's output, so Inspect's own scorers work on it;
what the method did (the strategy, each executor's controls and answer, the commitment and how
it was decided, tokens per model) goes into the sample's metadata under "econ", and every call
with its sampling into the sample's store under "econ_trace", for `inspect view`.

Tested with inspect-ai 0.3.285 (the `inspect` extra pins the 0.3 series from it).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageUser,
    GenerateConfig,
    Model,
    ModelOutput,
    get_model,
)
from inspect_ai.scorer import CORRECT, INCORRECT, Score, Scorer, Target, accuracy, scorer, stderr
from inspect_ai.solver import Generate, Solver, TaskState, solver

from econ.config import RunConfig, load_config
from econ.llm import LLMSettings
from econ.llm.base import LLM, Completion, LLMError, Message, Reply, Sampling
from econ.methods.base import Method
from econ.methods.build import build_method
from econ.methods.calls import CallLog
from econ.tasks import Benchmark, Fields, get_benchmark, load_questions

__all__ = [
    "InspectLLM",
    "debate_solver",
    "econ_dataset",
    "econ_scorer",
    "econ_solver",
    "self_consistency_solver",
]

ROLES = ("coordinator", "executor")
# Inspect's stop reasons -> the finish reasons answer extraction reads ("length": cut off).
_FINISH = {"stop": "stop", "max_tokens": "length", "model_length": "length"}


def _finish_reason(output: ModelOutput) -> str | None:
    """The output's stop reason as answer extraction reads a finish reason."""
    stop = output.choices[0].stop_reason if output.choices else None
    return _FINISH.get(stop, stop) if stop else None


_MESSAGES = {
    "system": ChatMessageSystem,
    "user": ChatMessageUser,
    "assistant": ChatMessageAssistant,
}


class InspectLLM:
    """This package's LLM interface over an Inspect model: one `chat(messages, sampling)`."""

    def __init__(self, model: Model, role: str, repetition_penalty_field: str):
        self.model = model
        self.name = f"inspect:{role}:{model}"
        self._penalty_field = repetition_penalty_field

    def __repr__(self) -> str:
        return f"InspectLLM({self.name!r})"

    async def chat(self, messages: list[Message], sampling: Sampling) -> Completion:
        """One generation through Inspect, with exactly the sampling the method chose."""
        extra = (
            {self._penalty_field: sampling.repetition_penalty}
            if sampling.repetition_penalty is not None
            else None
        )
        config = GenerateConfig(
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_tokens=sampling.max_tokens,
            seed=sampling.seed,
            extra_body=extra,
        )
        chat: list[ChatMessage] = [_MESSAGES[m["role"]](content=m["content"]) for m in messages]
        start = time.perf_counter()
        output = await self.model.generate(chat, config=config)
        if output.error:
            raise LLMError(f"{self.name}: {output.error}")
        usage = output.usage
        reply = Reply(
            output.completion,
            usage.input_tokens if usage else 0,
            usage.output_tokens if usage else 0,
            _finish_reason(output),
        )
        return Completion.of(
            reply, sampling, model=self.name, latency_s=time.perf_counter() - start
        )


def _config(method: str, settings: dict[str, Any]) -> RunConfig:
    """The run config a solver's method is built from: the package defaults, the solver's
    settings (dotted keys, as `econ eval --config` takes them), and role names for models."""
    return load_config(
        None,
        {
            **settings,
            "model": "inspect:executor",
            "econ.coordinator": "inspect:coordinator",
            "run.methods": [method],
        },
    )


def _inspect_llms(penalty_field: str):
    """make_llm for a method: "inspect:<role>" -> that role's Inspect model, else the model
    under evaluation. Resolved inside the sample, where Inspect knows the roles."""
    built: dict[str, InspectLLM] = {}

    def make(spec: str, _settings: LLMSettings) -> LLM:
        if spec not in built:
            role = spec.split(":", 1)[1]
            built[spec] = InspectLLM(get_model(role=role, default=get_model()), role, penalty_field)
        return built[spec]

    return make


def method_solver(
    method: str,
    *,
    benchmark: str = "gsm8k",
    answer_type: str | None = None,
    repetition_penalty_field: str = "repetition_penalty",
    **settings: Any,
) -> Solver:
    """A solver that runs `method` (any name `econ eval --method` takes) on each sample's
    input. `benchmark` (with `answer_type` for one of your own: number, yes-no, math, text)
    says how answers are read from responses, as in `econ eval`; `settings` are dotted config
    keys (`{"econ.n_executors": 5}`) over the package defaults."""
    cfg = _config(method, settings)
    bench = get_benchmark(benchmark, answer_type)
    built: list[Method] = []
    lock = asyncio.Lock()

    async def instance() -> Method:
        """One method per solver, built at its first sample (belief networks, encoder)."""
        async with lock:
            if not built:
                make = _inspect_llms(repetition_penalty_field)
                built.append(await asyncio.to_thread(build_method, method, cfg, make))
        return built[0]

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        runner = await instance()
        log = CallLog()
        solution = await runner.solve(state.input_text, bench, log)
        answer = solution.prediction
        usage = log.usage()
        state.output = ModelOutput.from_content(model=runner.name, content=answer or "")
        state.messages.append(ChatMessageAssistant(content=answer or "", model=runner.name))
        state.metadata["econ"] = {
            "method": runner.name,
            "answer": answer,
            "details": solution.details,
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "calls": usage.calls,
            "per_model": usage.per_model,
        }
        state.store.set("econ_trace", [c.model_dump(mode="json") for c in log.calls])
        return state

    return solve


@solver
def econ_solver(
    executors: int = 3,
    checkpoint: str | None = None,
    bne_rounds: int = 0,
    benchmark: str = "gsm8k",
    answer_type: str | None = None,
    **settings: Any,
) -> Solver:
    """ECON: the `coordinator` role's strategy, `executors` belief-steered executors (the
    `executor` role), then the commitment. `checkpoint` is a training run's checkpoint
    directory, loaded as `econ eval --checkpoint` loads it."""
    return method_solver(
        "econ",
        benchmark=benchmark,
        answer_type=answer_type,
        **{
            "econ.n_executors": executors,
            "econ.checkpoint": checkpoint,
            "econ.bne_rounds": bne_rounds,
            **settings,
        },
    )


@solver
def self_consistency_solver(
    samples: int = 3,
    temperature: float = 0.7,
    benchmark: str = "gsm8k",
    answer_type: str | None = None,
    **settings: Any,
) -> Solver:
    """Self-consistency: `samples` answers at `temperature`, majority vote."""
    return method_solver(
        "self_consistency",
        benchmark=benchmark,
        answer_type=answer_type,
        **{
            "self_consistency.samples": samples,
            "self_consistency.temperature": temperature,
            **settings,
        },
    )


@solver
def debate_solver(
    agents: int = 3,
    rounds: int = 2,
    benchmark: str = "gsm8k",
    answer_type: str | None = None,
    **settings: Any,
) -> Solver:
    """Multi-agent debate (Du et al. 2023): `agents` agents over `rounds` rounds."""
    return method_solver(
        "debate",
        benchmark=benchmark,
        answer_type=answer_type,
        **{"debate.agents": agents, "debate.rounds": rounds, **settings},
    )


def econ_dataset(
    benchmark: str,
    data: str | None = None,
    limit: int | None = None,
    split: str = "test",
    *,
    fields: Fields | None = None,
    answer_type: str | None = None,
) -> MemoryDataset:
    """A benchmark as `econ eval` reads it (`econ.tasks.load_questions`: its record format,
    gold answers parsed, ids kept), as an Inspect dataset: one Sample per question, its
    target the gold answer."""
    questions = load_questions(
        benchmark, data, limit, split, fields=fields, answer_type=answer_type
    )
    samples = [Sample(input=q.question, target=q.gold, id=q.id) for q in questions]
    return MemoryDataset(samples, name=benchmark, location=str(data) if data else None)


@scorer(metrics=[accuracy(), stderr()])
def econ_scorer(benchmark: str = "gsm8k", answer_type: str | None = None) -> Scorer:
    """This package's grading: the answer read from the output as `econ eval` reads it (or
    the method's own answer, from an econ solver), compared with the target as the benchmark
    compares (numbers with tolerance, MATH symbolically, yes/no, text folded)."""
    bench: Benchmark = get_benchmark(benchmark, answer_type)

    async def score(state: TaskState, target: Target) -> Score:
        mine = state.metadata.get("econ")
        if isinstance(mine, dict) and "answer" in mine:
            answer = mine["answer"]
        else:
            answer = bench.extract(state.output.completion, _finish_reason(state.output))
        right = bench.grade(answer, target.text)
        return Score(value=CORRECT if right else INCORRECT, answer=answer)

    return score
