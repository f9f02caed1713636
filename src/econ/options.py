"""Every option of the `econ` run commands, declared once.

One row per flag: its names, the config key it sets (None for flags that steer the command
and are not part of the config), its type, its help, the default `--help` shows and the
commands that take it. Both the command signatures typer reads (`takes_options`) and the
config overrides (`overrides`) are built from this table, so adding a flag is adding a row
to FLAGS (in the panel its help belongs under); its value reaches the config by its key.

This module must stay cheap to import: `--help` reads it, and help must not wait for torch,
the graders or the methods. So the method names and the defaults shown here are written out,
and tests/test_cli_options.py checks them against the method catalog and `RunConfig`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

import typer

from econ.errors import UserError
from econ.methods import catalog as method_catalog
from econ.tasks import catalog

METHODS = method_catalog.names()  # as econ.methods.catalog declares them
BUILTIN_BENCHMARKS = catalog.help_text()  # as econ.tasks.catalog declares them
DEFAULT_COMPARE = "cot,self_consistency,debate"
Format = Literal["md", "json", "csv"]

RUN = ("eval", "compare", "train")  # the commands that write a run directory
SOLVE = ("eval", "compare", "solve", "train")  # the commands that build LLMs and a team
EVAL = ("eval", "compare")


def _method_list(value: str) -> list[str]:
    names = [m.strip() for m in value.split(",") if m.strip()]
    if not names:
        raise UserError("--methods is empty")
    return names


@dataclass(frozen=True)
class Flag:
    """One command-line option; see the module docstring."""

    names: tuple[str, ...]  # ("--limit", "-n"); an on/off pair is one name, "--on/--off"
    key: str | None  # dotted config key it overrides; None: not part of the config
    type: Any  # what typer parses the value as
    help: str
    commands: tuple[str, ...]
    # The default --help shows. For a config key it is the config's own default (the flag's
    # value stays None, so an absent flag leaves a --config file's value alone).
    shown: str | None = None
    default: Any = None  # the value of an absent flag that is not a config key
    to_config: Callable[[Any], Any] | None = None  # flag value -> config value
    panel: str = "Run"

    @property
    def name(self) -> str:
        """The parameter name typer passes the value under: "--max-tokens" -> "max_tokens"."""
        return self.names[0].split("/")[0].lstrip("-").replace("-", "_")

    def parameter(self) -> inspect.Parameter:
        """This flag as a keyword-only parameter whose default typer reads as the option."""
        shown = self.shown
        if shown is None:  # a steering flag: show its default unless it is off or unset
            shown = self.default is not None and self.default is not False
        info = typer.Option(
            self.default, *self.names, help=self.help, show_default=shown,
            rich_help_panel=self.panel,
        )  # fmt: skip
        annotation = self.type if self.default is not None else self.type | None
        return inspect.Parameter(
            self.name, inspect.Parameter.KEYWORD_ONLY, default=info, annotation=annotation
        )


def _panel(panel: str, *flags: Flag) -> tuple[Flag, ...]:
    return tuple(replace(f, panel=panel) for f in flags)


FLAGS: tuple[Flag, ...] = (
    Flag(("--method",), "run.methods", str, f"One of: {', '.join(METHODS)}.", ("eval",),
         shown="cot", to_config=lambda name: [name]),
    Flag(("--methods",), "run.methods", str, f"Comma-separated, from: {', '.join(METHODS)}.",
         ("compare",), shown=DEFAULT_COMPARE, to_config=_method_list),
    Flag(("--benchmark", "-b"), "run.benchmark", str,
         f"{BUILTIN_BENCHMARKS}, or a name of your own with run.question_field and "
         "run.answer_field in --config (solve: the answer format to extract).", SOLVE,
         shown="demo"),
    Flag(("--data",), "run.data", str, "Local JSONL, JSON, CSV or Parquet file, or a hub id "
         "(owner/name[:config]); unset: the packaged demo set or the benchmark's hub dataset.",
         RUN),
    Flag(("--split",), "run.split", str, "Hub split to read.", RUN,
         shown="test, or train for econ train"),
    Flag(("--revision",), "run.revision", str, "Hub commit or tag to pin the data to.", RUN,
         shown="the hub's newest"),
    Flag(("--limit", "-n"), "run.limit", int, "First N questions only.", RUN, shown="all"),
    Flag(("--epochs",), "run.epochs", int,
         "Answer every question K times, each epoch with other seeds.", EVAL, shown="1"),
    Flag(("--model", "-m"), "model", str,
         "Model spec for every role: local:NAME, local:/path.gguf or openai:MODEL@BASE_URL.",
         SOLVE, shown="local:qwen2.5-coder-1.5b"),
    Flag(("--max-tokens",), "max_tokens", int, "Completion token cap per call.", SOLVE,
         shown="512"),
    Flag(("--seed",), "seed", int, "Seed for sampling and networks.", SOLVE, shown="0"),
    Flag(("--concurrency",), "concurrency", int,
         "Requests in flight per endpoint; as many questions run at once.", EVAL,
         shown="the embedded server's slots (4), 64 for openai: servers"),
    Flag(("--cache/--no-cache",), "llm.cache", bool, "Answer repeated requests from the "
         "request cache on disk ($ECON_HOME/cache.sqlite; see `econ cache`).", SOLVE,
         shown="no-cache"),
    Flag(("--config",), None, Path, "YAML config file; flags override it.", SOLVE),
    *_panel(
        "Output",
        Flag(("--out",), None, str, "Run directory.", RUN, shown="runs/<time>-<benchmark>-..."),
        Flag(("--resume",), None, Path,
             "Continue the run in this directory with its saved config.", RUN),
        Flag(("--format",), None, Format, "How to print the results table.",
             ("eval", "compare", "rescore"), default="md"),
        Flag(("--json",), None, bool, "Print one JSON object instead of tables.", ("solve",),
             default=False),
        Flag(("--fail-on-error",), None, int,
             "Exit 1 (after writing everything) when more than N questions end in an error.",
             EVAL, default=0),
    ),
    *_panel(
        "Baselines",
        Flag(("--samples",), "self_consistency.samples", int,
             "self_consistency: samples per question.", EVAL, shown="3"),
        Flag(("--agents",), "debate.agents", int, "debate: number of agents.", EVAL, shown="3"),
        Flag(("--rounds",), "debate.rounds", int, "debate: number of rounds.", EVAL, shown="3"),
    ),
    *_panel(
        "ECON team",
        Flag(("--coordinator",), "econ.coordinator", str, "Coordinator model spec.", SOLVE,
             shown="--model"),
        Flag(("--executor",), "econ.executors", list[str],
             "One executor's model spec (repeat per executor).", SOLVE, shown="--model"),
        Flag(("--executors",), "econ.n_executors", int, "Number of executors.", SOLVE,
             shown="3"),
        Flag(("--group-size",), "econ.group_size", int, "Executors per local coordinator.",
             SOLVE, shown="3"),
        Flag(("--bne-rounds",), "econ.bne_rounds", int, "Stage-2 revision rounds.", SOLVE,
             shown="0"),
        Flag(("--checkpoint",), "econ.checkpoint", str,
             "Trained belief networks (a checkpoint directory or its training run).",
             ("eval", "compare", "solve"), shown="untrained"),
    ),
    *_panel(
        "Training",
        Flag(("--episodes",), "train.episodes", int,
             "Training questions to play (one episode each).", ("train",), shown="100"),
        Flag(("--checkpoint-every",), "train.checkpoint_every", int,
             "Episodes between checkpoints.", ("train",), shown="5"),
        Flag(("--dynamic-alpha/--fixed-alpha",), "train.rewards.dynamic", bool,
             "Let the reward weights adapt.", ("train",), shown="fixed-alpha"),
    ),
)  # fmt: skip


def flags_of(command: str) -> list[Flag]:
    return [f for f in FLAGS if command in f.commands]


F = TypeVar("F", bound=Callable[..., Any])


def takes_options(command: str) -> Callable[[F], F]:
    """Give a command function the table's options for `command`, after its own parameters.

    Typer reads a command's options from its signature, so the function is declared with
    `**opts` and its signature is rewritten; typer then passes every option by name.
    """

    def add(func: F) -> F:
        own = inspect.signature(func, eval_str=True)
        params = [p for p in own.parameters.values() if p.kind is not p.VAR_KEYWORD]
        params += [f.parameter() for f in flags_of(command)]
        func.__signature__ = own.replace(parameters=params)  # type: ignore[attr-defined]
        return func

    return add


def overrides(command: str, opts: dict[str, Any]) -> dict[str, Any]:
    """Dotted config key -> value for each config flag given to `command`; absent flags
    (None, or an empty list for a repeatable one) leave the config alone."""
    out = {}
    for f in flags_of(command):
        value = opts.get(f.name)
        if f.key is not None and value not in (None, []):
            out[f.key] = f.to_config(value) if f.to_config else value
    return out


def flag_for(command: str, key: str) -> str:
    """The flag of `command` that sets config key `key`, for messages."""
    return next(f.names[0].split("/")[0] for f in flags_of(command) if f.key == key)
