"""MFSR's restoration call (chapter 7): the MeanFlow-distilled student's flow map from OFTSR's noise-augmented
source to the image, in one step or a few (refinement). ``flowmaps.meanflow`` holds the model side."""

import torch

from .._checks import check_int
from ..flowmaps.base import sample, uniform_grid
from ..flowmaps.meanflow import ConditionalMeanFlow, flow_map
from ..flowmaps.oftsr import noisy_source
from ..units import to_signed, to_unit


@torch.no_grad()
def mfsr(y: torch.Tensor, operator, prior: ConditionalMeanFlow, *, sigma_n: float = 0.0, steps: int = 1,
         generator: torch.Generator | None = None, callback=None) -> torch.Tensor:
    """Super-resolve ``y`` ``(N, C, h, w)`` ([0, 1]) with an MFSR student: cond = upsampled y
    (``operator.init``), x₀ from OFTSR's source (6.1) with the prior's σ_p, then ``steps`` jumps of the
    average-velocity flow map x_s = x_t + (s − t)·u_φ(x_t, t, s | cond) on a uniform grid from 0 to 1
    (1 NFE each; ``steps`` > 1 is the refinement). ``sigma_n`` is not used: the student learned the noise
    it saw. ``callback`` gets ``i``, ``t``, ``x_t`` and ``x0_hat`` (the jump's line extended to t = 1: no
    extra network evaluation).
    Returns ``(N, C, H, W)`` in [0, 1].
    """
    if not isinstance(prior, ConditionalMeanFlow):
        raise TypeError(f"prior must be a meanflow.ConditionalMeanFlow, got {type(prior).__name__}")
    check_int(steps, "steps")
    device = next(prior.net.parameters()).device
    cond = to_signed(operator.init(y)).to(device)
    x0 = noisy_source(cond, prior.sigma_p, generator)
    f = flow_map(prior.net, cond)

    def report(step):
        if callback is not None:
            x_t, t, s = step["x_t"], step["t"], step["s"]
            endpoint = x_t + (step["x_s"] - x_t) * (1 - t) / (s - t)
            callback({"i": step["i"], "t": step["t"], "x_t": to_unit(step["x_t"]).to(y.device),
                      "x0_hat": to_unit(endpoint).clamp(0, 1).to(y.device)})

    out = sample(f, x0, uniform_grid(steps), callback=report if callback is not None else None)
    return to_unit(out).clamp(0, 1).to(y.device)
