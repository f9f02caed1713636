"""ECON: belief-driven multi-LLM reasoning coordinated towards a Bayesian Nash equilibrium."""

import os

# torch's OpenMP workers spin while waiting by default; next to a busy llama.cpp server on few
# cores that spinning made a training update several times slower (benchmarks/train_step.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
