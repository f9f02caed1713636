"""A scripted LLM for protocol tests: it answers by a rule and remembers every call.

Only for testing protocol logic (who is called, with what prompt and sampling parameters);
end-to-end tests use the embedded llama.cpp server. `FakeServer` below is a real HTTP server
for the client and fault tests: it speaks the OpenAI chat protocol and misbehaves on cue.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from econ.llm.base import Completion, LLMError, Reply, Sampling
from econ.records import RECORD_LAYOUT, Call, EvalRecord


class ScriptedCut(str):
    """A scripted reply that the fake reports as cut off at the token limit."""


class ScriptedLLM:
    def __init__(
        self, reply: Callable[[list[dict], dict], str], name: str = "scripted", delay: float = 0.0
    ):
        self.reply = reply
        self.name = name
        self.delay = delay
        self.calls: list[dict] = []

    async def chat(self, messages, sampling: Sampling):
        params = asdict(sampling)
        self.calls.append({"messages": messages, **params})
        if self.delay:
            await asyncio.sleep(self.delay)
        text = self.reply(messages, params)
        if isinstance(text, Exception):
            raise text
        reply = Reply(
            text,
            prompt_tokens=sum(len(m["content"].split()) for m in messages),
            completion_tokens=len(text.split()),
            finish_reason="length" if isinstance(text, ScriptedCut) else "stop",
        )
        return Completion.of(reply, sampling, model=self.name, latency_s=self.delay)


def llms(fake_or_map):
    """A `make_llm` that builds fakes: every spec gets `fake`, or `{spec: fake}` maps them.
    Pass it where LLMs are built: build_method, run_methods, EconSystem.from_config."""

    def make_llm(spec, settings=None):
        return fake_or_map[spec] if isinstance(fake_or_map, dict) else fake_or_map

    return make_llm


def record(**fields) -> EvalRecord:
    """A record as a run writes it, with plain defaults for every field a test does not set
    (dicts in `trace` become Calls, filled the same way by `call`)."""
    base = {
        "id": "q1", "method": "cot", "epoch": 0, "benchmark": "demo", "question": "?",
        "gold": "1", "prediction": None, "correct": False, "prompt_tokens": 0,
        "completion_tokens": 0, "calls": 1, "failed_requests": 0, "empty_responses": 0,
        "latency_s": 0.0, "llm_seconds": 0.0, "per_model": {}, "error": None, "details": {},
        "trace": [], "layout": RECORD_LAYOUT,
    }  # fmt: skip
    merged = {**base, **fields}
    merged["trace"] = [c if isinstance(c, Call) else call(**c) for c in merged["trace"]]
    return EvalRecord.model_validate(merged)


def call(**fields) -> Call:
    """One trace entry with plain defaults for every field a test does not set."""
    base = {
        "role": "solver", "round": 0, "agent": None, "model": "scripted", "temperature": 0.0,
        "top_p": 1.0, "repetition_penalty": None, "max_tokens": 64, "messages": [],
        "response": "", "finish_reason": "stop", "empty": False, "prompt_tokens": 0,
        "completion_tokens": 0, "latency_s": 0.0, "requests": 1, "failed_attempts": [],
        "error": None, "cached": False,
    }  # fmt: skip
    return Call.model_validate({**base, **fields})


def last_user(messages: list[dict]) -> str:
    return [m for m in messages if m["role"] == "user"][-1]["content"]


def failing(message: str = "server down") -> LLMError:
    return LLMError(message)


# --- a real OpenAI-compatible HTTP server on 127.0.0.1 that misbehaves on purpose -------------

OK_BODY = {
    "choices": [{"message": {"role": "assistant", "content": "42"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 7, "completion_tokens": 3},
}


@dataclass
class Trickle:
    """A 200 reply whose body is sent one byte every `interval_s`; `data=None` never ends."""

    data: bytes | None
    interval_s: float


@dataclass
class Stream:
    """A 200 reply of server-sent events: each (delay_s, event) is sent after its delay; an
    event is a chunk object (sent as `data: JSON`) or a raw line (": ping", "data: [DONE]")."""

    events: list[tuple[float, object]]


def stream_events(
    text: str, delay_s: float = 0.0, usage: bool = True
) -> list[tuple[float, object]]:
    """A chat completion streamed one word per chunk, as llama.cpp and vLLM stream tokens."""
    words = text.split(" ")
    events: list[tuple[float, object]] = [
        (delay_s, {"choices": [{"delta": {"content": w if i == 0 else " " + w}}]})
        for i, w in enumerate(words)
    ]
    events.append((0.0, {"choices": [{"delta": {}, "finish_reason": "stop"}]}))
    if usage:
        events.append(
            (0.0, {"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": len(words)}})
        )
    return [*events, (0.0, "data: [DONE]")]


# A behaviour gets (hit number starting at 1, request headers, request JSON) and returns
# (status, body) or (status, body, extra headers); a body is JSON-encoded unless it is bytes
# or a Trickle. Behaviours of one argument pair (hit, headers) are accepted too.
Behaviour = Callable[..., tuple]


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler still sleeping for a test never blocks shutdown
    request_queue_size = 128  # the default backlog of 5 drops connects of many parallel calls


class FakeServer:
    """Threaded HTTP server that records every request and answers with a behaviour."""

    def __init__(self, behaviour: Behaviour):
        self.behaviour = behaviour
        self.requests: list[tuple[dict, dict]] = []  # (headers, json body)
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        wants_body = len(inspect.signature(behaviour).parameters) >= 3
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer._lock:
                    outer.requests.append((dict(self.headers), body))
                    hit = len(outer.requests)
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                try:
                    args = (hit, dict(self.headers), body) if wants_body else (hit, self.headers)
                    status, payload, *extra = outer.behaviour(*args)
                finally:
                    with outer._lock:
                        outer.in_flight -= 1
                try:
                    self._reply(status, payload, extra[0] if extra else {})
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeouts, cancelled calls)

            def _reply(self, status: int, payload: object, headers: dict) -> None:
                self.send_response(status)
                if isinstance(payload, Stream):  # close-delimited: HTTP/1.0 ends at close
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    for delay, event in payload.events:
                        time.sleep(delay)
                        line = event if isinstance(event, str) else "data: " + json.dumps(event)
                        self.wfile.write(line.encode() + b"\n\n")
                        self.wfile.flush()
                    return
                self.send_header("Content-Type", "application/json")
                for key, value in headers.items():
                    self.send_header(key, value)
                if isinstance(payload, Trickle):
                    size = len(payload.data) if payload.data is not None else 10**9
                    self.send_header("Content-Length", str(size))
                    self.end_headers()
                    for i in itertools.count():
                        if payload.data is not None and i >= len(payload.data):
                            return
                        byte = payload.data[i : i + 1] if payload.data is not None else b" "
                        self.wfile.write(byte)
                        self.wfile.flush()
                        time.sleep(payload.interval_s)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def hits(self) -> int:
        return len(self.requests)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def fake_servers() -> Iterator[Callable[[Behaviour], FakeServer]]:
    """start(behaviour) starts a FakeServer; all are shut down when the block ends."""
    servers: list[FakeServer] = []

    def start(behaviour: Behaviour) -> FakeServer:
        servers.append(FakeServer(behaviour))
        return servers[-1]

    try:
        yield start
    finally:
        for server in servers:
            server.close()


def completion_body(text: str, finish_reason: str = "stop", prompt_tokens: int = 7) -> dict:
    """A well-formed chat completion body."""
    return {
        "choices": [
            {"message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}
        ],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(text.split())},
    }


def free_port() -> int:
    """A port nothing listens on (bound and released), for refused connections."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
