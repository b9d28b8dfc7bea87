"""What a model knows about images (chapters 2-5): Gaussian denoisers D(x, σ), diffusion models and their
equivalent parameterizations, and toy data whose exact velocities and posteriors are known."""

from . import denoisers, diffusion, parameterization, toy2d
from .parameterization import EpsModel

__all__ = ["denoisers", "diffusion", "parameterization", "toy2d", "EpsModel"]
