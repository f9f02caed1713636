"""What a training run records per episode: one `EpisodeRecord` per line of episodes.jsonl,
the same facts as TensorBoard scalars, and the running summaries the progress bar shows.

This module stays light to import (no torch): `econ view` and the plots read episodes.jsonl.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from econ.errors import UserError
from econ.records import EPISODE_LAYOUT, EpisodeRecord
from econ.run_records import read_records, rewrite_records

if TYPE_CHECKING:
    from torch.utils.tensorboard import SummaryWriter

EPISODES = "episodes.jsonl"


def records_before(path: Path, start: int) -> list[EpisodeRecord]:
    """The records of episodes before `start`, with the file cut back to them: a resumed run
    continues from its checkpoint, so episodes recorded after it are played again."""
    played = []
    for number, rec in enumerate(read_records(path), start=1):
        _check_layout(rec, path, number)
        try:
            episode = EpisodeRecord.model_validate(rec)
        except ValidationError:
            raise UserError(
                f"{path}: record {number} is not an episode record (damaged); the run cannot "
                "be continued past it: start a new run with another --out"
            ) from None
        if episode.episode < start:
            played.append(episode)
    rewrite_records(path, [e.model_dump() for e in played])
    return played


def read_episodes(path: Path) -> list[EpisodeRecord]:
    """A run's episode records, read-only (a run still writing keeps its last line): lines that
    are not episode records are skipped, a record of another layout is refused."""
    episodes = []
    for number, rec in enumerate(read_records(path, repair=False), start=1):
        _check_layout(rec, path, number)
        try:
            episodes.append(EpisodeRecord.model_validate(rec))
        except ValidationError:
            continue
    return episodes


def _check_layout(rec: dict, path: Path, number: int) -> None:
    if rec.get("layout", 1) != EPISODE_LAYOUT:
        raise UserError(
            f"{path}: record {number} is an episode record of layout {rec['layout']!r}; this "
            f"econ reads layout {EPISODE_LAYOUT}: continue it with the econ that wrote it"
        )


def team_rewards(played: list[EpisodeRecord]) -> list[float]:
    """r_tot of every episode that was played, in order."""
    return [e.reward_tot for e in played if e.error is None]


def recent_mean(values: list[float], window: int = 20) -> float:
    recent = values[-window:]
    return sum(recent) / len(recent) if recent else 0.0


def progress_info(played: list[EpisodeRecord], gaps: list[list[float]]) -> str:
    """The progress bar's live field: recent mean reward and the latest equilibrium gap."""
    info = f"reward {recent_mean(team_rewards(played)):.3f}"
    if gaps:
        info += f"  gap {gaps[-1][1]:.4f} ({gaps[-1][2]:.2f} sd)"
    return info


def log_scalars(writer: SummaryWriter, e: EpisodeRecord, alpha: Mapping[str, float]) -> None:
    """TensorBoard scalars, CleanRL style: rewards/, actions/, alpha/<component>, losses/<name>,
    evidence/agent<i>_<control>_t and _boundary."""
    if e.error is not None:
        return
    writer.add_scalar("rewards/team", e.reward_tot, e.episode)
    writer.add_scalar("rewards/commit_correct", float(e.correct), e.episode)
    writer.add_scalar("charts/exploration_std", e.exploration_std, e.episode)
    for i, r in enumerate(e.rewards or []):
        writer.add_scalar(f"rewards/agent{i}", r, e.episode)
    for i, controls in enumerate(e.actions or []):
        for name, value in controls.items():
            writer.add_scalar(f"actions/agent{i}_{name}", value, e.episode)
    for k, a in alpha.items():
        writer.add_scalar(f"alpha/{k}", a, e.episode)
    for k, v in (e.losses or {}).items():
        writer.add_scalar(f"losses/{k}", v, e.episode)
    for i, controls in enumerate(e.evidence or []):
        for name, test in controls.items():
            writer.add_scalar(f"evidence/agent{i}_{name}_t", test["t"], e.episode)
            writer.add_scalar(f"evidence/agent{i}_{name}_boundary", test["boundary"], e.episode)
