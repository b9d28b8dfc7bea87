"""Solvers of y = H(x) + n with a prior (chapters 1, 2, 5 and 6): linear estimators, plug-and-play HQS, DiffPIR,
DPS, DDRM and OFTSR, all with one signature, ``method(y, operator, prior, *, sigma_n, steps, generator, callback,
**knobs) -> x_hat`` in image units, and the registry ``methods.METHODS`` that knows their cost."""

from . import ddrm, diffpir, dps, linear, methods, oftsr, pnp
from .methods import METHODS, Method, Trajectory

__all__ = ["linear", "pnp", "diffpir", "dps", "ddrm", "oftsr", "methods", "METHODS", "Method", "Trajectory"]
