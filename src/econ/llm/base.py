"""The one interface every method talks to: an async chat call that returns text plus usage."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Protocol, runtime_checkable

Message = dict[str, str]


@dataclass
class Completion:
    """One chat completion with the accounting every run records."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    model: str
    finish_reason: str | None
    temperature: float
    top_p: float
    max_tokens: int

    def to_dict(self) -> dict:
        return asdict(self)


class LLMError(Exception):
    """A call that still failed after every retry; callers record it per question."""


@runtime_checkable
class LLM(Protocol):
    """Anything that answers chat messages. `name` is the model spec used for accounting."""

    name: str

    async def chat(
        self,
        messages: list[Message],
        *,
        temperature: float = 0.0,
        top_p: float = 1.0,
        max_tokens: int = 512,
        seed: int | None = None,
    ) -> Completion: ...
