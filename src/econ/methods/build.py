"""Name -> method: what `econ.methods.catalog` declares, imported when it is used.

Methods take what they use (their LLMs and their own parameters); each class reads its own
part of a run's config in `from_config`, as simple-evals' driver builds its samplers. LLMs
come from `make_llm` (econ.llm.make_llm in a run; tests pass a fake).
"""

from __future__ import annotations

import importlib

from econ.config import RunConfig
from econ.errors import UserError
from econ.llm import make_llm as default_make_llm
from econ.methods import catalog
from econ.methods.base import MakeLLM, Method


def method_names() -> list[str]:
    return list(catalog.METHODS)


def method_class(name: str) -> type[Method]:
    """The class of method ``name`` (whose `replay` re-decides a stored trace). Every method
    name a user gives is checked here: a UserError names the valid ones."""
    declared = catalog.METHODS.get(name)
    if declared is None:
        raise UserError(f"unknown method {name!r}; choose from: {', '.join(catalog.METHODS)}")
    module, cls = declared.home.split(":")
    return getattr(importlib.import_module(module), cls)


def build_method(name: str, cfg: RunConfig, make_llm: MakeLLM = default_make_llm) -> Method:
    """Method ``name`` as `cfg` configures it, its LLMs built by `make_llm`."""
    return method_class(name).from_config(cfg, make_llm)
