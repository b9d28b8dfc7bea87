"""Flow maps, the talk's unifying object (backup slide; chapters 4 and 6-10), and the one sampler over them.

A flow map ``f(x_t, t, s) = x_s`` moves a state of the flow from time ``t`` to time ``s`` (the talk's
convention: t = 0 source, t = 1 data). Every few-step method of the book is one:

==========================  ==================================================  ====================
map                         f(x_t, t, s)                                        network evaluations
==========================  ==================================================  ====================
``EulerMap(v)``             x_t + (s − t)·v(x_t, t)                              1
``HeunMap(v)``              x_t + (s − t)·(v(x_t, t) + v(x̃, s))/2, x̃ the Euler    2
``MidpointMap(v)``          x_t + (s − t)·v(x_t + (s − t)/2·v(x_t, t), (t + s)/2)   2
``ODEMap(v, steps, m)``     ``steps`` steps of Euler/Heun from t to s (a teacher)  steps × (1 or 2)
``AverageVelocityMap(u)``   x_t + (s − t)·u(x_t, t, s) (MeanFlow, SplitMeanFlow)  1
==========================  ==================================================  ====================

so ``sample(f, x, ts)`` runs 1, 2 or N steps on any time grid: uniform (``uniform_grid``), the flow times
of DDIM's timesteps (a DDPM enters through its probability-flow velocity,
``priors.parameterization.EpsModel.velocity``), or a one-step-plus-refinement grid such as [0, 0.5, 1].

Times ``t`` and ``s`` are Python numbers or ``(N,)`` tensors (one time per sample). Velocities are called as
``v(x, t)`` with ``t`` an ``(N,)`` tensor, average velocities as ``u(x, t, s)``. Maps work in the units of the
model they wrap (for images: [−1, 1]; ``units.to_unit`` turns the result into images).
"""

from typing import Protocol

import torch

from .._checks import check_choice


class FlowMap(Protocol):
    """``f(x_t, t, s) -> x_s`` for ``x_t`` (N, ...) and ``t``, ``s`` numbers or ``(N,)`` tensors."""

    nfe: int  # network evaluations per call

    def __call__(self, x_t: torch.Tensor, t, s) -> torch.Tensor: ...


def time_batch(t, x: torch.Tensor) -> torch.Tensor:
    """``t`` (a number or ``(N,)`` tensor) as an ``(N,)`` tensor on ``x``'s device."""
    if isinstance(t, torch.Tensor):
        if t.ndim == 0:
            return t.to(x.device, torch.float32).expand(x.shape[0])
        if t.shape != (x.shape[0],):
            raise ValueError(f"a time tensor must have shape ({x.shape[0]},) for a batch of {x.shape[0]}, "
                             f"got {tuple(t.shape)}")
        return t.to(x.device)
    return torch.full((x.shape[0],), float(t), device=x.device)


def time_column(t, x: torch.Tensor) -> torch.Tensor:
    """``t`` (a number or ``(N,)`` tensor) as ``(N, 1, …)`` in ``x``'s dtype, to broadcast against ``x``."""
    return time_batch(t, x).view(-1, *([1] * (x.ndim - 1))).to(x.dtype)


def _step(t, s, x: torch.Tensor):
    """s − t, broadcastable against ``x``: a Python number for numbers, ``(N, 1, …)`` for tensors."""
    if not isinstance(t, torch.Tensor) and not isinstance(s, torch.Tensor):
        return s - t
    return time_column(time_batch(s, x) - time_batch(t, x), x)


class EulerMap:
    """One Euler step of a velocity field (ch. 4, eq. 4.2's ODE): f(x, t, s) = x + (s − t)·v(x, t)."""

    nfe = 1

    def __init__(self, velocity):
        self.velocity = velocity

    def __call__(self, x, t, s):
        return x + _step(t, s, x) * self.velocity(x, time_batch(t, x))


class HeunMap:
    """One Heun step (explicit trapezoid rule, second order): Euler to x̃, then the average slope."""

    nfe = 2

    def __init__(self, velocity):
        self.velocity = velocity

    def __call__(self, x, t, s):
        v = self.velocity(x, time_batch(t, x))
        x_euler = x + _step(t, s, x) * v
        v_end = self.velocity(x_euler, time_batch(s, x))
        return x + _step(t, s, x) * 0.5 * (v + v_end)


