"""Faults a server can inject, each survived: the question concerned becomes an error record
that says what happened (with the requests it really cost), the rest of the run goes on, and
the summary is written."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest
from fakes import OK_BODY, Trickle, completion_body
from faultkit import one_error_line, question_of, records

from econ.config import load_config
from econ.evaluate import run_methods
from econ.llm import (
    LLMError,
    LLMSettings,
    OpenAICompatLLM,
    Sampling,
    aclose_all,
    default_concurrency,
    openai_compat,
)
from econ.methods.calls import gather_all
from econ.tasks import load_questions

DEMO = load_questions("demo", limit=6)
BOXED = completion_body("So the answer is \\boxed{5}.")

# Replies a server may send that are not a chat completion, and what the error then says.
BAD_PAYLOADS = {
    "not-utf8": (b'{"choices": [{"message": {"content": "\xff\xfe"}}]}', "not UTF-8"),
    "cut-json": (b'{"choices": [{"mess', "malformed JSON"),
    "content-int": ({"choices": [{"message": {"content": 42}}]}, "content is int, not text"),
    "content-list": ({"choices": [{"message": {"content": [1, 2]}}]}, "content is list, not text"),
    "message-text": ({"choices": [{"message": "42"}]}, "message is not an object"),
    "choices-object": ({"choices": {"0": {}}}, "choices is not a list"),
    "body-array": ([1, 2, 3], "a JSON list, not an object"),
    "empty-choices": ({"choices": []}, "empty choices"),
}


def spec(server) -> str:
    return f"openai:m@{server.url}"


@pytest.mark.parametrize("kind", BAD_PAYLOADS)
def test_bad_payload_is_one_questions_error_and_the_run_finishes(kind, serve, cli, config):
    payload, reason = BAD_PAYLOADS[kind]
    target = DEMO[1].question
    server = serve(lambda hit, h, body: (200, payload if target in question_of(body) else BOXED))
    code, out, err = cli(
        "eval", "--method", "cot", "--limit", 3, "--model", spec(server),
        "--config", config(), "--out", "run",
    )  # fmt: skip
    assert code == 1  # one question errored, and --fail-on-error defaults to 0
    assert "1 answer(s) ended in an error" in one_error_line(err)
    by_id = {r["id"]: r for r in records(Path("run"))}
    assert len(by_id) == 3
    bad = by_id[DEMO[1].id]
    assert reason in bad["error"] and "after 2 attempts" in bad["error"]
    assert bad["calls"] == 2 and bad["trace"][0]["requests"] == 2
    failed = bad["trace"][0]["failed_attempts"]
    assert len(failed) == 2 and all(reason in a["error"] for a in failed)
    assert all(by_id[q.id]["error"] is None for q in (DEMO[0], DEMO[2]))
    assert json.loads(Path("run/summary.json").read_text())["methods"]["cot"]["errors"] == 1


def test_every_fifth_reply_malformed_costs_no_record_in_any_method(serve, cli, config):
    """The issue's case: a bad body on every 5th request, all four methods, no retries."""
    server = serve(lambda hit, h: (200, BAD_PAYLOADS["content-int"][0] if hit % 5 == 0 else BOXED))
    code, out, err = cli(
        "compare", "--methods", "cot,self_consistency,debate,econ", "--limit", 4,
        "--agents", 2, "--rounds", 2, "--model", spec(server), "--max-tokens", 32,
        "--config", config(llm={"max_retries": 0}), "--out", "run", "--fail-on-error", 100,
    )  # fmt: skip
    assert code == 0, err
    recs = records(Path("run"))
    assert sorted((r["method"], r["id"]) for r in recs) == sorted(
        (m, q.id) for m in ("cot", "self_consistency", "debate", "econ") for q in DEMO[:4]
    )
    errors = [r for r in recs if r["error"]]
    assert errors, "every 5th request was bad, so some question must have failed"
    assert all("content is int, not text after 1 attempts" in r["error"] for r in errors)
    assert sum(r["calls"] for r in recs) == server.hits  # every request sent is accounted
    summary = json.loads(Path("run/summary.json").read_text())["methods"]
    assert sum(s["errors"] for s in summary.values()) == len(errors)


@pytest.mark.parametrize("data", [b'{"choices": []}' * 50, None], ids=["slow", "endless"])
def test_deadline_bounds_the_whole_attempt_not_each_read(data, serve):
    """A server trickling one byte per 50 ms never trips a per-read timeout."""
    server = serve(lambda hit, h: (200, Trickle(data, 0.05)))
    llm = client(server.url, timeout_s=0.5, max_retries=0)
    start = time.perf_counter()
    with pytest.raises(LLMError, match="no complete response within 0.5 s after 1 attempts"):
        chat(llm)
    assert time.perf_counter() - start < 2.0


