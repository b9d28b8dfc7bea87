"""The book's standard restoration tasks and one way to benchmark methods on them (chapters 2, 5, 10).

A task is a degradation ``y = A x + n`` with ``n ~ N(0, σ_n² I)`` (ch. 1, eq. 1.1)
together with DPIR's iteration settings for it (chapter 2). Every chapter builds its tasks with
``make_task`` and scores methods with ``benchmark``, so tables are computed the same way everywhere::

    task = make_task("deblur-gaussian", image_size=128)
    y = degrade(task, x, seed=0)                       # x: (N, C, 128, 128) in [0, 1]
    rows = benchmark({"closed form": closed_form, "PnP-TV": Solver("pnp-hqs", TVDenoiser())},
                     ["deblur-gaussian", "sr4"], x)

Tasks (σ_n in [0, 1] units; ``n_iter`` and ``sigma_min`` follow DPIR's settings for deblurring and SR;
DPIR has no inpainting experiment, so for inpainting they are this book's choice):

=================  ==========================================================  ========  ======  =========
name               operator                                                    σ_n·255   n_iter  σ_K·255
=================  ==========================================================  ========  ======  =========
deblur-gaussian    circular blur, 25×25 Gaussian kernel, std 2 px              7.65      8       7.65
deblur-motion      circular blur, 25×25 random camera-shake kernel, length 15  7.65      8       7.65
sr4                ×4 super-resolution, bicubic kernel + decimation            2.55      24      4
sr4-centred        ×4 super-resolution, bicubic resize on the centre-aligned   2.55      24      4
                   grid (PIL's, Real-ESRGAN's: real-world SR, chapters 7–8)
inpaint-random     50 % of the pixels missing (same mask for all channels)     2.55      24      2.55
inpaint-box        a missing square of half the image side                     2.55      24      2.55
=================  ==========================================================  ========  ======  =========

``sr4`` keeps the upper-left decimation of DPIR and DiffPIR, whose settings (chapters 2, 5–6) were found on it;
``sr4-centred`` is the same degradation on the grid of every image library and of the real-world pipeline
(``operators.CentredBicubicSR``): the two differ by a 1.5-px shift, so never mix them in one comparison.
The deblurring noise level 7.65/255 is DPIR's default; for ×s super-resolution DPIR ends its denoiser
schedule at ``max(s, σ_n·255)/255``.
"""

import time
from dataclasses import dataclass

import torch

from .._checks import check_choice, check_image
from ..operators import (
    Blur,
    CentredBicubicSR,
    Inpainting,
    LinearOperator,
    SuperResolution,
    add_noise,
    box_mask,
    gaussian_kernel,
    motion_kernel,
    random_mask,
)
from ..restore.methods import get as get_method
from .metrics import psnr, ssim


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


def _sr4_task(name, operator, grid):
    """The ×4 bicubic task on one pixel grid (``sr4``: upper-left decimation; ``sr4-centred``: centred)."""

    def make(size, seed):
        if size % 4:
            raise ValueError(f"image_size must be divisible by 4 for task {name!r}, got {size}")
        return dict(operator=operator(4), sigma_n=2.55 / 255, n_iter=24, sigma_min=4 / 255,
                    description=f"×4 super-resolution ({grid}) + noise σ_n = 2.55/255")

    return make


def _inpaint_random(size, seed):
    return dict(operator=Inpainting(random_mask(size, size, 0.5, seed=seed)), sigma_n=2.55 / 255, n_iter=24,
                description=f"inpainting, 50 % of pixels missing at random (seed {seed}) + noise σ_n = 2.55/255")


