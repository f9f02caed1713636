"""Accuracy as a function of the executors' sampling controls, as the action sweep measured it.

The simulator (`econ.belief.simulator`) draws its fake executors' chances of being right from
an `AccuracyTable`; `benchmarks/action_sweep.py` writes the JSON that `from_json` reads.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from econ.belief.controls import LIMITS

# where a control the table measured but the agents do not set stays (the servers' defaults)
NEUTRAL = {"temperature": 0.7, "top_p": 1.0, "repetition_penalty": 1.0}


@dataclass(frozen=True)
class AccuracyTable:
    """Accuracy on a grid of controls; `__call__` interpolates multilinearly, clamped at edges."""

    model: str
    grid: dict[str, tuple[float, ...]]
    accuracy: Tensor  # shape [len(grid[name]) for name in grid]

    def __post_init__(self) -> None:
        shape = tuple(len(v) for v in self.grid.values())
        if tuple(self.accuracy.shape) != shape:
            raise ValueError(f"accuracy has shape {tuple(self.accuracy.shape)}, grid {shape}")
        for name, axis in self.grid.items():
            if name not in LIMITS:
                raise ValueError(f"unknown control {name!r} in the accuracy table")
            if list(axis) != sorted(set(axis)):
                raise ValueError(f"grid of {name} must be strictly increasing")

    @classmethod
    def measured_default(cls) -> AccuracyTable:
        """Qwen2.5-coder 0.5B on GSM8K, 30 questions x 3 samples per temperature."""
        return cls(
            model="qwen2.5-coder-0.5b (3 temperatures)",
            grid={"temperature": (0.1, 0.7, 1.2)},
            accuracy=torch.tensor([0.289, 0.133, 0.133]),
        )

    @classmethod
    def lever(cls, best: float = 0.8, worst: float = 0.1) -> AccuracyTable:
        """A strong synthetic lever over temperature [0, 0.8], for tests of the learner's
        mechanics (the measured lever is too weak for a 20-second test to resolve)."""
        return cls(
            model=f"lever {best:g} -> {worst:g}",
            grid={"temperature": (0.0, 0.8)},
            accuracy=torch.tensor([best, worst]),
        )

    @classmethod
    def flat(cls, accuracy: float) -> AccuracyTable:
        """A landscape where the controls do not matter: the null case."""
        return cls(model="flat", grid={"temperature": (0.0,)}, accuracy=torch.tensor([accuracy]))

    @classmethod
    def from_json(cls, path: str | Path, at: Mapping[str, float] | None = None) -> AccuracyTable:
        """The action sweep's JSON: {"model", "grid": {name: [values]}, "cells": [{name: value,
        ..., "accuracy": a}, ...]}. `at` fixes controls to one of their measured values and
        drops them from the table (a sweep measures some controls only in a slice, e.g. top_p
        0.7 at a few temperatures); every remaining grid point must have a cell."""
        data = json.loads(Path(path).read_text())
        at = {k: float(v) for k, v in (at or {}).items()}
        grid = {
            k: tuple(sorted(float(x) for x in v)) for k, v in data["grid"].items() if k not in at
        }
        cells = [c for c in data["cells"] if all(float(c[k]) == v for k, v in at.items())]
        acc = torch.full(tuple(len(v) for v in grid.values()), math.nan)
        for cell in cells:
            index = tuple(grid[k].index(float(cell[k])) for k in grid)
            acc[index] = float(cell["accuracy"])
        if acc.isnan().any():
            raise ValueError(f"{path}: {int(acc.isnan().sum())} grid cells have no accuracy")
        return cls(model=str(data.get("model", Path(path).stem)), grid=grid, accuracy=acc)

    def mean(self) -> float:
        """Accuracy averaged over the grid cells (the level of the null landscape)."""
        return self.accuracy.mean().item()

    def __call__(self, settings: Mapping[str, Tensor]) -> Tensor:
        """Accuracy at control values (tensors of one shape); table controls not given stay at
        their NEUTRAL value, given controls the table lacks do not matter."""
        shape = next(iter(settings.values())).shape if settings else torch.Size([])
        weights, indices = [], []
        for name, axis in self.grid.items():
            grid = torch.tensor(axis)
            x = settings[name] if name in settings else torch.full(shape, NEUTRAL[name])
            x = x.clamp(grid[0], grid[-1])
            if len(axis) == 1:
                lo = torch.zeros(shape, dtype=torch.long)
                t = torch.zeros(shape)
            else:
                lo = torch.searchsorted(grid, x.contiguous(), right=True) - 1
                lo = lo.clamp(0, len(axis) - 2)
                t = (x - grid[lo]) / (grid[lo + 1] - grid[lo])
            indices.append(lo)
            weights.append(t)
        out = torch.zeros(shape)
        for corner in itertools.product((0, 1), repeat=len(self.grid)):
            w = torch.ones(shape)
            idx = []
            for bit, lo, t, axis in zip(corner, indices, weights, self.grid.values()):
                w = w * (t if bit else 1.0 - t)
                idx.append((lo + bit).clamp(max=len(axis) - 1))
            out = out + w * self.accuracy[tuple(idx)]
        return out
