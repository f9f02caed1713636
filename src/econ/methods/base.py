"""What every reasoning method shares: a call log that accounts each LLM call, and a result type.

A method is a small object with `async solve(question, benchmark, log) -> Solution`. The
harness owns the `CallLog`, so when a call fails for good the calls made so far still reach
the record of that question.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import ClassVar, TypeVar

from econ.llm.base import LLM, Attempts, Completion, Message, track_attempts
from econ.tasks import Benchmark

T = TypeVar("T")

ANSWER_FORMAT = (
    "Think step by step in plain sentences (do not write code). Finish with the final answer "
    "alone inside \\boxed{}, for example \\boxed{42}, or \\boxed{yes} / \\boxed{no} for a "
    "yes/no question."
)


@dataclass
class CallLog:
    """Every LLM call made for one question, in order, with what it cost.

    One entry per call, including calls that failed for good or were cancelled: `requests`
    counts the HTTP requests the call sent (retries included), `failed_attempts` lists the
    ones that did not give the answer with their error, and the entry's tokens add up every
    attempt the server reported tokens for, so a record's cost is what the run really spent.
    `cached` says the answer came from the request cache: no request, the original's tokens.
    """

    calls: list[dict] = field(default_factory=list)

    async def chat(
        self,
        llm: LLM,
        messages: list[Message],
        *,
        role: str,
        round: int = 0,
        agent: int | None = None,
        temperature: float = 0.0,
        top_p: float = 1.0,
        max_tokens: int = 512,
        seed: int | None = None,
        repetition_penalty: float | None = None,
    ) -> Completion:
        entry = {
            "role": role,
            "round": round,
            "agent": agent,
            "model": llm.name,
            "temperature": temperature,
            "top_p": top_p,
            "repetition_penalty": repetition_penalty,
            "max_tokens": max_tokens,
            "messages": messages,
        }
        start = time.perf_counter()
        with track_attempts() as attempts:
            try:
                comp = await llm.chat(
                    messages,
                    temperature=temperature,
                    top_p=top_p,
                    max_tokens=max_tokens,
                    seed=seed,
                    repetition_penalty=repetition_penalty,
                )
            except BaseException as exc:  # recorded, then re-raised untouched
                error = "cancelled" if isinstance(exc, asyncio.CancelledError) else str(exc)
                self._add(entry, attempts, None, time.perf_counter() - start, error or repr(exc))
                raise
        self._add(entry, attempts, comp, comp.latency_s, None)
        return comp

    def _add(
        self,
        entry: dict,
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
        entry.update(
            {
                "model": comp.model if comp else entry["model"],
                "response": comp.text if comp else None,
                "finish_reason": comp.finish_reason if comp else None,
                "empty": comp is not None and not comp.text.strip(),
                "prompt_tokens": (comp.prompt_tokens if comp else 0)
                + sum(a["prompt_tokens"] for a in failed),
                "completion_tokens": (comp.completion_tokens if comp else 0)
                + sum(a["completion_tokens"] for a in failed),
                "latency_s": round_s(latency_s),
                "requests": requests,
                "failed_attempts": failed,
                "error": error,
                "cached": comp is not None and comp.cached,
            }
        )
        self.calls.append(entry)

    def usage(self) -> dict:
        """Totals, plus a breakdown per model (heterogeneous teams account each model apart).

        `calls` counts requests sent, failed and retried ones included.
        """
        per_model: dict[str, dict] = {}
        for c in self.calls:
            m = per_model.setdefault(
                c["model"], {"prompt_tokens": 0, "completion_tokens": 0, "calls": 0}
            )
            m["prompt_tokens"] += c["prompt_tokens"]
            m["completion_tokens"] += c["completion_tokens"]
            m["calls"] += c["requests"]
        return {
            "prompt_tokens": sum(c["prompt_tokens"] for c in self.calls),
            "completion_tokens": sum(c["completion_tokens"] for c in self.calls),
            "calls": sum(c["requests"] for c in self.calls),
            "failed_requests": sum(len(c["failed_attempts"]) for c in self.calls),
            "empty_responses": sum(c["empty"] for c in self.calls),
            "llm_seconds": round_s(sum(c["latency_s"] for c in self.calls)),
            "per_model": per_model,
        }


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


def round_s(seconds: float) -> float:
    return round(seconds, 4)


@dataclass
class Solution:
    """A method's answer to one question; `details` holds method-specific facts for the trace."""

    prediction: str | None
    details: dict = field(default_factory=dict)


class Method(ABC):
    """A reasoning method. Subclasses set `name` and register with `@register`.

    `replay` decides a question again from the calls a run stored (its trace), without any
    LLM call: `econ rescore` uses it to re-grade old runs with the current extraction.
    """

    name: ClassVar[str]
    help: ClassVar[str]

    @abstractmethod
    async def solve(self, question: str, benchmark: Benchmark, log: CallLog) -> Solution: ...

    @staticmethod
    @abstractmethod
    def replay(calls: list[dict], benchmark: Benchmark) -> Solution: ...


def answered(calls: list[dict], role: str) -> list[dict]:
    """The stored calls of one role that returned a response (failed attempts hold none)."""
    return [c for c in calls if c["role"] == role and c.get("response") is not None]


def stored_answer(call: dict, benchmark: Benchmark) -> str | None:
    """A stored call's answer, read the way a live run reads it."""
    return benchmark.extract(call["response"], call.get("finish_reason"))


def majority(answers: list[str | None], benchmark: Benchmark) -> str | None:
    """Most common answer by the benchmark's notion of equality; ties go to the earliest."""
    keys = [benchmark.normalize(a) for a in answers]
    counts = Counter(k for k in keys if k is not None)
    if not counts:
        return None
    best = max(counts.values())
    for answer, key in zip(answers, keys):
        if key is not None and counts[key] == best:
            return answer
    return None


def question_messages(question: str, system: str | None = None) -> list[Message]:
    """The plain solver prompt shared by every method that asks a model to answer alone."""
    msgs: list[Message] = []
    if system:
        msgs.append({"role": "system", "content": system})
    msgs.append({"role": "user", "content": f"{question}\n\n{ANSWER_FORMAT}"})
    return msgs
