"""From records to numbers a reader can trust: accuracy with a 95% interval, cost per question."""

from __future__ import annotations

import json
import math
from pathlib import Path


def wilson_interval(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval: honest at small n and at 0% or 100%, unlike the normal one."""
    if n == 0:
        return (0.0, 0.0)
    p = correct / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def summarize(records: list[dict], methods: list[str]) -> dict[str, dict]:
    """Per-method stats over all recorded questions (errors count as wrong)."""
    summary: dict[str, dict] = {}
    for name in methods:
        rows = [r for r in records if r["method"] == name]
        n = len(rows)
        correct = sum(bool(r["correct"]) for r in rows)
        lo, hi = wilson_interval(correct, n)

        def per_q(key: str, rows: list[dict] = rows, n: int = n) -> float:
            return round(sum(r[key] for r in rows) / n, 2) if n else 0.0

        summary[name] = {
            "n": n,
            "correct": correct,
            "accuracy": round(correct / n, 4) if n else 0.0,
            "ci95": [round(lo, 4), round(hi, 4)],
            "prompt_tokens_per_q": per_q("prompt_tokens"),
            "completion_tokens_per_q": per_q("completion_tokens"),
            "calls_per_q": per_q("calls"),
            "seconds_per_q": per_q("latency_s"),
            "errors": sum(r["error"] is not None for r in rows),
        }
    return summary


def markdown_table(summary: dict[str, dict]) -> str:
    lines = [
        "| method | n | accuracy | 95% CI | prompt tok/q | completion tok/q | calls/q | s/q "
        "| errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in summary.items():
        lo, hi = s["ci95"]
        lines.append(
            f"| {name} | {s['n']} | {s['accuracy']:.1%} | {lo:.1%}-{hi:.1%} | "
            f"{s['prompt_tokens_per_q']:.0f} | {s['completion_tokens_per_q']:.0f} | "
            f"{s['calls_per_q']:.1f} | {s['seconds_per_q']:.1f} | {s['errors']} |"
        )
    return "\n".join(lines)


def plot_accuracy_vs_tokens(summary: dict[str, dict], path: Path, title: str) -> None:
    """One point per method: accuracy (with its interval) against total tokens per question."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, s in summary.items():
        tokens = s["prompt_tokens_per_q"] + s["completion_tokens_per_q"]
        lo, hi = s["ci95"]
        acc = s["accuracy"]
        ax.errorbar(tokens, acc, yerr=[[acc - lo], [hi - acc]], fmt="o", capsize=4, label=name)
        ax.annotate(name, (tokens, acc), textcoords="offset points", xytext=(6, 4))
    ax.set_xlabel("tokens per question (prompt + completion)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_report(run_dir: Path, summary: dict[str, dict], title: str) -> None:
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    (run_dir / "summary.md").write_text(f"# {title}\n\n{markdown_table(summary)}\n")
    plot_accuracy_vs_tokens(summary, run_dir / "accuracy_vs_tokens.png", title)


def rolling_mean(values: list[float], window: int) -> list[float]:
    """Mean of each value and the up to `window - 1` values before it."""
    out = []
    for i in range(len(values)):
        recent = values[max(0, i + 1 - window) : i + 1]
        out.append(sum(recent) / len(recent))
    return out


def plot_training(
    episodes: list[dict], gaps: list[list[float]], path: Path, window: int = 10
) -> None:
    """Three panels a reader can check learning against: team reward, each executor's sampled
    temperature (rolling means, so exploration noise does not hide the drift), and the
    epsilon-BNE gap on the held-out questions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    played = [e for e in episodes if "actions" in e]  # episodes lost to LLM errors have none
    steps = [e["episode"] + 1 for e in played]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    rewards = [e["reward_tot"] for e in played]
    axes[0].plot(steps, rewards, ".", alpha=0.35, label="episode")
    axes[0].plot(steps, rolling_mean(rewards, window), label=f"mean of {window}")
    axes[0].set_title("team reward r_tot")
    n_agents = len(played[0]["actions"]) if played else 0
    for i in range(n_agents):
        temps = [e["actions"][i][0] for e in played]
        axes[1].plot(steps, rolling_mean(temps, window), label=f"executor {i}")
    axes[1].set_title(f"sampled temperature (mean of {window})")
    if gaps:
        axes[2].plot([g[0] for g in gaps], [g[1] for g in gaps], "o-")
    axes[2].set_title("epsilon-BNE gap (held out)")
    for ax in axes:
        ax.set_xlabel("episode")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
