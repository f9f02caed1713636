"""Name -> method class. Methods register themselves; the CLI lists what is here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from econ.errors import UserError

if TYPE_CHECKING:
    from econ.config import RunConfig
    from econ.methods.base import Method

METHODS: dict[str, type[Method]] = {}


def register(cls: type[Method]) -> type[Method]:
    METHODS[cls.name] = cls
    return cls


def method_names() -> list[str]:
    _load_builtin()
    return list(METHODS)


def method_class(name: str) -> type[Method]:
    """The class registered as ``name``; a UserError naming the valid ones otherwise."""
    _load_builtin()
    if name not in METHODS:
        raise UserError(f"unknown method {name!r}; choose from: {', '.join(METHODS)}")
    return METHODS[name]


def build_method(name: str, cfg: RunConfig) -> Method:
    return method_class(name)(cfg)


def _load_builtin() -> None:
    """Import the built-in methods so their @register lines run (kept lazy: torch loads slowly)."""
    from econ.methods import cot, debate, econ, self_consistency  # noqa: F401
