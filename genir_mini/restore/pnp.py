"""Plug-and-play HQS with the DPIR schedule (chapter 2, the talk's slides 4 and 10).

HQS splits ``min_x ||y − A x||² / (2σ_n²) + λ Φ(x)`` into two alternating steps (ch. 2, eqs. 2.3–2.4):

    x_k = argmin_x ||y − A x||² + ρ_k ||x − z_{k−1}||²     (data step: ``operator.prox``)
    z_k = D(x_k, σ_k)                                       (prior step: any Gaussian denoiser)

with DPIR's schedule (Zhang et al. 2021): σ_k log-spaced from 49/255 down to the noise level of ``y``,
and ``ρ_k = λ σ_n² / σ_k²`` (λ = 0.23). σ and σ_n are both in [0, 1] units, as in DPIR's code, so λ
keeps DPIR's value.
"""

import math

import torch

from .._checks import check_image, check_positive
from ..operators import LinearOperator

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


def pnp_hqs(y: torch.Tensor, operator: LinearOperator, denoiser, sigmas, rhos, x_init=None,
            return_trajectory: bool = False):
    """Run HQS: ``len(sigmas)`` iterations of (data prox, denoiser). Returns the last denoiser output.

    ``y``: measurement; ``denoiser(x, sigma)``: any Gaussian denoiser (``genir_mini.priors.denoisers``);
    ``x_init`` defaults to ``operator.init(y)``. With ``return_trajectory=True`` also returns a list of
    ``{"x": data-step output, "z": denoiser output, "sigma", "rho"}`` per iteration.
    """
    check_image(y, "y")
    if len(sigmas) != len(rhos) or len(sigmas) == 0:
        raise ValueError(f"sigmas and rhos must be non-empty and of equal length, got {len(sigmas)} and {len(rhos)}")
    z = operator.init(y) if x_init is None else check_image(x_init, "x_init")
    trajectory = []
    for sigma, rho in zip(sigmas, rhos):
        x = operator.prox(z, y, float(rho))
        z = denoiser(x, float(sigma))
        if return_trajectory:
            trajectory.append({"x": x, "z": z, "sigma": float(sigma), "rho": float(rho)})
    return (z, trajectory) if return_trajectory else z


def restore(y, operator, denoiser, sigma_n: float, n_iter: int = 8, lam: float = 0.23, **schedule):
    """PnP-HQS with DPIR's schedule in one call (``schedule``: ``sigma_max``/``sigma_min``)."""
    sigmas, rhos = dpir_schedule(sigma_n, n_iter, lam, **schedule)
    return pnp_hqs(y, operator, denoiser, sigmas, rhos)
