from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

from fakes import llms  # noqa: E402 (found through the path above)


@pytest.fixture
def patch_llm(monkeypatch):
    """For the training loop only, which builds its team with EconSystem.from_config and
    takes no `make_llm` yet: every LLM econ.llm.make_llm builds becomes the given fake.
    Everything else passes `llms(fake)` where LLMs are built."""

    def patch(fake_or_map):
        monkeypatch.setattr("econ.llm.make_llm", llms(fake_or_map))

    return patch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tests use tiny tensors that gain nothing from threads, and OpenMP threads crawl on a
    machine that is also running llama.cpp."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
