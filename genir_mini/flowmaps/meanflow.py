"""MeanFlow (chapter 7; Geng, Deng, Bai, Kolter and He, 2025; the talk's slides 24–27): a network of the
*average* velocity, trained with an identity that needs one Jacobian-vector product, so that one step of its
flow map is a whole generation.

The book's time convention (t = 0 source, t = 1 data, as ``flow_matching``) and model units [−1, 1]:

* average velocity (7.1): u(x_t, t, s) = 1/(s − t) ∫ₜˢ v(x_τ, τ) dτ, so x_s = x_t + (s − t)·u(x_t, t, s)
  (``base.AverageVelocityMap``) and u(x, t, t) = v(x, t);
* MeanFlow identity (7.2): differentiating (s − t)·u(x_t, t, s) = ∫ₜˢ v dτ in t with s held fixed gives
  u = v + (s − t)·du/dt, with the total derivative du/dt = ∂ₓu·v + ∂ₜu along the trajectory;
* training target (7.3): u_tgt = SG[v + (s − t)·du/dt], du/dt one ``torch.func.jvp`` of u_θ with tangents
  (v, 1, 0) on (x_t, t, s); v is the conditional velocity x₁ − x₀ (from scratch) or a frozen teacher's
  velocity (MeanFlow distillation, MFSR), possibly guided: v_∅ + w·(v_c − v_∅) (7.5);
* loss (7.4): Δ² = Σ_pixels (u_θ − u_tgt)² per sample, weighted adaptively by SG[1/(Δ² + c)^p].

The papers run time the other way (data at 0, noise at 1: z_t = (1 − t)x + tε, u(z_t, r, t) with r < t,
z_r = z_t − (t − r)·u, target v − (t − r)·du/dt). With τ = 1 − t the two are one identity:
t_ours = 1 − t_MF, s_ours = 1 − r_MF, u_ours = −u_MF, v_ours = −v_MF and d/dt_ours = −d/dt_MF;
``tests/test_meanflow.py`` checks it on a network.

Networks: a ``UNet(time_inputs=2, time_scale=1)`` conditioned, like the official code, on (t, h) with
h = s − t the length of the jump (``average_velocity`` binds that). The slow time embedding matters: the
target differentiates the network in t, and with DDPM's features (×1000, ``time_scale=1000``) ∂u/∂t grows
without bound during training (on digits, after 300 steps of ``loss``: |(s − t)·∂u/∂t| ≈ 5400 per image
against |u| ≈ 25, and one-step samples at FD 1443; with ``time_scale=1``: 6 and FD 334).
``start_from_velocity`` copies a flow-matching network of the same time embedding into an average-velocity one
(u(x, t, s) = v(x, t) at initialisation), which the MeanFlow users report stabilises training.
"""

from dataclasses import dataclass

import torch

from .._checks import check_image
from ..units import to_signed
from .base import AverageVelocityMap, time_batch, time_column
from .flow_matching import interpolate, velocity_target

# The official settings (arXiv 2505.13447; the authors' JAX code for ImageNet latents, their PyTorch code
# for CIFAR-10 pixels, first as in the paper and then its improved configuration), mapped to the book's time:
# a logit-normal LN(μ, σ) of the paper's t is LN(−μ, σ) of ours. Without ``mean_s`` both times are the smaller
# and larger of two draws of LN(mean, std); with it, t ~ LN(mean, std) and s ~ LN(mean_s, std_s), then
# sorted. ``fraction_equal`` is the share of samples with s = t (the JAX ``data_proportion``; the PyTorch
# ``ratio`` is its complement).
OFFICIAL_SETTINGS = {
    "imagenet": {"mean": 0.4, "std": 1.0, "fraction_equal": 0.75, "p": 1.0, "c": 1e-2},
    "cifar10": {"mean": 2.0, "std": 2.0, "fraction_equal": 0.25, "p": 0.75, "c": 1e-3},
    "cifar10-improved": {"mean": 0.6, "std": 1.6, "mean_s": 4.0, "std_s": 1.6, "fraction_equal": 0.25,
                         "p": 0.75, "c": 1e-3},
}
# The book's digits are 28×28 pixels and a small UNet, the kind of model of the CIFAR-10 settings; the improved
# one puts s near the data end (where a one-step generation jumps to) and t anywhere.
DEFAULTS = {"law": "logit-normal", "mean_s": None, "std_s": None, **OFFICIAL_SETTINGS["cifar10-improved"]}


def average_velocity(net, cond: torch.Tensor | None = None):
    """``u(x, t, s) = net(x, t, s − t[, cond=cond])``: a ``UNet(time_inputs=2)`` as the average velocity of
    (7.1), conditioned on (t, h = s − t) as the official code; ``cond`` binds a conditional network's input."""

    def u(x, t, s):
        t, s = time_batch(t, x), time_batch(s, x)
        return net(x, t, s - t) if cond is None else net(x, t, s - t, cond=cond)

    return u


def flow_map(net, cond: torch.Tensor | None = None) -> AverageVelocityMap:
    """The model's flow map f(x_t, t, s) = x_t + (s − t)·u_θ(x_t, t, s): 1 NFE per step, any time grid."""
    return AverageVelocityMap(average_velocity(net, cond))


