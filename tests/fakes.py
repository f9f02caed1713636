"""A scripted LLM for protocol tests: it answers by a rule and remembers every call.

Only for testing protocol logic (who is called, with what prompt and sampling parameters);
end-to-end tests use the embedded llama.cpp server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from econ.llm.base import Completion, LLMError


class ScriptedLLM:
    def __init__(
        self, reply: Callable[[list[dict], dict], str], name: str = "scripted", delay: float = 0.0
    ):
        self.reply = reply
        self.name = name
        self.delay = delay
        self.calls: list[dict] = []

    async def chat(self, messages, *, temperature=0.0, top_p=1.0, max_tokens=512, seed=None):
        params = {
            "temperature": temperature,
            "top_p": top_p,
            "max_tokens": max_tokens,
            "seed": seed,
        }
        self.calls.append({"messages": messages, **params})
        if self.delay:
            await asyncio.sleep(self.delay)
        text = self.reply(messages, params)
        if isinstance(text, Exception):
            raise text
        return Completion(
            text=text,
            prompt_tokens=sum(len(m["content"].split()) for m in messages),
            completion_tokens=len(text.split()),
            latency_s=self.delay,
            model=self.name,
            finish_reason="stop",
            temperature=temperature,
            top_p=top_p,
            max_tokens=max_tokens,
        )


def last_user(messages: list[dict]) -> str:
    return [m for m in messages if m["role"] == "user"][-1]["content"]


def failing(message: str = "server down") -> LLMError:
    return LLMError(message)
