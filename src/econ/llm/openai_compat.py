"""Client for any OpenAI-compatible chat endpoint (vLLM, SGLang, llama.cpp, Ollama, hosted APIs).

Why not the `openai` package: we need only one endpoint, exact control over which sampling
fields are sent (SPEC section 3), per-endpoint concurrency and our own retry policy.

httpx clients and asyncio semaphores belong to one event loop, while LLM instances are
cached per process and may be used from several `asyncio.run` calls; so both live in a
per-loop table and an instance never holds one itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from econ.llm.base import Completion, LLMError, Message

if TYPE_CHECKING:
    from econ.llm import LLMSettings

log = logging.getLogger(__name__)


@dataclass
class _LoopState:
    client: httpx.AsyncClient
    semaphores: dict[str, asyncio.Semaphore] = field(default_factory=dict)


_loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = (
    weakref.WeakKeyDictionary()
)


def _loop_state() -> _LoopState:
    loop = asyncio.get_running_loop()
    state = _loops.get(loop)
    if state is None:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
        state = _loops[loop] = _LoopState(httpx.AsyncClient(limits=limits))
    return state


async def aclose_clients() -> None:
    """Close the current loop's HTTP client; a later call opens a fresh one."""
    state = _loops.pop(asyncio.get_running_loop(), None)
    if state is not None:
        await state.client.aclose()


class _Retryable(Exception):
    """A failure worth another attempt; `reason` is safe to show (no body, no headers)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class OpenAICompatLLM:
    """Chat completions over HTTP with retries, per-endpoint concurrency and usage accounting."""

    def __init__(
        self,
        model: str,
        base_url: str,
        api_key: str | None,
        settings: LLMSettings,
        *,
        name: str | None = None,
        backoff_s: float = 1.0,
    ):
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.name = name or f"openai:{model}@{self.base_url}"
        self._api_key = api_key or None
        self._settings = settings
        self._backoff_s = backoff_s

    @classmethod
    def from_env(
        cls, model: str, base_url: str, settings: LLMSettings, **kwargs
    ) -> OpenAICompatLLM:
        """The API key comes only from the environment variable the settings name."""
        return cls(model, base_url, os.environ.get(settings.api_key_env), settings, **kwargs)

    def __repr__(self) -> str:  # never show the key
        return f"OpenAICompatLLM({self.name!r})"

    async def _endpoint(self) -> str:
        """Base URL to call; the embedded backend overrides this to start its server lazily."""
        return self.base_url

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text

    async def chat(
        self,
        messages: list[Message],
        *,
        temperature: float = 0.0,
        top_p: float = 1.0,
        max_tokens: int = 512,
        seed: int | None = None,
    ) -> Completion:
        """One completion. latency_s covers the whole call: queueing, retries and backoff."""
        payload: dict = {
            "model": self.model,
            "messages": messages,
            "temperature": temperature,
            "top_p": top_p,
            "max_tokens": max_tokens,
        }
        if seed is not None:
            payload["seed"] = seed
        start = time.perf_counter()
        base_url = await self._endpoint()
        state = _loop_state()
        semaphore = state.semaphores.setdefault(
            base_url, asyncio.Semaphore(self._settings.concurrency)
        )
        attempts = self._settings.max_retries + 1
        retrying = AsyncRetrying(
            stop=stop_after_attempt(attempts),
            wait=wait_exponential_jitter(
                initial=self._backoff_s, max=30 * self._backoff_s, jitter=self._backoff_s
            ),
            retry=retry_if_exception_type(_Retryable),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    async with semaphore:
                        parsed = await self._post(state.client, base_url, payload)
        except _Retryable as exc:
            raise LLMError(f"{self.name}: {exc.reason} after {attempts} attempts") from None
        text, prompt_tokens, completion_tokens, finish_reason = parsed
        return Completion(
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_s=time.perf_counter() - start,
            model=self.name,
            finish_reason=finish_reason,
            temperature=temperature,
            top_p=top_p,
            max_tokens=max_tokens,
        )

    async def _post(
        self, client: httpx.AsyncClient, base_url: str, payload: dict
    ) -> tuple[str, int, int, str | None]:
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        try:
            response = await client.post(
                f"{base_url}/chat/completions",
                json=payload,
                headers=headers,
                timeout=self._settings.timeout_s,
            )
        except httpx.TransportError as exc:  # connect errors and timeouts
            log.debug("%s: %s, will retry", self.name, type(exc).__name__)
            raise _Retryable(type(exc).__name__) from None
        status = response.status_code
        if status == 429 or status >= 500:
            log.debug("%s: HTTP %d, will retry", self.name, status)
            raise _Retryable(f"HTTP {status}")
        if status >= 400:
            detail = self._redact(response.text[:200].strip())
            raise LLMError(f"{self.name}: HTTP {status}: {detail}")
        try:
            data = response.json()
        except json.JSONDecodeError:
            raise _Retryable("malformed JSON") from None
        if not isinstance(data, dict) or not data.get("choices"):
            raise _Retryable("empty choices")
        try:
            return _parse(data)
        except (AttributeError, KeyError, TypeError, ValueError):
            raise _Retryable("malformed response") from None


def _parse(data: dict) -> tuple[str, int, int, str | None]:
    """Text, prompt tokens, completion tokens, finish reason; missing usage counts as 0."""
    choice = data["choices"][0]
    message = choice.get("message") or {}
    usage = data.get("usage") or {}
    return (
        message.get("content") or "",
        int(usage.get("prompt_tokens") or 0),
        int(usage.get("completion_tokens") or 0),
        choice.get("finish_reason"),
    )
