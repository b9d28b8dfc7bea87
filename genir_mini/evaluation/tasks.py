"""The book's standard restoration tasks and one way to benchmark methods on them (chapters 2, 5, 10).

A task is a degradation ``y = A x + n`` with ``n ~ N(0, σ_n² I)`` (ch. 1, eq. 1.1)
together with DPIR's iteration settings for it (chapter 2). Every chapter builds its tasks with
``make_task`` and scores methods with ``benchmark``, so tables are computed the same way everywhere::

    task = make_task("deblur-gaussian", image_size=128)
    y = degrade(task, x, seed=0)                       # x: (N, C, 128, 128) in [0, 1]
    rows = benchmark({"closed form": closed_form}, ["deblur-gaussian", "sr4"], x)

Tasks (σ_n in [0, 1] units; ``n_iter`` and ``sigma_min`` follow DPIR's settings for deblurring and SR;
DPIR has no inpainting experiment, so for inpainting they are this book's choice):

=================  ==========================================================  ========  ======  =========
name               operator                                                    σ_n·255   n_iter  σ_K·255
=================  ==========================================================  ========  ======  =========
deblur-gaussian    circular blur, 25×25 Gaussian kernel, std 2 px              7.65      8       7.65
deblur-motion      circular blur, 25×25 random camera-shake kernel, length 15  7.65      8       7.65
sr4                ×4 super-resolution, bicubic kernel + decimation            2.55      24      4
inpaint-random     50 % of the pixels missing (same mask for all channels)     2.55      24      2.55
inpaint-box        a missing square of half the image side                     2.55      24      2.55
=================  ==========================================================  ========  ======  =========

The deblurring noise level 7.65/255 is DPIR's default; for ×s super-resolution DPIR ends its denoiser
schedule at ``max(s, σ_n·255)/255``.
"""

import time
from dataclasses import dataclass

import torch

from .._checks import check_choice, check_image
from ..restore.linear import constant_image
from .metrics import psnr, ssim
from ..operators import (Blur, Inpainting, LinearOperator, SuperResolution, add_noise, box_mask,
                        gaussian_kernel, motion_kernel, random_mask)


@dataclass(frozen=True)
class Task:
    """A restoration task: ``y = operator.A(x) + sigma_n · ε`` for images of ``image_size``².

    ``n_iter`` and ``sigma_min`` are the HQS iteration count K and last denoiser level σ_K that DPIR
    uses for this kind of task (chapter 2); ``sigma_min=None`` means σ_K = σ_n.
    """

    name: str
    operator: LinearOperator
    sigma_n: float
    description: str
    image_size: int
    n_iter: int = 8
    sigma_min: float | None = None


def _deblur_gaussian(size, seed):
    return dict(operator=Blur(gaussian_kernel(25, 2.0)), sigma_n=7.65 / 255, n_iter=8,
                description="Gaussian blur (25×25, std 2 px) + noise σ_n = 7.65/255")


def _deblur_motion(size, seed):
    return dict(operator=Blur(motion_kernel(25, 15.0, seed=seed)), sigma_n=7.65 / 255, n_iter=8,
                description=f"motion blur (25×25, length 15 px, seed {seed}) + noise σ_n = 7.65/255")


def _sr4(size, seed):
    if size % 4:
        raise ValueError(f"image_size must be divisible by 4 for task 'sr4', got {size}")
    return dict(operator=SuperResolution(4), sigma_n=2.55 / 255, n_iter=24, sigma_min=4 / 255,
                description="×4 super-resolution (bicubic kernel, decimation) + noise σ_n = 2.55/255")


def _inpaint_random(size, seed):
    return dict(operator=Inpainting(random_mask(size, size, 0.5, seed=seed)), sigma_n=2.55 / 255, n_iter=24,
                description=f"inpainting, 50 % of pixels missing at random (seed {seed}) + noise σ_n = 2.55/255")


