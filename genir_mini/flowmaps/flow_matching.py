"""Flow matching / rectified flow (chapter 4) in the talk's convention, and the flow map.

``x_t = (1 − t)·x₀ + t·x₁`` with ``x₀ ~ N(0, I)`` the source at ``t = 0`` and ``x₁`` the data at ``t = 1``;
the conditional velocity is ``x₁ − x₀`` and the model ``v_θ(x_t, t)`` learns its conditional mean
E[x₁ − x₀ | x_t] (Lipman et al., 2023 with σ_min = 0; Liu et al., 2023). Sampling integrates
``dx/dt = v(x, t)`` from 0 to 1 with the flow maps of ``flowmaps.base`` (``EulerMap``, ``HeunMap``,
``ODEMap``) on any time grid. The model works on images in [−1, 1]; ``generate`` returns [0, 1].
"""

import torch

from .._checks import check_choice, check_image
from ..units import to_signed, to_unit
from .base import STEPPERS, sample, uniform_grid


def interpolate(x0: torch.Tensor, x1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """x_t = (1 − t)·x₀ + t·x₁ (ch. 4, eq. 4.1) with ``t`` a number or ``(N,)`` tensor."""
    t = torch.as_tensor(t, dtype=x0.dtype, device=x0.device)
    t = t.view(-1, *([1] * (x0.ndim - 1))) if t.ndim else t
    return (1 - t) * x0 + t * x1


def velocity_target(x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
    """The conditional velocity d x_t / dt = x₁ − x₀ of the straight path."""
    return x1 - x0


def sample_times(n: int, generator: torch.Generator | None = None, sampler: str = "uniform",
                 mean: float = 0.0, std: float = 1.0) -> torch.Tensor:
    """Training times ``(n,)``: uniform on [0, 1], or logit-normal t = sigmoid(mean + std·n) (SD3)."""
    check_choice(sampler, "sampler", ("uniform", "logit_normal"))
    if sampler == "uniform":
        return torch.rand(n, generator=generator)
    return torch.sigmoid(mean + std * torch.randn(n, generator=generator))


def fm_loss(model, x1: torch.Tensor, generator: torch.Generator | None = None, sampler: str = "uniform"):
    """Conditional flow matching (ch. 4, eq. 4.3): E_{t, x₀, x₁} ‖v_θ(x_t, t) − (x₁ − x₀)‖², data x₁ in [0, 1]."""
    check_image(x1, "x1", value_range=True)
    device = next(model.parameters()).device
    z1 = to_signed(x1)
    x0 = torch.randn(z1.shape, generator=generator)
    t = sample_times(z1.shape[0], generator, sampler)
    x_t = interpolate(x0, z1, t)
    return (model(x_t.to(device), t.to(device)) - velocity_target(x0, z1).to(device)).pow(2).mean()


def generate(model, n: int, shape, steps: int = 20, method: str = "euler", seed: int = 0, batch: int = 250,
             device=None, flow_map=None) -> torch.Tensor:
    """``n`` images (n, *shape) in [0, 1], on the CPU, from a velocity model, ``steps`` uniform Euler/Heun steps
    from noise (t = 0) to data (t = 1), seeded; sampled on ``device`` (default: the model's). ``flow_map``
    replaces the steps of ``method`` by any flow map of ``model`` (MeanFlow's, ch. 7)."""
    if device is None:
        from ..nets import device_of

        device = device_of(model)
    stepper = flow_map or STEPPERS[check_choice(method, "method", STEPPERS)](model)
    generator = torch.Generator().manual_seed(seed)
    out = []
    for start in range(0, n, batch):
        noise = torch.randn((min(batch, n - start), *shape), generator=generator).to(device)
        out.append(to_unit(sample(stepper, noise, uniform_grid(steps))).cpu())
    return torch.cat(out).clamp(0, 1)
