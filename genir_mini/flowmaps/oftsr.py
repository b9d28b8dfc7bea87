"""OFTSR (chapter 6; Zhu, Wang, Lu, Li, Yan and Zhang; the talk's slides 16–23): a conditional rectified flow
from a noise-augmented low-resolution image to the high-resolution one, distilled into a one-step student
whose time input becomes a fidelity–realism knob.

The book's time convention (t = 0 source, t = 1 data), as in OFTSR's own code, and model units [−1, 1]
throughout. ``cond`` is the upsampled low-resolution image ``to_signed(operator.init(y))`` ``(N, C, H, W)``;
the networks are ``UNet(cond_channels=C)`` called as ``net(x, t, cond=cond)``.

* source (6.1), slide 18: x₀ = √(1 − σ_p²)·cond + σ_p·ε (VP noise augmentation; σ_p = 0 is a deterministic
  map, σ_p = 1 unconditional generation from noise);
* teacher (6.2): x_t = (1 − t)·x₀ + t·x₁, E‖v_θ(x_t, t | cond) − (x₁ − x₀)‖², t ~ U[ε, 1], ε = 10⁻³;
* student state (6.3), slide 19: x_t = x₀ + t·v_φ(x₀, t | cond), one network call from the source;
* trajectory-aligned distillation (6.4), slide 19: with s = t + dt,
  L = E‖v_φ^(s) − SG[v_φ^(t) + (dt/s)(v_θ^(t) − v_φ^(t))]‖², v_θ^(t) = v_θ(x_t, t | cond) at the student's own
  state, plus the boundary term λ_b·‖v_φ(x₀, 0) − SG[v_θ(x₀, 0)]‖² (the student starts as the teacher);
* one-step restoration (6.5): x̂ = x₀ + v_φ(x₀, t_in | cond); t_in → 0 is the teacher's first Euler step (the
  PSNR-oriented posterior mean), t_in → 1 the end of the teacher's ODE (realism); the restoration call
  is ``restore.oftsr.oftsr``.

The choices the slides leave open, with OFTSR's released configuration files where they state one: the
distillation times t ~ U[t_min, t_max − dt] with t_min = 0.01, t_max = 0.99, dt = 0.05; the teacher step of
(6.4) Euler, as on slide 19 (the configuration files name a midpoint step: ``teacher_step="midpoint"``);
boundary weight 0.1; squared error (slide 19); the student initialised from the teacher.
"""

import math
from dataclasses import dataclass

import torch

from .._checks import check_choice
from .base import STEPPERS, ODEMap, time_batch, time_column
from .flow_matching import interpolate, velocity_target

T_EPS = 1e-3  # teacher training times t ~ U[ε, 1] (OFTSR's code)
DISTILL_DEFAULTS = {"t_min": 0.01, "t_max": 0.99, "dt": 0.05, "boundary_weight": 0.1, "teacher_step": "euler"}


def _check_sigma_p(sigma_p) -> float:
    if not isinstance(sigma_p, (int, float)) or not 0 <= sigma_p <= 1:
        raise ValueError(f"sigma_p must be a number in [0, 1], got {sigma_p!r}")
    return float(sigma_p)


def noisy_source(cond: torch.Tensor, sigma_p: float, generator: torch.Generator | None = None,
                 noise: torch.Tensor | None = None) -> torch.Tensor:
    """x₀ = √(1 − σ_p²)·cond + σ_p·ε (6.1), ``(N, C, H, W)`` like ``cond``; ``noise`` replaces a fresh ε."""
    sigma_p = _check_sigma_p(sigma_p)
    if noise is None:
        noise = torch.randn(cond.shape, generator=generator).to(cond.device, cond.dtype)
    elif noise.shape != cond.shape:
        raise ValueError(f"noise must have cond's shape {tuple(cond.shape)}, got {tuple(noise.shape)}")
    return math.sqrt(1 - sigma_p**2) * cond + sigma_p * noise


