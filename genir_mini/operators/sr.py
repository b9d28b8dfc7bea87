"""Super-resolution operators (chapter 1): blur + s-fold decimation, and block averaging.

Three "×s downsamplers" on two pixel grids (do not mix them up):

* ``SuperResolution(scale, kernel)``: ``y = (k ⊛ x)↓s``, keeping the upper-left pixel of each s×s
  block (USRNet / DPIR / DiffPIR / Converse2D). Its prox is the closed form of Zhao et al. (2016).
  Chapters 5–6's ``sr4`` task keeps this grid, because DiffPIR's settings and results were obtained on it.
* ``CentredBicubicSR(scale)``: bicubic ×1/s resizing with antialiasing on the *centre-aligned* grid of
  PIL, OpenCV, MATLAB's ``imresize`` and Real-ESRGAN (low-resolution pixel i sits at high-resolution
  coordinate s·i + (s−1)/2): real-world SR (chapters 7–8) and any photograph a reader downscales. The
  same algebra as ``SuperResolution`` with the half-pixel shift baked into the kernel.
* ``BlockAverageSR(scale)``: ``y`` = the mean of each s×s block (OFTSR's ``sr_avp``). ``A Aᵀ = I/s²``
  gives the prox ``x = z + up(y - A z) / (1 + s² rho)`` (``up`` = nearest-neighbour replication).

The grids differ by (s − 1)/2 = 1.5 px at s = 4: an upsampling on the wrong grid shifts the whole image.
"""

import torch
import torch.nn.functional as F

from .._checks import check_image, check_int
from .base import LinearOperator, Spectral
from .blur import Blur
from .fourier import block_mean, fft_prox, zero_upsample
from .kernels import bicubic_kernel, centred_bicubic_kernel


def _check_divisible(shape, scale, name="x"):
    H, W = shape[-2:]
    if H % scale or W % scale:
        raise ValueError(f"the height and width of {name} ({H}x{W}) must be divisible by scale={scale}")


def upsample_bicubic_aligned(y: torch.Tensor, scale: int) -> torch.Tensor:
    """Bicubic ×s interpolation that puts LR pixel ``(i, j)`` at HR pixel ``(s·i, s·j)`` (circularly).

    This is the grid of upper-left decimation, so it is the right initial guess for ``SuperResolution``
    (a plain ``F.interpolate`` would be off by (s−1)/2 pixels).
    """
    N, _, h, w = y.shape
    pad = 2
    padded = F.pad(y, (pad, pad, pad, pad), mode="circular")
    rows = torch.arange(h * scale, dtype=y.dtype, device=y.device) / scale + pad
    cols = torch.arange(w * scale, dtype=y.dtype, device=y.device) / scale + pad
    gy = 2 * rows / (h + 2 * pad - 1) - 1
    gx = 2 * cols / (w + 2 * pad - 1) - 1
    grid = torch.stack(torch.meshgrid(gy, gx, indexing="ij")[::-1], -1).expand(N, -1, -1, -1)
    return F.grid_sample(padded, grid, mode="bicubic", padding_mode="border", align_corners=True)