def test_retry_after_is_honoured_on_429(serve):
    seen: list[float] = []

    def limited(hit, h):
        seen.append(time.monotonic())
        return (429, {"error": "slow down"}, {"Retry-After": "1"}) if hit == 1 else (200, OK_BODY)

    assert chat(client(serve(limited).url)).text == "42"
    assert seen[1] - seen[0] >= 0.95  # backoff alone would have been about 0.01-0.02 s


def test_retry_after_is_bounded(serve, monkeypatch):
    monkeypatch.setattr(openai_compat, "MAX_RETRY_AFTER_S", 0.3)
    server = serve(lambda hit, h: (503, {"error": "busy"}, {"Retry-After": "3600"}))
    start = time.perf_counter()
    with pytest.raises(LLMError, match="HTTP 503 after 2 attempts"):
        chat(client(server.url, max_retries=1))
    assert 0.3 <= time.perf_counter() - start < 2.0


def test_retry_after_as_http_date_and_garbage():
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    assert 25 <= openai_compat.retry_after_s(later) <= 30
    assert openai_compat.retry_after_s("7") == 7.0
    assert openai_compat.retry_after_s("-3") == 0.0
    assert openai_compat.retry_after_s("soon") is None
    assert openai_compat.retry_after_s("1e9") == openai_compat.MAX_RETRY_AFTER_S


def slow_reply(seconds: float):
    def behaviour(hit, h):
        time.sleep(seconds)
        return 200, BOXED

    return behaviour


def test_concurrency_flag_sets_requests_in_flight(serve, cli, config):
    server = serve(slow_reply(0.3))
    code, _, err = cli(
        "eval", "--method", "cot", "--limit", 9, "--concurrency", 3, "--model", spec(server),
        "--config", config(), "--out", "run",
    )  # fmt: skip
    assert code == 0, err
    assert server.max_in_flight == 3 and server.hits == 9


def test_remote_default_is_not_the_old_cap_of_four(serve, cli, config):
    server = serve(slow_reply(0.5))
    code, _, err = cli(
        "eval", "--method", "cot", "--limit", 12, "--model", spec(server),
        "--config", config(), "--out", "run",
    )  # fmt: skip
    assert code == 0, err
    assert server.max_in_flight == 12  # all twelve at once: the default is 64 per endpoint
    settings = LLMSettings()
    assert default_concurrency("openai:m@http://h/v1", settings) == 64
    assert default_concurrency("local:smollm2-135m", settings.model_copy(update={"slots": 2})) == 2
    five = load_config(None, {"concurrency": 5}).llm
    assert default_concurrency("openai:m@http://h/v1", five) == 5


def test_failed_sibling_cancels_the_others_and_every_request_is_counted(serve, tmp_path):
    """Self-consistency: sample 0 gets a 401 at once, samples 1-2 would answer after 5 s."""

    def behaviour(hit, h, body):
        if body["seed"] == 0:
            return 401, {"error": "bad key"}
        time.sleep(5)
        return 200, BOXED

    server = serve(behaviour)
    cfg = load_config(
        None,
        {
            "model": spec(server),
            "run.limit": 1,
            "run.methods": ["self_consistency"],
            "llm.api_key_env": "ECON_TEST_NO_KEY",
        },
    )
    start = time.perf_counter()
    asyncio.run(run_methods(cfg, tmp_path, show_progress=False))
    assert time.perf_counter() - start < 3.0  # not the 5 s the siblings would have taken
    (rec,) = records(tmp_path)
    assert "HTTP 401" in rec["error"]
    assert rec["calls"] == server.hits == 3
    errors = [c["error"] for c in rec["trace"]]
    assert errors.count("cancelled") == 2 and any("HTTP 401" in e for e in errors)
    assert all(c["requests"] == 1 and c["response"] is None for c in rec["trace"])


def test_retries_failures_and_empty_replies_are_in_the_record(serve, tmp_path):
    first_try = True

    def behaviour(hit, h, body):
        nonlocal first_try
        q = question_of(body)
        if DEMO[0].question in q:  # one malformed reply that still reports usage, then fine
            bad = {"choices": [{"message": {"content": 7}}], "usage": {"prompt_tokens": 5}}
            reply, first_try = ((200, bad) if first_try else (200, BOXED)), False
            return reply
        if DEMO[1].question in q:  # fails for good
            return 500, {"error": "down"}
        return 200, completion_body("")  # empty content

    server = serve(behaviour)
    cfg = load_config(
        None,
        {
            "model": spec(server),
            "run.limit": 3,
            "llm.api_key_env": "ECON_TEST_NO_KEY",
            "llm.max_retries": 2,
            "llm.backoff_s": 0.01,
        },
    )
    asyncio.run(run_methods(cfg, tmp_path, show_progress=False))
    by_id = {r["id"]: r for r in records(tmp_path)}
    retried, failed, empty = by_id[DEMO[0].id], by_id[DEMO[1].id], by_id[DEMO[2].id]

    assert retried["error"] is None and retried["prediction"] == "5"
    assert retried["calls"] == 2 and retried["failed_requests"] == 1
    assert retried["prompt_tokens"] == 5 + 7  # the failed attempt's reported tokens count
    (attempt,) = retried["trace"][0]["failed_attempts"]
    assert attempt["error"] == "malformed response: content is int, not text"

    assert failed["calls"] == 3 and "HTTP 500 after 3 attempts" in failed["error"]
    assert [a["error"] for a in failed["trace"][0]["failed_attempts"]] == ["HTTP 500"] * 3

    assert empty["error"] is None and empty["prediction"] is None
    assert empty["trace"][0]["empty"] is True and empty["empty_responses"] == 1
    assert server.hits == 2 + 3 + 1


