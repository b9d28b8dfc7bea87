"""Plug-and-play HQS with the DPIR schedule (chapter 2, the talk's slides 4 and 10).

HQS splits ``min_x ||y − A x||² / (2σ_n²) + λ Φ(x)`` into two alternating steps (ch. 2, eqs. 2.3–2.4):

    x_k = argmin_x ||y − A x||² + ρ_k ||x − z_{k−1}||²     (data step: ``operator.prox``)
    z_k = D(x_k, σ_k)                                       (prior step: any Gaussian denoiser)

with DPIR's schedule (Zhang et al. 2021): σ_k log-spaced from 49/255 down to the noise level of ``y``,
and ``ρ_k = λ σ_n² / σ_k²`` (ch. 2, eq. 2.5; λ = 0.23). σ and σ_n are both in [0, 1] units, as in DPIR's
code, so λ keeps DPIR's value.
"""

import math

import torch

from .._checks import check_image, check_positive
from ..operators import LinearOperator
from ._start import check_start

SIGMA_MAX = 49 / 255
SIGMA_FLOOR = 0.255 / 255  # DPIR's floor on σ_n: keeps ρ_k > 0 for noise-free measurements


def dpir_schedule(sigma_n: float, n_iter: int = 8, lam: float = 0.23, sigma_max: float = SIGMA_MAX,
                  sigma_min: float | None = None):
    """DPIR's denoiser levels and data weights: ``(sigmas, rhos)``, two ``(n_iter,)`` float64 tensors.

    ``sigmas`` are log-spaced from ``sigma_max`` to ``sigma_min`` (default ``sigma_n``, floored at
    0.255/255); ``rhos = lam · max(sigma_n, 0.255/255)² / sigmas²``. With ``n_iter=1`` the single level
    is ``sigma_min`` (DPIR's ``logspace`` would give ``sigma_max``): one step should denoise at the
    measurement's own noise level.
    """
    check_positive(sigma_n, "sigma_n", allow_zero=True)
    check_positive(lam, "lam")
    if not isinstance(n_iter, int) or n_iter < 1:
        raise ValueError(f"n_iter must be a positive integer, got {n_iter!r}")
    sigma_n = max(float(sigma_n), SIGMA_FLOOR)
    sigma_min = sigma_n if sigma_min is None else max(float(sigma_min), SIGMA_FLOOR)
    if sigma_min > sigma_max:
        raise ValueError(f"sigma_min ({sigma_min:.4f}) must not exceed sigma_max ({sigma_max:.4f})")
    if n_iter == 1:
        sigmas = torch.tensor([sigma_min], dtype=torch.float64)
    else:
        sigmas = torch.logspace(math.log10(sigma_max), math.log10(sigma_min), n_iter, dtype=torch.float64)
    rhos = lam * sigma_n**2 / sigmas**2
    return sigmas, rhos


def pnp_hqs(y: torch.Tensor, operator: LinearOperator, denoiser, *, sigma_n: float, steps: int = 8,
            generator: torch.Generator | None = None, callback=None, lam: float = 0.23,
            sigma_max: float = SIGMA_MAX, sigma_min: float | None = None, schedule=None, x_init=None):
    """Restore ``y`` with HQS: ``steps`` iterations of (data prox, denoiser); returns the last denoiser output.

    ``denoiser(x, sigma)``: any Gaussian denoiser D (``priors.denoisers``, ``EpsModel.denoise``); one
    evaluation per iteration. The levels and weights are DPIR's (``dpir_schedule(sigma_n, steps, lam,
    sigma_max, sigma_min)``) unless ``schedule = (sigmas, rhos)`` gives them (then ``len(sigmas) == steps``).
    ``x_init`` defaults to ``operator.init(y)``. HQS draws no random numbers (``generator`` is accepted for
    the common signature). ``callback`` receives ``{"i", "t" (= σ_k), "x_t" (the data step's output, the
    denoiser's input), "x0_hat" (the denoiser's output), "rho"}`` per iteration, in image units.
    """
    check_image(y, "y")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if schedule is None:
        sigmas, rhos = dpir_schedule(sigma_n, steps, lam, sigma_max, sigma_min)
    else:
        sigmas, rhos = schedule
        if len(sigmas) != len(rhos) or len(sigmas) != steps or len(sigmas) == 0:
            raise ValueError(f"schedule must be non-empty (sigmas, rhos) of length steps={steps}, "
                             f"got lengths {len(sigmas)} and {len(rhos)}")
        for rho in rhos:  # the loop's operator.unchecked() would not check them
            check_positive(float(rho), "rho")
    z = operator.init(y) if x_init is None else check_start(x_init, operator, y)
    operator = operator.unchecked()
    for i, (sigma, rho) in enumerate(zip(sigmas, rhos)):
        x = operator.prox(z, y, float(rho))
        z = denoiser(x, float(sigma))
        if callback is not None:
            callback({"i": i, "t": float(sigma), "x_t": x, "x0_hat": z, "rho": float(rho)})
    return z
