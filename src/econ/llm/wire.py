"""The OpenAI chat-completions wire format: the body a call sends and what a reply means.

Every shape a server may get wrong in a reply (a body that is not UTF-8 or not JSON, a
`content` that is a number, no choices) is checked here and becomes `Retryable` with a reason,
rather than an error in whatever later reads the text; the client decides what a retry costs.
"""

from __future__ import annotations

import json
import math
from typing import Any

from econ.llm.base import Message, Reply, Sampling


class Retryable(Exception):
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


def request_body(
    model: str, messages: list[Message], sampling: Sampling, penalty_field: str
) -> dict:
    """The JSON body of one chat request: exactly the sampling fields the call set. A seed
    or repetition penalty of None is not sent; the penalty goes out under `penalty_field`
    (see `OpenAICompatLLM.chat`)."""
    body: dict = {
        "model": model,
        "messages": messages,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "max_tokens": sampling.max_tokens,
    }
    if sampling.seed is not None:
        body["seed"] = sampling.seed
    if sampling.repetition_penalty is not None:
        body[penalty_field] = sampling.repetition_penalty
    return body


def reply_cap(max_tokens: int, stream: bool = False) -> int:
    """The most bytes a reply to a call for `max_tokens` tokens may have: a token is a few
    bytes of text, JSON escaping at most sextuples them, and the envelope is small (a streamed
    reply wraps each token in its own envelope of a few hundred bytes); anything near this is
    a server gone wrong, and reading it whole could exhaust memory."""
    return 256 * 1024 + (2048 if stream else 64) * max_tokens


def read_reply(body: bytes) -> Reply:
    """The reply in a successful response's body; missing usage counts as 0."""
    try:
        data = json.loads(body)
    except UnicodeDecodeError:
        raise Retryable("response body is not UTF-8") from None
    except ValueError:
        raise Retryable("malformed JSON") from None
    return _parse(data)


def _count(value: Any) -> int:
    """A token count from a usage field; anything that is not a count reads as 0 (unknown)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return 0
    return max(int(value), 0)


def _parse(data: Any) -> Reply:
    """Text, prompt tokens, completion tokens and finish reason of a decoded body."""
    if not isinstance(data, dict):
        raise Retryable(f"malformed response: a JSON {type(data).__name__}, not an object")
    usage = data.get("usage")
    if isinstance(usage, dict):
        prompt_tokens = _count(usage.get("prompt_tokens"))
        completion_tokens = _count(usage.get("completion_tokens"))
    else:
        prompt_tokens = completion_tokens = 0

    def bad(why: str) -> Retryable:
        return Retryable(f"malformed response: {why}", prompt_tokens, completion_tokens)

    choices = data.get("choices")
    if not choices:
        raise Retryable("empty choices", prompt_tokens, completion_tokens)
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
    return Reply(
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


class StreamReader:
    """A streamed chat completion (server-sent events, `"stream": true`) put together, line by
    line, into the Reply that the plain response would have been. `feed` says whether a line
    was progress (text, the finish reason or the usage), which is what a stall deadline
    measures: comments and empty keep-alive chunks are not. Without a usage chunk (a server
    that ignores `stream_options`) the completion tokens are the chunks that carried text, one
    token each on llama.cpp and vLLM, and the prompt tokens are unknown (0)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.finish_reason: str | None = None
        self.usage: tuple[int, int] | None = None
        self.done = False  # "data: [DONE]" seen

    @property
    def tokens(self) -> int:
        return len(self.parts)

    def feed(self, line: str) -> bool:
        if not line.startswith("data:"):
            return False  # blank separators, ": ping" comments, "event:" names
        data = line[5:].strip()
        if data == "[DONE]":
            self.done = True
            return True
        try:
            chunk = json.loads(data)
        except (ValueError, RecursionError):
            raise Retryable("malformed stream chunk") from None
        if not isinstance(chunk, dict):
            raise Retryable(f"malformed stream chunk: a JSON {type(chunk).__name__}")
        if "error" in chunk:
            raise Retryable(f"error in the stream: {str(chunk['error'])[:200]}")
        progress = False
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.usage = (
                _count(usage.get("prompt_tokens")),
                _count(usage.get("completion_tokens")),
            )
            progress = True
        choices = chunk.get("choices")
        if not choices:
            return progress
        if not isinstance(choices, list) or not isinstance(choices[0], dict):
            raise Retryable("malformed stream chunk: choices is not a list of objects")
        delta = choices[0].get("delta") or {}
        text = _content_text(delta.get("content")) if isinstance(delta, dict) else None
        if text is None:
            raise Retryable("malformed stream chunk: delta content is not text")
        if text:
            self.parts.append(text)
            progress = True
        finish_reason = choices[0].get("finish_reason")
        if isinstance(finish_reason, str):
            self.finish_reason = finish_reason
            progress = True
        return progress

    def reply(self) -> Reply:
        prompt_tokens, completion_tokens = self.usage or (0, self.tokens)
        if self.finish_reason is None:
            raise Retryable(
                "the stream ended before the reply did", prompt_tokens, completion_tokens
            )
        return Reply("".join(self.parts), prompt_tokens, completion_tokens, self.finish_reason)