def _inpaint_box(size, seed):
    return dict(operator=Inpainting(box_mask(size, size, size // 2, seed=seed)), sigma_n=2.55 / 255, n_iter=24,
                description=f"inpainting, a {size // 2}×{size // 2} hole (seed {seed}) + noise σ_n = 2.55/255")


TASKS = {"deblur-gaussian": _deblur_gaussian, "deblur-motion": _deblur_motion, "sr4": _sr4,
         "inpaint-random": _inpaint_random, "inpaint-box": _inpaint_box}


def make_task(name: str, image_size: int = 128, seed: int = 0) -> Task:
    """The task ``name`` (a key of ``TASKS``) for square images of side ``image_size`` (at least 32).

    ``seed`` fixes the random parts of the operator (motion kernel, masks), not the noise: that is
    ``degrade``'s seed.
    """
    check_choice(name, "task name", TASKS)
    if not isinstance(image_size, int) or image_size < 32:
        raise ValueError(f"image_size must be an integer >= 32 (kernels are 25×25), got {image_size!r}")
    return Task(name=name, image_size=image_size, **TASKS[name](image_size, seed))


def degrade(task: Task, x: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """The measurement ``y = A x + σ_n ε`` of clean images ``x`` ``(N, C, S, S)``, ``S = task.image_size``.

    The noise is drawn from ``seed`` (one draw for the whole batch); ``y`` is not clipped. For inpainting
    only the observed pixels are measured: ``y = M ⊙ (x + n)``, zero in the holes.
    """
    check_image(x, "x", value_range=True)
    if tuple(x.shape[-2:]) != (task.image_size, task.image_size):
        raise ValueError(f"task {task.name!r} was made for {task.image_size}x{task.image_size} images, "
                         f"got x of shape {tuple(x.shape)}")
    y = add_noise(task.operator.A(x), task.sigma_n, seed=seed)
    return task.operator.A(y) if isinstance(task.operator, Inpainting) else y


def measured_entries(task: Task, y: torch.Tensor) -> int:
    """How many entries of one measurement carry data (and noise): all of ``y[0]``, or the observed pixels."""
    if isinstance(task.operator, Inpainting):
        return int(task.operator.mask.sum().item()) * y.shape[1]
    return y[0].numel()


def discrepancy_rho(operator: LinearOperator, z: torch.Tensor, y: torch.Tensor, sigma_n: float,
                    entries: int | None = None, steps: int = 30) -> torch.Tensor:
    """Per-image ``ρ`` ``(N,)`` with ``||y − A prox(z, y, ρ)||² = σ_n² · entries`` (Morozov's discrepancy
    principle: fit the data down to the noise level, no further), by bisection on ``log10 ρ ∈ [−6, 3]``.

    ``entries``: the number of noisy entries in one measurement (default ``y[0].numel()``). The residual
    grows with ``ρ``, so the bisection is well defined.
    """
    target = sigma_n**2 * (y[0].numel() if entries is None else entries)
    lo = torch.full((y.shape[0],), -6.0, dtype=torch.float64)
    hi = torch.full((y.shape[0],), 3.0, dtype=torch.float64)
    for _ in range(steps):
        mid = (lo + hi) / 2
        x = operator.prox(z, y, (10**mid).to(y.dtype))
        too_far = ((operator.A(x) - y) ** 2).sum((1, 2, 3)).double() > target
        hi, lo = torch.where(too_far, mid, hi), torch.where(too_far, lo, mid)
    return (10 ** ((lo + hi) / 2)).to(y.dtype)


def closed_form(y: torch.Tensor, task: Task) -> torch.Tensor:
    """The closed-form baseline (chapter 2): Tikhonov regularisation towards a flat image.

    ``x̂ = argmin ||y − A x||² + ρ ||x − m||²`` = ``task.operator.prox(m, y, ρ)``, the MAP estimate under a
    white Gaussian prior centred on ``m``, the mean of the observed values of ``y`` (per image and channel);
    ``ρ`` (per image) follows the discrepancy principle (``discrepancy_rho``). For super-resolution the
    baseline is the usual reference, bicubic interpolation (``task.operator.init(y)``); the white-prior
    Tikhonov solution there is an interpolation with the blur kernel and scores about the same (chapter 1).
    """
    check_image(y, "y")
    op = task.operator
    if isinstance(op, SuperResolution):
        return op.init(y)
    m = constant_image(y, op).expand_as(y).contiguous()
    return op.prox(m, y, discrepancy_rho(op, m, y, task.sigma_n, measured_entries(task, y)))


def pnp_method(denoiser, lam: float = 0.23, n_iter: int | None = None):
    """A ``method(y, task)`` running PnP-HQS with DPIR's schedule for the task (chapter 2).

    ``n_iter`` overrides the task's K (e.g. to run fewer iterations in a smoke test).
    """
    from ..restore.pnp import restore

    def method(y, task):
        return restore(y, task.operator, denoiser, task.sigma_n, n_iter or task.n_iter, lam,
                       sigma_min=task.sigma_min)

    return method


def benchmark(methods: dict, tasks, images: torch.Tensor, seed: int = 0, outputs: dict | None = None) -> list:
    """Score each method on each task: one row per (task, method) with mean PSNR (dB), SSIM and seconds.

    ``methods``: name -> ``method(y, task) -> x̂`` (``(N, C, S, S)``); ``tasks``: ``Task`` objects or
    task names (built with ``make_task(name, S, seed)``); ``images``: clean ``(N, C, S, S)`` in [0, 1].
    Each task degrades the images once (noise seed ``seed``) and every method sees the same ``y``; each
    method runs on the whole batch and its wall time is divided by ``N``. Estimates are clipped to
    [0, 1] before scoring. If ``outputs`` is a dict, ``outputs[task][name]`` receives the estimates
    (and ``outputs[task]["y"]`` the measurement).
    """
    check_image(images, "images", value_range=True)
    if not methods:
        raise ValueError("methods must be a non-empty dict name -> method(y, task)")
    rows = []
    for task in tasks:
        if isinstance(task, str):
            task = make_task(task, images.shape[-1], seed)
        y = degrade(task, images, seed)
        if outputs is not None:
            outputs[task.name] = {"y": y}
        for name, method in methods.items():
            start = time.perf_counter()
            estimate = method(y, task)
            seconds = time.perf_counter() - start
            if estimate.shape != images.shape:
                raise ValueError(f"method {name!r} returned shape {tuple(estimate.shape)} on task "
                                 f"{task.name!r}, expected {tuple(images.shape)}")
            estimate = estimate.clamp(0, 1)
            if outputs is not None:
                outputs[task.name][name] = estimate
            rows.append({"task": task.name, "method": name, "PSNR (dB)": psnr(estimate, images).mean().item(),
                         "SSIM": ssim(estimate, images).mean().item(), "s / image": seconds / len(images)})
    return rows


__all__ = ["Task", "TASKS", "make_task", "degrade", "measured_entries", "closed_form", "discrepancy_rho",
           "pnp_method", "benchmark"]
