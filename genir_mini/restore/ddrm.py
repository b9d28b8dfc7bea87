"""DDRM (Kawar et al., 2022): denoising diffusion restoration in the spectral domain of A (chapter 5).

With the SVD A = U Σ Vᵀ, write x̄ = Vᵀx, ȳ = Σ⁺Uᵀy (the measurement per singular direction, noise
σ_y/s_i) and work with the variance-exploding x_k/√ᾱ_k, whose noise level is σ̄_k. Each step (one NFE)
computes x̂₀ by Tweedie and sets, per spectral coordinate i, for the next level σ = σ̄_k':

    s_i = 0 (unobserved):        x̄ᵢ = x̂₀ᵢ + √(1 − η²) σ ε̂ᵢ + η σ zᵢ
    σ < σ_y/s_i (y noisier):     x̄ᵢ = x̂₀ᵢ + √(1 − η²) σ (ȳᵢ − x̂₀ᵢ)/(σ_y/s_i) + η σ zᵢ
    σ ≥ σ_y/s_i (y cleaner):     x̄ᵢ = η_b ȳᵢ + (1 − η_b) x̂₀ᵢ + √(σ² − η_b² σ_y²/s_i²) zᵢ

with the paper's η = 0.85, η_b = 1. It needs the SVD, so it runs for the operators with the ``Spectral``
capability (``operators.Spectral``): ``Identity``, ``Inpainting`` (Σ = the mask), ``Blur`` (circular: the unitary
DFT, |OTF|) and ``BlockAverageSR`` (per block, the mean direction with s = 1/scale and its complement with
s = 0); any other operator gets a ``TypeError`` naming the missing capability.
Everything is in the model's [−1, 1] units, as in the official code, so σ_y = 2σ_n.
"""

import math

import torch

from .._checks import check_image, check_positive
from ..operators import LinearOperator, Spectral, require
from ..priors.diffusion import timesteps
from ..priors.parameterization import EpsModel, check_eps_model
from ..units import to_unit


@torch.no_grad()
def ddrm(y: torch.Tensor, operator: LinearOperator, prior: EpsModel, *, sigma_n: float, steps: int = 20,
         generator: torch.Generator | None = None, callback=None, eta: float = 0.85, eta_b: float = 1.0):
    """Restore ``y`` ([0, 1] units) with DDRM on ``steps`` uniform timesteps; returns (N, C, H, W) in [0, 1].

    ``prior``: the ε-model (``EpsModel``, [−1, 1] units); ``sigma_n``: the measurement noise (image units);
    ``eta``, ``eta_b`` as above (the paper's defaults). ``callback`` receives ``{"i", "t" (= k), "x_t",
    "x0_hat"}`` per step, in image units.
    """
    check_image(y, "y")
    check_positive(sigma_n, "sigma_n", allow_zero=True)
    for value, name in ((eta, "eta"), (eta_b, "eta_b")):
        if not 0 <= value <= 1:
            raise ValueError(f"{name} must be in [0, 1], got {value}")
    require(operator, Spectral, "DDRM")
    schedule = check_eps_model(prior).schedule
    shape = operator.init(y).shape
    ones = torch.ones(shape, dtype=y.dtype, device=y.device)
    y_bar = operator.svd_y_bar(2 * y - operator.A(ones), shape)  # A(2x − 1) = 2 A x − A 1: y in model units
    sigma_y = 2 * float(sigma_n)
    s = operator.singular_values(shape, y)
    observed = s > 0
    level = torch.where(observed, sigma_y / torch.where(observed, s, torch.ones_like(s)), torch.inf)  # σ_y/s_i

    def noise():
        return operator.svd_vt(torch.randn(shape, generator=generator).to(y.device))

    ks = timesteps(schedule.T, steps)
    ab = schedule.alpha_bar
    x = torch.randn(shape, generator=generator).to(y.device)  # x_T
    for i, k in enumerate(ks):
        x0, eps = prior.predict(x, k)  # ε̂ consistent with the clipped x̂₀
        if callback is not None:
            callback({"i": i, "t": k, "x_t": to_unit(x), "x0_hat": to_unit(x0)})
        if i == len(ks) - 1:
            break
        sigma = schedule.sigma_bar[ks[i + 1]].item()
        x0_bar, eps_bar = operator.svd_vt(x0), operator.svd_vt(eps)
        unobserved = x0_bar + math.sqrt(1 - eta**2) * sigma * eps_bar + eta * sigma * noise()
        y_noisier = (x0_bar + math.sqrt(1 - eta**2) * sigma * (y_bar - x0_bar) / level.clamp_min(1e-12)
                     + eta * sigma * noise())
        y_cleaner = (eta_b * y_bar + (1 - eta_b) * x0_bar
                     + (sigma**2 - eta_b**2 * level.clamp(max=sigma) ** 2).clamp_min(0).sqrt() * noise())
        spec = torch.where(~observed, unobserved, torch.where(sigma < level, y_noisier, y_cleaner))
        a_next = ab[ks[i + 1]].item()
        x = math.sqrt(a_next) * operator.svd_v(spec)
    return to_unit(x0).clamp(0, 1)