# the law of the two training times: logit-normal (the papers'; mean, std and optionally s's own mean_s, std_s) or
# uniform on [0, 1] (SplitMeanFlow's public re-implementations; the means and stds are then unused)
TIME_LAW = ("law", "mean", "std", "mean_s", "std_s")
TIME_LAWS = ("logit-normal", "uniform")


def merge_settings(settings: dict, defaults: dict = DEFAULTS, what: str = "MeanFlow") -> dict:
    """``settings`` over ``defaults``, with the time law taken as a whole: settings that name ``mean`` or
    ``std`` but not ``mean_s`` mean one law for both times (``mean_s = std_s = None``), never the defaults'
    law of s, so that ``OFFICIAL_SETTINGS["cifar10"]`` gives exactly the paper's law."""
    unknown = set(settings) - set(defaults)
    if unknown:
        raise TypeError(f"unknown {what} setting(s) {sorted(unknown)}; expected some of {sorted(defaults)}")
    merged = {**defaults, **settings}
    if {"mean", "std"} & set(settings) and "mean_s" not in settings:
        if settings.get("std_s") is not None:
            raise ValueError("std_s needs mean_s (the law of s); pass both or neither")
        merged["mean_s"] = merged["std_s"] = None
    return merged


def sample_times(n: int, generator: torch.Generator | None = None, *,
                 fraction_equal: float = DEFAULTS["fraction_equal"], **law):
    """Training times ``(t, s)``, two ``(n,)`` tensors with t ≤ s: logit-normal draws sigmoid(mean + std·n),
    two of one law (``mean_s`` None) or t's and s's own (LN(``mean_s``, ``std_s``)), or two uniform draws
    (``law="uniform"``), sorted; then s = t for a random ``fraction_equal`` of the samples (flow matching).
    ``law``: some of ``law``, ``mean``, ``std``, ``mean_s``, ``std_s`` over ``DEFAULTS``' law
    (``merge_settings``: a law given by its mean or std alone is one law)."""
    if not 0 <= fraction_equal <= 1:
        raise ValueError(f"fraction_equal must lie in [0, 1], got {fraction_equal!r}")
    law = merge_settings(law, {k: DEFAULTS[k] for k in TIME_LAW}, "time-law")
    kind, mean, std, mean_s, std_s = (law[k] for k in TIME_LAW)
    if kind not in TIME_LAWS:
        raise ValueError(f"law must be one of {TIME_LAWS}, got {kind!r}")
    if kind == "uniform":
        a, b = torch.rand(n, generator=generator), torch.rand(n, generator=generator)
    elif not std > 0 or (mean_s is not None and not (std_s or 0) > 0):
        raise ValueError(f"std (and std_s with mean_s) must be positive, got std={std!r}, std_s={std_s!r}")
    else:
        a = torch.sigmoid(mean + std * torch.randn(n, generator=generator))
        b = torch.sigmoid((mean if mean_s is None else mean_s) + (std if mean_s is None else std_s)
                          * torch.randn(n, generator=generator))
    t, s = torch.minimum(a, b), torch.maximum(a, b)
    equal = torch.rand(n, generator=generator) < fraction_equal
    return t, torch.where(equal, t, s)


def identity_target(u_fn, x_t: torch.Tensor, t: torch.Tensor, s: torch.Tensor, v: torch.Tensor):
    """``(u, target)`` of (7.3): u = u_fn(x_t, t, s) (with gradient) and target = SG[v + (s − t)·du/dt], where
    du/dt = ∂ₓu·v + ∂ₜu is one forward-mode product (``torch.func.jvp``, tangents (v, 1, 0) on (x_t, t, s)).

    ``x_t``, ``v``: ``(N, ...)``; ``t``, ``s``: ``(N,)``. The product runs without gradient and u in a
    separate forward pass with it: the values are the same, but a ``jvp`` under autograd also records the
    tangent's graph, which the stop-gradient target never uses (on the digits UNet, batch 64: 5× the memory
    kept for the backward pass, at the same time per step; chapter 7 measures both).
    """
    if v.shape != x_t.shape:
        raise ValueError(f"v must have x_t's shape {tuple(x_t.shape)}, got {tuple(v.shape)}")
    t, s = time_batch(t, x_t), time_batch(s, x_t)
    with torch.no_grad():
        _, du_dt = torch.func.jvp(lambda x, tau: u_fn(x, tau, s), (x_t, t), (v, torch.ones_like(t)))
    return u_fn(x_t, t, s), v + time_column(s - t, x_t) * du_dt


def adaptive_loss(u: torch.Tensor, target: torch.Tensor, p: float = DEFAULTS["p"], c: float = DEFAULTS["c"]):
    """(7.4): mean over the batch of SG[w]·Δ², Δ² = Σ_pixels (u − target)², w = 1/(Δ² + c)^p (p = 0: the
    plain squared error, summed over pixels)."""
    delta2 = (u - target).pow(2).flatten(1).sum(1)
    return (delta2 / (delta2.detach() + c).pow(p)).mean()


