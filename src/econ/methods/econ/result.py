"""What ECON produces for one question: the executors' outcomes, each round's observations
and actions (what training learns from), and the commitment with how it was decided."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import torch

from econ.records import Call, Usage

Policy = Callable[[torch.Tensor], torch.Tensor]
"""obs [N, obs_dim] -> actions [N, A] in real units. Training passes an exploring one."""


@dataclass
class ExecutorOutcome:
    """One executor's latest answer and the sampling controls that produced it."""

    model: str
    controls: dict[str, float]
    response: str
    finish_reason: str | None
    answer: str | None
    completion_tokens: int


@dataclass
class EconStep:
    """One round of acting: round 0 is every executor answering (with two waves, the first
    wave alone when it agreed), round r >= 1 the revisions
    of the executors that disagreed with commitment r - 1. Training rewards the action each
    executor actually used in the round it acted (`acted`)."""

    round: int
    obs: torch.Tensor = field(repr=False)  # [N, obs_dim]
    actions: torch.Tensor = field(repr=False)  # [N, A], real units, as sent
    acted: list[bool]
    answers: list[str | None]  # every executor's current answer after this round
    responses: list[str] = field(repr=False)  # ... and its response ("" when not asked)
    # The round's commitment as AL's similarity reads it: the coordinator's words when it was
    # asked, else the committed answer boxed. Set once the round's commitment is made.
    commitment: str = field(default="", repr=False)


class Decision(NamedTuple):
    """A commitment: its answer, the coordinator's text, which path decided it (see
    `commit.decide`), and whether the coordinator was asked (False: the executors settled it)."""

    answer: str | None
    text: str
    decided_by: str
    asked: bool = False

    def words(self) -> str:
        """What the commitment said: the coordinator's text when it was asked, else the
        committed answer boxed (what training's AL term compares each response with)."""
        return self.text if self.asked else f"\\boxed{{{self.answer}}}"


@dataclass
class EconResult:
    """Everything one question produced."""

    answer: str | None
    strategy: str
    executors: list[ExecutorOutcome | None]  # None: not asked (the first wave agreed)
    commitment: str
    decided_by: str  # "unanimous", "vote", "commitment", "reask" or "majority" (commit.py)
    rounds: int
    commitments: list[str | None]
    usage: Usage
    seconds: float
    trace: list[Call]
    steps: list[EconStep] = field(repr=False)

    def to_json(self) -> dict:
        return {
            "answer": self.answer,
            "strategy": self.strategy,
            "executors": [vars(e) if e is not None else None for e in self.executors],
            "commitment": self.commitment,
            "decided_by": self.decided_by,
            "rounds": self.rounds,
            "commitments": self.commitments,
            "usage": self.usage.model_dump(
                include={"prompt_tokens", "completion_tokens", "calls", "per_model"}
            ),
            "seconds": round(self.seconds, 3),
        }
