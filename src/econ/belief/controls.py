"""The executor action space: which sampling controls a belief network sets, and their ranges.

An action is one value per configured control, in the order the controls are configured
(a dict keeps insertion order). Each control is sent to the executor by name, so any subset of
the four works: temperature and top_p are standard everywhere; repetition_penalty is the
llama.cpp / vLLM / SGLang penalty on repeated tokens (the authors' code paired it with
temperature); max_tokens is a per-executor length budget (rounded to a whole number when sent).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import AfterValidator, Field

Controls = dict[str, tuple[float, float]]

# name -> (smallest allowed low, largest allowed high); a range must also have low < high
LIMITS: dict[str, tuple[float, float]] = {
    "temperature": (0.0, 2.0),
    "top_p": (1e-3, 1.0),
    "repetition_penalty": (0.5, 2.0),
    "max_tokens": (1.0, 1e6),
}
# Temperature alone, over [0, 0.8]: on GSM8K the 0.5B model's per-sample accuracy was about
# twice as high at 0.1 as at 0.7 or 1.2 (docs/results.md, "Reward landscape"), so an untrained team
# starts at 0.4, and no other control has been shown to matter enough to widen the space.
DEFAULT_CONTROLS: Controls = {"temperature": (0.0, 0.8)}


def default_controls() -> Controls:
    """A fresh copy of the default controls (pydantic default_factory)."""
    return dict(DEFAULT_CONTROLS)


def check_controls(controls: Mapping[str, tuple[float, float]]) -> Controls:
    """Validate names and ranges; returns the controls as an ordered dict of float pairs.

    Raises ValueError naming the first problem (pydantic turns it into a one-line config error).
    """
    if not controls:
        raise ValueError("at least one control is needed")
    checked: Controls = {}
    for name, bounds in controls.items():
        if name not in LIMITS:
            raise ValueError(f"unknown control {name!r}; known: {', '.join(LIMITS)}")
        low, high = (float(x) for x in bounds)
        min_low, max_high = LIMITS[name]
        if not min_low <= low < high <= max_high:
            raise ValueError(
                f"control {name} range [{low}, {high}] must satisfy "
                f"{min_low} <= low < high <= {max_high}"
            )
        checked[name] = (low, high)
    return checked


CheckedControls = Annotated[
    Controls, AfterValidator(check_controls), Field(default_factory=default_controls)
]
"""A config field holding an action space: checked by `check_controls`, the default when unset."""


def same_controls(
    a: Mapping[str, tuple[float, float]], b: Mapping[str, tuple[float, float]]
) -> bool:
    """Equal names, order and ranges (dict equality ignores order, and order is the layout)."""
    return [(k, tuple(map(float, v))) for k, v in a.items()] == [
        (k, tuple(map(float, v))) for k, v in b.items()
    ]


def describe(controls: Mapping[str, tuple[float, float]]) -> str:
    """One-line rendering for error messages: "temperature [0.1, 1.2], top_p [0.5, 1.0]"."""
    return ", ".join(f"{k} [{lo:g}, {hi:g}]" for k, (lo, hi) in controls.items())
