"""What a training run records per episode: one `EpisodeRecord` per line of episodes.jsonl,
the same facts as TensorBoard scalars, and the running summaries the progress bar shows.

This module stays light to import (no torch): `econ view` and the plots read episodes.jsonl.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, ValidationError

from econ.errors import UserError
from econ.run_records import read_records, rewrite_records

if TYPE_CHECKING:
    from torch.utils.tensorboard import SummaryWriter

EPISODES = "episodes.jsonl"
EPISODE_LAYOUT = 1
"""The layout of an episode record (`EpisodeRecord.layout`): a run whose records have another
one is refused on resume, saying which, rather than read by guesswork."""


class EpisodeRecord(BaseModel):
    """One line of episodes.jsonl: one training question, played, rewarded and learned from.

    The fields are written in this order. An episode lost to an LLM failure has `error` set
    and only the fields before it, `seconds` and the defaults.
    """

    model_config = ConfigDict(use_attribute_docstrings=True)

    episode: int
    """The episode's number, from 0; episode k plays training question k modulo the pool."""
    id: str
    """The question's id."""
    gold: str
    """The reference answer."""
    error: str | None = None
    """The LLM failure that lost this question; None when it was played."""
    answer: str | None = None
    """The team's final commitment."""
    correct: bool = False
    """Whether the final commitment grades equal to `gold`."""
    reward_tot: float = 0.0
    """The team reward r_tot of the last round (`econ.belief.rewards`)."""
    rewards: list[float] | None = None
    """Each executor's reward r_i in the last round."""
    actions: list[dict[str, float]] | None = None
    """Each executor's round-0 action: control name -> value in real units."""
    agree: list[bool] | None = None
    """Whether each executor's last answer agreed with the final commitment."""
    rounds: int = 0
    """Stage-2 revision rounds played after the first commitment."""
    stable: bool = True
    """Whether every later commitment kept the first one's answer."""
    tokens: int = 0
    """Prompt plus completion tokens of the episode's calls."""
    seconds: float = 0.0
    """Wall time of the whole episode, updates included."""
    exploration_std: float = 0.0
    """The exploration noise's standard deviation when the episode was played."""
    update_ms: float | None = None
    """Milliseconds the episode's gradient updates took together; None when none ran."""
    losses: dict[str, float] | None = None
    """Each loss averaged over the episode's updates (`Learner.update`); None when none ran."""
    evidence: list[dict[str, dict[str, float | None]]] | None = None
    """Per executor, per control, after this episode: the t of its own-correctness evidence
    test, the test's sequential boundary, and the control's target (normalised) once the
    evidence has moved it (`econ.belief.evidence`); None when not played."""
    layout: int = EPISODE_LAYOUT
    """The layout of this record (`EPISODE_LAYOUT`); records written before the field existed
    have none and are layout 1, the same fields."""


def records_before(path: Path, start: int) -> list[EpisodeRecord]:
    """The records of episodes before `start`, with the file cut back to them: a resumed run
    continues from its checkpoint, so episodes recorded after it are played again."""
    played = []
    for number, rec in enumerate(read_records(path), start=1):
        if isinstance(rec, dict) and rec.get("layout", 1) != EPISODE_LAYOUT:
            raise UserError(
                f"{path}: record {number} is an episode record of layout {rec['layout']!r}; this "
                f"econ reads layout {EPISODE_LAYOUT}: continue it with the econ that wrote it"
            )
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
