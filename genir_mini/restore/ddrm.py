"""DDRM (Kawar et al., 2022): denoising diffusion restoration in the spectral domain of A (chapter 5).

With the SVD A = U Σ Vᵀ, write x̄ = Vᵀx, ȳ = Σ⁺Uᵀy (the measurement per singular direction, noise
σ_y/s_i) and work with the variance-exploding x_k/√ᾱ_k, whose noise level is σ̄_k. Each step (one NFE)
computes x̂₀ by Tweedie and sets, per spectral coordinate i, for the next level σ = σ̄_k':

    s_i = 0 (unobserved):        x̄ᵢ = x̂₀ᵢ + √(1 − η²) σ ε̂ᵢ + η σ zᵢ
    σ < σ_y/s_i (y noisier):     x̄ᵢ = x̂₀ᵢ + √(1 − η²) σ (ȳᵢ − x̂₀ᵢ)/(σ_y/s_i) + η σ zᵢ
    σ ≥ σ_y/s_i (y cleaner):     x̄ᵢ = η_b ȳᵢ + (1 − η_b) x̂₀ᵢ + √(σ² − η_b² σ_y²/s_i²) zᵢ

with the paper's η = 0.85, η_b = 1. It needs the SVD, so it runs for the operators whose SVD we have in
closed form: ``Inpainting`` (Σ = the mask), ``Blur`` (circular: the unitary DFT, |OTF|) and
``BlockAverageSR`` (per block, the mean direction with s = 1/scale and its complement with s = 0).
Everything is in the model's [−1, 1] units, as in the official code, so σ_y = 2σ_n.
"""

import math

import torch

from .._checks import check_image, check_positive
from ..units import to_unit
from ..priors.diffusion import Schedule, timesteps
from ..operators import BlockAverageSR, Blur, Inpainting, LinearOperator


