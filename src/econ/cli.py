"""The `econ` command line. Each command is a thin layer over the library; the options of the
run commands are declared once in econ.options, econ.cli_run turns them into a checked
config and run directory, and `econ models`/`econ cache` live in econ.cli_store.

Bad input raises `UserError` anywhere below; the app turns it into one line on stderr and
exit 2, and so does a flag that does not parse (click's own usage errors). A run whose
questions errored more often than `--fail-on-error` allows exits 1 after writing its records
and summary. Results go to stdout as plain text: markdown, JSON or CSV that stay valid however
wide and when piped. Logs go to stderr, which otherwise holds only a failed command's error.
"""

from __future__ import annotations

import errno
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from typer.core import TyperGroup

from econ.cli_run import note, prepare_run
from econ.cli_store import cache_app, models_app
from econ.errors import UserError
from econ.options import DEFAULT_COMPARE, overrides, takes_options

if TYPE_CHECKING:
    from click import Context

# Click's usage-error base; recent typer vendors click, so it is taken from a public class.
_ClickException = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def fail(message: str, code: int) -> typer.Exit:
    """Print `message` as the one `error:` line on stderr; the exit to raise with `code`."""
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    return typer.Exit(code)


_DISK_ERRORS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.EIO}


class _UserErrorsExit2(TyperGroup):
    """Every command's UserError becomes one line and exit 2 (also under typer's CliRunner,
    which calls the group, not the app)."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as e:
            raise fail(str(e), 2) from None
        except OSError as e:
            if e.errno not in _DISK_ERRORS:
                raise
            # a full disk or a folder that cannot be written: the run's own failure, one line;
            # what was written before stays whole (records are appended line by line)
            where = f" {e.filename}" if e.filename else ""
            raise fail(f"cannot write{where}: {e.strerror or e}", 1) from None


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
            sys.exit(fail(e.format_message(), e.exit_code).exit_code)
        except typer.Abort:
            print("aborted", file=sys.stderr)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = _OneLineErrors(cls=_UserErrorsExit2, no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(models_app, name="models")
app.add_typer(cache_app, name="cache")


class _Stderr(logging.StreamHandler):
    """Writes each record to sys.stderr as it is then: a progress bar swaps sys.stderr while
    it runs, so that log lines appear above the bar instead of tearing it."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _show_version(value: bool) -> None:
    if value:
        from econ import __version__

        print(f"econ {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    log_level: Annotated[
        Literal["debug", "info", "warning", "error"],
        typer.Option(
            envvar="ECON_LOG_LEVEL",
            case_sensitive=False,
            help="Least severe log messages shown on stderr (info: each step; warning: each "
            "request retried, with its reason).",
        ),
    ] = "warning",
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """ECON: belief-driven multi-LLM reasoning, baselines, benchmarks and training."""
    # For this command only, undone when it ends: tests run many commands in one process.
    logger, handler = logging.getLogger("econ"), _Stderr()
    before = logger.level
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(log_level.upper())
    ctx.call_on_close(lambda: (logger.removeHandler(handler), logger.setLevel(before)))


def _print_report(run_dir: Path, fmt: str) -> dict:
    """The run's summary.json in `fmt` on stdout (markdown between blank lines, a table
    apart from the notes around it); returns the summary."""
    from econ.report import read_report, render_report

    report = read_report(run_dir)
    text = render_report(report, fmt)
    print(f"\n{text}\n" if fmt == "md" else text)
    return report


def _run(command: str, opts: dict[str, Any]) -> None:
    """eval and compare: run, print the results, and exit 1 past `--fail-on-error`."""
    import asyncio

    from econ.evaluate import run_methods

    allowed = opts["fail_on_error"]
    if allowed < 0:
        raise UserError(f"--fail-on-error must be 0 or more, got {allowed}")
    cfg, run_dir, data = prepare_run(command, opts, "test")
    asyncio.run(run_methods(cfg, run_dir, show_progress=sys.stderr.isatty(), data=data))
    report = _print_report(run_dir, opts["format"])
    note(f"run written to {run_dir}", opts["format"])
    errors = sum(s["errors"] for s in report["methods"].values())
    if errors > allowed:
        raise fail(
            f"{errors} answer(s) ended in an error, more than --fail-on-error {allowed} "
            f"allows; `econ eval --resume {run_dir}` retries them",
            1,
        )


@app.command("eval")
@takes_options("eval")
def eval_cmd(**opts: Any) -> None:
    """Run one method on a benchmark and write a run directory."""
    _run("eval", opts)


@app.command("compare")
@takes_options("compare")
def compare_cmd(**opts: Any) -> None:
    """Run several methods on the same questions, side by side, with a table and a plot."""
    if opts["methods"] is None and opts["resume"] is None:
        opts["methods"] = DEFAULT_COMPARE
    _run("compare", opts)


@app.command("solve")
@takes_options("solve")
def solve_cmd(question: Annotated[str, typer.Argument(help="The question.")], **opts: Any) -> None:
    """Answer one question with ECON and show the whole exchange."""
    import asyncio
    from contextlib import nullcontext

    from rich.console import Console

    from econ.config import load_config
    from econ.llm import LLMError, aclose_all
    from econ.methods.econ import EconSystem
    from econ.report import print_solution
    from econ.tasks import get_benchmark

    if not question.strip():
        raise UserError("the question is empty")
    cfg = load_config(opts["config"], overrides("solve", opts))
    bench = get_benchmark(cfg.run.benchmark, cfg.run.answer_type)
    system, console = EconSystem.from_config(cfg), Console()

    async def go() -> Any:
        try:
            return await system.solve(question, bench)
        finally:
            await aclose_all()

    with nullcontext() if opts["json"] else console.status("thinking...", spinner="dots"):
        try:
            result = asyncio.run(go())
        except LLMError as e:  # the server failed for good: one line, as in a run's record
            raise fail(str(e), 1) from None
    if opts["json"]:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        print_solution(console, result)


@app.command("train")
@takes_options("train")
def train_cmd(**opts: Any) -> None:
    """Train the belief networks online; writes TensorBoard events and checkpoints."""
    import asyncio

    from econ.belief.team import CHECKPOINT
    from econ.train import train

    cfg, run_dir, data = prepare_run("train", opts, "train", **{"run.methods": ["econ"]})
    report = asyncio.run(train(cfg, run_dir, show_progress=sys.stderr.isatty(), data=data))
    print(json.dumps(report, indent=2))
    print(f"checkpoint: {run_dir / CHECKPOINT}   use it with --checkpoint {run_dir / CHECKPOINT}")


@app.command("rescore")
@takes_options("rescore")
def rescore_cmd(
    run: Annotated[Path, typer.Argument(help="Run directory written by eval or compare.")],
    **opts: Any,
) -> None:
    """Re-extract and re-grade every stored response with the current code (no LLM calls)."""
    from econ.rescore import rescore_run

    changed = rescore_run(run)
    _print_report(run, opts["format"])
    note(f"verdicts changed: {changed}", opts["format"])


@app.command("view")
def view_cmd(
    run: Annotated[Path, typer.Argument(help="Run directory written by eval, compare or train.")],
    out: Annotated[
        Path | None, typer.Option(help="Where to write the page.", show_default="RUN/view.html")
    ] = None,
) -> None:
    """Write one self-contained HTML page to read a run in a browser (works offline)."""
    from econ.view import write_view

    print(write_view(run, out))


if __name__ == "__main__":
    app()
