"""SplitMeanFlow (chapter 8; Guo et al., 2025, arXiv 2507.16884; the talk's slides 28–30): the average velocity
of MeanFlow (chapter 7) learned from the *additivity of integrals* instead of its differential identity, with
plain forward passes only (no Jacobian-vector product).

The book's time convention (t = 0 source, t = 1 data), for t ≤ s ≤ r:

* interval splitting consistency (8.1): (r − t)·u(x_t, t, r) = (s − t)·u(x_t, t, s) + (r − s)·u(x_s, s, r),
  with x_s = x_t + (s − t)·u(x_t, t, s), since ∫ₜʳ v = ∫ₜˢ v + ∫ₛʳ v along one trajectory;
* with s = t + λ·(r − t), λ ∈ [0, 1], the training target (8.2): u_tgt = SG[λ·u_θ(x_t, t, s)
  + (1 − λ)·u_θ(x_s, s, r)], the intermediate point x_s from the model's own average velocity;
* the boundary condition u(x, t, t) = v(x, t), trained as flow matching on a ``fraction_boundary`` of the
  samples (v = x₁ − x₀ from scratch, or a frozen teacher's velocity). Without enough of it the loss has
  degenerate solutions: any u that is constant along trajectories splits perfectly, however large.
* Letting s → t in (8.1) gives MeanFlow's identity (7.2): SplitMeanFlow is its finite-difference form.

The paper runs time the other way, (t − r)·u(z_t, r, t) = (s − r)·u(z_s, r, s) + (t − s)·u(z_t, s, t) with
r ≤ s ≤ t and data at 0; τ = 1 − t maps one onto the other exactly as for MeanFlow (``flowmaps.meanflow``).
There is no official code; the loss follows the algorithm of the paper as the public re-implementations
read it (stop-gradient on the whole target, three forward passes per split sample, two without gradient).
The networks are MeanFlow's (``meanflow.average_velocity``: ``UNet(time_inputs=2, time_scale=1)``).
"""

import torch

from .._checks import check_image
from ..units import to_signed
from .base import time_batch, time_column
from .flow_matching import interpolate, velocity_target
from .meanflow import OFFICIAL_SETTINGS, TIME_LAW, adaptive_loss, average_velocity, merge_settings, sample_times

# MeanFlow's time law (digits: improved CIFAR-10, t anywhere and r near the data end); the plain squared error
# (p = 0, as the re-implementations) and three quarters of the samples on the boundary (the paper's share is not
# published; the re-implementations use half with a teacher, 80–90 % from scratch). Measured on chapter 4's
# ring from scratch (1,000 Adam steps of a small MLP): with MeanFlow's adaptive weight (p = 0.5) the average
# velocity grew without bound at every boundary share up to a half; with p = 0 it trained at a quarter and
# above and grew without bound at a tenth and below. Chapter 8 repeats the experiment; digits with p = 0.75 and
# half on the boundary gave one-step FD above 5,000 after 1,750 steps.
DEFAULTS = {"law": "logit-normal",
            **{k: v for k, v in OFFICIAL_SETTINGS["cifar10-improved"].items() if k != "fraction_equal"},
            "fraction_boundary": 0.75, "p": 0.0}
# SplitMeanFlow as the paper uses it, distillation (``distillation_loss``): the boundary velocity from a frozen
# flow-matching teacher, with the settings of the public re-implementations of Algorithm 1 (half of the samples
# on the boundary, t and r uniform on [0, 1], the plain squared error); the student starts from the teacher's
# weights (``meanflow.start_from_velocity``), which is the flow-matching warm-up one of them trains first.
DISTILLATION = {**DEFAULTS, "law": "uniform", "fraction_boundary": 0.5}