def conditional_velocity(net, cond: torch.Tensor):
    """``v(x, t) = net(x, t, cond=cond)``: the conditional network as a velocity for the flow maps of
    ``flowmaps.base`` (``EulerMap``, ``ODEMap``), with the condition bound."""

    def velocity(x, t):
        return net(x, time_batch(t, x), cond=cond)

    return velocity


TEACHER_NORMS = ("l2", "l1")


def teacher_loss(net, x1: torch.Tensor, cond: torch.Tensor, sigma_p: float,
                 generator: torch.Generator | None = None, cond_dropout: float = 0.0,
                 norm: str = "l2") -> torch.Tensor:
    """The conditional rectified-flow loss (6.2): mean of ‖v_θ(x_t, t | cond) − (x₁ − x₀)‖² over pixels and
    the batch, x₀ from (6.1), t ~ U[ε, 1]; ``x1`` the high-resolution ``(N, C, H, W)`` in [−1, 1].

    ``cond_dropout``: the share of samples whose network input ``cond`` is replaced by zeros (the source x₀
    keeps it), so that the teacher also learns v_∅ for classifier-free guidance (chapter 7's MFSR).
    ``norm="l1"``: the mean absolute error instead, as OFTSR's released DIV2K and ImageNet teachers train (its
    FFHQ teacher and slide 18 use the squared error); the L1 minimiser is the conditional median velocity."""
    if x1.shape != cond.shape:
        raise ValueError(f"x1 {tuple(x1.shape)} and cond {tuple(cond.shape)} must have one shape")
    if not 0 <= cond_dropout < 1:
        raise ValueError(f"cond_dropout must lie in [0, 1), got {cond_dropout!r}")
    x0 = noisy_source(cond, sigma_p, generator)
    t = (T_EPS + (1 - T_EPS) * torch.rand(x1.shape[0], generator=generator)).to(x1.device)
    x_t = interpolate(x0, x1, t)
    if cond_dropout:
        keep = (torch.rand(len(cond), generator=generator) >= cond_dropout).to(cond.device, cond.dtype)
        cond = cond * keep.view(-1, 1, 1, 1)
    error = net(x_t, t, cond=cond) - velocity_target(x0, x1)
    return error.abs().mean() if check_choice(norm, "norm", TEACHER_NORMS) == "l1" else error.pow(2).mean()


def student_state(student, x0: torch.Tensor, cond: torch.Tensor, t) -> torch.Tensor:
    """The student's one-call state at time t (6.3): x_t = x₀ + t·v_φ(x₀, t | cond)."""
    return x0 + time_column(t, x0) * student(x0, time_batch(t, x0), cond=cond)


def distillation_target(v_student_t: torch.Tensor, v_teacher_t: torch.Tensor, t, s) -> torch.Tensor:
    """The regression target of v_φ^(s) in (6.4): v_φ^(t) + (dt/s)(v_θ^(t) − v_φ^(t)), dt = s − t, without
    gradient. ``t``, ``s``: numbers or ``(N,)`` tensors with 0 < s."""
    t, s = time_column(t, v_student_t), time_column(s, v_student_t)
    if (s <= 0).any():
        raise ValueError("s must be positive (the target divides by s)")
    return (v_student_t + (s - t) / s * (v_teacher_t - v_student_t)).detach()


