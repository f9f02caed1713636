"""The call log: every LLM call a method makes for one question, in order, with its sampling,
its reply, the requests it really sent (retries and failed attempts included), and what the
question cost in all (`Usage`). The harness owns the log, so when a call fails for good the
calls made so far still reach the record of that question.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

from econ.llm.base import LLM, Attempts, Completion, Message, Sampling, track_attempts

T = TypeVar("T")
SECONDS_DIGITS = 4  # latencies are recorded to 0.1 ms

Ask = tuple[LLM, list[Message], Sampling]
"""One agent's call for `CallLog.chat_each`: its model, what it reads, how it samples."""


class ModelUsage(BaseModel):
    """What the calls to one model cost for one question."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    prompt_tokens: int = 0
    """Prompt tokens of every attempt the server reported tokens for."""
    completion_tokens: int = 0
    """Completion tokens, counted the same way."""
    calls: int = 0
    """HTTP requests sent, retried and failed ones included."""


class Usage(BaseModel):
    """What one question cost, summed over its calls (`CallLog.usage`). A record holds these
    fields at its top level."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    prompt_tokens: int
    """Prompt tokens of every call, failed attempts that reported tokens included."""
    completion_tokens: int
    """Completion tokens, counted the same way."""
    calls: int
    """HTTP requests sent, retried and failed ones included; a cached answer sent none."""
    failed_requests: int
    """Requests that did not give their call's answer (retried, failed for good, cancelled)."""
    empty_responses: int
    """Answers whose text was empty or whitespace."""
    llm_seconds: float
    """Sum of the calls' latencies: more than the wall time when calls ran in parallel."""
    per_model: dict[str, ModelUsage]
    """The same accounting per model spec, for teams that mix models."""


class FailedAttempt(BaseModel):
    """One request of a call that did not give its answer."""

    model_config = ConfigDict(use_attribute_docstrings=True, extra="forbid")

    error: str
    """Why: an HTTP status, a malformed reply, a deadline, "cancelled"."""
    prompt_tokens: int = 0
    """Tokens the server reported for it (0 when it reported none)."""
    completion_tokens: int = 0
    """Completion tokens, likewise."""
    latency_s: float = 0.0
    """Its wall time."""


class Call(BaseModel):
    """One entry of a record's trace: one LLM call, failed and cancelled ones included. What
    every reader of a run (rescore, matched compute, training, `econ view`) finds under
    `trace`, in this order on disk."""

    model_config = ConfigDict(use_attribute_docstrings=True, extra="forbid")

    role: str
    """Who called: solver, sampler, debater, strategy, executor, coordinator, ..."""
    round: int
    """The method's round (0 when it has none; ECON's stage-2 revisions are 1, 2, ...)."""
    agent: int | None
    """The agent's index among those of its role, None for a single caller."""
    model: str
    """The model spec that answered (credentials redacted)."""
    temperature: float
    top_p: float
    repetition_penalty: float | None
    """None: not sent."""
    max_tokens: int
    """The sampling the call asked for (its seed is not recorded)."""
    messages: list[Message]
    """What the model read."""
    response: str | None
    """Its text; None when the call failed for good or was cancelled."""
    finish_reason: str | None
    """"stop", "length" (cut off at max_tokens), ... as the server said."""
    empty: bool
    """The text was blank."""
    prompt_tokens: int
    """Every attempt's prompt tokens that the server reported, failed ones included."""
    completion_tokens: int
    """Completion tokens, counted the same way."""
    latency_s: float
    """The call's wall time: queueing, retries and backoff included."""
    requests: int
    """HTTP requests the call sent (retries included; 0 when the cache answered)."""
    failed_attempts: list[FailedAttempt]
    """The requests that did not give the answer."""
    error: str | None
    """Why the call failed for good; None when it answered."""
    cached: bool
    """Answered from the request cache: no request sent, the original's tokens."""


