"""End to end: the embedded llama.cpp server with the tiny packaged model (a few seconds)."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from econ.llm import LLMSettings, Sampling, aclose_all, make_llm, registry
from econ.llm.embedded import EmbeddedLLM, start_server

pytestmark = pytest.mark.llm

MODEL = "smollm2-135m"
SETTINGS = LLMSettings(slots=4, ctx_size=1024)
QUESTION = [{"role": "user", "content": "Name one colour of the rainbow."}]


@pytest.fixture(scope="module")
def llm() -> EmbeddedLLM:
    if not {m.name: m.installed for m in registry.list_models()}[MODEL]:
        pytest.skip(f"model not installed; run: econ models fetch {MODEL}")
    return make_llm(f"local:{MODEL}", SETTINGS)


def run(coro):
    async def go():
        try:
            return await coro
        finally:
            await aclose_all()

    return asyncio.run(go())


def test_one_chat_call_counts_tokens(llm):
    out = run(llm.chat(QUESTION, Sampling(temperature=0.0, max_tokens=24, seed=1)))
    assert out.text.strip()
    assert out.prompt_tokens > 0 and 0 < out.completion_tokens <= 24
    assert out.model == f"local:{MODEL}"
    assert out.finish_reason in {"stop", "length"}


def test_four_concurrent_calls_succeed(llm):
    async def four():
        return await asyncio.gather(
            *(
                llm.chat(QUESTION, Sampling(temperature=0.8, top_p=0.9, max_tokens=16, seed=i))
                for i in range(4)
            )
        )

    outs = run(four())
    assert len(outs) == 4
    assert all(o.completion_tokens > 0 and o.text for o in outs)


def test_openai_backend_against_the_embedded_server(llm):
    run(llm.chat(QUESTION, Sampling(max_tokens=4)))  # make sure it is started
    remote = make_llm(f"openai:whatever@{llm.base_url}", SETTINGS)
    assert remote is not llm and remote.base_url == llm.base_url
    out = run(remote.chat(QUESTION, Sampling(max_tokens=12)))
    assert out.text and out.completion_tokens > 0 and out.prompt_tokens > 0


def test_one_server_per_model_bound_to_loopback_only(llm):
    run(llm.chat(QUESTION, Sampling(max_tokens=4)))
    server = start_server(registry.model_path(MODEL), SETTINGS.slots, SETTINGS.ctx_size)
    assert server.base_url == llm.base_url  # reused, not a second server
    url = urlsplit(llm.base_url)
    assert url.hostname == "127.0.0.1"
    if sys.platform == "linux":  # the kernel's own table of listening sockets
        port_hex = f"{url.port:04X}"
        listeners = []
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                if state == "0A" and local.endswith(":" + port_hex):
                    listeners.append(local)
        assert listeners == [f"0100007F:{port_hex}"]


def test_api_key_locks_the_server_to_its_holders(tmp_path, monkeypatch):
    """Without a key any local process may use the server; with one, only its holders."""
    if not {m.name: m.installed for m in registry.list_models()}[MODEL]:
        pytest.skip(f"model not installed; run: econ models fetch {MODEL}")
    copy = tmp_path / "keyed.gguf"  # another file, so another server than the module's
    shutil.copy(registry.model_path(MODEL), copy)
    monkeypatch.setenv("ECON_TEST_EMBED_KEY", "k-0123")
    keyed = make_llm(
        f"local:{copy}",
        LLMSettings(slots=1, ctx_size=512, embedded_api_key_env="ECON_TEST_EMBED_KEY"),
    )
    assert run(keyed.chat(QUESTION, Sampling(max_tokens=4))).completion_tokens > 0
    body = {"model": "m", "messages": QUESTION, "max_tokens": 4}
    stranger = httpx.post(f"{keyed.base_url}/chat/completions", json=body, timeout=60)
    assert stranger.status_code == 401