def test_gather_all_cancels_the_rest_and_waits_for_them():
    finished: list[str] = []

    async def fail_soon():
        await asyncio.sleep(0.01)
        raise LLMError("gone")

    async def slow(name: str):
        try:
            await asyncio.sleep(5)
        finally:
            finished.append(name)

    async def go():
        with pytest.raises(LLMError, match="gone"):
            await gather_all(slow("a"), fail_soon(), slow("b"))
        assert sorted(finished) == ["a", "b"]  # cancelled and already unwound
        return await gather_all(asyncio.sleep(0, "x"), asyncio.sleep(0.01, "y"))

    start = time.perf_counter()
    assert asyncio.run(go()) == ["x", "y"]
    assert time.perf_counter() - start < 1.0


def test_credentials_in_the_base_url_are_used_but_never_written(serve, cli, config):
    server = serve(lambda hit, h: (200, BOXED))
    host = server.url.removeprefix("http://")
    secret_spec = f"openai:m@http://user:s3cretpw@{host}"
    code, out, err = cli(
        "eval", "--method", "cot", "--limit", 2, "--model", secret_spec,
        "--config", config(), "--out", "run",
    )  # fmt: skip
    assert code == 0, err
    assert server.requests[0][0]["Authorization"].startswith("Basic ")  # httpx used them
    run = Path("run")
    for name in ("config.yaml", "records.jsonl", "summary.json", "summary.md"):
        text = (run / name).read_text()
        assert "s3cretpw" not in text, name
    assert f"http://***@{host}" in (run / "config.yaml").read_text()
    assert "s3cretpw" not in out + err

    # Resume needs them again: without them one line, with the same flag it goes on.
    code, _, err = cli("eval", "--resume", run)
    assert code == 2 and "credentials were redacted" in one_error_line(err)
    code, _, err = cli("eval", "--resume", run, "--model", secret_spec)
    assert code == 0, err


def client(url: str, **settings) -> OpenAICompatLLM:
    s = LLMSettings(**{"max_retries": 1, "api_key_env": "ECON_TEST_NO_KEY", **settings})
    return OpenAICompatLLM.from_env("test-model", url, s, backoff_s=0.01)


def chat(llm):
    async def go():
        try:
            return await llm.chat([{"role": "user", "content": "6*7?"}], Sampling(max_tokens=512))
        finally:
            await aclose_all()

    return asyncio.run(go())


def test_embedded_server_key_goes_with_every_request(serve, monkeypatch, tmp_path):
    """The key named by llm.embedded_api_key_env reaches the server and each request (a
    FakeServer stands in for llama.cpp; test_llm_embedded checks the real one refuses
    requests without it)."""
    from econ.llm import embedded

    server = serve(lambda hit, h: (200, OK_BODY))
    started: list[str | None] = []

    def fake_start(path, slots, ctx_size, api_key=None):
        started.append(api_key)
        return embedded.EmbeddedServer(path, server.url, None, api_key)

    monkeypatch.setattr(embedded, "start_server", fake_start)
    monkeypatch.setenv("ECON_TEST_EMBED_KEY", "k-0123")
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    settings = LLMSettings(embedded_api_key_env="ECON_TEST_EMBED_KEY", slots=2)
    llm = embedded.EmbeddedLLM(gguf, settings, name="local:m")
    assert llm.max_in_flight == 2  # one request per slot by default
    assert chat(llm).text == "42"
    assert started == ["k-0123"]
    assert server.requests[0][0]["Authorization"] == "Bearer k-0123"


