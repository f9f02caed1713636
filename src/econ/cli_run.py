"""From a run command's options to a checked config, its data and its run directory: a new
run from `--config` and the flags, or with `--resume DIR` the run's saved config, which the
flags may not change. Everything is checked before the directory is written, so bad input
leaves nothing behind, and what the checks read is what the run uses."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from econ.errors import UserError
from econ.options import flag_for, overrides

if TYPE_CHECKING:
    from econ.config import RunConfig
    from econ.tasks.datasets import RunData

# Settings that change how fast a run goes, not what it computes: `--resume` may change them.
RUNTIME_KEYS = {"concurrency", "llm.cache"}
# Settings that hold model specs, whose URLs may carry credentials (redacted when saved).
SPEC_KEYS = {"model", "econ.coordinator", "econ.executors"}

log = logging.getLogger(__name__)


def prepare_run(
    command: str, opts: dict[str, Any], split: str, **fixed: Any
) -> tuple[RunConfig, Path, RunData]:
    """(config, run directory, data) for `command` given `opts`: the saved ones with
    `--resume`, else the config from `--config`, the flags and the `fixed` keys in a new
    directory. `split` is the hub split read when `run.split` is unset; the data is what
    `check_inputs` read, for the run to use."""
    from econ.config import load_config
    from econ.runs import CONFIG, new_run_dir

    given, run_dir = overrides(command, opts), opts["resume"]
    if run_dir is None:
        cfg = load_config(opts["config"], {**given, **fixed})
        data = check_inputs(cfg, split)
        log.info("config, data and models checked; starting")
        return cfg, new_run_dir(opts["out"], cfg, split=split, data=data), data
    if opts["config"] is not None:
        raise UserError("--config cannot be combined with --resume: the run keeps its config")
    if opts["out"] is not None and Path(opts["out"]).resolve() != run_dir.resolve():
        raise UserError("--out cannot be combined with --resume: the run stays in its directory")
    _same_kind(command, run_dir)
    cfg = resumed_config(command, run_dir / CONFIG, given)
    data = check_inputs(cfg, split)
    note(f"resuming {run_dir} with its saved config", opts.get("format", "md"))
    return cfg, run_dir, data


def _same_kind(command: str, run_dir: Path) -> None:
    """A training run resumes only with `econ train`, an eval or compare run only with those:
    each writes files the other kind's reader does not expect."""
    from econ.episodes import EPISODES
    from econ.runs import RECORDS

    training = (run_dir / EPISODES).exists() or (run_dir / "checkpoint").exists()
    evaluating = (run_dir / RECORDS).exists()
    if command == "train" and evaluating and not training:
        raise UserError(f"{run_dir} is an eval or compare run; econ train cannot resume it")
    if command != "train" and training:
        raise UserError(f"{run_dir} is a training run; resume it with econ train --resume")


def note(text: str, fmt: str) -> None:
    """A line about the command (it resumed, where it wrote): on stdout, a paragraph beside
    the markdown table, unless stdout carries JSON or CSV (`fmt`)."""
    print(text, file=sys.stdout if fmt == "md" else sys.stderr)


def resumed_config(command: str, path: Path, given: dict[str, Any]) -> RunConfig:
    """The saved config.yaml of a run with the flags `given` to `--resume` applied: the run
    continues the same work, so a flag that would change it is refused with one line (only
    the RUNTIME_KEYS may differ).

    Model URLs' credentials are redacted in config.yaml; giving the same spec flag again,
    credentials included, supplies them.
    """
    from econ.config import RunConfig, load_saved_config
    from econ.llm import redact_spec

    if not path.is_file():
        raise UserError(f"nothing to resume: {path} does not exist")
    try:
        data = load_saved_config(path).model_dump(mode="json")
    except UserError as e:
        raise UserError(f"cannot resume: {e}") from None
    for dotted, value in given.items():
        *parents, leaf = dotted.split(".")
        node = data
        for key in parents:
            node = node[key]
        saved, shown = node[leaf], value  # shown: as config.yaml would hold it
        if dotted in SPEC_KEYS:
            shown = list(map(redact_spec, value)) if isinstance(value, list) else redact_spec(value)
        if dotted in RUNTIME_KEYS or shown == saved:
            node[leaf] = value
            continue
        raise UserError(
            f"--resume continues the run as saved: {flag_for(command, dotted)} {value!r} "
            f"conflicts with its {dotted} {saved!r}; drop the flag, or start a new run with --out"
        )
    cfg = RunConfig.model_validate(data)
    if any("***@" in spec for spec in cfg.model_specs()):
        raise UserError(
            f"cannot resume: {path} holds a model URL whose credentials were redacted; pass "
            "the same --model/--coordinator/--executor flags again, credentials included"
        )
    return cfg


def check_inputs(cfg: RunConfig, split: str) -> RunData:
    """Fail on a bad method, benchmark, data file, model spec or checkpoint before anything
    is written or any model is started; returns the data read, for the run and its
    config.yaml.

    The run reads nothing twice: it takes the questions and their fingerprint from here,
    load_team keeps the checkpoint loaded here for the team built from it, and make_llm keeps
    one backend per spec and settings, so the ones built here are the ones the run gets.
    """
    from econ.llm import make_llm
    from econ.methods.build import method_class
    from econ.tasks.datasets import read_run_data

    for name in cfg.run.methods:
        method_class(name)
    data = read_run_data(cfg.run, split)
    for spec in cfg.model_specs():
        make_llm(spec, cfg.llm)
    if cfg.econ.checkpoint and any(m.startswith("econ") for m in cfg.run.methods):
        from econ.belief.team import load_team

        load_team(cfg.econ.checkpoint, len(cfg.executor_models()), cfg.econ.controls)
    return data
