"""The request cache: what is keyed, what is never cached, accounting, and sharing the file."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from fakes import completion_body, fake_servers
from typer.testing import CliRunner

from econ import cli
from econ.config import load_config
from econ.errors import UserError
from econ.evaluate import run_methods
from econ.llm import CachedLLM, Completion, LLMSettings, aclose_all, make_llm, registry
from econ.llm.base import Sampling
from econ.llm.cache import ResponseCache, cache_info, default_path, open_cache, server_identity
from econ.methods.calls import CallLog
from econ.runs import new_run_dir

MESSAGES = [{"role": "user", "content": "What is 6*7?"}]


@pytest.fixture
def serve():
    with fake_servers() as start:
        yield start


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A private $ECON_HOME, so the default cache file is the test's own."""
    monkeypatch.setenv("ECON_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def echo(hit: int, headers: dict, body: dict) -> tuple:
    """A server whose every answer differs (the hit number), so a cached reply is visible."""
    return 200, completion_body(f"answer {hit} \\boxed{{{hit}}}")


def settings(**kw) -> LLMSettings:
    return LLMSettings(**{"api_key_env": "ECON_TEST_NO_KEY", "max_retries": 0, **kw})


def calls(llm, requests: list[dict]) -> list[dict]:
    """Send each request through a CallLog in one event loop; return the trace entries."""

    async def go() -> list[dict]:
        log = CallLog()
        try:
            for kwargs in requests:
                sampling = Sampling(**{"max_tokens": 512, **kwargs})
                await log.chat(llm, MESSAGES, sampling, role="solver")
        finally:
            await aclose_all()
        return [c.model_dump() for c in log.calls]

    return asyncio.run(go())


def test_second_identical_request_is_served_from_disk(serve, home):
    server = serve(echo)
    llm = make_llm(f"openai:m@{server.url}", settings(cache=True))
    assert isinstance(llm, CachedLLM) and llm.name == f"openai:m@{server.url}"
    first, again = calls(llm, [{"seed": 1, "temperature": 0.7}] * 2)
    assert server.hits == 1
    assert (first["cached"], first["requests"]) == (False, 1)
    assert (again["cached"], again["requests"]) == (True, 0)
    assert again["response"] == first["response"] == "answer 1 \\boxed{1}"
    assert again["prompt_tokens"] == first["prompt_tokens"] == 7  # the original's tokens
    assert again["completion_tokens"] == first["completion_tokens"]
    assert again["latency_s"] < 0.5 and again["failed_attempts"] == []
    assert cache_info(default_path()).entries == 1


def test_every_sampling_control_and_seed_is_part_of_the_key(serve, home):
    server = serve(echo)
    llm = make_llm(f"openai:m@{server.url}", settings(cache=True))
    base = {"temperature": 0.0, "top_p": 1.0, "max_tokens": 64, "seed": 3}
    variants = [
        base,
        {**base, "temperature": 0.5},
        {**base, "top_p": 0.9},
        {**base, "max_tokens": 65},
        {**base, "seed": 4},
        {**base, "repetition_penalty": 1.1},
        {**base, "repetition_penalty": 1.2},
    ]
    trace = calls(llm, variants)
    assert server.hits == len(variants) and not any(c["cached"] for c in trace)
    other_messages = llm.key([{"role": "user", "content": "What is 6*8?"}], Sampling(**base))
    assert other_messages != llm.key(MESSAGES, Sampling(**base))
    # 0 and 0.0 are one temperature: the numbers are normalised before hashing
    assert llm.key(MESSAGES, Sampling(**{**base, "temperature": 0})) == llm.key(
        MESSAGES, Sampling(**base)
    )
    assert calls(llm, variants)[-1]["cached"] and server.hits == len(variants)


def test_unseeded_sampling_is_never_cached_but_greedy_is(serve, home):
    server = serve(echo)
    llm = make_llm(f"openai:m@{server.url}", settings(cache=True))
    trace = calls(llm, [{"temperature": 0.7}] * 2 + [{"temperature": 0.0}] * 2)
    assert server.hits == 3
    assert [c["cached"] for c in trace] == [False, False, False, True]
    assert trace[0]["response"] != trace[1]["response"]  # sampling is meant to differ
    assert [c["requests"] for c in trace] == [1, 1, 1, 0]
    assert cache_info(default_path()).entries == 1


def test_model_identity_server_url_and_penalty_field(serve, home, tmp_path):
    a, b = serve(echo), serve(echo)
    path = str(tmp_path / "c.sqlite")
    seeded = [{"seed": 0, "repetition_penalty": 1.1}]
    calls(make_llm(f"openai:m@{a.url}", settings(cache=path)), seeded)
    # another model id, another server, another penalty field: each is another model
    calls(make_llm(f"openai:other@{a.url}", settings(cache=path)), seeded)
    calls(make_llm(f"openai:m@{b.url}", settings(cache=path)), seeded)
    field = settings(cache=path, repetition_penalty_field="repeat_penalty")
    calls(make_llm(f"openai:m@{a.url}", field), seeded)
    assert (a.hits, b.hits) == (3, 1)
    # credentials in the URL are not part of the identity, and never reach the file
    port = a.url.split(":")[2].split("/")[0]
    with_creds = f"openai:m@http://user:s3cret@127.0.0.1:{port}/v1"
    trace = calls(make_llm(with_creds, settings(cache=path)), seeded)
    assert trace[0]["cached"] and a.hits == 3
    files = [Path(path), Path(f"{path}-wal")]
    assert not any(b"s3cret" in f.read_bytes() for f in files if f.exists())
    assert server_identity("m", "https://u:p@host:8000/v1/") == "openai:m@https://host:8000/v1"


def test_cached_call_log_usage_counts_no_requests(serve, home):
    server = serve(echo)
    llm = make_llm(f"openai:m@{server.url}", settings(cache=True))

    async def go() -> dict:
        log = CallLog()
        try:
            await log.chat(llm, MESSAGES, Sampling(max_tokens=512), role="solver")
            await log.chat(llm, MESSAGES, Sampling(max_tokens=512), role="solver")
        finally:
            await aclose_all()
        return log.usage()

    usage = asyncio.run(go())
    assert usage.calls == 1 and usage.prompt_tokens == 14


def test_rerun_of_a_run_makes_no_requests(serve, home, tmp_path):
    """The same eval run twice with the cache: the second sends nothing and records the
    same answers, every call marked cached, and the same token counts."""
    server = serve(echo)
    overrides = {
        "model": f"openai:m@{server.url}",
        "run.methods": ["cot", "self_consistency"],
        "run.limit": 2,
        "llm.cache": True,
        "llm.api_key_env": "ECON_TEST_NO_KEY",
    }
    cfg = load_config(None, overrides)

    def run(out: Path) -> list[dict]:
        asyncio.run(run_methods(cfg, new_run_dir(str(out), cfg), show_progress=False))
        return [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]

    first = run(tmp_path / "first")
    sent = server.hits
    assert sent == 2 * (1 + cfg.self_consistency.samples)
    second = run(tmp_path / "second")
    assert server.hits == sent
    assert len(second) == len(first) == 4
    key = lambda r: (r["method"], r["id"])  # noqa: E731
    for a, b in zip(sorted(first, key=key), sorted(second, key=key)):
        assert b["prediction"] == a["prediction"] and b["calls"] == 0
        assert b["prompt_tokens"] == a["prompt_tokens"] > 0
        assert all(c["cached"] and c["requests"] == 0 for c in b["trace"])
        assert not any(c["cached"] for c in a["trace"])


def test_local_model_identity_is_the_file_sha256(home, tmp_path):
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF not really a model")
    llm = make_llm(f"local:{gguf}", settings(cache=True))
    assert llm.identity == f"gguf-sha256:{registry.sha256_file(gguf)}"
    renamed = tmp_path / "renamed.gguf"
    renamed.write_bytes(gguf.read_bytes())
    assert make_llm(f"local:{renamed}", settings(cache=True)).identity == llm.identity


def test_packaged_model_identity_is_its_pinned_sha256(tmp_path):
    """Read from the real $ECON_HOME, where the README's test command fetched smollm2."""
    packaged = make_llm("local:smollm2-135m", settings(cache=str(tmp_path / "c.sqlite")))
    assert packaged.identity == f"gguf-sha256:{registry.MODELS['smollm2-135m'].sha256}"


def test_a_file_hash_is_kept_until_the_file_changes(tmp_path, monkeypatch):
    cache = ResponseCache(tmp_path / "c.sqlite")
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"one")
    hashed: list[Path] = []
    real = registry.sha256_file
    monkeypatch.setattr("econ.llm.cache.sha256_file", lambda p: hashed.append(p) or real(p))
    first = cache.file_sha256(gguf)
    assert cache.file_sha256(gguf) == first and len(hashed) == 1
    gguf.write_bytes(b"two, longer")
    assert cache.file_sha256(gguf) == real(gguf) != first and len(hashed) == 2


