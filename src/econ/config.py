"""One validated configuration for every command: YAML file, then CLI flags on top.

Unknown keys are errors (pydantic `extra="forbid"`), so a typo never silently does nothing.
The resolved config is saved with each run; it holds the *name* of the API-key variable,
never a key, and model URLs with any user:password replaced by ***.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from econ.belief.controls import CheckedControls
from econ.belief.early_stop import EarlyStopConfig
from econ.belief.learner import LearnerConfig
from econ.belief.rewards import RewardWeights
from econ.errors import UserError
from econ.files import write_atomically
from econ.llm import LLMSettings, redact_spec
from econ.llm.registry import DEFAULT_MODEL


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class SelfConsistencyConfig(Strict):
    # Samples per question; the summary also scores voting over the first k of them, every k.
    samples: int = Field(3, ge=1)
    temperature: float = Field(0.7, ge=0.0)
    # self_consistency-matched-t's temperature; None: what ECON's untrained executors sample
    # at, the middle of econ.controls' temperature range.
    matched_temperature: float | None = Field(None, ge=0.0)


class DebateConfig(Strict):
    agents: int = Field(3, ge=1)
    rounds: int = Field(3, ge=1)
    temperature: float = Field(0.7, ge=0.0)


class EconConfig(Strict):
    """The ECON team. Unset model specs fall back to the run's `model`."""

    coordinator: str | None = None
    executors: list[str] | None = None
    n_executors: int = Field(3, ge=1)
    group_size: int = Field(3, ge=1)
    bne_rounds: int = Field(0, ge=0)
    strategy_max_tokens: int = Field(50, ge=8)
    # A strategy cut off by its token cap: "trim" it to its full sentences before any numbered
    # list it had begun (a plan cut after step 1 steers executors to step 1's quantity), or
    # "drop" it (the executors get none).
    strategy_when_cut: Literal["drop", "trim"] = "trim"
    # Commit to a unanimous answer without a commitment call (decided_by "unanimous").
    skip_unanimous: bool = True
    # When the commitment may overrule a strict majority of executors: always | among | never
    # (econ.methods.econ.commit.Override); "never" makes no commitment call for it at all.
    override: Literal["always", "among", "never"] = "among"
    # The commitment's form: its boxed answer first ("answer-first") or after its reasons.
    commit_format: Literal["answer-first", "reason-first"] = "answer-first"
    # Token cap of a commitment call; None: the run's max_tokens.
    commit_max_tokens: int | None = Field(96, ge=16)
    # Characters of each executor's response the coordinator reads (its conclusion).
    shown_chars: int = Field(600, ge=100)
    # Executors in two waves at inference: the first strict majority of them answers, and the
    # rest are asked only when those disagree (commit.wave_size). Training asks every executor.
    waves: bool = True
    checkpoint: str | None = None
    # The executors' action space: the controls a belief network sets, in order, with ranges.
    controls: CheckedControls

    @model_validator(mode="after")
    def _executors_match(self) -> EconConfig:
        if self.executors is not None:
            if not self.executors:
                raise ValueError("econ.executors is empty")
            self.n_executors = len(self.executors)
        return self


# Keys of `train` that configs written before `train.rewards` existed hold -> their key there.
# Keys of the `train` section before `train.rewards` held the reward weights; a run saved
# with them is read with them moved there (`load_saved_config`), a config of yours is refused.
LEGACY_REWARD_KEYS = {"alpha": "alpha", "dynamic_alpha": "dynamic", "alpha_eta": "eta"}


class TrainConfig(Strict):
    """Online training (`econ.train`). `rewards` holds the reward weights, `learner` the
    optimisation and exploration settings, `early_stop` when a run may end before `episodes`."""

    episodes: int = Field(100, ge=1)
    checkpoint_every: int = Field(5, ge=1)
    gap_every: int = Field(5, ge=1)
    gap_questions: int = Field(8, ge=1)
    rewards: RewardWeights = RewardWeights()
    early_stop: EarlyStopConfig = EarlyStopConfig()
    learner: LearnerConfig = LearnerConfig()


