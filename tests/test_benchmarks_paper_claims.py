"""benchmarks/paper_claims.py's grid, progress and claims table, from run directories written
here (no LLM): what is left is counted from records, and each claim pairs the right arms."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from fakes import record

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "paper_claims.py"
_spec = importlib.util.spec_from_file_location("paper_claims", SCRIPT)
claims_mod = sys.modules["paper_claims"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(claims_mod)


def rec(qid: str, method: str, correct: bool, tokens: int) -> dict:
    finish = "length" if tokens > 900 else "stop"
    return record(
        id=qid, method=method, gold="1", correct=correct, prediction="1" if correct else "2",
        prompt_tokens=tokens, latency_s=8.0,
        trace=[{"response": "x", "finish_reason": finish, "prompt_tokens": tokens}],
    ).model_dump(mode="json")  # fmt: skip


def write(run: Path, records: list[dict]) -> None:
    run.mkdir(parents=True)
    (run / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


def test_grid_progress_and_claims_from_run_directories(tmp_path):
    cells = claims_mod.grid(limit=4, expensive=2, samples=3)
    assert [c.name for c in cells][:5] == [f"{b}-base" for b in claims_mod.FILES]
    assert {c.name for c in cells} >= {"gsm8k-debate", "strategyqa-debate", "svamp-econ9"}
    nine = next(c for c in cells if c.name == "gsm8k-econ9")
    assert nine.calls_per_q("econ") == 9 + 2 + 3  # strategy, executors, 3 local + 1 global
    right = [True, True, True, False]
    base = [rec(f"q{i}", "econ", right[i], 1000) for i in range(4)]
    base += [rec(f"q{i}", "cot", i == 0, 300) for i in range(4)]
    write(tmp_path / "gsm8k-base", base)
    write(tmp_path / "gsm8k-debate", [rec(f"q{i}", "debate", i < 2, 4000) for i in range(2)])
    write(tmp_path / "gsm8k-econ9", [rec(f"q{i}", "econ", True, 3000) for i in range(2)])

    rows = {r["cell"]: r for r in claims_mod.progress(tmp_path, cells)}
    assert rows["gsm8k-base"]["done"] == 8 and rows["gsm8k-base"]["left"] == 4  # no SC yet
    assert rows["svamp-base"]["done"] == 0 and rows["svamp-base"]["cpu_hours_left"] > 0

    result = claims_mod.claims(tmp_path, cells)
    single = result["single"]["gsm8k"]
    assert (single["n"], single["a"], single["b"], single["diff_pct"]) == (4, 3, 1, 50.0)
    multi = result["multi"]["gsm8k"]  # on the 2 questions debate answered
    assert (multi["n"], multi["a"], multi["b"]) == (2, 2, 2)
    assert result["tokens"]["gsm8k"]["change_pct"] == -75.0
    assert result["scale"]["gsm8k"]["a"] == 2 and "svamp" not in result["single"]
    assert result["cutoff"]["gsm8k"] == 0.5  # ECON's 4 calls were cut, cot's 4 were not

    md = claims_mod.claims_markdown(result, "local:m")
    assert "| gsm8k | 4 | 3/4 | 1/4 | +50.0 |" in md
    assert "| svamp | - | not run yet |" in md and "-75.0%" in md
    claims_mod.plot(tmp_path, cells, tmp_path / "claims.png")
    assert (tmp_path / "claims.png").stat().st_size > 5000
