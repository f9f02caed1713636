"""What every reasoning method is: a small object with `async solve(question, benchmark, log)
-> Solution`, built with the LLMs it uses (econ.methods.registry builds them from a run's
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
from econ.tasks import Benchmark

if TYPE_CHECKING:
    from econ.config import RunConfig

ANSWER_FORMAT = (
    "Think step by step in plain sentences (do not write code). Finish with the final answer "
    "alone inside \\boxed{}, for example \\boxed{42}, or \\boxed{yes} / \\boxed{no} for a "
    "yes/no question."
)


MakeLLM = Callable[[str, LLMSettings], LLM]
"""Model spec and settings -> backend: `econ.llm.make_llm` in a run, a fake in tests."""


@dataclass
class Solution:
    """A method's answer to one question; `details` holds method-specific facts for the trace."""

    prediction: str | None
    details: dict = field(default_factory=dict)


class Method(ABC):
    """A reasoning method. Subclasses set `name`; econ.methods.registry builds them from a
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
    def replay(calls: list[dict], benchmark: Benchmark, settings: object = None) -> Solution: ...


def question_messages(question: str, system: str | None = None) -> list[Message]:
    """The plain solver prompt shared by every method that asks a model to answer alone."""
    msgs: list[Message] = []
    if system:
        msgs.append({"role": "system", "content": system})
    msgs.append({"role": "user", "content": f"{question}\n\n{ANSWER_FORMAT}"})
    return msgs
