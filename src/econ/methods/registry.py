"""Name -> method: the one table that builds each reasoning method from a run's config.

Methods take what they use (their LLMs and their own parameters) and know nothing of
`RunConfig`; this table is where the config is read for them, as simple-evals' driver builds
its samplers. LLMs come from `make_llm` (econ.llm.make_llm in a run; tests pass a fake).
The CLI's help lists the same names without importing this module (econ.options), and a
test keeps the two equal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from econ.config import RunConfig
from econ.errors import UserError
from econ.llm import make_llm as default_make_llm
from econ.methods.base import MakeLLM, Method
from econ.methods.cot import ChainOfThought
from econ.methods.debate import Debate
from econ.methods.econ import Econ, EconMethod, EconNoStrategy, EconSystem, EconVote
from econ.methods.self_consistency import SelfConsistency, SelfConsistencyMatchedT

Factory = Callable[[RunConfig, MakeLLM], Method]


class Entry(NamedTuple):
    """One method: its class (whose `replay` `econ rescore` uses) and how a run builds it."""

    cls: type[Method]
    build: Factory


def _cot(cfg: RunConfig, make_llm: MakeLLM) -> Method:
    return ChainOfThought(make_llm(cfg.model, cfg.llm), max_tokens=cfg.max_tokens, seed=cfg.seed)


def _self_consistency(cfg: RunConfig, make_llm: MakeLLM) -> Method:
    sc = cfg.self_consistency
    return SelfConsistency(
        make_llm(cfg.model, cfg.llm),
        samples=sc.samples,
        temperature=sc.temperature,
        max_tokens=cfg.max_tokens,
        seed=cfg.seed,
    )


def _self_consistency_matched_t(cfg: RunConfig, make_llm: MakeLLM) -> Method:
    return SelfConsistencyMatchedT(
        make_llm(cfg.model, cfg.llm),
        samples=cfg.self_consistency.samples,
        temperature=cfg.executor_temperature(),
        max_tokens=cfg.max_tokens,
        seed=cfg.seed,
    )


def _debate(cfg: RunConfig, make_llm: MakeLLM) -> Method:
    return Debate(
        make_llm(cfg.model, cfg.llm),
        agents=cfg.debate.agents,
        rounds=cfg.debate.rounds,
        temperature=cfg.debate.temperature,
        max_tokens=cfg.max_tokens,
        seed=cfg.seed,
    )


def _econ(cls: type[EconMethod]) -> Entry:
    """ECON or one of its ablations: the class's options go to the system it wraps."""

    def build(cfg: RunConfig, make_llm: MakeLLM) -> Method:
        return cls(EconSystem.from_config(cfg, make_llm, **cls.options))

    return Entry(cls, build)


METHODS: dict[str, Entry] = {
    entry.cls.name: entry
    for entry in (
        Entry(ChainOfThought, _cot),
        Entry(SelfConsistency, _self_consistency),
        Entry(SelfConsistencyMatchedT, _self_consistency_matched_t),
        Entry(Debate, _debate),
        _econ(Econ),
        _econ(EconVote),
        _econ(EconNoStrategy),
    )
}


def method_names() -> list[str]:
    return list(METHODS)


def method_class(name: str) -> type[Method]:
    """The class of method ``name``, whose `replay` re-decides a stored trace."""
    return _entry(name).cls


def build_method(name: str, cfg: RunConfig, make_llm: MakeLLM = default_make_llm) -> Method:
    """Method ``name`` as `cfg` configures it, its LLMs built by `make_llm`."""
    return _entry(name).build(cfg, make_llm)


def _entry(name: str) -> Entry:
    """Every method name a user gives is checked here: a UserError names the valid ones."""
    if name not in METHODS:
        raise UserError(f"unknown method {name!r}; choose from: {', '.join(METHODS)}")
    return METHODS[name]