class _Spectral:
    """Vᵀ, V, the singular values (broadcastable to Vᵀx) and ȳ = Σ⁺Uᵀy for one operator."""

    def __init__(self, operator, shape, like):
        self.operator = operator
        if isinstance(operator, Inpainting):
            self.singulars = operator.mask.to(like.device, like.dtype).expand(shape)
        elif isinstance(operator, Blur):
            self.otf = operator.otf(shape[-2:], like)
            self.singulars = self.otf.abs()
        elif isinstance(operator, BlockAverageSR):
            s = operator.scale
            self.singulars = torch.zeros(s * s, dtype=like.dtype, device=like.device)
            self.singulars[0] = 1 / s
            # the Householder reflection that maps e₁ to the unit block-mean direction 1/s: symmetric,
            # orthogonal, its own inverse
            u = -torch.full((s * s,), 1 / s, dtype=like.dtype, device=like.device)
            u[0] += 1
            self.u = u / u.norm()
        else:
            raise TypeError("DDRM needs the SVD of the operator: Inpainting, Blur or BlockAverageSR, "
                            f"got {type(operator).__name__}")

    def vt(self, x):
        if isinstance(self.operator, Inpainting):
            return x
        if isinstance(self.operator, Blur):
            return torch.fft.fft2(x, norm="ortho")
        s = self.operator.scale
        n, c, h, w = x.shape
        blocks = x.reshape(n, c, h // s, s, w // s, s).permute(0, 1, 2, 4, 3, 5)
        blocks = blocks.reshape(n, c, h // s, w // s, s * s)
        return blocks - 2 * (blocks @ self.u)[..., None] * self.u

    def v(self, spec):
        if isinstance(self.operator, Inpainting):
            return spec
        if isinstance(self.operator, Blur):
            return torch.fft.ifft2(spec, norm="ortho").real
        s = self.operator.scale
        blocks = spec - 2 * (spec @ self.u)[..., None] * self.u
        n, c, hs, ws, _ = blocks.shape
        return blocks.reshape(n, c, hs, ws, s, s).permute(0, 1, 2, 4, 3, 5).reshape(n, c, hs * s, ws * s)

    def y_bar(self, y_model):
        """Σ⁺Uᵀy (zero where s = 0) for a measurement in model units."""
        if isinstance(self.operator, Inpainting):
            return y_model * self.singulars
        if isinstance(self.operator, Blur):
            safe = torch.where(self.singulars > 0, self.otf, torch.ones_like(self.otf))
            return torch.where(self.singulars > 0, torch.fft.fft2(y_model, norm="ortho") / safe, 0)
        out = torch.zeros((*y_model.shape, self.singulars.numel()), dtype=y_model.dtype, device=y_model.device)
        out[..., 0] = self.operator.scale * y_model  # the block mean m has coordinate s·m along 1/s, and y = m
        return out


@torch.no_grad()
def ddrm(y: torch.Tensor, operator: LinearOperator, model, schedule: Schedule, sigma_n: float, steps: int = 20,
         eta: float = 0.85, eta_b: float = 1.0, generator: torch.Generator | None = None,
         return_trajectory: bool = False):
    """Restore ``y`` ([0, 1] units) with DDRM on ``steps`` uniform timesteps; returns (N, C, H, W) in [0, 1].

    ``model(x_k, k/T)``: an ε-model in [−1, 1] units; ``sigma_n``: the measurement noise (image units);
    ``eta``, ``eta_b`` as above (the paper's defaults). With ``return_trajectory`` also returns a list of
    {"k", "x_k", "x0"} in [0, 1] units.
    """
    check_image(y, "y")
    check_positive(sigma_n, "sigma_n", allow_zero=True)
    for value, name in ((eta, "eta"), (eta_b, "eta_b")):
        if not 0 <= value <= 1:
            raise ValueError(f"{name} must be in [0, 1], got {value}")
    shape = operator.init(y).shape
    spectral = _Spectral(operator, shape, y)
    ones = torch.ones(shape, dtype=y.dtype, device=y.device)
    y_bar = spectral.y_bar(2 * y - operator.A(ones))  # A(2x − 1) = 2 A x − A 1: y in model units
    sigma_y = 2 * float(sigma_n)
    s = spectral.singulars
    observed = s > 0
    level = torch.where(observed, sigma_y / torch.where(observed, s, torch.ones_like(s)), torch.inf)  # σ_y/s_i

    def noise():
        return spectral.vt(torch.randn(shape, generator=generator).to(y.device))

    ks = timesteps(schedule.T, steps)
    ab = schedule.alpha_bar
    x = torch.randn(shape, generator=generator).to(y.device)  # x_T
    trajectory = []
    for i, k in enumerate(ks):
        a = ab[k].item()
        eps = model(x, schedule.time(k).expand(shape[0]).to(y.device))
        x0 = ((x - math.sqrt(1 - a) * eps) / math.sqrt(a)).clamp(-1, 1)
        eps = (x - math.sqrt(a) * x0) / math.sqrt(1 - a)  # consistent with the clipped x̂₀
        if return_trajectory:
            trajectory.append({"k": k, "x_k": to_unit(x).cpu(), "x0": to_unit(x0).cpu()})
        if i == len(ks) - 1:
            break
        sigma = schedule.sigma_bar[ks[i + 1]].item()
        x0_bar, eps_bar = spectral.vt(x0), spectral.vt(eps)
        unobserved = x0_bar + math.sqrt(1 - eta**2) * sigma * eps_bar + eta * sigma * noise()
        y_noisier = (x0_bar + math.sqrt(1 - eta**2) * sigma * (y_bar - x0_bar) / level.clamp_min(1e-12)
                     + eta * sigma * noise())
        y_cleaner = (eta_b * y_bar + (1 - eta_b) * x0_bar
                     + (sigma**2 - eta_b**2 * level.clamp(max=sigma) ** 2).clamp_min(0).sqrt() * noise())
        spec = torch.where(~observed, unobserved, torch.where(sigma < level, y_noisier, y_cleaner))
        a_next = ab[ks[i + 1]].item()
        x = math.sqrt(a_next) * spectral.v(spec)
    out = to_unit(x0).clamp(0, 1)
    return (out, trajectory) if return_trajectory else out

