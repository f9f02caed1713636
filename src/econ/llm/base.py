"""The one interface every method talks to: an async chat call that returns text plus usage."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
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
    repetition_penalty: float | None = None
    # Served from the request cache (econ.llm.cache) instead of the model: no request was
    # sent; the tokens are those of the original completion and latency_s is the lookup's.
    cached: bool = False


class LLMError(Exception):
    """A call that still failed after every retry; callers record it per question."""


@dataclass
class Attempts:
    """The requests one chat call sent that did not give its answer, for honest accounting.

    A call that was retried, failed or was cancelled still cost requests (and sometimes
    tokens); the record must show them. Backends that can see their own requests (the HTTP
    ones) set `reported` and append one entry per failed or cancelled request; for any other
    backend the caller counts one request per call.
    """

    failed: list[dict] = field(default_factory=list)
    reported: bool = False


_attempts: ContextVar[Attempts | None] = ContextVar("econ_attempts", default=None)


@contextmanager
def track_attempts() -> Iterator[Attempts]:
    """Collect the failed requests of the chat calls made inside this block.

    A context variable rather than a return value, because a failed or cancelled call has
    no return value to carry them, and the `LLM` protocol stays one plain method.
    """
    sink = Attempts()
    token = _attempts.set(sink)
    try:
        yield sink
    finally:
        _attempts.reset(token)


def attempt_sink() -> Attempts | None:
    """Where a backend reports its failed requests; None when nobody is counting."""
    return _attempts.get()


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
        repetition_penalty: float | None = None,
    ) -> Completion: ...
