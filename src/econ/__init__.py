"""ECON: belief-driven multi-LLM reasoning coordinated towards a Bayesian Nash equilibrium."""

__version__ = "0.1.0"
