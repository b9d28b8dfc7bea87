"""OFTSR's restoration call (chapter 6): the conditional flow teacher solved from its noise-augmented source,
or its one-step student at the tunable time t_in (``flowmaps.oftsr`` holds the model side: the source, the
losses and ``ConditionalFlow``)."""

import torch

from .._checks import check_choice, check_int
from ..flowmaps.base import STEPPERS
from ..flowmaps.oftsr import ConditionalFlow, conditional_velocity, noisy_source, one_step
from ..units import to_signed, to_unit


@torch.no_grad()
def oftsr(y: torch.Tensor, operator, prior: ConditionalFlow, *, sigma_n: float = 0.0, steps: int = 1,
          generator: torch.Generator | None = None, callback=None, t_in: float = 1.0,
          method: str = "euler") -> torch.Tensor:
    """Super-resolve ``y`` ``(N, C, h, w)`` ([0, 1]) with an OFTSR teacher or student: the book's restoration
    call. cond = upsampled y (``operator.init``), x₀ from (6.1) with the prior's σ_p; the student returns
    (6.5) at ``t_in`` (``steps`` must be 1), the teacher ``steps`` uniform ``method`` steps of its ODE
    from 0 to 1 (``steps`` × 1 or 2 NFE). ``sigma_n`` is not used: the networks learned the noise they saw.
    ``callback`` gets ``i``, ``t``, ``x_t`` and ``x0_hat`` (the endpoint predicted from x_t) per step.
    Returns ``(N, C, H, W)`` in image units, clamped to [0, 1] (so is ``x0_hat``).
    """
    if not isinstance(prior, ConditionalFlow):
        raise TypeError(f"prior must be an oftsr.ConditionalFlow, got {type(prior).__name__}")
    check_int(steps, "steps")
    if prior.student and steps != 1:
        raise ValueError(f"a one-step student takes steps=1, got {steps}")
    net = prior.net
    device = next(net.parameters()).device
    cond = to_signed(operator.init(y)).to(device)
    x = noisy_source(cond, prior.sigma_p, generator)
    if prior.student:
        out = one_step(net, x, cond, t_in)
        if callback is not None:
            callback({"i": 0, "t": float(t_in), "x_t": to_unit(x).to(y.device), "x0_hat": _image(out, y)})
        return _image(out, y)
    velocity = conditional_velocity(net, cond)
    step = STEPPERS[check_choice(method, "method", STEPPERS)](velocity)
    for i in range(steps):
        t, s = i / steps, (i + 1) / steps
        x_next = step(x, t, s)
        if callback is not None:  # the endpoint predicted by the step's slope, extended to t = 1
            endpoint = x + (x_next - x) * (1 - t) / (s - t)
            callback({"i": i, "t": t, "x_t": to_unit(x).to(y.device), "x0_hat": _image(endpoint, y)})
        x = x_next
    return _image(x, y)


def _image(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Model units → an image in [0, 1] on ``y``'s device."""
    return to_unit(z).clamp(0, 1).to(y.device)
