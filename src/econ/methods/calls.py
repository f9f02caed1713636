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

from econ.llm.base import LLM, Attempts, Completion, Message, Sampling, track_attempts
from econ.records import Call, ModelUsage, Usage

T = TypeVar("T")
SECONDS_DIGITS = 4  # latencies are recorded to 0.1 ms

Ask = tuple[LLM, list[Message], Sampling]
"""One agent's call for `CallLog.chat_each`: its model, what it reads, how it samples."""


@dataclass
class CallLog:
    """Every LLM call made for one question, in order, with what it cost: one `Call` per
    call (`calls`, what a record's trace holds)."""

    calls: list[Call] = field(default_factory=list)

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
        self.calls.append(call)

    def usage(self) -> Usage:
        """Totals, plus a breakdown per model (heterogeneous teams account each model apart)."""
        per_model: dict[str, ModelUsage] = {}
        for c in self.calls:
            m = per_model.setdefault(c.model, ModelUsage())
            m.prompt_tokens += c.prompt_tokens
            m.completion_tokens += c.completion_tokens
            m.calls += c.requests
        return Usage(
            prompt_tokens=sum(c.prompt_tokens for c in self.calls),
            completion_tokens=sum(c.completion_tokens for c in self.calls),
            calls=sum(c.requests for c in self.calls),
            failed_requests=sum(len(c.failed_attempts) for c in self.calls),
            empty_responses=sum(c.empty for c in self.calls),
            llm_seconds=round(sum(c.latency_s for c in self.calls), SECONDS_DIGITS),
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
