"""Solvers of y = H(x) + n with a prior (chapters 1, 2 and 5): linear estimators, plug-and-play HQS,
DiffPIR, DPS and DDRM."""

from . import ddrm, diffpir, dps, linear, pnp

__all__ = ["linear", "pnp", "diffpir", "dps", "ddrm"]