def test_a_reply_far_larger_than_its_tokens_is_refused_unread_and_not_retried(serve, cli, config):
    """A 2 MB body answering a 32-token call: read up to the cap, then one question's error."""
    from econ.llm.wire import reply_cap

    huge = completion_body("\\boxed{5} " + "x" * 2_000_000)
    target = DEMO[1].question
    server = serve(lambda hit, h, body: (200, huge if target in question_of(body) else BOXED))
    code, out, err = cli(
        "eval", "--method", "cot", "--limit", 3, "--model", spec(server), "--max-tokens", 32,
        "--config", config(), "--out", "run",
    )  # fmt: skip
    assert code == 1 and "1 answer(s) ended in an error" in one_error_line(err)
    by_id = {r["id"]: r for r in records(Path("run"))}
    bad = by_id[DEMO[1].id]
    assert f"a reply of more than {reply_cap(32):,} bytes to a 32-token call" in bad["error"]
    assert bad["calls"] == 1  # the server's fault, not a transient one: no retry
    assert all(by_id[q.id]["prediction"] == "5" for q in (DEMO[0], DEMO[2]))
    assert Path("run/records.jsonl").stat().st_size < 200_000


# ---- streamed replies: a deadline that measures progress ----------------------------------

SLOW = "the total is \\boxed{42} after all of these words"  # 9 chunks


def test_a_slow_stream_that_keeps_advancing_is_never_cut_off_where_a_fixed_deadline_lost_it(
    serve,
):
    """9 tokens, one per 0.25 s: 2.25 s in all against a 1 s deadline. Read whole the reply
    is lost after every attempt (each restarting the generation); streamed it is kept."""
    from fakes import Stream, stream_events

    streamed = serve(lambda hit, h: (200, Stream(stream_events(SLOW, delay_s=0.25))))
    llm = client(streamed.url, stream=True, timeout_s=1.0, stall_s=1.0)
    reply = chat(llm)
    assert reply.text == SLOW and reply.finish_reason == "stop"
    assert (reply.prompt_tokens, reply.completion_tokens) == (7, 9)
    assert streamed.hits == 1 and streamed.requests[0][1]["stream"] is True
    assert streamed.requests[0][1]["stream_options"] == {"include_usage": True}

    def plain(hit, h):
        time.sleep(2.25)  # the same generation, sent when done
        return 200, completion_body(SLOW)

    fixed = serve(plain)
    with pytest.raises(LLMError, match="no complete response within 1 s after 2 attempts"):
        chat(client(fixed.url, stream=False, timeout_s=1.0))
    assert fixed.hits == 2


def test_a_stream_that_stalls_is_given_up_saying_how_far_it_got_then_retried(serve):
    from fakes import Stream, stream_events

    def stalls_once(hit, h):
        events = stream_events(SLOW)
        if hit == 1:
            events = [*events[:3], (5.0, events[3][1])]  # 3 tokens, then nothing for 5 s
        return 200, Stream(events)

    server = serve(stalls_once)
    llm = client(server.url, stream=True, timeout_s=2.0, stall_s=0.5, max_retries=1)
    start = time.perf_counter()
    assert chat(llm).text == SLOW and server.hits == 2
    assert time.perf_counter() - start < 3.0

    silent = serve(lambda hit, h: (200, Stream([(5.0, "data: [DONE]")])))
    with pytest.raises(LLMError, match="no first token within 0.5 s after 1 attempts"):
        chat(client(silent.url, stream=True, timeout_s=0.5, max_retries=0))
    # keep-alive comments are not progress: they do not hold off the stall deadline
    pings = [(0.0, {"choices": [{"delta": {"content": "so"}}]})] + [(0.2, ": ping")] * 20
    chatty = serve(lambda hit, h: (200, Stream(pings)))
    with pytest.raises(LLMError, match="no new token for 0.5 s after 1 tokens"):
        chat(client(chatty.url, stream=True, timeout_s=5.0, stall_s=0.5, max_retries=0))


def test_stream_edge_cases(serve):
    """No usage chunk: one token per text chunk. An error event, a stream cut before its end,
    a server that answers a stream request with a plain body."""
    from fakes import Stream, stream_events

    bare = serve(lambda hit, h: (200, Stream(stream_events(SLOW, usage=False))))
    reply = chat(client(bare.url, stream=True))
    assert reply.text == SLOW and (reply.prompt_tokens, reply.completion_tokens) == (0, 9)
    broken = serve(lambda hit, h: (200, Stream([(0.0, {"error": {"message": "slot lost"}})])))
    with pytest.raises(LLMError, match="error in the stream: .*slot lost.* after 1 attempts"):
        chat(client(broken.url, stream=True, max_retries=0))
    cut = serve(lambda hit, h: (200, Stream(stream_events(SLOW)[:4])))
    with pytest.raises(LLMError, match="the stream ended before the reply did"):
        chat(client(cut.url, stream=True, max_retries=0))
    plain = serve(lambda hit, h: (200, completion_body("\\boxed{42}")))
    assert chat(client(plain.url, stream=True)).text == "\\boxed{42}"