class RunSpec(Strict):
    """What to run: saved with the run so `--resume` continues the same work."""

    # A built-in benchmark, or a name of your own (letters, digits, ".", "_", "-") whose rows
    # the *_field keys and answer_type below describe.
    benchmark: str = "demo"
    # A local JSONL, JSON, CSV or Parquet file, or a hub id (owner/name or owner/name:config).
    data: str | None = None
    # Hub split to read (--split); unset: "test", or "train" for `econ train`.
    split: str | None = Field(None, min_length=1)
    # Hub commit sha or tag to pin (--revision), so a rerun reads the same rows.
    revision: str | None = Field(None, min_length=1)
    question_field: str | None = Field(None, min_length=1)
    answer_field: str | None = Field(None, min_length=1)
    # Field holding each question's id; unset: "<benchmark>-<row index>".
    id_field: str | None = Field(None, min_length=1)
    # How answers compare: numbers with tolerance, yes/no words, LaTeX symbolically, or text
    # exactly after folding case and whitespace. Built-in benchmarks have their own.
    answer_type: Literal["number", "yes-no", "math", "text"] | None = None
    limit: int | None = Field(None, ge=1)
    # Every question is answered this many times, epoch k with seed + k * EPOCH_SEED_STRIDE.
    epochs: int = Field(1, ge=1)
    methods: list[str] = ["cot"]


# Seed offset between epochs: far above the offsets methods add within a question
# (debate adds 1000 per round), so no two epochs ever share a seed.
EPOCH_SEED_STRIDE = 1_000_000


# Completion token cap per call, unless `max_tokens` says otherwise (EconSystem's default too).
DEFAULT_MAX_TOKENS = 512


class RunConfig(Strict):
    model: str = f"local:{DEFAULT_MODEL}"
    max_tokens: int = Field(DEFAULT_MAX_TOKENS, ge=1)
    # Requests in flight per endpoint (`--concurrency`), the one concurrency setting; None: the
    # backend's default, the embedded server's slot count (llm.slots) or 64 for openai: servers.
    # A run keeps as many questions in flight as its busiest endpoint takes requests.
    concurrency: int | None = Field(None, ge=1)
    seed: int = 0
    llm: LLMSettings = LLMSettings()
    self_consistency: SelfConsistencyConfig = SelfConsistencyConfig()
    debate: DebateConfig = DebateConfig()
    econ: EconConfig = EconConfig()
    train: TrainConfig = TrainConfig()
    run: RunSpec = RunSpec()
    # Written by econ when a run starts (package, git commit, Python/torch/xllamacpp
    # versions, model files' sha256), to say what produced the records; not a setting.
    provenance: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _share_concurrency(self) -> RunConfig:
        """Backends are built from `llm` alone, so it carries the run's concurrency."""
        if self.concurrency is None:
            self.concurrency = self.llm.concurrency  # an LLMSettings object passed in code
        self.llm = self.llm.model_copy(update={"concurrency": self.concurrency})
        return self

    def executor_models(self) -> list[str]:
        return self.econ.executors or [self.model] * self.econ.n_executors

    def executor_temperature(self) -> float:
        """The temperature self_consistency-matched-t samples at (see SelfConsistencyConfig)."""
        if self.self_consistency.matched_temperature is not None:
            return self.self_consistency.matched_temperature
        low, high = self.econ.controls.get("temperature", (0.0, 0.0))
        return round((low + high) / 2, 3)

    def coordinator_model(self) -> str:
        return self.econ.coordinator or self.model

    def model_specs(self) -> list[str]:
        """Every model spec this config can use, for checking them before a run starts."""
        return list(dict.fromkeys([self.model, self.coordinator_model(), *self.executor_models()]))


# Settings that no longer exist -> what replaced them. A run's own saved config.yaml that holds
# one still loads (the key is dropped: it decided nothing the records do not show); a config a
# user writes with one is refused, naming the replacement.
RETIRED_KEYS = {
    "train.learner.actor_gate_t": "train.learner.actor (the actor follows evidence tests)",
    "train.alpha": "train.rewards.alpha",
    "train.dynamic_alpha": "train.rewards.dynamic",
    "train.alpha_eta": "train.rewards.eta",
}

# What a run saved before `econ`'s commitment rules existed did: a commitment call on every
# question, whose explicit answer always won, stated after its reasons at the run's cap. Its
# saved config reads with these, so `econ rescore` re-decides it as it was decided.
PROTOCOL_BEFORE_RULES = {
    "strategy_when_cut": "trim",
    "skip_unanimous": False,
    "override": "always",
    "commit_format": "reason-first",
    "commit_max_tokens": None,
    "shown_chars": 1200,
}

# Last line of every saved config.yaml: a file without it was cut off (or not written by econ).
END_MARKER = "# end of econ config"