def sample_split_times(n: int, generator: torch.Generator | None = None,
                       fraction_boundary: float = DEFAULTS["fraction_boundary"],
                       **time_law):
    """Training times ``(t, s, r)``, three ``(n,)`` tensors with t ≤ s ≤ r: (t, r) from
    ``meanflow.sample_times`` (``time_law``: its mean, std, mean_s, std_s), with r = t on a random
    ``fraction_boundary`` of the samples (the boundary), and s = t + λ·(r − t), λ ~ U(0, 1)."""
    t, r = sample_times(n, generator, fraction_equal=fraction_boundary, **time_law)
    lam = torch.rand(n, generator=generator)
    return t, t + lam * (r - t), r


def split_target(u_fn, x_t: torch.Tensor, t: torch.Tensor, s: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """(8.2): SG[λ·u(x_t, t, s) + (1 − λ)·u(x_s, s, r)], x_s = x_t + (s − t)·u(x_t, t, s), λ = (s − t)/(r − t),
    two forward passes of ``u_fn(x, t, s)`` without gradient. ``x_t``: ``(N, ...)``; ``t``, ``s``, ``r``:
    ``(N,)`` with t ≤ s ≤ r and t < r."""
    t, s, r = time_batch(t, x_t), time_batch(s, x_t), time_batch(r, x_t)
    if not bool(((t <= s) & (s <= r) & (t < r)).all()):
        raise ValueError("split_target needs t ≤ s ≤ r and t < r for every sample")
    with torch.no_grad():
        u_ts = u_fn(x_t, t, s)
        x_s = x_t + time_column(s - t, x_t) * u_ts
        lam = time_column((s - t) / (r - t), x_t)
        return lam * u_ts + (1 - lam) * u_fn(x_s, s, r)


def splitting_residual(u_fn, x_t: torch.Tensor, t, s, r) -> torch.Tensor:
    """The residual of (8.1), (r − t)·u(x_t, t, r) − (s − t)·u(x_t, t, s) − (r − s)·u(x_s, s, r), ``(N, ...)``:
    zero for the exact average velocity of a flow."""
    t, s, r = time_batch(t, x_t), time_batch(s, x_t), time_batch(r, x_t)
    u_ts = u_fn(x_t, t, s)
    x_s = x_t + time_column(s - t, x_t) * u_ts
    return (time_column(r - t, x_t) * u_fn(x_t, t, r) - time_column(s - t, x_t) * u_ts
            - time_column(r - s, x_t) * u_fn(x_s, s, r))


def consistency_loss(net, x_t: torch.Tensor, v: torch.Tensor, t: torch.Tensor, s: torch.Tensor,
                     r: torch.Tensor, cond: torch.Tensor | None = None, p: float = DEFAULTS["p"],
                     c: float = DEFAULTS["c"]) -> torch.Tensor:
    """The SplitMeanFlow loss of an average-velocity ``net`` (``meanflow.average_velocity``): the adaptive
    squared error (7.4) of u_θ(x_t, t, r) against (8.2) where r > t and against the velocity ``v`` where
    r = t (the boundary). ``x_t``, ``v``: ``(N, C, H, W)`` in model units; ``t``, ``s``, ``r``: ``(N,)``;
    ``cond``: a conditional network's ``(N, C', H, W)`` input. One forward pass with gradient, and two
    without on the split samples only."""
    if v.shape != x_t.shape:
        raise ValueError(f"v must have x_t's shape {tuple(x_t.shape)}, got {tuple(v.shape)}")
    if cond is not None and len(cond) != len(x_t):
        raise ValueError(f"cond must have one row per sample ({len(x_t)}), got {len(cond)}")
    split = r > t
    target = v.detach().clone()
    if bool(split.any()):
        sub = None if cond is None else cond[split]
        target[split] = split_target(average_velocity(net, sub), x_t[split], t[split], s[split], r[split])
    u = average_velocity(net, cond)(x_t, t, r)
    return adaptive_loss(u, target, p, c)


def loss(net, x1: torch.Tensor, generator: torch.Generator | None = None, **settings) -> torch.Tensor:
    """SplitMeanFlow from scratch on data ``x1`` ``(N, C, H, W)`` in [0, 1]: x₀ ~ N(0, I), (t, s, r) from
    ``sample_split_times``, x_t = (1 − t)·x₀ + t·x₁ and the boundary velocity v = x₁ − x₀; ``settings``
    override ``DEFAULTS``."""
    settings = _settings(settings)
    x0, z1, x_t, (t, s, r) = _noise_to_data(net, x1, generator, settings)
    return consistency_loss(net, x_t, velocity_target(x0, z1).to(x_t.device), t, s, r, p=settings["p"],
                            c=settings["c"])


def _noise_to_data(net, x1, generator, settings):
    """The unconditional path of ``loss`` and ``distillation_loss``: x₀ ~ N(0, I) and z₁ = x1 in model units
    (on the CPU), x_t and the times (t, s, r) from ``sample_split_times`` (on ``net``'s device)."""
    check_image(x1, "x1", value_range=True)
    device = next(net.parameters()).device
    z1 = to_signed(x1)
    x0 = torch.randn(z1.shape, generator=generator)
    t, s, r = sample_split_times(len(z1), generator, **_time_settings(settings))
    return x0, z1, interpolate(x0, z1, t).to(device), (t.to(device), s.to(device), r.to(device))


def conditional_loss(net, x0: torch.Tensor, x1: torch.Tensor, cond: torch.Tensor,
                     generator: torch.Generator | None = None, **settings) -> torch.Tensor:
    """SplitMeanFlow of a conditional path (SMFSR, chapter 8): x_t = (1 − t)·x₀ + t·x₁ between a given source
    ``x0`` (pure noise for the noise-started SR student) and data ``x1``, both ``(N, C, H, W)`` in model units,
    with the network conditioned on ``cond`` and the boundary velocity x₁ − x₀; ``settings`` override
    ``DEFAULTS``."""
    if x0.shape != x1.shape:
        raise ValueError(f"x0 must have x1's shape {tuple(x1.shape)}, got {tuple(x0.shape)}")
    settings = _settings(settings)
    t, s, r = (z.to(x1.device) for z in sample_split_times(len(x1), generator, **_time_settings(settings)))
    return consistency_loss(net, interpolate(x0, x1, t), velocity_target(x0, x1), t, s, r, cond,
                            settings["p"], settings["c"])


def distillation_loss(student, teacher_velocity, x1: torch.Tensor, generator: torch.Generator | None = None,
                      **settings) -> torch.Tensor:
    """SplitMeanFlow distillation (the paper's use; the talk's slide 29): (8.2) on data ``x1`` ``(N, C, H, W)``
    in [0, 1] with x₀ ~ N(0, I), x_t = (1 − t)·x₀ + t·x₁ and, on the boundary samples (r = t), the frozen
    teacher's velocity ``teacher_velocity(x, t)`` (for example a flow-matching ``UNet``) in place of x₁ − x₀;
    ``settings`` override ``DISTILLATION``. The teacher runs without gradient on the boundary samples only."""
    settings = _settings(settings, DISTILLATION)
    _, _, x_t, (t, s, r) = _noise_to_data(student, x1, generator, settings)
    v = torch.zeros_like(x_t)
    boundary = r == t
    if bool(boundary.any()):
        with torch.no_grad():
            v[boundary] = teacher_velocity(x_t[boundary], t[boundary])
    return consistency_loss(student, x_t, v, t, s, r, p=settings["p"], c=settings["c"])


def _time_settings(settings: dict) -> dict:
    return {k: settings[k] for k in ("fraction_boundary", *TIME_LAW)}


def _settings(settings: dict, defaults: dict = DEFAULTS) -> dict:
    if not 0 <= settings.get("fraction_boundary", defaults["fraction_boundary"]) <= 1:
        raise ValueError(f"fraction_boundary must lie in [0, 1], got {settings['fraction_boundary']!r}")
    return merge_settings(settings, defaults, "SplitMeanFlow")


__all__ = ["DEFAULTS", "DISTILLATION", "sample_split_times", "split_target", "splitting_residual",
           "consistency_loss", "loss", "conditional_loss", "distillation_loss"]
