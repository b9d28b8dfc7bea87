"""Real-world degradations (chapters 7–8): a random, seeded, forward-only second-order pipeline in the manner of
Real-ESRGAN (Wang et al., 2021), for training data of "real-world" ×4 super-resolution.

Each image goes twice through [blur → random resize → noise → JPEG], then to 1/4 of its side:

1. blur with a random Gaussian kernel, isotropic or anisotropic and rotated (size 7–21, std in
   ``blur_sigma``; the second pass blurs with probability ``second_blur_prob``, std in ``blur_sigma2``);
2. resize by a random factor (up, down or keep with ``resize_prob``, factor in ``resize_range``; bilinear,
   bicubic or area), so that the final ×4 reduction sees an image of another scale;
3. Gaussian noise (σ in ``noise_range``/255, grey with ``gray_noise_prob``) or, with the remaining
   probability, Poisson noise (scale in ``poisson_scale_range``);
4. JPEG compression through Pillow (quality in ``jpeg_range``);

and finally a resize to exactly (H/4, W/4) and a last JPEG. Unlike the operators of chapter 1 there is no
adjoint and no prox: the pipeline only makes measurements. ``REALESRGAN_SETTINGS`` are the values of
Real-ESRGAN's released training configuration, without its sinc filters and its generalised and plateau
kernels. The whole draw for image ``i`` comes from ``generator`` (or from ``seed + i``), so a batch is
reproducible; ``held_out_degradations`` degrades the test photographs with seeds no training step uses.
"""

import io
import math

import numpy as np
import torch
import torch.nn.functional as F

from .._checks import check_image
from .fourier import p2o

REALESRGAN_SETTINGS = {
    "blur_sigma": (0.2, 3.0), "resize_prob": (0.2, 0.7, 0.1), "resize_range": (0.15, 1.5),
    "gaussian_noise_prob": 0.5, "noise_range": (1.0, 30.0), "poisson_scale_range": (0.05, 3.0),
    "gray_noise_prob": 0.4, "jpeg_range": (30, 95),
    "second_blur_prob": 0.8, "blur_sigma2": (0.2, 1.5), "resize_prob2": (0.3, 0.4, 0.3),
    "resize_range2": (0.3, 1.2), "noise_range2": (1.0, 25.0), "poisson_scale_range2": (0.05, 2.5),
    "jpeg_range2": (30, 95),
}
HELD_OUT_SEED = 1_000_000  # test photographs are degraded with seeds from here on; training draws never are
SCALE = 4
_MODES = ("bilinear", "bicubic", "area")


def _uniform(g, low, high):
    return low + (high - low) * torch.rand((), generator=g).item()


def random_gaussian_kernel(g: torch.Generator, sigma_range) -> torch.Tensor:
    """A random ``(k, k)`` Gaussian kernel, k odd in 7–21: isotropic or (half the time) anisotropic with a
    random rotation, each std in ``sigma_range`` pixels; sums to 1."""
    size = 7 + 2 * int(torch.randint(8, (), generator=g))
    sx = _uniform(g, *sigma_range)
    sy = sx if torch.rand((), generator=g) < 0.5 else _uniform(g, *sigma_range)
    angle = _uniform(g, -math.pi, math.pi)
    r = torch.arange(size, dtype=torch.float64) - size // 2
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    c, s = math.cos(angle), math.sin(angle)
    u, v = c * xx + s * yy, -s * xx + c * yy
    kernel = torch.exp(-0.5 * ((u / sx) ** 2 + (v / sy) ** 2))
    return (kernel / kernel.sum()).float()


