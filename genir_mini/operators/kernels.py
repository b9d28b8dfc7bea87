"""Blur kernels: Gaussian, random motion, bicubic-like and box (all odd-sized, summing to 1).

Kernels are ``(h, w)`` float32 tensors with odd ``h`` and ``w``: an odd kernel has a centre pixel,
so the circular convolution of chapter 1 does not shift the image.
"""

import math

import torch

from .._checks import check_int, check_positive


def _check_size(size, name="size"):
    if not isinstance(size, int) or size < 1 or size % 2 == 0:
        raise ValueError(f"{name} must be an odd positive integer (a kernel needs a centre pixel), got {size!r}")


def check_kernel(kernel, name="kernel"):
    """Validate a 2-D kernel: a float tensor, odd-sized, summing to about 1; return it as float32."""
    if not isinstance(kernel, torch.Tensor):
        kernel = torch.as_tensor(kernel)
    if kernel.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (h, w) tensor, got shape {tuple(kernel.shape)}")
    h, w = kernel.shape
    if h % 2 == 0 or w % 2 == 0:
        raise ValueError(f"{name} must have odd height and width (it needs a centre pixel), got {h}x{w}")
    kernel = kernel.to(torch.float32)
    if not torch.isfinite(kernel).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    if abs(kernel.sum().item() - 1) > 1e-3:
        raise ValueError(f"{name} must sum to 1 (a blur preserves brightness), got {kernel.sum().item():.4f}")
    return kernel


def gaussian_kernel(size: int = 25, std: float = 3.0) -> torch.Tensor:
    """Isotropic Gaussian ``(size, size)`` kernel with standard deviation ``std`` pixels."""
    _check_size(size)
    check_positive(std, "std")
    r = torch.arange(size, dtype=torch.float64) - size // 2
    g = torch.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * std**2))
    return (g / g.sum()).float()


def box_kernel(size: int = 5) -> torch.Tensor:
    """Uniform ``(size, size)`` kernel (odd ``size``; the aligned s×s block mean is ``BlockAverageSR``)."""
    _check_size(size)
    return torch.full((size, size), 1.0 / size**2)


def _cubic(t: torch.Tensor, a: float = -0.5) -> torch.Tensor:
    """Keys' cubic convolution kernel (the one behind MATLAB's and PIL's bicubic)."""
    t = t.abs()
    near = (a + 2) * t**3 - (a + 3) * t**2 + 1
    far = a * t**3 - 5 * a * t**2 + 8 * a * t - 4 * a
    return torch.where(t <= 1, near, torch.where(t < 2, far, torch.zeros_like(t)))


def bicubic_kernel(scale: int) -> torch.Tensor:
    """The anti-aliasing kernel of bicubic ×``scale`` downsampling, centred, ``(4·scale+1)²``.

    Bicubic downsampling by ``s`` filters with Keys' cubic stretched by ``s`` and then decimates;
    with the upper-left decimation of ``SuperResolution`` this kernel is centred on the kept pixel.
    (MATLAB's ``imresize`` samples at block centres instead, an offset of (s−1)/2 pixels for even s.)
    """
    check_int(scale, "scale")
    r = torch.arange(-2 * scale, 2 * scale + 1, dtype=torch.float64) / scale
    k1 = _cubic(r)
    k = k1[:, None] * k1[None, :]
    return (k / k.sum()).float()


def centred_bicubic_kernel(scale: int) -> torch.Tensor:
    """The kernel that turns upper-left decimation into centre-aligned bicubic ×1/``scale`` resizing.

    Low-resolution pixel i of a centre-aligned resize averages high-resolution pixels ``s·i + m`` with weights
    ``cubic((m − (s−1)/2)/s)`` (Keys' cubic stretched by s, as ``F.interpolate(..., antialias=True)``, PIL
    and MATLAB's ``imresize``). Written as a convolution centred on the kept pixel ``s·i``, the kernel is
    that weight at offset ``−m``: odd-sized (zero-padded on one side for even s) and separable, sums to 1.
    """
    check_int(scale, "scale")
    centre = (scale - 1) / 2
    m = torch.arange(math.floor(centre - 2 * scale) + 1, math.ceil(centre + 2 * scale), dtype=torch.float64)
    half = int(max(m.abs().max().item(), 1))
    k1 = torch.zeros(2 * half + 1, dtype=torch.float64)
    k1[half - m.long()] = _cubic((m - centre) / scale)
    k1 = k1 / k1.sum()
    return (k1[:, None] * k1[None, :]).float()


def motion_kernel(size: int = 25, length: float = 10.0, generator: torch.Generator | None = None,
                  seed: int | None = None) -> torch.Tensor:
    """A random camera-shake kernel: a smooth random trajectory of about ``length`` pixels.

    The trajectory is a random walk with momentum (in the spirit of Boracchi & Foi's model and of the
    kernels used by DPS/DiffPIR), rasterised with bilinear splatting and centred at its centre of mass.
    """
    _check_size(size)
    check_positive(length, "length")
    if length > size - 3:
        raise ValueError(f"length must be at most size - 3 = {size - 3} so the trajectory fits, got {length}")
    if generator is None:
        generator = torch.Generator().manual_seed(0 if seed is None else seed)
    n = 200
    angle = torch.rand((), generator=generator) * 2 * math.pi
    turns = torch.randn(n, generator=generator, dtype=torch.float64).cumsum(0) * 0.08
    heading = angle + turns
    step = length / n
    pts = torch.stack([torch.cos(heading), torch.sin(heading)], -1).cumsum(0) * step
    pts = pts - pts.mean(0)  # centre of mass at the kernel centre
    pts = pts.clamp(-(size // 2) + 1, size // 2 - 1) + size // 2
    k = torch.zeros(size, size, dtype=torch.float64)
    i0, j0 = pts[:, 0].floor().long(), pts[:, 1].floor().long()
    fi, fj = pts[:, 0] - i0, pts[:, 1] - j0
    for di, wi in ((0, 1 - fi), (1, fi)):
        for dj, wj in ((0, 1 - fj), (1, fj)):
            k.index_put_((i0 + di, j0 + dj), wi * wj, accumulate=True)
    return (k / k.sum()).float()
