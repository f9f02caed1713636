"""Backend throughput and client overhead.

1. Completion tokens per second with 1 and with 4 requests in flight (the embedded server
   runs 4 parallel slots, so the second figure is what concurrent executors get).
2. Our client's overhead: mean latency of `LLM.chat` against raw httpx POSTs of the same
   request (greedy, fixed seed, so both generate the same tokens), interleaved so that
   drift in machine load hits both sides equally; once with --max-tokens and once with
   1-token requests, which isolate the fixed per-call cost.

Usage: python benchmarks/backend_throughput.py [--model smollm2-135m] [--requests 8]
`--model` takes a packaged model name, a .gguf path or any make_llm spec.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx

from econ.llm import LLMSettings, Sampling, aclose_all, make_llm

PROMPT = [
    {
        "role": "user",
        "content": "Explain in plain sentences how a train timetable is planned, step by step.",
    }
]


def spec_for(model: str) -> str:
    return model if model.startswith(("local:", "openai:")) else f"local:{model}"


async def throughput(llm, n: int, in_flight: int, max_tokens: int) -> tuple[float, float]:
    """(completion tokens per second, wall seconds) for n requests, in_flight at a time."""
    gate = asyncio.Semaphore(in_flight)

    async def one(i: int) -> int:
        async with gate:
            out = await llm.chat(PROMPT, Sampling(temperature=0.7, max_tokens=max_tokens, seed=i))
            return out.completion_tokens

    start = time.perf_counter()
    tokens = await asyncio.gather(*(one(i) for i in range(n)))
    wall = time.perf_counter() - start
    return sum(tokens) / wall, wall


async def overhead(llm, n: int, max_tokens: int) -> tuple[float, float, set[int]]:
    """Mean latency in seconds (ours, raw httpx) over n interleaved pairs, after one warm-up
    pair, and the set of completion lengths seen (one value: both did the same work)."""
    body = {
        "model": llm.model,
        "messages": PROMPT,
        "temperature": 0.0,
        "top_p": 1.0,
        "max_tokens": max_tokens,
        "seed": 0,
    }
    ours, raw, lengths = [], [], set()
    async with httpx.AsyncClient(timeout=300) as client:

        async def raw_call() -> None:
            start = time.perf_counter()
            response = await client.post(f"{llm.base_url}/chat/completions", json=body)
            response.raise_for_status()
            lengths.add(response.json()["usage"]["completion_tokens"])
            raw.append(time.perf_counter() - start)

        async def our_call() -> None:
            out = await llm.chat(PROMPT, Sampling(temperature=0.0, max_tokens=max_tokens, seed=0))
            lengths.add(out.completion_tokens)
            ours.append(out.latency_s)

        for i in range(n + 1):
            pair = (our_call, raw_call) if i % 2 == 0 else (raw_call, our_call)
            for call in pair:
                await call()
    return statistics.mean(ours[1:]), statistics.mean(raw[1:]), lengths


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--requests", type=int, default=8, help="requests per measurement")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--slots", type=int, default=4)
    args = parser.parse_args()

    llm = make_llm(spec_for(args.model), LLMSettings(slots=args.slots, concurrency=args.slots))
    start = time.perf_counter()
    await llm.chat(PROMPT, Sampling(max_tokens=8))  # starts an embedded server, warms the caches
    print(f"model {llm.name}: ready in {time.perf_counter() - start:.1f}s at {llm.base_url}")

    def show(label: str, value: str) -> None:
        print(f"{label:<48}{value:>24}", flush=True)

    for in_flight in (1, 4):
        tps, wall = await throughput(llm, args.requests, in_flight, args.max_tokens)
        show(f"{args.requests} requests, {in_flight} in flight", f"{tps:.1f} tok/s ({wall:.1f} s)")
    # Long requests show overhead relative to real work; 1-token requests isolate the
    # fixed per-call cost, which the long ones bury in generation-time noise.
    for tokens in (args.max_tokens, 1):
        ours, raw, lengths = await overhead(llm, args.requests, tokens)
        diff = ours - raw
        tag = f"max_tokens={tokens}, generated {'/'.join(map(str, sorted(lengths)))}"
        show(f"mean latency ours ({tag})", f"{ours * 1000:.1f} ms")
        show("mean latency raw httpx", f"{raw * 1000:.1f} ms")
        show("client overhead", f"{diff * 1000:+.1f} ms ({diff / raw * 100:+.2f}%)")
    await aclose_all()


if __name__ == "__main__":
    asyncio.run(main())
