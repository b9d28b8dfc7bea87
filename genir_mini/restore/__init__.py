"""Solvers of y = H(x) + n with a prior (chapters 1, 2 and 5): linear estimators, plug-and-play HQS, DiffPIR,
DPS and DDRM, all with one signature, ``method(y, operator, prior, *, sigma_n, steps, generator, callback,
**knobs) -> x_hat`` in image units, and the registry ``methods.METHODS`` that knows their cost."""

from . import ddrm, diffpir, dps, linear, methods, pnp
from .methods import METHODS, Method, Trajectory

__all__ = ["linear", "pnp", "diffpir", "dps", "ddrm", "methods", "METHODS", "Method", "Trajectory"]
