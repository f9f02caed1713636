"""GSM8K with ECON in Inspect AI, against self-consistency on the same questions.

    pip install "econ-bne[inspect]"
    inspect eval examples/inspect/gsm8k.py@gsm8k_econ --model openai-api/vllm/Qwen2.5-7B \
        --model-role coordinator=openai-api/vllm/Qwen2.5-32B --limit 50
    inspect eval examples/inspect/gsm8k.py@gsm8k_self_consistency \
        --model openai-api/vllm/Qwen2.5-7B --limit 50

`-T data=openai/gsm8k` reads the hub dataset (split test) instead of the four rows shipped in
tests/fixtures; `-T executors=5` sizes the team; `-T checkpoint=runs/<train-run>/checkpoint`
loads trained belief networks.
"""

from pathlib import Path

from inspect_ai import Task, task
from inspect_ai.scorer import match

from econ.inspect import econ_dataset, econ_scorer, econ_solver, self_consistency_solver

SHIPPED = str(Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "gsm8k.jsonl")


@task
def gsm8k_econ(data: str = SHIPPED, executors: int = 3, checkpoint: str | None = None) -> Task:
    return Task(
        dataset=econ_dataset("gsm8k", data),
        solver=econ_solver(executors=executors, checkpoint=checkpoint, benchmark="gsm8k"),
        scorer=[econ_scorer("gsm8k"), match(numeric=True)],
    )


@task
def gsm8k_self_consistency(data: str = SHIPPED, samples: int = 3) -> Task:
    return Task(
        dataset=econ_dataset("gsm8k", data),
        solver=self_consistency_solver(samples=samples, benchmark="gsm8k"),
        scorer=econ_scorer("gsm8k"),
    )