class MidpointMap:
    """One explicit midpoint step (second order): x + (s − t)·v(x + (s − t)/2·v(x, t), (t + s)/2)."""

    nfe = 2

    def __init__(self, velocity):
        self.velocity = velocity

    def __call__(self, x, t, s):
        h = _step(t, s, x)
        x_mid = x + 0.5 * h * self.velocity(x, time_batch(t, x))
        return x + h * self.velocity(x_mid, (time_batch(t, x) + time_batch(s, x)) / 2)


STEPPERS = {"euler": EulerMap, "heun": HeunMap, "midpoint": MidpointMap}


class ODEMap:
    """The exact flow map of dx/dt = v(x, t), approximated by ``steps`` uniform Euler or Heun steps from t to s
    (s < t integrates backwards, towards the source): a teacher of chapters 6-8, a reference in chapter 4."""

    def __init__(self, velocity, steps: int = 10, method: str = "euler"):
        if not isinstance(steps, int) or steps < 1:
            raise ValueError(f"steps must be a positive integer, got {steps!r}")
        self.step = STEPPERS[check_choice(method, "method", STEPPERS)](velocity)
        self.steps, self.method = steps, method
        self.nfe = steps * self.step.nfe

    def __call__(self, x, t, s):
        if isinstance(t, torch.Tensor) or isinstance(s, torch.Tensor):
            t, s = time_batch(t, x), time_batch(s, x)
            grid = [t + (s - t) * i / self.steps for i in range(self.steps + 1)]
        else:
            grid = uniform_grid(self.steps, float(t), float(s))
        return sample(self.step, x, grid)


class AverageVelocityMap:
    """f(x, t, s) = x + (s − t)·u(x, t, s) for an average-velocity model u (MeanFlow, SplitMeanFlow; ch. 7-8).

    u(x_t, t, s) = (1/(s − t)) ∫ₜˢ v(x_τ, τ) dτ is the average velocity along the trajectory, so the map is
    exact for the exact u; u(x, t, t) = v(x, t), the instantaneous velocity.
    """

    nfe = 1

    def __init__(self, average_velocity):
        self.average_velocity = average_velocity

    def __call__(self, x, t, s):
        return x + _step(t, s, x) * self.average_velocity(x, time_batch(t, x), time_batch(s, x))


def uniform_grid(steps: int, t0: float = 0.0, t1: float = 1.0) -> list:
    """``steps + 1`` evenly spaced times from ``t0`` to ``t1`` (Python floats)."""
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    return torch.linspace(t0, t1, steps + 1).tolist()


def _check_grid(ts):
    if len(ts) < 2:
        raise ValueError(f"ts must hold at least two times (a start and an end), got {len(ts)}")


@torch.no_grad()
def sample(flow_map, x: torch.Tensor, ts, callback=None) -> torch.Tensor:
    """Apply ``flow_map`` along the time grid ``ts`` (t₀, t₁, …, t_K): x ← f(x, t_i, t_{i+1}); returns x at t_K.

    ``len(ts) − 1`` calls of the map (``flow_map.nfe`` network evaluations each). ``callback`` receives
    ``{"i", "t", "s", "x_t", "x_s"}`` after each step (in the map's units).
    """
    _check_grid(ts)
    for i, (t, s) in enumerate(zip(ts[:-1], ts[1:])):
        x_next = flow_map(x, t, s)
        if callback is not None:
            callback({"i": i, "t": t, "s": s, "x_t": x, "x_s": x_next})
        x = x_next
    return x


def trajectory(flow_map, x: torch.Tensor, ts) -> list:
    """The states ``[x_{t₀}, x_{t₁}, …, x_{t_K}]`` of ``sample(flow_map, x, ts)`` (K + 1 tensors)."""
    states = [x]
    sample(flow_map, x, ts, callback=lambda step: states.append(step["x_s"]))
    return states


def nfe(flow_map, ts) -> int:
    """Network evaluations of ``sample(flow_map, x, ts)``."""
    _check_grid(ts)
    return flow_map.nfe * (len(ts) - 1)
