"""What every reasoning method is: a small object with `async solve(question, benchmark, log)
-> Solution`, built with the LLMs it uses (econ.methods.build builds them from a run's
config), and the answer format and plain prompt the methods share. Its calls go through the
question's `econ.methods.calls.CallLog`; votes over answers are `econ.methods.voting`'s.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from econ.llm import LLMSettings
from econ.llm.base import LLM, Message
from econ.methods.calls import CallLog
from econ.records import Call
from econ.tasks import Benchmark

if TYPE_CHECKING:
    from econ.config import RunConfig

ANSWER_FORMAT = (
    "Think step by step in plain sentences (do not write code). Finish with the final answer "
    "alone inside \\boxed{}, for example \\boxed{42}, or \\boxed{yes} / \\boxed{no} for a "
    "yes/no question."
)
PLAN_FORMAT = (
    "Use only the given information: take every flight number, restaurant, attraction and "
    "accommodation from it, with its exact name and city. Write the plan as a JSON list with "
    'one object per day and the keys "days", "current_city", "transportation", "breakfast", '
    '"attraction", "lunch", "dinner", "accommodation". On a day you travel, current_city is '
    '"from A to B" and transportation is "Flight Number: F0123456, from A to B", "Self-driving, '
    'from A to B" or "Taxi, from A to B". Meals and accommodation are "Name, City"; attractions '
    'are "Name, City" separated by ";". Write "-" where there is nothing, such as the '
    "accommodation on the last day. Reply with the JSON only, in a ```json block."
)


def answer_format(benchmark: Benchmark | None) -> str:
    """How a solver is asked to state its answer: boxed, or for a plan benchmark the plan as
    JSON in the official schema (`econ.tasks.plans.schema`)."""
    return PLAN_FORMAT if benchmark is not None and benchmark.kind == "plan" else ANSWER_FORMAT


def closing(benchmark: Benchmark | None) -> str:
    """The last line of a revision prompt: where the revised answer goes."""
    if benchmark is not None and benchmark.kind == "plan":
        return "End with your whole plan as JSON in a ```json block, in the same format."
    return "End with the final answer alone inside \\boxed{}."


MakeLLM = Callable[[str, LLMSettings], LLM]
"""Model spec and settings -> backend: `econ.llm.make_llm` in a run, a fake in tests."""


@dataclass
class Solution:
    """A method's answer to one question; `details` holds method-specific facts for the trace."""

    prediction: str | None
    details: dict = field(default_factory=dict)


class Method(ABC):
    """A reasoning method. Subclasses set `name`; econ.methods.build builds them from a
    run's config.

    `replay` decides a question again from the calls a run stored (its trace), without any
    LLM call: `econ rescore` uses it to re-grade old runs with the current extraction.
    `settings` is the run's method settings where a method's decision rule has any (ECON's
    `EconConfig`: its override rule); None means the method's defaults.
    """

    name: ClassVar[str]

    @classmethod
    @abstractmethod
    def from_config(cls, cfg: RunConfig, make_llm: MakeLLM) -> Method:
        """The method as a run's config sets it up, its LLMs built by `make_llm`."""

    @abstractmethod
    async def solve(self, question: str, benchmark: Benchmark, log: CallLog) -> Solution: ...

    @staticmethod
    @abstractmethod
    def replay(calls: list[Call], benchmark: Benchmark, settings: object = None) -> Solution: ...


def question_messages(question: str, benchmark: Benchmark | None = None) -> list[Message]:
    """The plain solver prompt shared by every method that asks a model to answer alone."""
    return [{"role": "user", "content": f"{question}\n\n{answer_format(benchmark)}"}]
