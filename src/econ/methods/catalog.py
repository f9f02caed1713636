"""The reasoning methods, each declared once: its name, its line of help, and where its class
lives. The class builds itself from a run's config (`Method.from_config`, which reads its own
section: `self_consistency`, `debate`, `econ`) and re-decides stored traces (`replay`);
`econ.methods.build` imports it only when the method is used, so the CLI reads this table for
its help without importing torch. Adding a method: its module with the class, and one
`declare` here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Declared:
    name: str
    help: str
    home: str  # "module:Class"


METHODS: dict[str, Declared] = {}


def declare(method: Declared) -> Declared:
    """Add a method (or replace one of the same name)."""
    METHODS[method.name] = method
    return method


def names() -> tuple[str, ...]:
    return tuple(METHODS)


for _m in (
    Declared("cot", "one greedy chain-of-thought call", "econ.methods.cot:ChainOfThought"),
    Declared(
        "self_consistency",
        "k samples at T=0.7, majority vote",
        "econ.methods.self_consistency:SelfConsistency",
    ),
    Declared(
        "self_consistency-matched-t",
        "the same at the temperature ECON's executors sample at",
        "econ.methods.self_consistency:SelfConsistencyMatchedT",
    ),
    Declared("debate", "N agents x R rounds (Du et al. 2023)", "econ.methods.debate:Debate"),
    Declared("econ", "strategy, belief-steered executors, commitment", "econ.methods.econ:Econ"),
    Declared(
        "econ-vote", "ECON with the executors' majority as the answer", "econ.methods.econ:EconVote"
    ),
    Declared("econ-nostrategy", "ECON without a strategy", "econ.methods.econ:EconNoStrategy"),
):
    declare(_m)
