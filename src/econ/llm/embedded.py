"""llama.cpp's OpenAI-compatible server, run inside this process through the xllamacpp wheel.

Running the real server (rather than calling the model from Python) gives us llama.cpp's
continuous batching over parallel slots, and lets the embedded backend share every line
of the HTTP client with the `openai:` backend. One server per model file per process,
started on first use, listening on 127.0.0.1 only, stopped at interpreter exit.

Listening on 127.0.0.1 keeps other machines out, but any local process that finds the port
may use the server while it runs; `llm.embedded_api_key_env` names a variable whose key the
server then requires (the first settings to start a model's server decide its key).
"""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from econ.errors import UserError
from econ.llm.base import LLMError
from econ.llm.endpoints import env_api_key
from econ.llm.openai_compat import OpenAICompatLLM

if TYPE_CHECKING:
    from econ.llm import LLMSettings

_READY_TIMEOUT_S = 120.0


@dataclass
class EmbeddedServer:
    """A running xllamacpp server; dropping `handle` stops it."""

    model_path: Path
    base_url: str  # ends in /v1
    handle: object
    api_key: str | None = None  # required by the server when set


_servers: dict[Path, EmbeddedServer] = {}
_lock = threading.Lock()


def _wait_ready(root_url: str) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{root_url}/health", timeout=5.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise LLMError(f"embedded llama.cpp server at {root_url} not ready after {_READY_TIMEOUT_S}s")


def start_server(
    model_path: Path, slots: int, ctx_size: int, api_key: str | None = None
) -> EmbeddedServer:
    """Start (or reuse) the server for this model file; blocks while the model loads.

    ctx_size is per slot: llama.cpp splits n_ctx evenly over the parallel slots. With
    `api_key` the server refuses requests without it (its /health stays open).
    """
    model_path = Path(model_path).resolve()
    with _lock:
        server = _servers.get(model_path)
        if server is not None:
            return server
        import xllamacpp  # heavy native import, only when a local model is really used

        params = xllamacpp.CommonParams()
        params.model.path = str(model_path)
        params.n_parallel = slots
        params.n_ctx = slots * ctx_size
        threads = os.cpu_count() or 1
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.hostnames = ["127.0.0.1"]
        params.port = 0  # llama.cpp picks a free port; listening_address reports it
        params.ui = False
        params.verbosity = 0  # keep llama.cpp's per-request log off the terminal
        # Read the weights instead of mmapping them: llama.cpp repacks most of them into its
        # own buffer, and the mapped file stayed resident beside that copy (0.6 GB of RSS for
        # the 1.5B model; benchmarks/peak_memory.py). Same weights, same outputs.
        params.load_mode = xllamacpp.llama_load_mode.LLAMA_LOAD_MODE_NONE
        if api_key:
            params.api_keys = [api_key]
        try:
            handle = xllamacpp.Server(params)
        except Exception as exc:  # the binding raises plain RuntimeError on bad files
            raise UserError(f"cannot load model {model_path}: {exc}") from None
        root_url = handle.listening_address.rstrip("/")
        _wait_ready(root_url)
        server = _servers[model_path] = EmbeddedServer(
            model_path, f"{root_url}/v1", handle, api_key
        )
        return server


@atexit.register
def stop_all() -> None:
    """Stop every embedded server (xllamacpp stops one when its Server object is freed)."""
    with _lock:
        _servers.clear()


class EmbeddedLLM(OpenAICompatLLM):
    """OpenAI-compatible client whose endpoint is an embedded server started on first chat.

    Its replies stream by default: on a loaded machine a generation can outlast any fixed
    deadline while still advancing, and a retry would only start it again."""

    streams_by_default = True

    def __init__(self, model_path: Path, settings: LLMSettings, *, name: str):
        super().__init__(Path(model_path).stem, "", None, settings, name=name)
        self.model_path = Path(model_path)
        self._slots = settings.slots
        self._ctx_size = settings.ctx_size
        self._penalty_field = "repeat_penalty"
        self._server_key: str | None = None
        if settings.embedded_api_key_env:
            self._server_key = env_api_key(settings.embedded_api_key_env)
            if not self._server_key:
                raise UserError(
                    f"llm.embedded_api_key_env names ${settings.embedded_api_key_env}, "
                    "which is not set"
                )

    @property
    def max_in_flight(self) -> int:
        """One request per server slot unless `concurrency` says otherwise: more would only
        queue inside llama.cpp, where they cannot be cancelled or timed fairly."""
        return self._settings.concurrency or self._slots

    async def _endpoint(self) -> str:
        if not self.base_url:
            server = await asyncio.to_thread(
                start_server, self.model_path, self._slots, self._ctx_size, self._server_key
            )
            self.base_url = server.base_url
            self._api_key = server.api_key  # the key the running server was started with
        return self.base_url
