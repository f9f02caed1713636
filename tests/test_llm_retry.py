"""The OpenAI-compatible client against a real local HTTP server that misbehaves on purpose."""

from __future__ import annotations

import asyncio
import logging
import socket
import time

import pytest
from fakes import OK_BODY, fake_servers

from econ.errors import UserError
from econ.llm import LLMError, LLMSettings, OpenAICompatLLM, Sampling, aclose_all, make_llm

MESSAGES = [{"role": "user", "content": "What is 6*7?"}]
DEFAULT = Sampling(max_tokens=512)


@pytest.fixture
def serve():
    with fake_servers() as start:
        yield start


def client(url: str, **settings) -> OpenAICompatLLM:
    s = LLMSettings(**{"max_retries": 2, "api_key_env": "ECON_TEST_NO_KEY", **settings})
    return OpenAICompatLLM.from_env("test-model", url, s, backoff_s=0.01)


def chat(llm, **kwargs):
    async def go():
        try:
            return await llm.chat(MESSAGES, Sampling(**{"max_tokens": 512, **kwargs}))
        finally:
            await aclose_all()

    return asyncio.run(go())


def test_success_after_two_500s_and_exact_sampling_fields(serve):
    server = serve(lambda hit, _: (500, {"error": "boom"}) if hit <= 2 else (200, OK_BODY))
    out = chat(client(server.url), temperature=0.7, top_p=0.85, max_tokens=64, seed=3)
    assert server.hits == 3
    assert (out.text, out.prompt_tokens, out.completion_tokens) == ("42", 7, 3)
    assert out.finish_reason == "stop" and out.latency_s > 0
    assert (out.temperature, out.top_p, out.max_tokens) == (0.7, 0.85, 64)
    body = server.requests[-1][1]
    assert body == {
        "model": "test-model",
        "messages": MESSAGES,
        "temperature": 0.7,
        "top_p": 0.85,
        "max_tokens": 64,
        "seed": 3,
    }
    assert "authorization" not in {k.lower() for k in server.requests[-1][0]}


def test_seed_omitted_and_missing_usage_counts_zero(serve):
    body = {"choices": [{"message": {"content": "hi"}, "finish_reason": "length"}]}
    server = serve(lambda hit, _: (200, body))
    out = chat(client(server.url))
    assert "seed" not in server.requests[0][1]
    assert (out.text, out.prompt_tokens, out.completion_tokens) == ("hi", 0, 0)
    assert out.finish_reason == "length"


def test_400_is_not_retried(serve):
    server = serve(lambda hit, _: (400, {"error": "bad request"}))
    with pytest.raises(LLMError, match="HTTP 400"):
        chat(client(server.url))
    assert server.hits == 1


def test_429_is_retried_until_the_limit(serve):
    server = serve(lambda hit, _: (429, {"error": "slow down"}))
    with pytest.raises(LLMError, match="HTTP 429 after 3 attempts"):
        chat(client(server.url))
    assert server.hits == 3


def test_refused_connection_gives_llm_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(LLMError, match="ConnectError after 3 attempts"):
        chat(client(f"http://127.0.0.1:{port}/v1"))


def test_timeout_is_retried_then_fails(serve):
    def slow(hit, _):
        time.sleep(1.0)
        return 200, OK_BODY

    server = serve(slow)
    start = time.perf_counter()
    with pytest.raises(LLMError, match="no complete response within 0.2 s after 2 attempts"):
        chat(client(server.url, timeout_s=0.2, max_retries=1))
    assert server.hits == 2
    assert time.perf_counter() - start < 1.5


@pytest.mark.parametrize(
    "payload", [{"choices": []}, b"{not json", {"choices": ["oops"]}], ids=["empty", "bad", "odd"]
)
def test_empty_or_malformed_answers_are_retried(serve, payload):
    server = serve(lambda hit, _: (200, payload) if hit == 1 else (200, OK_BODY))
    assert chat(client(server.url)).text == "42"
    assert server.hits == 2


def test_api_key_is_sent_but_never_in_errors_or_logs(serve, monkeypatch, caplog):
    secret = "sk-test-SECRET-0123456789"
    monkeypatch.setenv("ECON_TEST_KEY", secret)
    caplog.set_level(logging.DEBUG)
    # The server echoes the Authorization header in its error body, as some do.
    echo = serve(lambda hit, h: (401, {"error": f"bad key {h.get('Authorization')}"}))
    with pytest.raises(LLMError) as info:
        chat(client(echo.url, api_key_env="ECON_TEST_KEY"))
    assert echo.requests[0][0]["Authorization"] == f"Bearer {secret}"
    assert "HTTP 401" in str(info.value)
    failing = serve(lambda hit, h: (503, {"error": f"down {h.get('Authorization')}"}))
    with pytest.raises(LLMError) as info5xx:
        chat(client(failing.url, api_key_env="ECON_TEST_KEY"))
    llm = client(failing.url, api_key_env="ECON_TEST_KEY")
    for text in (str(info.value), str(info5xx.value), caplog.text, repr(llm), llm.name):
        assert secret not in text


def test_concurrency_is_limited_per_endpoint(serve):
    def slowish(hit, _):
        time.sleep(0.15)
        return 200, OK_BODY

    server = serve(slowish)
    llm = client(server.url, concurrency=2)

    async def go():
        try:
            return await asyncio.gather(*(llm.chat(MESSAGES, DEFAULT) for _ in range(6)))
        finally:
            await aclose_all()

    outs = asyncio.run(go())
    assert len(outs) == 6 and server.hits == 6
    assert server.max_in_flight == 2


def test_cached_instance_works_across_event_loops(serve):
    server = serve(lambda hit, _: (200, OK_BODY))
    spec = f"openai:m@{server.url}"
    llm = make_llm(spec, LLMSettings(api_key_env="ECON_TEST_NO_KEY"))
    assert llm is make_llm(spec, LLMSettings(api_key_env="ECON_TEST_NO_KEY"))
    assert llm is not make_llm(spec, LLMSettings(api_key_env="ECON_TEST_NO_KEY", concurrency=1))
    assert llm.name == spec
    assert asyncio.run(llm.chat(MESSAGES, DEFAULT)).model == spec
    assert asyncio.run(llm.chat(MESSAGES, DEFAULT)).text == "42"  # a second loop, same instance
    assert server.requests[0][1]["model"] == "m"


@pytest.mark.parametrize(
    "spec", ["gpt-4o", "openai:gpt-4o", "openai:@http://x/v1", "openai:m@ftp://x", "vllm:m@x"]
)
def test_bad_specs_are_user_errors_listing_forms(spec):
    with pytest.raises(UserError, match="local:NAME, local:/path/model.gguf, openai:MODEL@"):
        make_llm(spec)


def test_unknown_local_name_lists_packaged_models(tmp_path):
    with pytest.raises(UserError, match="smollm2-135m"):
        make_llm("local:no-such-model")
    with pytest.raises(UserError, match="not found"):
        make_llm(f"local:{tmp_path / 'missing.gguf'}")
