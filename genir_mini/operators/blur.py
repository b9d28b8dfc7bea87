"""Circular blur via the FFT (chapter 1): ``A x = k ⊛ x`` with periodic boundaries."""

import torch

from .base import LinearOperator, Spectral
from .fourier import fft_prox, p2o
from .kernels import check_kernel


class Blur(LinearOperator, Spectral):
    """``A x = k ⊛ x`` (circular). ``Aᵀ`` convolves with the flipped kernel (conjugate OTF).

    Prox (the Wiener-like filter of chapter 1):
    ``x = F⁻¹[(conj(K) F(y) + rho F(z)) / (|K|² + rho)]``. Spectral: the unitary DFT diagonalises A, with
    singular values ``|K(ω)|`` (the phase of K goes into U).
    """

    def __init__(self, kernel: torch.Tensor):
        self.kernel = check_kernel(kernel)
        self._otf_cache = {}

    def otf(self, shape, like: torch.Tensor) -> torch.Tensor:
        """The OTF for images of spatial ``shape``, on ``like``'s device and precision (cached)."""
        key = (tuple(shape), str(like.device), like.dtype)
        if key not in self._otf_cache:
            self._otf_cache[key] = p2o(self.kernel.to(like.device, like.dtype), shape)
        return self._otf_cache[key]

    def _A(self, x):
        K = self.otf(x.shape[-2:], x)
        return torch.fft.ifft2(torch.fft.fft2(x) * K).real

    def _At(self, y):
        K = self.otf(y.shape[-2:], y)
        return torch.fft.ifft2(torch.fft.fft2(y) * K.conj()).real

    def _prox(self, z, y, rho):
        return fft_prox(self.otf(z.shape[-2:], z), y, z, rho, 1)

    def _init(self, y):
        return y.clone()

    def pinv(self, y, eps=1e-12):
        """``F⁻¹[F(y) / K]`` where ``|K| > eps``, 0 elsewhere (the inverse filter, minimum norm)."""
        from .._checks import check_image

        check_image(y, "y")
        K = self.otf(y.shape[-2:], y)
        safe = K.abs() > eps
        inverse = torch.where(safe, 1 / torch.where(safe, K, torch.ones_like(K)), torch.zeros_like(K))
        return torch.fft.ifft2(torch.fft.fft2(y) * inverse).real

    # Spectral (DDRM): V = the unitary inverse DFT, Σ = |K|, U = V · phase(K)
    def svd_vt(self, x):
        return torch.fft.fft2(x, norm="ortho")

    def svd_v(self, spectrum):
        return torch.fft.ifft2(spectrum, norm="ortho").real

    def singular_values(self, shape, like):
        return self.otf(shape[-2:], like).abs()

    def svd_y_bar(self, y, shape):
        K = self.otf(shape[-2:], y)
        observed = K.abs() > 0
        safe = torch.where(observed, K, torch.ones_like(K))
        return torch.where(observed, torch.fft.fft2(y, norm="ortho") / safe, 0)

    def _describe(self):
        return {"kernel": f"{self.kernel.shape[0]}x{self.kernel.shape[1]}"}
