"""Answers lost on a loaded machine: a fixed deadline per attempt against one that measures
progress (a streamed reply, given up only after `stall_s` without a new token).

The embedded server answers the same calls twice, side by side in one run: first with the
reply read whole under `timeout_s` (the rule before streaming: a slow generation is cut off
and a retry starts it again), then streamed with the same `timeout_s` for the first token and
`stall_s` for every next one. `--load N` busy processes keep the cores loaded throughout, as
another job on the machine would. No request cache: every call is generated.

    python benchmarks/loaded_deadlines.py                      # 0.5B, 4 calls, 2 busy loops
    python benchmarks/loaded_deadlines.py --timeout 20 --max-tokens 256 --load 3

Prints, per rule: answers kept and lost of the calls, attempts sent, the seconds spent in
attempts that were given up (generation thrown away), wall time. Pick `--timeout` below the
time one generation takes under the load (the script prints that time for the streamed
rule), so that the fixed rule is put to the test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import time

from econ.llm import LLMError, LLMSettings, Sampling, aclose_all, make_llm
from econ.llm.base import track_attempts

QUESTION = "A shop sells {n} pens a day for 6 days and then 9 more. How many pens in all? Explain."


def spin() -> None:
    """One core's worth of load until terminated."""
    while True:
        pass


async def one_rule(spec: str, stream: bool, args: argparse.Namespace) -> dict:
    """Every call under one deadline rule: how many answers came back, and what it cost."""
    settings = LLMSettings(
        stream=stream,
        timeout_s=args.timeout,
        stall_s=args.stall,
        max_retries=args.retries,
        backoff_s=0.5,
        slots=args.calls,
    )
    llm = make_llm(spec, settings)
    sampling = Sampling(max_tokens=args.max_tokens, temperature=0.0, seed=0)

    async def call(i: int) -> dict:
        messages = [{"role": "user", "content": QUESTION.format(n=10 + i)}]
        start = time.perf_counter()
        with track_attempts() as sink:
            try:
                reply = await llm.chat(messages, sampling)
                error = None
            except LLMError as exc:
                reply, error = None, str(exc)
        wasted = sum(a["latency_s"] for a in sink.failed)
        return {
            "kept": reply is not None,
            "attempts": 1 + len(sink.failed) if reply is not None else len(sink.failed),
            "failed_attempt_s": round(wasted, 1),
            "completion_tokens": reply.completion_tokens if reply else 0,
            "seconds": round(time.perf_counter() - start, 1),
            "error": error,
        }

    start = time.perf_counter()
    try:
        rows = await asyncio.gather(*(call(i) for i in range(args.calls)))
    finally:
        await aclose_all()
    return {
        "rule": "streamed, stall deadline" if stream else "whole reply, fixed deadline",
        "kept": sum(r["kept"] for r in rows),
        "lost": sum(not r["kept"] for r in rows),
        "attempts": sum(r["attempts"] for r in rows),
        "failed_attempt_s": round(sum(r["failed_attempt_s"] for r in rows), 1),
        "wall_s": round(time.perf_counter() - start, 1),
        "calls": rows,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="local:qwen2.5-coder-0.5b")
    ap.add_argument("--calls", type=int, default=4, help="concurrent calls (one slot each)")
    ap.add_argument("--max-tokens", type=int, default=192)
    ap.add_argument("--timeout", type=float, default=15.0, help="timeout_s, both rules")
    ap.add_argument("--stall", type=float, default=15.0, help="stall_s of the streamed rule")
    ap.add_argument("--retries", type=int, default=1)
    ap.add_argument("--load", type=int, default=2, help="busy processes beside the server")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(args.load)]
    for p in spinners:
        p.start()
    try:
        results = [asyncio.run(one_rule(args.model, s, args)) for s in (False, True)]
    finally:
        for p in spinners:
            p.terminate()
    if args.json:
        print(json.dumps({"settings": vars(args), "rules": results}, indent=1))
        return
    print(
        f"{args.model}, {args.calls} concurrent calls of {args.max_tokens} tokens, "
        f"timeout_s {args.timeout:g}, stall_s {args.stall:g}, {args.retries} retry, "
        f"{args.load} busy processes"
    )
    for r in results:
        slowest = max(c["seconds"] for c in r["calls"])
        print(
            f"{r['rule']:28}  kept {r['kept']}/{args.calls}  lost {r['lost']}  "
            f"attempts {r['attempts']}  seconds in failed attempts {r['failed_attempt_s']:.0f}  "
            f"wall {r['wall_s']:.1f} s  slowest call {slowest:.1f} s"
        )


if __name__ == "__main__":
    main()
