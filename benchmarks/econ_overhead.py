"""How much of ECON's wall time is not LLM time, and how concurrent the executors really are.

For each question (after one warm-up question that loads the encoder and the model):
- LLM time = the union of the intervals during which at least one LLM call was in flight;
  overhead share = 1 - LLM time / wall time (target <= 3%);
- executor phase = first executor start to last executor end; concurrency factor = sum of the
  executors' latencies / executor phase (N means fully parallel, 1 means serial).

    python benchmarks/econ_overhead.py --model local:qwen2.5-coder-0.5b --questions 10
"""

from __future__ import annotations

import argparse
import asyncio
import time

from econ.config import RunConfig
from econ.llm import aclose_all, make_llm
from econ.methods.calls import CallLog
from econ.methods.econ import EconSystem
from econ.tasks import get_benchmark, load_questions


class TimedLLM:
    """Passes calls through and records when each one was in flight."""

    def __init__(self, llm, spans: list):
        self.llm, self.spans, self.name = llm, spans, llm.name

    async def chat(self, messages, sampling):
        start = time.perf_counter()
        try:
            return await self.llm.chat(messages, sampling)
        finally:
            self.spans.append((start, time.perf_counter(), self.role))


def union_length(spans: list[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for s, e in sorted(spans):
        if e > end:
            total += e - max(s, end)
            end = e
    return total


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="local:qwen2.5-coder-0.5b")
    ap.add_argument("--questions", type=int, default=10)
    ap.add_argument("--executors", type=int, default=3)
    ap.add_argument("--max-tokens", type=int, default=256)
    args = ap.parse_args()

    cfg = RunConfig(model=args.model, max_tokens=args.max_tokens)
    spans: list = []
    coord = TimedLLM(make_llm(args.model, cfg.llm), spans)
    coord.role = "coordinator"
    execs = []
    for _ in range(args.executors):
        # a distinct wrapper per executor over the same backend, so spans know their role
        ex = TimedLLM(make_llm(args.model, cfg.llm), spans)
        ex.role = "executor"
        execs.append(ex)
    system = EconSystem(coord, execs, max_tokens=args.max_tokens)
    bench = get_benchmark("demo")
    questions = load_questions("demo", limit=args.questions + 1)

    await system.solve(questions[0].question, bench, CallLog())  # warm-up: encoder + model load
    rows = []
    for q in questions[1:]:
        spans.clear()
        start = time.perf_counter()
        await system.solve(q.question, bench, CallLog())
        wall = time.perf_counter() - start
        llm = union_length([(s, e) for s, e, _ in spans])
        ex = [(s, e) for s, e, role in spans if role == "executor"]
        phase = max(e for _, e in ex) - min(s for s, _ in ex)
        rows.append((wall, llm, sum(e - s for s, e in ex), phase))
    await aclose_all()

    wall = sum(r[0] for r in rows)
    llm = sum(r[1] for r in rows)
    ex_sum = sum(r[2] for r in rows)
    phase = sum(r[3] for r in rows)
    print(
        f"model {args.model}, {len(rows)} questions, {args.executors} executors, "
        f"max_tokens {args.max_tokens}"
    )
    print(f"wall time            {wall:8.2f} s")
    print(f"LLM time (union)     {llm:8.2f} s")
    print(
        f"non-LLM overhead     {wall - llm:8.3f} s = {100 * (wall - llm) / wall:.2f}% "
        "of wall (target <= 3%)"
    )
    print(f"executor phase       {phase:8.2f} s; sum of executor latencies {ex_sum:.2f} s")
    print(f"concurrency factor   {ex_sum / phase:8.2f} (of {args.executors} possible)")


if __name__ == "__main__":
    asyncio.run(main())