def _inpaint_box(size, seed):
    return dict(operator=Inpainting(box_mask(size, size, size // 2, seed=seed)), sigma_n=2.55 / 255, n_iter=24,
                description=f"inpainting, a {size // 2}×{size // 2} hole (seed {seed}) + noise σ_n = 2.55/255")


TASKS = {"deblur-gaussian": _deblur_gaussian, "deblur-motion": _deblur_motion,
         "sr4": _sr4_task("sr4", SuperResolution, "bicubic kernel, decimation"),
         "sr4-centred": _sr4_task("sr4-centred", CentredBicubicSR, "bicubic resize, centre-aligned grid"),
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

    The noise is drawn from ``seed`` (one draw for the whole batch); ``y`` is not clipped. Only the entries the
    operator measures carry noise (``operator.restrict``): for inpainting ``y = M ⊙ (x + n)``, zero in the holes.
    """
    check_image(x, "x", value_range=True)
    if tuple(x.shape[-2:]) != (task.image_size, task.image_size):
        raise ValueError(f"task {task.name!r} was made for {task.image_size}x{task.image_size} images, "
                         f"got x of shape {tuple(x.shape)}")
    return task.operator.restrict(add_noise(task.operator.A(x), task.sigma_n, seed=seed))


class Solver:
    """A registered restoration method (``restore.METHODS[name]``) bound to a prior and settings, called as
    ``solver(y, task)`` by ``benchmark``.

    Settings, later ones winning: the method's own defaults, the book's settings for the task (PnP-HQS: DPIR's
    K and σ_K; DiffPIR: ``diffpir.TASK_DEFAULTS``; DPS: the official ζ), then ``steps`` and ``knobs`` given
    here; ``max_steps`` caps the steps (a budget). Every call draws its noise from a fresh generator seeded with
    ``seed``, so each method sees the same randomness on every task. A prior with a ``device`` (an
    ``EpsModel``) gets ``y`` on that device and the result comes back on ``y``'s.
    """

    def __init__(self, name: str, prior=None, *, steps: int | None = None, max_steps: int | None = None,
                 seed: int = 0, **knobs):
        self.method = get_method(name)
        self.prior, self.steps, self.max_steps, self.seed, self.knobs = prior, steps, max_steps, seed, knobs

    def settings(self, task: Task) -> dict:
        """The knobs (``steps`` included) this solver runs ``task`` with."""
        settings = {"steps": self.method.default_steps, **self.method.task_settings(task), **self.knobs}
        if self.steps is not None:
            settings["steps"] = self.steps
        if self.max_steps is not None:
            settings["steps"] = min(settings["steps"], self.max_steps)
        return settings

    def nfe(self, task: Task) -> int:
        """Network evaluations per image on ``task``."""
        return self.method.nfe(self.settings(task)["steps"])

    def applies(self, task: Task) -> bool:
        """Whether the method can run on ``task``'s operator (e.g. DDRM needs its SVD)."""
        return self.method.applies_to(task.operator)

    def __call__(self, y: torch.Tensor, task: Task, callback=None) -> torch.Tensor:
        device = getattr(self.prior, "device", y.device)
        x_hat = self.method(y.to(device), task.operator, self.prior, sigma_n=task.sigma_n,
                            generator=torch.Generator().manual_seed(self.seed), callback=callback,
                            **self.settings(task))
        return x_hat.to(y.device)

    def __repr__(self):
        return f"Solver({self.method.name!r}, prior={type(self.prior).__name__})"


closed_form = Solver("closed-form")
closed_form.__doc__ = "The closed-form baseline as ``closed_form(y, task)`` (``restore.linear.closed_form``)."


def benchmark(methods: dict, tasks, images: torch.Tensor, seed: int = 0, outputs: dict | None = None) -> list:
    """Score each method on each task: one row per (task, method) with the mean PSNR (dB) and its standard
    deviation over the images, the mean SSIM and seconds (``spread.per_image_psnr`` gives per-image scores).

    ``methods``: name -> ``method(y, task) -> x̂`` (``(N, C, S, S)``), typically ``Solver`` objects;
    ``tasks``: ``Task`` objects or task names (built with ``make_task(name, S, seed)``); ``images``: clean
    ``(N, C, S, S)`` in [0, 1]. Each task degrades the images once (noise seed ``seed``) and every method sees
    the same ``y``; each method runs on the whole batch and its wall time is divided by ``N``. A method with
    ``applies(task)`` is skipped where it does not apply (DDRM without an SVD); one with ``nfe(task)`` gets an
    ``NFE`` column. Estimates are clipped to [0, 1] before scoring. If ``outputs`` is a dict,
    ``outputs[task][name]`` receives the estimates (and ``outputs[task]["y"]`` the measurement).
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
            if hasattr(method, "applies") and not method.applies(task):
                continue
            start = time.perf_counter()
            estimate = method(y, task)
            seconds = time.perf_counter() - start
            if estimate.shape != images.shape:
                raise ValueError(f"method {name!r} returned shape {tuple(estimate.shape)} on task "
                                 f"{task.name!r}, expected {tuple(images.shape)}")
            estimate = estimate.clamp(0, 1)
            if outputs is not None:
                outputs[task.name][name] = estimate
            per_image = psnr(estimate, images)
            row = {"task": task.name, "method": name, "PSNR (dB)": per_image.mean().item(),
                   "PSNR std (dB)": per_image.std().item() if len(images) > 1 else 0.0,
                   "SSIM": ssim(estimate, images).mean().item()}
            if hasattr(method, "nfe"):
                row["NFE"] = method.nfe(task)
            rows.append({**row, "s / image": seconds / len(images)})
    return rows


__all__ = ["Task", "TASKS", "make_task", "degrade", "Solver", "closed_form", "benchmark"]
