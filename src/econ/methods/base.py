"""What every reasoning method shares: a call log that accounts each LLM call, and a result type.

A method is a small object with `async solve(question, benchmark, log) -> Solution`. The
harness owns the `CallLog`, so when a call fails for good the calls made so far still reach
the record of that question.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass, field
from typing import ClassVar

from econ.llm.base import LLM, Completion, Message
from econ.tasks import Benchmark

ANSWER_FORMAT = (
    "Think step by step in plain sentences (do not write code). Finish with the final answer "
    "alone inside \\boxed{}, for example \\boxed{42}, or \\boxed{yes} / \\boxed{no} for a "
    "yes/no question."
)


@dataclass
class CallLog:
    """Every LLM call made for one question, in order, with what it cost."""

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
    ) -> Completion:
        comp = await llm.chat(
            messages, temperature=temperature, top_p=top_p, max_tokens=max_tokens, seed=seed
        )
        self.calls.append(
            {
                "role": role,
                "round": round,
                "agent": agent,
                "model": comp.model,
                "temperature": temperature,
                "top_p": top_p,
                "max_tokens": max_tokens,
                "messages": messages,
                "response": comp.text,
                "finish_reason": comp.finish_reason,
                "prompt_tokens": comp.prompt_tokens,
                "completion_tokens": comp.completion_tokens,
                "latency_s": round_s(comp.latency_s),
            }
        )
        return comp

    def usage(self) -> dict:
        """Totals, plus a breakdown per model (heterogeneous teams account each model apart)."""
        per_model: dict[str, dict] = {}
        for c in self.calls:
            m = per_model.setdefault(
                c["model"], {"prompt_tokens": 0, "completion_tokens": 0, "calls": 0}
            )
            m["prompt_tokens"] += c["prompt_tokens"]
            m["completion_tokens"] += c["completion_tokens"]
            m["calls"] += 1
        return {
            "prompt_tokens": sum(c["prompt_tokens"] for c in self.calls),
            "completion_tokens": sum(c["completion_tokens"] for c in self.calls),
            "calls": len(self.calls),
            "llm_seconds": round_s(sum(c["latency_s"] for c in self.calls)),
            "per_model": per_model,
        }


def round_s(seconds: float) -> float:
    return round(seconds, 4)


@dataclass
class Solution:
    """A method's answer to one question; `details` holds method-specific facts for the trace."""

    prediction: str | None
    details: dict = field(default_factory=dict)


class Method(ABC):
    """A reasoning method. Subclasses set `name` and register with `@register`."""

    name: ClassVar[str]
    help: ClassVar[str]

    @abstractmethod
    async def solve(self, question: str, benchmark: Benchmark, log: CallLog) -> Solution: ...


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
