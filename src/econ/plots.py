"""The figures a run writes: accuracy against cost for a comparison, and the training curves.

Matplotlib is imported inside each function (with the Agg backend): rendering a report or
reading a run needs no plotting library loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from econ.records import EpisodeRecord


def plot_accuracy_vs_tokens(
    summary: dict[str, dict], path: Path, title: str, curves: dict[str, list[dict]] | None = None
) -> None:
    """One point per method: accuracy (with its interval) against total tokens per question;
    a self-consistency method with a curve (SC@k for every k, `econ.compute`) is a line
    instead, with its interval as a band, so a method above the line beats voting at its
    price."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = curves or {}
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, curve in curves.items():
        xs = [c["tokens_per_q"] for c in curve]
        (line,) = ax.plot(xs, [c["accuracy"] for c in curve], "-", marker=".", label=name)
        ax.fill_between(
            xs, [c["ci95"][0] for c in curve], [c["ci95"][1] for c in curve],
            color=line.get_color(), alpha=0.12,
        )  # fmt: skip
        for c in curve:
            ax.annotate(f"k={c['k']}", (c["tokens_per_q"], c["accuracy"]), fontsize=7,
                        textcoords="offset points", xytext=(2, -9))  # fmt: skip
    for name, s in summary.items():
        if name in curves:
            continue
        tokens = s["prompt_tokens_per_q"] + s["completion_tokens_per_q"]
        lo, hi = s["ci95"]
        acc = s["accuracy"]
        ax.errorbar(tokens, acc, yerr=[[acc - lo], [hi - acc]], fmt="o", capsize=4, label=name)
        ax.annotate(name, (tokens, acc), textcoords="offset points", xytext=(6, 4))
    if curves:
        ax.legend(fontsize=7, loc="lower right")
    ax.set_xlabel("tokens per question (prompt + completion)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def rolling_mean(values: list[float], window: int) -> list[float]:
    """Mean of each value and the up to `window - 1` values before it."""
    out = []
    for i in range(len(values)):
        recent = values[max(0, i + 1 - window) : i + 1]
        out.append(sum(recent) / len(recent))
    return out


def plot_training(
    episodes: list[EpisodeRecord], gaps: list[list[float]], path: Path, window: int = 10
) -> None:
    """Panels a reader can check learning against: team reward, each executor's sampled value
    of every control (rolling means, so exploration noise does not hide the drift), and the
    epsilon-BNE gap on the held-out questions in reward standard deviations (the early stop's
    measure), with the absolute gap on a second axis. `gaps` rows: [episode, absolute, relative].
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    played = [e for e in episodes if e.actions]  # episodes lost to LLM errors have none
    steps = [e.episode + 1 for e in played]
    controls = list(played[0].actions[0]) if played and played[0].actions else []
    fig, axes = plt.subplots(1, 2 + len(controls), figsize=(4.3 * (2 + len(controls)), 3.6))
    rewards = [e.reward_tot for e in played]
    axes[0].plot(steps, rewards, ".", alpha=0.35, label="episode")
    axes[0].plot(steps, rolling_mean(rewards, window), label=f"mean of {window}")
    axes[0].set_title("team reward r_tot")
    for ax, name in zip(axes[1:], controls):
        for i in range(len(played[0].actions or [])):
            values = [(e.actions or [])[i][name] for e in played]
            ax.plot(steps, rolling_mean(values, window), label=f"executor {i}")
        ax.set_title(f"sampled {name} (mean of {window})")
        ax.legend(fontsize=8)
    gap_ax = axes[-1]
    if gaps:
        gap_ax.plot([g[0] for g in gaps], [g[2] for g in gaps], "o-", label="relative (sd)")
        absolute = gap_ax.twinx()
        absolute.plot([g[0] for g in gaps], [g[1] for g in gaps], "x:", color="grey")
        absolute.set_ylabel("absolute (x)")
    gap_ax.set_title("epsilon-BNE gap (held out)")
    for ax in axes:
        ax.set_xlabel("episode")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
