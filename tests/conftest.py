from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))  # tests import their helpers from fakes.py


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tests use tiny tensors that gain nothing from threads, and OpenMP threads crawl on a
    machine that is also running llama.cpp."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