def _blur(x, kernel):
    k = kernel.shape[-1]
    padded = F.pad(x, (k // 2,) * 4, mode="replicate")  # any size, however small a resize made it
    # by FFT (a 21×21 kernel is slow as a spatial convolution); the replicated border absorbs the wrap-around
    blurred = torch.fft.ifft2(torch.fft.fft2(padded) * p2o(kernel.to(x), padded.shape[-2:])).real
    return blurred[..., k // 2:k // 2 + x.shape[-2], k // 2:k // 2 + x.shape[-1]]


def _resize(x, size, g):
    mode = _MODES[int(torch.randint(3, (), generator=g))]
    extra = {"align_corners": False} if mode != "area" else {}
    return F.interpolate(x, size=size, mode=mode, **extra)


def _random_resize(x, g, probs, scale_range):
    choice = torch.multinomial(torch.tensor(probs, dtype=torch.float64), 1, generator=g).item()
    factor = _uniform(g, 1.0, scale_range[1]) if choice == 0 else _uniform(g, scale_range[0], 1.0) \
        if choice == 1 else 1.0
    size = [max(8, round(n * factor)) for n in x.shape[-2:]]
    return _resize(x, size, g)


def _noise(x, g, s, noise_range, poisson_range):
    gray = torch.rand((), generator=g) < s["gray_noise_prob"]
    shape = (1, 1, *x.shape[-2:]) if gray else x.shape
    if torch.rand((), generator=g) < s["gaussian_noise_prob"]:
        sigma = _uniform(g, *noise_range) / 255
        return x + sigma * torch.randn(shape, generator=g)
    scale = _uniform(g, *poisson_range)
    # as Real-ESRGAN's: Poisson counts of the image at 256 levels per unit, their difference from the image
    # (zero-mean, larger where the image is brighter) scaled by ``scale``
    levels = 256
    base = x.clamp(0, 1).mean(1, keepdim=True) if gray else x.clamp(0, 1)
    counts = torch.poisson(base * levels, generator=g) / levels
    return x + scale * (counts - base)


def _jpeg(x, g, quality_range):
    from PIL import Image

    quality = int(torch.randint(quality_range[0], quality_range[1] + 1, (), generator=g))
    array = (x[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=quality)
    decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"), dtype=np.float32) / 255
    return torch.from_numpy(decoded).permute(2, 0, 1)[None]


def degrade_one(x: torch.Tensor, g: torch.Generator, settings: dict | None = None) -> torch.Tensor:
    """One ``(1, 3, H, W)`` image in [0, 1] through the second-order pipeline: ``(1, 3, H/4, W/4)`` in [0, 1]."""
    s = {**REALESRGAN_SETTINGS, **(settings or {})}
    h, w = x.shape[-2:]
    y = _blur(x, random_gaussian_kernel(g, s["blur_sigma"]))
    y = _random_resize(y, g, s["resize_prob"], s["resize_range"])
    y = _noise(y, g, s, s["noise_range"], s["poisson_scale_range"])
    y = _jpeg(y, g, s["jpeg_range"])
    if torch.rand((), generator=g) < s["second_blur_prob"]:
        y = _blur(y, random_gaussian_kernel(g, s["blur_sigma2"]))
    y = _random_resize(y, g, s["resize_prob2"], s["resize_range2"])
    y = _noise(y, g, s, s["noise_range2"], s["poisson_scale_range2"])
    y = _resize(y, (h // SCALE, w // SCALE), g)
    return _jpeg(y, g, s["jpeg_range2"])


def realworld_degrade(x: torch.Tensor, generator: torch.Generator | None = None, seed: int | None = None,
                      settings: dict | None = None) -> torch.Tensor:
    """``(N, 3, H, W)`` images in [0, 1] → ``(N, 3, H/4, W/4)`` real-world degraded low-resolution images.

    Image i draws from ``generator`` (in order) or, with ``seed``, from its own generator seeded ``seed + i``.
    H and W must be divisible by 4. ``settings`` override entries of ``REALESRGAN_SETTINGS``.
    """
    check_image(x, "x", channels=3, value_range=True)
    if x.shape[-1] % SCALE or x.shape[-2] % SCALE:
        raise ValueError(f"x's height and width must be divisible by {SCALE}, got {tuple(x.shape[-2:])}")
    if (generator is None) == (seed is None):
        raise ValueError("pass exactly one of generator and seed")
    unknown = set(settings or {}) - set(REALESRGAN_SETTINGS)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}; expected some of {sorted(REALESRGAN_SETTINGS)}")
    x = x.detach().cpu().float()
    out = []
    for i in range(len(x)):
        g = generator if seed is None else torch.Generator().manual_seed(seed + i)
        out.append(degrade_one(x[i:i + 1], g, settings))
    return torch.cat(out)


def held_out_degradations(x: torch.Tensor) -> torch.Tensor:
    """The test photographs' real-world measurements: ``realworld_degrade`` with the held-out seeds."""
    return realworld_degrade(x, seed=HELD_OUT_SEED)


__all__ = ["REALESRGAN_SETTINGS", "HELD_OUT_SEED", "random_gaussian_kernel", "degrade_one", "realworld_degrade",
           "held_out_degradations"]
