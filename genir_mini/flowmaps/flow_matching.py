"""Flow matching / rectified flow (chapter 4) in the talk's convention, and the flow map.

``x_t = (1 − t)·x₀ + t·x₁`` with ``x₀ ~ N(0, I)`` the source at ``t = 0`` and ``x₁`` the data at ``t = 1``;
the conditional velocity is ``x₁ − x₀`` and the model ``v_θ(x_t, t)`` learns its conditional mean
E[x₁ − x₀ | x_t] (Lipman et al., 2023 with σ_min = 0; Liu et al., 2023). Samplers integrate
``dx/dt = v(x, t)`` from 0 to 1. The model works on images in [−1, 1]; ``generate`` returns [0, 1].

The **flow map** ``f(x_t, t, s) = x_s`` moves a point of a trajectory from time ``t`` to time ``s``. For a
velocity model it is an ODE solve (``ode_flow_map``); OFTSR, MeanFlow and SplitMeanFlow (chapters 6–8)
learn it directly, e.g. MeanFlow's ``f(x_t, t, s) = x_t + (s − t)·u(x_t, t, s)``.
"""

import torch

from .._checks import check_choice, check_image
from ..units import to_signed, to_unit


def interpolate(x0: torch.Tensor, x1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """x_t = (1 − t)·x₀ + t·x₁ with ``t`` a number or ``(N,)`` tensor."""
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
    """Conditional flow matching: E_{t, x₀, x₁} ‖v_θ(x_t, t) − (x₁ − x₀)‖² for data x₁ in [0, 1]."""
    check_image(x1, "x1", value_range=True)
    device = next(model.parameters()).device
    z1 = to_signed(x1)
    x0 = torch.randn(z1.shape, generator=generator)
    t = sample_times(z1.shape[0], generator, sampler)
    x_t = interpolate(x0, z1, t)
    return (model(x_t.to(device), t.to(device)) - velocity_target(x0, z1).to(device)).pow(2).mean()


def _grid(steps: int, t0: float, t1: float):
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    return torch.linspace(t0, t1, steps + 1).tolist()


@torch.no_grad()
def euler_sample(velocity, x: torch.Tensor, steps: int, t0: float = 0.0, t1: float = 1.0,
                 trajectory: bool = False):
    """Euler: x ← x + Δt·v(x, t) on ``steps`` uniform steps from ``t0`` to ``t1`` (NFE = steps).

    ``velocity(x, t)`` takes ``x`` (N, …) and ``t`` (N,). Returns x at ``t1`` (and, with ``trajectory``, the
    list of (t, x) including the start). Works in whatever units ``x`` is in.
    """
    ts = _grid(steps, t0, t1)
    path = [(ts[0], x)]
    for a, b in zip(ts[:-1], ts[1:]):
        x = x + (b - a) * velocity(x, torch.full((x.shape[0],), a, device=x.device))
        path.append((b, x))
    return (x, path) if trajectory else x


@torch.no_grad()
def heun_sample(velocity, x: torch.Tensor, steps: int, t0: float = 0.0, t1: float = 1.0,
                trajectory: bool = False):
    """Heun (explicit trapezoid rule, second order): x' = x + Δt·v, then x ← x + Δt·(v(x, t) + v(x', t + Δt))/2.
    NFE = 2·steps."""
    ts = _grid(steps, t0, t1)
    path = [(ts[0], x)]
    for a, b in zip(ts[:-1], ts[1:]):
        v = velocity(x, torch.full((x.shape[0],), a, device=x.device))
        x_euler = x + (b - a) * v
        v_end = velocity(x_euler, torch.full((x.shape[0],), b, device=x.device))
        x = x + (b - a) * 0.5 * (v + v_end)
        path.append((b, x))
    return (x, path) if trajectory else x


SAMPLERS = {"euler": euler_sample, "heun": heun_sample}


def nfe(method: str, steps: int) -> int:
    """Network evaluations of ``method`` with ``steps`` steps."""
    check_choice(method, "method", SAMPLERS)
    return steps if method == "euler" else 2 * steps


def ode_flow_map(velocity, steps: int = 10, method: str = "euler"):
    """The flow map f(x_t, t, s) = x_s of the ODE dx/dt = v(x, t), by ``steps`` solver steps from t to s
    (``t``, ``s`` numbers; s < t integrates backwards, towards the noise)."""
    sampler = SAMPLERS[check_choice(method, "method", SAMPLERS)]

    def flow_map(x_t, t, s):
        return sampler(velocity, x_t, steps, float(t), float(s))

    return flow_map


def generate(model, n: int, shape, steps: int = 20, method: str = "euler", seed: int = 0, batch: int = 250,
             device="cpu") -> torch.Tensor:
    """``n`` images (n, *shape) in [0, 1] from a velocity model, integrating noise → data, seeded."""
    sampler = SAMPLERS[check_choice(method, "method", SAMPLERS)]
    generator = torch.Generator().manual_seed(seed)
    out = []
    for start in range(0, n, batch):
        noise = torch.randn((min(batch, n - start), *shape), generator=generator).to(device)
        out.append(to_unit(sampler(model, noise, steps)).cpu())
    return torch.cat(out).clamp(0, 1)
