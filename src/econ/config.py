"""One validated configuration for every command: YAML file, then CLI flags on top.

Unknown keys are errors (pydantic `extra="forbid"`), so a typo never silently does nothing.
The resolved config is saved with each run; it holds the *name* of the API-key variable,
never a key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from econ.belief.learner import LearnerConfig
from econ.errors import UserError
from econ.llm import LLMSettings
from econ.llm.registry import DEFAULT_MODEL


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SelfConsistencyConfig(Strict):
    samples: int = Field(3, ge=1)
    temperature: float = Field(0.7, ge=0.0)


class DebateConfig(Strict):
    agents: int = Field(3, ge=1)
    rounds: int = Field(3, ge=1)


class EconConfig(Strict):
    """The ECON team. Unset model specs fall back to the run's `model`."""

    coordinator: str | None = None
    executors: list[str] | None = None
    n_executors: int = Field(3, ge=1)
    group_size: int = Field(3, ge=1)
    bne_rounds: int = Field(0, ge=0)
    strategy_max_tokens: int = Field(70, ge=8)
    checkpoint: str | None = None

    @model_validator(mode="after")
    def _executors_match(self) -> EconConfig:
        if self.executors is not None:
            if not self.executors:
                raise ValueError("econ.executors is empty")
            self.n_executors = len(self.executors)
        return self


class TrainConfig(Strict):
    """Online training (SPEC 4.4-4.6). `learner` holds the optimisation settings."""

    episodes: int = Field(100, ge=1)
    checkpoint_every: int = Field(5, ge=1)
    gap_every: int = Field(5, ge=1)
    gap_questions: int = Field(8, ge=1)
    alpha: tuple[float, float, float] = (0.4, 0.4, 0.2)
    dynamic_alpha: bool = False
    alpha_eta: float = Field(1e-3, gt=0)
    early_stop: bool = True
    early_stop_gap: float = Field(0.05, ge=0)
    early_stop_checks: int = Field(3, ge=1)
    plateau_window: int = Field(20, ge=2)
    plateau_delta: float = Field(0.01, ge=0)
    learner: LearnerConfig = LearnerConfig()

    @model_validator(mode="after")
    def _alpha_on_simplex(self) -> TrainConfig:
        if min(self.alpha) < 0 or abs(sum(self.alpha) - 1.0) > 1e-6:
            raise ValueError("train.alpha must be non-negative and sum to 1")
        return self


class RunSpec(Strict):
    """What to run: saved with the run so `--resume` continues the same work."""

    benchmark: str = "demo"
    data: str | None = None
    limit: int | None = Field(None, ge=1)
    methods: list[str] = ["cot"]


class RunConfig(Strict):
    model: str = f"local:{DEFAULT_MODEL}"
    max_tokens: int = Field(512, ge=1)
    concurrency: int = Field(4, ge=1)
    seed: int = 0
    llm: LLMSettings = LLMSettings()
    self_consistency: SelfConsistencyConfig = SelfConsistencyConfig()
    debate: DebateConfig = DebateConfig()
    econ: EconConfig = EconConfig()
    train: TrainConfig = TrainConfig()
    run: RunSpec = RunSpec()

    def executor_models(self) -> list[str]:
        return self.econ.executors or [self.model] * self.econ.n_executors

    def coordinator_model(self) -> str:
        return self.econ.coordinator or self.model

    def model_specs(self) -> list[str]:
        """Every model spec this config can use, for checking them before a run starts."""
        return list(dict.fromkeys([self.model, self.coordinator_model(), *self.executor_models()]))


def load_config(path: str | Path | None, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Read YAML (if given), apply dotted-key overrides such as {"debate.rounds": 2}, validate."""
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise UserError(f"config file not found: {p}")
        try:
            data = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as e:
            raise UserError(f"config file {p} is not valid YAML: {one_line(str(e))}") from e
        if not isinstance(data, dict):
            raise UserError(f"config file {p} must hold a mapping at the top level")
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        node = data
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    try:
        return RunConfig.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(x) for x in err["loc"]) or "config"
        raise UserError(f"invalid config: {where}: {err['msg']}") from e


def save_config(cfg: RunConfig, path: Path) -> None:
    path.write_text(yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))


def one_line(text: str) -> str:
    return " ".join(text.split())