def test_info_and_clear(serve, tmp_path):
    path = tmp_path / "sub" / "c.sqlite"
    info = cache_info(path)
    assert (info.exists, info.entries, info.size_bytes) == (False, 0, 0)
    assert not path.exists()  # info does not create the file
    server = serve(echo)
    calls(
        make_llm(f"openai:m@{server.url}", settings(cache=str(path))),
        [{"seed": s} for s in range(3)],
    )
    info = cache_info(path)
    assert info.exists and info.entries == 3 and info.size_bytes > 0
    assert open_cache(path).clear() == 3
    assert cache_info(path).entries == 0


def test_bad_cache_files_are_one_line_errors(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database, just text that is long enough" * 40)
    with pytest.raises(UserError, match="cannot use the request cache"):
        ResponseCache(junk)
    newer = tmp_path / "newer.sqlite"
    with sqlite3.connect(newer) as db:
        db.execute("PRAGMA user_version=99")
    with pytest.raises(UserError, match="newer econ"):
        ResponseCache(newer)
    with pytest.raises(Exception, match="true, false or a file path"):
        LLMSettings(cache=" ")


def test_a_failing_cache_never_fails_the_call(serve, tmp_path, caplog):
    server = serve(echo)
    llm = make_llm(f"openai:m@{server.url}", settings(cache=str(tmp_path / "c.sqlite")))
    llm._cache._db.execute("DROP TABLE completions")  # lookups and writes now fail
    trace = calls(llm, [{"seed": 1}] * 2)
    assert server.hits == 2 and [c["error"] for c in trace] == [None, None]
    assert "request cache" in caplog.text


WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from econ.llm.base import Completion
    from econ.llm.cache import ResponseCache
    path, name, go = sys.argv[1:]
    while not Path(go).exists():  # start together: opening and writing race on purpose
        time.sleep(0.005)
    cache = ResponseCache(Path(path))
    for i in range(N):
        comp = Completion(f"{name} {i}", 1, 1, 0.0, "m", "stop", 0.0, 1.0, 8)
        cache.put(f"{name}-{i}", "m", comp)
        assert cache.get(f"{name}-{i}")[0] == comp.text
    """
)
N = 1000


def test_two_processes_and_many_tasks_share_one_file(tmp_path):
    path, go = tmp_path / "shared.sqlite", tmp_path / "go"
    script = WRITER.replace("range(N)", f"range({N})")
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(path), name, str(go)])
        for name in ("a", "b")
    ]
    time.sleep(1.0)  # let both interpreters reach the start line
    go.touch()
    cache = open_cache(path)

    async def many() -> None:  # concurrent asyncio tasks of this process at the same time
        async def one(i: int) -> None:
            comp = Completion(f"c {i}", 1, 1, 0.0, "m", "stop", 0.0, 1.0, 8)
            await asyncio.to_thread(cache.put, f"c-{i}", "m", comp)
            assert (await asyncio.to_thread(cache.get, f"c-{i}"))[0] == comp.text

        await asyncio.gather(*(one(i) for i in range(N)))

    asyncio.run(many())
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    assert cache.entries() == 3 * N


def econ_cache(*args: str) -> str:
    result = CliRunner().invoke(cli.app, ["cache", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_cli_cache_info_and_clear(home, tmp_path):
    assert econ_cache("info").splitlines() == [
        f"path: {home / 'cache.sqlite'} (not created yet)",
        "entries: 0",
        "size: 0.0 MB",
    ]
    assert econ_cache("clear").startswith("nothing to clear")
    other = tmp_path / "other.sqlite"
    cache = open_cache(other)
    for i in range(5):
        cache.put(f"k{i}", "m", Completion("x" * 100_000, 1, 1, 0.0, "m", "stop", 0.0, 1.0, 8))
    info = econ_cache("info", "--path", str(other)).splitlines()
    assert info[:2] == [f"path: {other}", "entries: 5"] and info[2] != "size: 0.0 MB"
    assert econ_cache("clear", "--path", str(other)).startswith("cleared 5 entries")
    assert econ_cache("info", "--path", str(other)).splitlines()[1] == "entries: 0"
