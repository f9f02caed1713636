"""A dataset of your own with ECON in Inspect AI: a CSV whose columns are named below, free-text
answers graded after folding case, markup and a final full stop.

    inspect eval examples/inspect/custom.py --model openai-api/vllm/Qwen2.5-7B-Instruct
"""

from pathlib import Path

from inspect_ai import Task, task

from econ.inspect import econ_dataset, econ_scorer, econ_solver
from econ.tasks import Fields

HERE = Path(__file__).resolve().parent


@task
def capitals(data: str = str(HERE / "capitals.csv")) -> Task:
    fields = Fields(question="prompt", answer="target", id="qid")
    return Task(
        dataset=econ_dataset("capitals", data, fields=fields, answer_type="text"),
        solver=econ_solver(benchmark="capitals", answer_type="text"),
        scorer=econ_scorer("capitals", answer_type="text"),
    )
