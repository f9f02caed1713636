"""Client for any OpenAI-compatible chat endpoint (vLLM, SGLang, llama.cpp, Ollama, hosted APIs).

Why not the `openai` package: we need only one endpoint, exact control over which sampling
fields are sent (SPEC section 3), per-endpoint concurrency and our own retry policy.

httpx clients and asyncio semaphores belong to one event loop, while LLM instances are
cached per process and may be used from several `asyncio.run` calls; so both live in a
per-loop table and an instance never holds one itself.

Whatever a server sends back (a body that is not UTF-8 or not JSON, a `content` that is a
number, a reply that never ends) ends as a retry and then as an `LLMError`, which the harness
records against that one question; nothing a server does can raise anything else.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import os
import time
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from econ.errors import UserError
from econ.llm.base import Attempts, Completion, LLMError, Message, attempt_sink

if TYPE_CHECKING:
    from econ.llm import LLMSettings

log = logging.getLogger(__name__)

# Requests in flight per remote endpoint unless `concurrency` says otherwise: vLLM and SGLang
# batch hundreds of sequences, so a small default would leave most of such a server idle.
REMOTE_CONCURRENCY = 64
# Longest wait a server's Retry-After may impose before the next attempt.
MAX_RETRY_AFTER_S = 60.0


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


def base_url_problem(url: str) -> str | None:
    """Why `url` cannot be a base URL (None if it can), checked before a run starts.

    Without this a malformed URL only fails inside each request, after every retry, or
    escapes the network stack as an unrelated error (an out-of-range port overflows there).
    """
    if any(c.isspace() for c in url):
        return "it contains whitespace"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "it must start with http:// or https://"
    if not parts.hostname:
        return "it has no host"
    try:
        port = parts.port
    except ValueError:
        return "its port is not a number from 1 to 65535"
    if port == 0:
        return "its port is not a number from 1 to 65535"
    return None


def redact_url(url: str) -> str:
    """The URL with any user:password replaced by ***, for names, records and saved configs."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"***@{host}"))


