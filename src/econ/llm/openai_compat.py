"""Client for any OpenAI-compatible chat endpoint (vLLM, SGLang, llama.cpp, Ollama, hosted APIs).

Why not the `openai` package: we need only one endpoint, exact control over which sampling
fields are sent (`wire.request_body`), per-endpoint concurrency and our own retry policy.

httpx clients and asyncio semaphores belong to one event loop, while LLM instances are
cached per process and may be used from several `asyncio.run` calls; so both live in a
per-loop table and an instance never holds one itself.

Whatever a server sends back (a body that is not UTF-8 or not JSON, a `content` that is a
number, a reply that never ends) ends as a retry and then as an `LLMError`, which the harness
records against that one question; nothing a server does can raise anything else. The
request body and the reading of replies are in econ.llm.wire, URL and key checks in
econ.llm.endpoints.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import logging
import math
import time
import weakref
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import unquote, urlsplit

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from econ.llm.base import Attempts, Completion, LLMError, Message, Reply, Sampling, attempt_sink
from econ.llm.endpoints import env_api_key, redact_url
from econ.llm.wire import Retryable, StreamReader, read_reply, reply_cap, request_body

if TYPE_CHECKING:
    from econ.llm import LLMSettings

log = logging.getLogger(__name__)

# Requests in flight per remote endpoint unless `concurrency` says otherwise: vLLM and SGLang
# batch hundreds of sequences, so a small default would leave most of such a server idle.
REMOTE_CONCURRENCY = 64
# Longest wait a server's Retry-After may impose before the next attempt.
MAX_RETRY_AFTER_S = 60.0
T = TypeVar("T")


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

    streams_by_default = False  # see LLMSettings.stream

    @property
    def max_in_flight(self) -> int:
        """Requests this backend keeps in flight per endpoint: the `concurrency` setting, else
        the backend's default."""
        return self._settings.concurrency or REMOTE_CONCURRENCY

    @property
    def streams(self) -> bool:
        """Whether replies are read as a stream (`LLMSettings.stream`)."""
        stream = self._settings.stream
        return self.streams_by_default if stream is None else stream

    async def _endpoint(self) -> str:
        """Base URL to call; the embedded backend overrides this to start its server lazily."""
        return self.base_url

    def _redact(self, text: str) -> str:
        """A server's error text without any secret this client sent, in any encoding it
        went out in: the API key, the base URL's password as written and percent-decoded,
        and the Basic-auth credential httpx builds from the URL's user:password (base64)."""
        url = urlsplit(self.base_url)
        secrets = [self._api_key]
        if url.password:
            user, password = unquote(url.username or ""), unquote(url.password)
            pair = f"{user}:{password}".encode()
            secrets += [url.password, password]
            secrets += [base64.b64encode(pair).decode(), base64.urlsafe_b64encode(pair).decode()]
        for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    async def chat(self, messages: list[Message], sampling: Sampling) -> Completion:
        """One completion. latency_s covers the whole call: queueing, retries and backoff.

        Each attempt has `timeout_s` for everything (connect, the server's queue, the whole
        body), so a server that trickles bytes cannot hold a call longer than that; failed
        attempts go to the `track_attempts` sink of the caller, if any.

        ``repetition_penalty`` (None: not sent) goes out under the field name the settings
        give, since servers disagree: llama.cpp reads ``repeat_penalty``, vLLM and SGLang
        ``repetition_penalty``; for a server that has neither, name its
        ``frequency_penalty`` (a different scale: 0 is off, not 1).
        """
        payload = request_body(self.model, messages, sampling, self._penalty_field)
        if self.streams:
            payload |= {"stream": True, "stream_options": {"include_usage": True}}
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
            retry=retry_if_exception_type(Retryable),
            reraise=True,
            before_sleep=self._log_retry,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    async with semaphore:
                        reply = await self._attempt(state.client, base_url, payload, sink)
        except Retryable as exc:
            raise LLMError(f"{self.name}: {exc.reason} after {attempts} attempts") from None
        return Completion.of(
            reply, sampling, model=self.name, latency_s=time.perf_counter() - start
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
            exc.reason if isinstance(exc, Retryable) else exc,
            sleep,
            retry_state.attempt_number + 1,
            self._settings.max_retries + 1,
        )

    def _wait(self, retry_state: RetryCallState) -> float:
        """Seconds before the next attempt: the server's Retry-After (bounded) when it sent
        one, else exponential backoff with jitter."""
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, Retryable) and exc.retry_after is not None:
            return exc.retry_after
        return self._backoff(retry_state)

    async def _attempt(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        payload: dict,
        sink: Attempts | None,
    ) -> Reply:
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
            if payload.get("stream"):
                return await self._post(client, base_url, payload)
            return await asyncio.wait_for(self._post(client, base_url, payload), timeout_s)
        except asyncio.TimeoutError:
            reason = f"no complete response within {timeout_s:g} s"
            report(reason)
            raise Retryable(reason) from None
        except Retryable as exc:
            report(exc.reason, exc.prompt_tokens, exc.completion_tokens)
            raise
        except LLMError as exc:
            report(str(exc))
            raise
        except asyncio.CancelledError:
            report("cancelled")  # sent, and then abandoned: it still cost a request
            raise

    async def _post(self, client: httpx.AsyncClient, base_url: str, payload: dict) -> Reply:
        """One request. Its body is read up to `wire.reply_cap` bytes (decompressed), and a
        reply larger than that is refused as the server's fault, not retried.

        A streamed reply runs under a deadline that each token of progress moves on: the
        first must come within `timeout_s` (connect, the server's queue, the prompt), every
        next one within `stall_s`. A slow generation that keeps advancing is never cut off (nor
        started again by a retry); one that stops is, saying how far it got. (A plain one has
        `timeout_s` for everything, from `_attempt`; so has a server that answers a request to
        stream with a plain body.)"""
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        reader = StreamReader() if payload.get("stream") else None
        cap = reply_cap(payload["max_tokens"], reader is not None)
        request = client.build_request(
            "POST", f"{base_url}/chat/completions", json=payload, headers=headers, timeout=None
        )
        deadline = _Deadline(self._settings.timeout_s if reader is not None else None)
        try:
            response = await deadline.wait(client.send(request, stream=True))
            try:
                status = response.status_code
                if status == 429 or status >= 500:
                    wait = retry_after_s(response.headers.get("retry-after"))
                    raise Retryable(f"HTTP {status}", retry_after=wait)
                streamed = "event-stream" in response.headers.get("content-type", "")
                if reader is not None and status < 400 and streamed:
                    await self._read_stream(response, reader, deadline, cap, payload)
                    return reader.reply()
                body = bytearray()
                async for chunk in self._capped(response, deadline, cap, payload):
                    body += chunk
            finally:
                await response.aclose()
        except asyncio.TimeoutError:  # only a streamed attempt has a deadline here
            if reader is None or reader.tokens == 0:
                reason = f"no first token within {self._settings.timeout_s:g} s"
            else:
                stall = self._settings.stall_s
                reason = f"no new token for {stall:g} s after {reader.tokens} tokens"
            raise Retryable(reason) from None
        except httpx.HTTPError as exc:  # connect errors, resets, bad encodings, redirects
            raise Retryable(type(exc).__name__) from None
        if status >= 400:
            detail = self._redact(bytes(body[:200]).decode("utf-8", "replace").strip())
            raise LLMError(f"{self.name}: HTTP {status}: {detail}")
        return read_reply(bytes(body))

    async def _capped(
        self, response: httpx.Response, deadline: _Deadline, cap: int, payload: dict
    ) -> AsyncIterator[bytes]:
        """The body's chunks (decompressed), each awaited under `deadline`, refused once they
        add up to more than `cap` bytes."""
        size = 0
        chunks = response.aiter_bytes().__aiter__()
        while True:
            try:
                chunk = await deadline.wait(chunks.__anext__())
            except StopAsyncIteration:
                return
            size += len(chunk)
            if size > cap:
                raise LLMError(
                    f"{self.name}: a reply of more than {cap:,} bytes to a "
                    f"{payload['max_tokens']}-token call; refused"
                )
            yield chunk

    async def _read_stream(
        self,
        response: httpx.Response,
        reader: StreamReader,
        deadline: _Deadline,
        cap: int,
        payload: dict,
    ) -> None:
        """Feed the stream's lines to `reader`, moving `deadline` on at each progress."""
        pending = b""
        async for chunk in self._capped(response, deadline, cap, payload):
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                if reader.feed(line.decode("utf-8", "replace").strip()):
                    deadline.move(self._settings.stall_s)
            if reader.done:
                return
        if pending.strip():
            reader.feed(pending.decode("utf-8", "replace").strip())


class _Deadline:
    """A point in time that progress moves on; None: none (asyncio.timeout's reschedule
    does this from Python 3.11 on, and econ runs on 3.10)."""

    def __init__(self, seconds: float | None):
        self._at = None if seconds is None else time.monotonic() + seconds

    def move(self, seconds: float) -> None:
        self._at = time.monotonic() + seconds

    async def wait(self, awaitable: Awaitable[T]) -> T:
        """`awaitable`'s result, or asyncio.TimeoutError once the deadline has passed."""
        if self._at is None:
            return await awaitable
        return await asyncio.wait_for(awaitable, max(self._at - time.monotonic(), 0.0))


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