def distillation_loss(student, teacher, x0: torch.Tensor, cond: torch.Tensor, t, dt: float,
                      boundary_weight: float = DISTILL_DEFAULTS["boundary_weight"],
                      teacher_step: str = DISTILL_DEFAULTS["teacher_step"]) -> tuple[torch.Tensor, dict]:
    """The trajectory-aligned loss (6.4) at times ``t`` (number or ``(N,)``) and s = t + dt.

    The teacher moves the student's own state x_t = x₀ + t·v_φ^(t) by one ``teacher_step`` (``"euler"``: slide
    19's x_s = x_t + dt·v_θ(x_t, t); ``"midpoint"`` or ``"heun"``: second order), and the student's x_s =
    x₀ + s·v_φ^(s) must land there: v_φ^(s) ≈ SG[(x̃_s − x₀)/s], which for an Euler step is the target of
    ``distillation_target``. Returns ``(loss, parts)`` with ``parts = {"distill", "boundary"}`` (floats).
    """
    check_choice(teacher_step, "teacher_step", STEPPERS)
    if not isinstance(dt, (int, float)) or dt <= 0:
        raise ValueError(f"dt must be a positive number, got {dt!r}")
    t = time_batch(t, x0)
    s = t + dt
    with torch.no_grad():
        v_student_t = student(x0, t, cond=cond)
        x_t = x0 + time_column(t, x0) * v_student_t
        v_teacher = conditional_velocity(teacher, cond)
        if teacher_step == "euler":  # slide 19's form
            target = distillation_target(v_student_t, v_teacher(x_t, t), t, s)
        else:  # the same target, (x̃_s − x₀)/s, with a second-order teacher step
            x_s = STEPPERS[teacher_step](v_teacher)(x_t, t, s)
            target = (x_s - x0) / time_column(s, x0)
    distill = (student(x0, s, cond=cond) - target).pow(2).mean()
    loss, parts = distill, {"distill": distill.item(), "boundary": 0.0}
    if boundary_weight:
        zero = torch.zeros_like(t)
        with torch.no_grad():
            v_teacher_0 = teacher(x0, zero, cond=cond)
        boundary = (student(x0, zero, cond=cond) - v_teacher_0).pow(2).mean()
        loss = loss + boundary_weight * boundary
        parts["boundary"] = boundary.item()
    return loss, parts


def sample_distillation_times(n: int, generator: torch.Generator | None = None, t_min: float = 0.01,
                              t_max: float = 0.99, dt: float = 0.05) -> torch.Tensor:
    """``(n,)`` times t ~ U[t_min, t_max − dt], so that s = t + dt ≤ t_max."""
    if not 0 <= t_min < t_max - dt <= 1:
        raise ValueError(f"need 0 <= t_min < t_max - dt <= 1, got t_min={t_min}, t_max={t_max}, dt={dt}")
    return t_min + (t_max - dt - t_min) * torch.rand(n, generator=generator)


def one_step(student, x0: torch.Tensor, cond: torch.Tensor, t_in) -> torch.Tensor:
    """The one-step restoration (6.5): x̂ = x₀ + v_φ(x₀, t_in | cond), ``t_in`` in [0, 1] (number or ``(N,)``)."""
    t = time_batch(t_in, x0)
    if (t < 0).any() or (t > 1).any():
        raise ValueError(f"t_in must lie in [0, 1], got {t_in!r}")
    return x0 + student(x0, t, cond=cond)


@dataclass
class ConditionalFlow:
    """A trained OFTSR network with its σ_p: the ``prior`` that ``restore.oftsr.oftsr`` takes.

    ``net``: ``UNet(cond_channels=C)``; ``student``: whether it is the distilled one-step student (restored
    with (6.5) at ``t_in``) or the teacher (restored by solving its ODE from 0 to 1 in ``steps`` steps).
    """

    net: torch.nn.Module
    sigma_p: float
    student: bool = False

    def __post_init__(self):
        _check_sigma_p(self.sigma_p)


def teacher_map(net, cond: torch.Tensor, steps: int = 8, method: str = "euler") -> ODEMap:
    """The teacher as a flow map f(x_t, t, s) (``ODEMap`` of its conditional velocity): ``steps`` × 1 or 2 NFE."""
    return ODEMap(conditional_velocity(net, cond), steps, method)


__all__ = ["T_EPS", "DISTILL_DEFAULTS", "TEACHER_NORMS", "noisy_source", "conditional_velocity", "teacher_loss",
           "student_state",
           "distillation_target", "distillation_loss", "sample_distillation_times", "one_step",
           "ConditionalFlow", "teacher_map"]