class _Retryable(Exception):
    """A failure worth another attempt; `reason` is safe to show (no body, no headers).

    Carries the tokens the server reported for the failed attempt, if it reported any, and
    how long the server asked us to wait (Retry-After), if it did.
    """

    def __init__(
        self,
        reason: str,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        retry_after: float | None = None,
    ):
        super().__init__(reason)
        self.reason = reason
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.retry_after = retry_after


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
        backoff_s: float | None = None,
    ):
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.name = name or f"openai:{model}@{redact_url(self.base_url)}"
        self._api_key = api_key or None
        self._settings = settings
        backoff_s = settings.backoff_s if backoff_s is None else backoff_s
        self._backoff = wait_exponential_jitter(
            initial=backoff_s, max=30 * backoff_s, jitter=backoff_s
        )
        self._penalty_field = settings.repetition_penalty_field

    @classmethod
    def from_env(
        cls, model: str, base_url: str, settings: LLMSettings, **kwargs
    ) -> OpenAICompatLLM:
        """The API key comes only from the environment variable the settings name."""
        return cls(model, base_url, env_api_key(settings.api_key_env), settings, **kwargs)

    def __repr__(self) -> str:  # never show the key
        return f"OpenAICompatLLM({self.name!r})"

    @property
    def max_in_flight(self) -> int:
        """Requests this backend keeps in flight per endpoint: the `concurrency` setting, else
        the backend's default."""
        return self._settings.concurrency or REMOTE_CONCURRENCY

    async def _endpoint(self) -> str:
        """Base URL to call; the embedded backend overrides this to start its server lazily."""
        return self.base_url

    def _redact(self, text: str) -> str:
        secrets = [self._api_key, urlsplit(self.base_url).password]
        for secret in secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

    async def chat(
        self,
        messages: list[Message],
        *,
        temperature: float = 0.0,
        top_p: float = 1.0,
        max_tokens: int = 512,
        seed: int | None = None,
        repetition_penalty: float | None = None,
    ) -> Completion:
        """One completion. latency_s covers the whole call: queueing, retries and backoff.

        Each attempt has `timeout_s` for everything (connect, the server's queue, the whole
        body), so a server that trickles bytes cannot hold a call longer than that; failed
        attempts go to the `track_attempts` sink of the caller, if any.

        ``repetition_penalty`` (None: not sent) goes out under the field name the settings
        give, since servers disagree: llama.cpp reads ``repeat_penalty``, vLLM and SGLang
        ``repetition_penalty``; for a server that has neither, name its
        ``frequency_penalty`` (a different scale: 0 is off, not 1).
        """
        payload: dict = {
            "model": self.model,
            "messages": messages,
            "temperature": temperature,
            "top_p": top_p,
            "max_tokens": max_tokens,
        }
        if seed is not None:
            payload["seed"] = seed
        if repetition_penalty is not None:
            payload[self._penalty_field] = repetition_penalty
        sink = attempt_sink()
        if sink is not None:
            sink.reported = True
        start = time.perf_counter()
        base_url = await self._endpoint()
        state = _loop_state()
        semaphore = state.semaphores.setdefault(base_url, asyncio.Semaphore(self.max_in_flight))
        attempts = self._settings.max_retries + 1
        retrying = AsyncRetrying(
            stop=stop_after_attempt(attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Retryable),
            reraise=True,
            before_sleep=self._log_retry,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    async with semaphore:
                        parsed = await self._attempt(state.client, base_url, payload, sink)
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
            repetition_penalty=repetition_penalty,
        )

    def _log_retry(self, retry_state: RetryCallState) -> None:
        """A request's first retry is a warning with its reason, so a dead or overloaded server
        shows at the default log level (once per request, not per attempt); later ones are info."""
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        sleep = retry_state.next_action.sleep if retry_state.next_action else 0.0
        log.log(
            logging.WARNING if retry_state.attempt_number == 1 else logging.INFO,
            "%s: %s; retrying in %.1f s (attempt %d of %d)",
            self.name,
            exc.reason if isinstance(exc, _Retryable) else exc,
            sleep,
            retry_state.attempt_number + 1,
            self._settings.max_retries + 1,
        )

    def _wait(self, retry_state: RetryCallState) -> float:
        """Seconds before the next attempt: the server's Retry-After (bounded) when it sent
        one, else exponential backoff with jitter."""
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, _Retryable) and exc.retry_after is not None:
            return exc.retry_after
        return self._backoff(retry_state)

    async def _attempt(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        payload: dict,
        sink: Attempts | None,
    ) -> tuple[str, int, int, str | None]:
        """One request under the per-attempt deadline; a failed one is reported to `sink`."""
        start = time.perf_counter()

        def report(error: str, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
            if sink is not None:
                sink.failed.append(
                    {
                        "error": error,
                        "prompt_tokens": prompt_tokens,
                        "completion_tokens": completion_tokens,
                        "latency_s": round(time.perf_counter() - start, 4),
                    }
                )

        timeout_s = self._settings.timeout_s
        try:
            return await asyncio.wait_for(self._post(client, base_url, payload), timeout_s)
        except asyncio.TimeoutError:
            reason = f"no complete response within {timeout_s:g} s"
            report(reason)
            raise _Retryable(reason) from None
        except _Retryable as exc:
            report(exc.reason, exc.prompt_tokens, exc.completion_tokens)
            raise
        except LLMError as exc:
            report(str(exc))
            raise
        except asyncio.CancelledError:
            report("cancelled")  # sent, and then abandoned: it still cost a request
            raise

    async def _post(
        self, client: httpx.AsyncClient, base_url: str, payload: dict
    ) -> tuple[str, int, int, str | None]:
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        try:
            response = await client.post(
                f"{base_url}/chat/completions", json=payload, headers=headers, timeout=None
            )
        except httpx.HTTPError as exc:  # connect errors, resets, bad encodings, redirects
            raise _Retryable(type(exc).__name__) from None
        status = response.status_code
        if status == 429 or status >= 500:
            raise _Retryable(
                f"HTTP {status}", retry_after=retry_after_s(response.headers.get("retry-after"))
            )
        if status >= 400:
            detail = self._redact(response.text[:200].strip())
            raise LLMError(f"{self.name}: HTTP {status}: {detail}")
        try:
            data = response.json()
        except UnicodeDecodeError:
            raise _Retryable("response body is not UTF-8") from None
        except ValueError:
            raise _Retryable("malformed JSON") from None
        return _parse(data)


def env_api_key(variable: str) -> str | None:
    """The key in environment variable `variable` (None if unset or empty).

    HTTP headers carry only ASCII, so a key with other characters (often a pasted typographic
    quote) is refused here with one line instead of failing inside every request.
    """
    key = (os.environ.get(variable) or "").strip()
    if key and not (key.isascii() and key.isprintable()):
        raise UserError(
            f"the API key in ${variable} holds non-ASCII or control characters; "
            "HTTP headers cannot carry it"
        )
    return key or None


def retry_after_s(value: str | None) -> float | None:
    """A Retry-After header (seconds or an HTTP date) as seconds in [0, MAX_RETRY_AFTER_S]."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - datetime.now(timezone.utc)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _count(value: Any) -> int:
    """A token count from a usage field; anything that is not a count reads as 0 (unknown)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return 0
    return max(int(value), 0)


def _parse(data: Any) -> tuple[str, int, int, str | None]:
    """Text, prompt tokens, completion tokens, finish reason; missing usage counts as 0.

    Every shape a server may get wrong is checked here, so that a bad reply is a retry with
    a reason rather than an error in whatever later reads the text.
    """
    if not isinstance(data, dict):
        raise _Retryable(f"malformed response: a JSON {type(data).__name__}, not an object")
    usage = data.get("usage")
    if isinstance(usage, dict):
        prompt_tokens = _count(usage.get("prompt_tokens"))
        completion_tokens = _count(usage.get("completion_tokens"))
    else:
        prompt_tokens = completion_tokens = 0

    def bad(why: str) -> _Retryable:
        return _Retryable(f"malformed response: {why}", prompt_tokens, completion_tokens)

    choices = data.get("choices")
    if not choices:
        raise _Retryable("empty choices", prompt_tokens, completion_tokens)
    if not isinstance(choices, list) or not isinstance(choices[0], dict):
        raise bad("choices is not a list of objects")
    choice = choices[0]
    message = choice.get("message")
    if message is None:
        message = {}
    if not isinstance(message, dict):
        raise bad("message is not an object")
    text = _content_text(message.get("content"))
    if text is None:
        raise bad(f"content is {type(message.get('content')).__name__}, not text")
    finish_reason = choice.get("finish_reason")
    return (
        text,
        prompt_tokens,
        completion_tokens,
        finish_reason if isinstance(finish_reason, str) else None,
    )


def _content_text(content: Any) -> str | None:
    """The reply's text: a string, null (empty), or a list of text parts as some servers send;
    None for anything else."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and content:
        parts = [p.get("text") if isinstance(p, dict) else None for p in content]
        if all(isinstance(p, str) for p in parts):
            return "".join(parts)
    return None
