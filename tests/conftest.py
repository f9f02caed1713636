from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def patch_llm(monkeypatch):
    """Make every method build its LLMs from a given fake: patch(fake) or patch({spec: fake})."""

    def patch(fake_or_map):
        def factory(spec, settings=None):
            return fake_or_map[spec] if isinstance(fake_or_map, dict) else fake_or_map

        for mod in ("cot", "self_consistency", "debate", "econ.system"):
            monkeypatch.setattr(f"econ.methods.{mod}.make_llm", factory)

    return patch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tests use tiny tensors that gain nothing from threads, and OpenMP threads crawl on a
    machine that is also running llama.cpp."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