def load_config(path: str | Path | None, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Read YAML (if given), apply dotted-key overrides such as {"debate.rounds": 2}, validate."""
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise UserError(f"config file not found: {p}")
        data = _parse_yaml(_read_text(p), p)
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        node = data
        *parents, leaf = dotted.split(".")
        for depth, key in enumerate(parents):
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                where = ".".join(parents[: depth + 1])
                raise UserError(
                    f"invalid config: {where}: must be a mapping, got {type(node).__name__} "
                    f"{node!r}"
                )
        node[leaf] = value
    return _validate(data)


def _read_text(p: Path) -> str:
    try:
        return p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise UserError(f"config file {p} is not UTF-8 text (bad byte at offset {e.start})") from e
    except OSError as e:
        raise UserError(f"cannot read config file {p}: {e.strerror}") from e


def _parse_yaml(text: str, p: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise UserError(f"config file {p} is not valid YAML: {one_line(str(e))}") from e
    if not isinstance(data, dict):
        raise UserError(f"config file {p} must hold a mapping at the top level")
    return data


def _validate(data: dict[str, Any]) -> RunConfig:
    try:
        return RunConfig.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(x) for x in err["loc"]) or "config"
        if where in RETIRED_KEYS:
            raise UserError(
                f"invalid config: {where} no longer exists; see {RETIRED_KEYS[where]}"
            ) from e
        raise UserError(f"invalid config: {where}: {err['msg']}") from e


def load_saved_config(path: Path, *, regrading: bool = False) -> RunConfig:
    """A run's own config.yaml, refused unless it is complete.

    A truncated file can still be valid YAML whose missing keys take their defaults (a
    debate run resumed as cot on demo questions), so it must end with END_MARKER. Files
    saved before the marker existed are accepted when every section and the run's
    benchmark and methods are there. `regrading` (econ rescore) reads an eval run's
    records again: a `train` section of an older layout, which decides nothing a record of
    eval or compare shows, is then read as the defaults instead of refused.
    """
    text = _read_text(path)
    marked = text.rstrip().splitlines()[-1:] == [END_MARKER]
    try:
        data = _parse_yaml(text, path)
    except UserError:
        if not marked:  # a file cut mid-structure: say what happened, not what it looks like
            raise UserError(f"{path} is incomplete (cut off or not written by econ)") from None
        raise
    if not marked:
        run = data.get("run")
        legacy_complete = (
            "provenance" not in data
            and all(key in data for key in ("model", "llm", "econ", "train", "run"))
            and isinstance(run, dict)
            and {"benchmark", "methods"} <= run.keys()
        )
        if not legacy_complete:
            raise UserError(f"{path} is incomplete (cut off or not written by econ)")
    _migrate_saved(data)
    econ = data.get("econ")
    if isinstance(econ, dict):  # saved before the commitment rules existed: the paper's protocol
        for key, value in PROTOCOL_BEFORE_RULES.items():
            econ.setdefault(key, value)
        econ.setdefault("waves", False)  # saved before two waves existed: every executor asked
    for dotted in RETIRED_KEYS:  # a run saved before a setting was retired still loads
        *parents, leaf = dotted.split(".")
        node = data
        for key in parents:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(leaf, None)
    try:
        return _validate(data)
    except UserError as e:
        if regrading and str(e).startswith("invalid config: train") and "train" in data:
            return _without_train(path, data)
        raise UserError(f"{path}: {e}") from None


def _migrate_saved(data: dict[str, Any]) -> None:
    """A saved run's keys of older layouts moved to where they live now, in place: the reward
    weights' old keys into `train.rewards` (a key already there wins)."""
    train = data.get("train")
    if isinstance(train, dict) and LEGACY_REWARD_KEYS.keys() & train.keys():
        rewards = train.setdefault("rewards", {})
        if isinstance(rewards, dict):
            for old, new in LEGACY_REWARD_KEYS.items():
                if old in train:
                    rewards.setdefault(new, train.pop(old))


def _without_train(path: Path, data: dict[str, Any]) -> RunConfig:
    """`data` with its training settings at their defaults (see `load_saved_config`)."""
    try:
        return _validate({k: v for k, v in data.items() if k != "train"})
    except UserError as e:
        raise UserError(f"{path}: {e}") from None


def save_config(cfg: RunConfig, path: Path) -> None:
    """Write the config atomically (temp file, fsync, rename), model URLs' credentials redacted.

    A crash leaves the old file or the new one, never a torn one that `--resume` would read.
    """
    data = cfg.model_dump(mode="json")
    data["model"] = redact_spec(cfg.model)
    if cfg.econ.coordinator:
        data["econ"]["coordinator"] = redact_spec(cfg.econ.coordinator)
    if cfg.econ.executors:
        data["econ"]["executors"] = [redact_spec(s) for s in cfg.econ.executors]
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True) + END_MARKER + "\n"
    write_atomically(path, text.encode("utf-8"))


def one_line(text: str) -> str:
    return " ".join(text.split())
