"""The one interface every method talks to: an async chat call that returns text plus usage.

How a call samples travels as one `Sampling` value from the method that chooses it, through
the call log that records it, to the backend that sends it; the LLM layer owns the type
because it is what the request is made of.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol, runtime_checkable

Message = dict[str, str]


@dataclass(frozen=True, kw_only=True)
class Sampling:
    """How one call samples. A trace entry holds every field but the seed, in this order.

    `max_tokens` has no default: every caller decides what an answer may cost. A
    `repetition_penalty` or `seed` of None is left out of the request.
    """

    temperature: float = 0.0
    top_p: float = 1.0
    repetition_penalty: float | None = None
    max_tokens: int
    seed: int | None = None


class Reply(NamedTuple):
    """What a model answered to one request, before the call's accounting is added: as a
    server's body is parsed and as the request cache stores it."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str | None


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

    @classmethod
    def of(
        cls, reply: Reply, sampling: Sampling, *, model: str, latency_s: float, cached: bool = False
    ) -> Completion:
        """The completion a call returns: the reply plus how it was asked (every sampling
        field but the seed, which records keep apart)."""
        return cls(
            text=reply.text,
            prompt_tokens=reply.prompt_tokens,
            completion_tokens=reply.completion_tokens,
            latency_s=latency_s,
            model=model,
            finish_reason=reply.finish_reason,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_tokens=sampling.max_tokens,
            repetition_penalty=sampling.repetition_penalty,
            cached=cached,
        )


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

    async def chat(self, messages: list[Message], sampling: Sampling) -> Completion: ...