@dataclass
class CallLog:
    """Every LLM call made for one question, in order, with what it cost: one `Call` per
    call, stored as its JSON form (`calls`, what a record's trace holds)."""

    calls: list[dict] = field(default_factory=list)

    async def chat(
        self,
        llm: LLM,
        messages: list[Message],
        sampling: Sampling,
        *,
        role: str,
        round_no: int = 0,
        agent: int | None = None,
    ) -> Completion:
        """One call through `llm`, logged even when it fails or is cancelled. `round_no` is
        stored under the trace's "round" key."""
        params = asdict(sampling)  # recorded without the seed
        entry = {"role": role, "round": round_no, "agent": agent}
        entry.update({k: v for k, v in params.items() if k != "seed"}, messages=messages)
        start = time.perf_counter()
        with track_attempts() as attempts:
            try:
                comp = await llm.chat(messages, sampling)
            except BaseException as exc:  # recorded, then re-raised untouched
                error = "cancelled" if isinstance(exc, asyncio.CancelledError) else str(exc)
                wall = time.perf_counter() - start
                self._add(entry, llm.name, attempts, None, wall, error or repr(exc))
                raise
        self._add(entry, llm.name, attempts, comp, comp.latency_s, None)
        return comp

    async def chat_each(
        self, asks: Mapping[int, Ask], *, role: str, round_no: int = 0
    ) -> list[Completion]:
        """One call per agent (agent -> what it asks), all in flight at once; the completions
        in the mapping's order. The sampling methods' one way of making N calls: through
        `gather_all`, so one that fails for good cancels the rest and all are logged."""
        return await gather_all(
            *(
                self.chat(llm, messages, sampling, role=role, round_no=round_no, agent=agent)
                for agent, (llm, messages, sampling) in asks.items()
            )
        )

    def _add(
        self,
        entry: dict,
        model: str,
        attempts: Attempts,
        comp: Completion | None,
        latency_s: float,
        error: str | None,
    ) -> None:
        failed = attempts.failed
        # A backend that does not report its requests is counted as one request per call;
        # an answer from the request cache sent none.
        answered = comp is not None and not comp.cached
        requests = len(failed) + int(answered) if attempts.reported else 1
        call = Call(
            **entry,
            model=comp.model if comp else model,
            response=comp.text if comp else None,
            finish_reason=comp.finish_reason if comp else None,
            empty=comp is not None and not comp.text.strip(),
            prompt_tokens=(comp.prompt_tokens if comp else 0)
            + sum(a["prompt_tokens"] for a in failed),
            completion_tokens=(comp.completion_tokens if comp else 0)
            + sum(a["completion_tokens"] for a in failed),
            latency_s=round(latency_s, SECONDS_DIGITS),
            requests=requests,
            failed_attempts=failed,
            error=error,
            cached=comp is not None and comp.cached,
        )
        self.calls.append(call.model_dump())

    def usage(self) -> Usage:
        """Totals, plus a breakdown per model (heterogeneous teams account each model apart)."""
        per_model: dict[str, ModelUsage] = {}
        for c in self.calls:
            m = per_model.setdefault(c["model"], ModelUsage())
            m.prompt_tokens += c["prompt_tokens"]
            m.completion_tokens += c["completion_tokens"]
            m.calls += c["requests"]
        return Usage(
            prompt_tokens=sum(c["prompt_tokens"] for c in self.calls),
            completion_tokens=sum(c["completion_tokens"] for c in self.calls),
            calls=sum(c["requests"] for c in self.calls),
            failed_requests=sum(len(c["failed_attempts"]) for c in self.calls),
            empty_responses=sum(c["empty"] for c in self.calls),
            llm_seconds=round(sum(c["latency_s"] for c in self.calls), SECONDS_DIGITS),
            per_model=per_model,
        )


async def gather_all(*aws: Awaitable[T]) -> list[T]:
    """`asyncio.gather` that, when one awaitable fails, cancels the others and waits for them
    before raising that first error.

    A question whose call failed for good is lost anyway; letting its sibling calls retry on
    only burns server time that no record shows. Waiting for the cancelled ones lets each of
    them log its call (with the requests it sent) before the question's record is written.
    """
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