class SuperResolution(LinearOperator):
    """``A x = (k ⊛ x)↓s`` with circular blur and upper-left decimation.

    ``kernel`` defaults to ``bicubic_kernel(scale)``; any odd kernel summing to 1 works
    (``gaussian_kernel``, ``box_kernel``). Prox: Zhao et al. (2016), eq. (1.3) of the reference notes.
    """

    def __init__(self, scale: int = 4, kernel: torch.Tensor | None = None):
        self.scale = check_int(scale, "scale")
        self.blur = Blur(bicubic_kernel(scale) if kernel is None else kernel)

    @property
    def kernel(self):
        return self.blur.kernel

    def output_shape(self, shape):
        *lead, H, W = shape
        return (*lead, H // self.scale, W // self.scale)

    def _A(self, x):
        _check_divisible(x.shape, self.scale)
        return self.blur._A(x)[..., :: self.scale, :: self.scale]

    def _At(self, y):
        return self.blur._At(zero_upsample(y, self.scale))

    def _prox(self, z, y, rho):
        _check_divisible(z.shape, self.scale, "z")
        return fft_prox(self.blur.otf(z.shape[-2:], z), y, z, rho, self.scale)

    def _init(self, y):
        return upsample_bicubic_aligned(y, self.scale)

    def pinv(self, y, eps=1e-12):
        """``Aᵀ (A Aᵀ)⁻¹ y``: ``A Aᵀ`` is diagonal on the low-resolution Fourier grid (the block mean of
        ``|K|²``); eigenvalues ``<= eps`` times the largest are treated as 0."""
        check_image(y, "y")
        s = self.scale
        K = self.blur.otf((y.shape[-2] * s, y.shape[-1] * s), y)
        AAt = block_mean((K.abs() ** 2).to(K.dtype), s).real
        safe = AAt > eps * AAt.max()
        w = torch.fft.ifft2(torch.fft.fft2(y) * torch.where(safe, 1 / AAt.clamp_min(eps), 0.0)).real
        return self.At(w)

    def _describe(self):
        return {"scale": self.scale, "kernel": f"{self.kernel.shape[0]}x{self.kernel.shape[1]}"}


def upsample_bicubic_centred(y: torch.Tensor, scale: int) -> torch.Tensor:
    """Bicubic ×s interpolation on the centre-aligned grid (Keys' a = −0.5, edges clamped): what PIL's
    ``Image.resize(..., BICUBIC)`` gives, the initial guess of ``CentredBicubicSR``."""
    return F.interpolate(y, scale_factor=scale, mode="bicubic", align_corners=False, antialias=True)


class CentredBicubicSR(SuperResolution):
    """``A x`` = antialiased bicubic ×1/s resizing on the centre-aligned grid (circular borders): ``(k_c ⊛ x)↓s``
    with ``k_c = centred_bicubic_kernel(scale)``, so ``Aᵀ``, the prox and ``pinv`` are ``SuperResolution``'s.

    Away from the borders ``A x`` equals ``F.interpolate(x, scale_factor=1/s, mode="bicubic", antialias=True)``
    (and PIL's bicubic reduction); ``init`` is the centre-aligned bicubic upsampling.
    """

    def __init__(self, scale: int = 4):
        scale = check_int(scale, "scale")
        super().__init__(scale, centred_bicubic_kernel(scale))

    def _init(self, y):
        return upsample_bicubic_centred(y, self.scale)

    def _describe(self):
        return {"scale": self.scale, "grid": "centre"}


class BlockAverageSR(LinearOperator, Spectral):
    """``A x`` = mean of each s×s block; ``Aᵀ y = up(y) / s²`` (nearest replication).

    Spectral: per block, the unit block-mean direction (all entries 1/s) has singular value 1/s, its
    s² − 1 orthogonal complement 0; V is a Householder reflection per block (symmetric, its own inverse).
    """

    def __init__(self, scale: int = 4):
        self.scale = check_int(scale, "scale")

    def output_shape(self, shape):
        *lead, H, W = shape
        return (*lead, H // self.scale, W // self.scale)

    def _A(self, x):
        _check_divisible(x.shape, self.scale)
        return F.avg_pool2d(x, self.scale)

    def _up(self, y):
        return F.interpolate(y, scale_factor=self.scale, mode="nearest")

    def _At(self, y):
        return self._up(y) / self.scale**2

    def _prox(self, z, y, rho):
        _check_divisible(z.shape, self.scale, "z")
        return z + self._up(y - self._A(z)) / (1 + self.scale**2 * rho)

    def _init(self, y):
        return F.interpolate(y, scale_factor=self.scale, mode="bicubic", align_corners=False)

    def pinv(self, y, eps=1e-12):
        return self.At(y) * self.scale**2

    # Spectral (DDRM): spectra have shape (N, C, H/s, W/s, s²), coordinate 0 along the block mean
    def _householder(self, like):
        """The unit vector u of the reflection I − 2uuᵀ that maps e₁ to the block-mean direction 1/s."""
        s = self.scale
        u = -torch.full((s * s,), 1 / s, dtype=like.dtype, device=like.device)
        u[0] += 1
        return u / u.norm()

    def svd_vt(self, x):
        s, u = self.scale, self._householder(x)
        n, c, h, w = x.shape
        blocks = x.reshape(n, c, h // s, s, w // s, s).permute(0, 1, 2, 4, 3, 5)
        blocks = blocks.reshape(n, c, h // s, w // s, s * s)
        return blocks - 2 * (blocks @ u)[..., None] * u

    def svd_v(self, spectrum):
        s, u = self.scale, self._householder(spectrum)
        blocks = spectrum - 2 * (spectrum @ u)[..., None] * u
        n, c, hs, ws, _ = blocks.shape
        return blocks.reshape(n, c, hs, ws, s, s).permute(0, 1, 2, 4, 3, 5).reshape(n, c, hs * s, ws * s)

    def singular_values(self, shape, like):
        values = torch.zeros(self.scale**2, dtype=like.dtype, device=like.device)
        values[0] = 1 / self.scale
        return values

    def svd_y_bar(self, y, shape):
        out = torch.zeros((*y.shape, self.scale**2), dtype=y.dtype, device=y.device)
        out[..., 0] = self.scale * y  # the block mean m has coordinate s·m along 1/s, and y = m
        return out

    def _describe(self):
        return {"scale": self.scale}


__all__ = ["SuperResolution", "CentredBicubicSR", "BlockAverageSR", "upsample_bicubic_aligned",
           "upsample_bicubic_centred"]