def loss(net, x1: torch.Tensor, generator: torch.Generator | None = None, **settings) -> torch.Tensor:
    """MeanFlow from scratch (7.3)–(7.4) on data ``x1`` ``(N, C, H, W)`` in [0, 1]: x₀ ~ N(0, I), (t, s) from
    ``sample_times``, x_t = (1 − t)·x₀ + t·x₁, v = x₁ − x₀; ``settings`` override ``DEFAULTS``."""
    check_image(x1, "x1", value_range=True)
    settings = _settings(settings)
    device = next(net.parameters()).device
    z1 = to_signed(x1)
    x0 = torch.randn(z1.shape, generator=generator)
    t, s = sample_times(len(z1), generator, **_time_settings(settings))
    x_t = interpolate(x0, z1, t).to(device)
    u, target = identity_target(average_velocity(net), x_t, t.to(device), s.to(device),
                                velocity_target(x0, z1).to(device))
    return adaptive_loss(u, target, settings["p"], settings["c"])


def guided_velocity(teacher, cond: torch.Tensor, w: float = 1.0):
    """The teacher's velocity with classifier-free guidance (7.5), v(x, t) = v_∅ + w·(v_c − v_∅) with
    v_c = teacher(x, t, cond=cond) and v_∅ = teacher(x, t, cond=0) (the dropped condition of its training);
    w = 1 is the plain conditional velocity (one evaluation)."""

    def v(x, t):
        t = time_batch(t, x)
        v_c = teacher(x, t, cond=cond)
        if w == 1:
            return v_c
        v_null = teacher(x, t, cond=torch.zeros_like(cond))
        return v_null + w * (v_c - v_null)

    return v


def distillation_loss(student, teacher_velocity, x0: torch.Tensor, x1: torch.Tensor, cond: torch.Tensor,
                      generator: torch.Generator | None = None, **settings) -> torch.Tensor:
    """MeanFlow distillation (MFSR): (7.3)–(7.4) with a frozen teacher's velocity ``teacher_velocity(x, t)``
    (e.g. ``guided_velocity``) in place of x₁ − x₀, in the target and as the tangent; x_t = (1 − t)·x₀ + t·x₁
    on the teacher's path (``x0`` its source, ``x1`` the data, ``(N, C, H, W)`` in model units) and the student
    ``u_φ(x_t, t, s | cond)``. At s = t the target is the teacher's velocity: the student starts as it."""
    settings = _settings(settings)
    t, s = sample_times(len(x1), generator, **_time_settings(settings))
    t, s = t.to(x1.device), s.to(x1.device)
    x_t = interpolate(x0, x1, t)
    with torch.no_grad():
        v = teacher_velocity(x_t, t)
    u, target = identity_target(average_velocity(student, cond), x_t, t, s, v)
    return adaptive_loss(u, target, settings["p"], settings["c"])


@dataclass
class ConditionalMeanFlow:
    """An MFSR student with its source noise σ_p: the ``prior`` of ``restore.mfsr.mfsr``. ``net``:
    ``UNet(time_inputs=2, cond_channels=C)``, u_φ(x_t, t, s | cond), started from OFTSR's source (6.1)."""

    net: torch.nn.Module
    sigma_p: float

    def __post_init__(self):
        if not isinstance(self.sigma_p, (int, float)) or not 0 <= self.sigma_p <= 1:
            raise ValueError(f"sigma_p must be a number in [0, 1], got {self.sigma_p!r}")


def _time_settings(settings: dict) -> dict:
    return {k: settings[k] for k in ("fraction_equal", *TIME_LAW)}


def _settings(settings: dict) -> dict:
    return merge_settings(settings, DEFAULTS, "MeanFlow")


@torch.no_grad()
def start_from_velocity(net: torch.nn.Module, velocity_net: torch.nn.Module) -> torch.nn.Module:
    """Copy a velocity ``UNet`` (one time input) into an average-velocity ``UNet(time_inputs=2)`` of the same
    shape, so that u(x, t, s) = v(x, t) for every s: the weights of h = s − t's time features start at zero.
    Returns ``net``."""
    source, state = velocity_net.state_dict(), net.state_dict()
    if set(source) != set(state):
        raise ValueError("velocity_net must be a UNet of net's shape with one time input")
    for name, value in source.items():
        if name == "time_mlp.0.weight" and value.shape != state[name].shape:
            widened = torch.zeros_like(state[name])
            widened[:, :value.shape[1]] = value
            value = widened
        if value.shape != state[name].shape:
            raise ValueError(f"velocity_net's {name} has shape {tuple(value.shape)}, "
                             f"net's {tuple(state[name].shape)}")
        state[name] = value
    net.load_state_dict(state)
    return net


__all__ = ["OFFICIAL_SETTINGS", "DEFAULTS", "TIME_LAW", "TIME_LAWS", "merge_settings", "average_velocity",
           "flow_map", "sample_times", "identity_target",
           "adaptive_loss", "loss", "guided_velocity", "distillation_loss", "start_from_velocity",
           "ConditionalMeanFlow"]
