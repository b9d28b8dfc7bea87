"""Real-world degradations (chapters 7–8): Real-ESRGAN's second-order pipeline (Wang et al., 2021) as released
(``realesrgan/data/realesrgan_dataset.py`` and ``realesrgan/models/realesrnet_model.py`` with
``options/train_realesrnet_x4plus.yml``, on BasicSR's ``data/degradations.py``): random, seeded, forward only.

Each image goes twice through [blur → random resize → noise → JPEG], then back to 1/4 of its side:

1. blur with a random 21×21 kernel (``random_blur_kernel``): one of six kinds — isotropic and anisotropic
   Gaussian, generalised Gaussian, plateau — or, with ``sinc_prob``, an ideal circular low-pass (sinc) filter;
   the second pass blurs with probability ``second_blur_prob``, with its own ranges (the ``…2`` settings);
2. resize up, down or not (``resize_prob``) by a factor in ``resize_range`` with area, bilinear or bicubic
   interpolation; the second resize's factor is taken relative to the *final* low-resolution size;
3. Gaussian noise (σ in ``noise_range``/255, grey with ``gray_noise_prob``) or Poisson noise (scale in
   ``poisson_scale_range``), clipped to [0, 1];
4. JPEG compression (quality in ``jpeg_range``; Pillow's encoder at the rounded quality, where the release
   uses a differentiable JPEG at the real-valued one);

and the last stage picks one of two orders with equal odds: [resize to (H/4, W/4) → sinc filter → JPEG] or
[JPEG → resize → sinc filter]; the final sinc filter is applied with ``final_sinc_prob`` (otherwise an
identity). The output is rounded to 8 bits. Borders are reflected, as the release's ``filter2D`` does.

The release also sharpens its training targets (``gt_usm``: ``unsharp_mask``) and degrades the sharpened
image; ``realworld_degrade`` itself degrades what it is given, so that a test photograph's measurement is a
degradation of the photograph. Unlike the operators of chapter 1 there is no adjoint and no prox. The whole draw
for image ``i`` comes from ``generator`` (or from ``seed + i``): a batch is reproducible, and
``held_out_degradations`` degrades the test photographs with seeds no training step uses. Where the release
draws a resize once per batch, this pipeline draws it per image.
"""

import io
import math

import numpy as np
import torch
import torch.nn.functional as F

from .._checks import check_image

# The release's values (options/train_realesrnet_x4plus.yml of Real-ESRGAN; tests/test_realworld.py compares them)
REALESRGAN_SETTINGS = {
    # first degradation: blur kernel (datasets.train of the yml)
    "kernel_list": ("iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso"),
    "kernel_prob": (0.45, 0.25, 0.12, 0.03, 0.12, 0.03), "sinc_prob": 0.1, "blur_sigma": (0.2, 3.0),
    "betag_range": (0.5, 4.0), "betap_range": (1.0, 2.0),
    # second degradation: blur kernel
    "kernel_list2": ("iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso"),
    "kernel_prob2": (0.45, 0.25, 0.12, 0.03, 0.12, 0.03), "sinc_prob2": 0.1, "blur_sigma2": (0.2, 1.5),
    "betag_range2": (0.5, 4.0), "betap_range2": (1.0, 2.0),
    "final_sinc_prob": 0.8,
    # first degradation: resize, noise, JPEG (the model's options)
    "resize_prob": (0.2, 0.7, 0.1), "resize_range": (0.15, 1.5), "gaussian_noise_prob": 0.5,
    "noise_range": (1.0, 30.0), "poisson_scale_range": (0.05, 3.0), "gray_noise_prob": 0.4, "jpeg_range": (30, 95),
    # second degradation
    "second_blur_prob": 0.8, "resize_prob2": (0.3, 0.4, 0.3), "resize_range2": (0.3, 1.2),
    "gaussian_noise_prob2": 0.5, "noise_range2": (1.0, 25.0), "poisson_scale_range2": (0.05, 2.5),
    "gray_noise_prob2": 0.4, "jpeg_range2": (30, 95),
}
KERNEL_SIZE = 21  # every kernel is zero-padded to 21×21 (blur_kernel_size); sizes drawn from 7, 9, …, 21
HELD_OUT_SEED = 1_000_000  # test photographs are degraded with seeds from here on; training draws never are
SCALE = 4
USM_RADIUS, USM_WEIGHT, USM_THRESHOLD = 51, 0.5, 10  # the release's USMSharp (radius 50 made odd) and gt_usm
_MODES = ("area", "bilinear", "bicubic")


def _uniform(g, low, high):
    return low + (high - low) * torch.rand((), generator=g, dtype=torch.float64).item()


def _choice(g, probs) -> int:
    return int(torch.multinomial(torch.tensor(probs, dtype=torch.float64), 1, generator=g))


def _beta(g, beta_range):
    """The release's shape draw: below 1 or above 1 with equal odds."""
    below = torch.rand((), generator=g) < 0.5
    return _uniform(g, beta_range[0], 1.0) if below else _uniform(g, 1.0, beta_range[1])


def _quadratic_form(size, sx, sy, angle):
    """``dᵀ Σ⁻¹ d`` on the ``(size, size)`` grid of offsets d, Σ = R diag(sx², sy²) Rᵀ."""
    r = torch.arange(size, dtype=torch.float64) - size // 2
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    c, s = math.cos(angle), math.sin(angle)
    u, v = c * xx + s * yy, -s * xx + c * yy
    return (u / sx) ** 2 + (v / sy) ** 2


def circular_lowpass_kernel(cutoff: float, size: int) -> torch.Tensor:
    """The ideal circular low-pass filter of angular ``cutoff`` (rad/px), ``(size, size)``, summing to 1:
    ``cutoff · J₁(cutoff · r) / (2π r)``, ``cutoff² / 4π`` at r = 0 (the "sinc" filter that makes ringing)."""
    from scipy.special import j1

    r = np.hypot(*np.meshgrid(np.arange(size) - (size - 1) / 2, np.arange(size) - (size - 1) / 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        kernel = cutoff * j1(cutoff * r) / (2 * np.pi * r)
    kernel[(size - 1) // 2, (size - 1) // 2] = cutoff**2 / (4 * np.pi)
    return torch.from_numpy(kernel / kernel.sum()).float()


def random_blur_kernel(g: torch.Generator, s: dict, stage: str = "") -> torch.Tensor:
    """One blur kernel of a stage (``stage`` "" or "2" picks the settings), ``(21, 21)``, summing to 1: a sinc
    with ``sinc_prob`` (cutoff in [π/3, π] below size 13, [π/5, π] from 13), else a kind from ``kernel_list``
    with ``kernel_prob``: σ in ``blur_sigma`` (both axes and a rotation for the anisotropic kinds), shape β in
    ``betag_range`` (generalised: exp(−½ q^β)) or ``betap_range`` (plateau: 1/(1 + q^β))."""
    size = 7 + 2 * int(torch.randint(8, (), generator=g))
    if torch.rand((), generator=g) < s["sinc_prob" + stage]:
        cutoff = _uniform(g, math.pi / 3 if size < 13 else math.pi / 5, math.pi)
        kernel = circular_lowpass_kernel(cutoff, size).double()
    else:
        kind = s["kernel_list" + stage][_choice(g, s["kernel_prob" + stage])]
        sigma = s["blur_sigma" + stage]
        sx = _uniform(g, *sigma)
        sy, angle = (sx, 0.0) if kind.endswith("iso") and not kind.endswith("aniso") else \
            (_uniform(g, *sigma), _uniform(g, -math.pi, math.pi))
        q = _quadratic_form(size, sx, sy, angle)
        if kind.startswith("generalized"):
            kernel = torch.exp(-0.5 * q ** _beta(g, s["betag_range" + stage]))
        elif kind.startswith("plateau"):
            kernel = 1 / (q ** _beta(g, s["betap_range" + stage]) + 1)
        else:
            kernel = torch.exp(-0.5 * q)
    pad = (KERNEL_SIZE - size) // 2
    return F.pad(kernel / kernel.sum(), (pad,) * 4).float()


def random_final_sinc(g: torch.Generator, s: dict) -> torch.Tensor | None:
    """The last stage's sinc filter ``(21, 21)`` (cutoff in [π/3, π]) with ``final_sinc_prob``, else None."""
    if torch.rand((), generator=g) >= s["final_sinc_prob"]:
        return None
    size = 7 + 2 * int(torch.randint(8, (), generator=g))
    pad = (KERNEL_SIZE - size) // 2
    return F.pad(circular_lowpass_kernel(_uniform(g, math.pi / 3, math.pi), size), (pad,) * 4)


def _reflect_pad(x, pad):
    """Reflected borders of ``pad`` pixels, reflecting again where the image is narrower than the pad."""
    while pad > 0:
        step = min(pad, x.shape[-1] - 1, x.shape[-2] - 1)
        if step < 1:
            return F.pad(x, (pad,) * 4, mode="replicate")
        x, pad = F.pad(x, (step,) * 4, mode="reflect"), pad - step
    return x


def filter2d(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """``(N, C, H, W)`` correlated with an odd ``(k, k)`` kernel over reflected borders (the release's
    ``filter2D``)."""
    k = kernel.shape[-1]
    out = F.conv2d(_reflect_pad(x, k // 2).flatten(0, 1)[:, None], kernel.to(x)[None, None])
    return out.view_as(x)


def unsharp_mask(x: torch.Tensor) -> torch.Tensor:
    """The release's sharpening of training targets (``gt_usm``, BasicSR's ``USMSharp``): ``(N, C, H, W)`` in
    [0, 1] → same shape, ``x + ½(x − G ⊛ x)`` (G: 51-tap Gaussian, OpenCV's σ = 8) where the residual exceeds
    10/255, blended in by the blurred mask."""
    g1 = torch.from_numpy(_opencv_gaussian(USM_RADIUS)).to(x)
    blur = _separable(x, g1)
    residual = x - blur
    mask = _separable((residual.abs() * 255 > USM_THRESHOLD).to(x), g1)
    sharp = (x + USM_WEIGHT * residual).clamp(0, 1)
    return mask * sharp + (1 - mask) * x


def _opencv_gaussian(size):
    """``cv2.getGaussianKernel(size, 0)``: σ = 0.3((size − 1)/2 − 1) + 0.8."""
    sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8
    r = np.arange(size) - (size - 1) / 2
    k = np.exp(-r**2 / (2 * sigma**2))
    return k / k.sum()


def _separable(x, k1):
    pad = len(k1) // 2
    flat = _reflect_pad(x, pad).flatten(0, 1)[:, None]
    flat = F.conv2d(F.conv2d(flat, k1.view(1, 1, -1, 1)), k1.view(1, 1, 1, -1))
    return flat.view_as(x)


def _resize(x, g, size=None, factor=None):
    mode = _MODES[int(torch.randint(3, (), generator=g))]
    extra = {} if mode == "area" else {"align_corners": False}
    if factor is not None:
        size = [max(1, int(n * factor)) for n in x.shape[-2:]]
    return F.interpolate(x, size=size, mode=mode, **extra)


def _resize_factor(g, probs, scale_range):
    choice = _choice(g, probs)  # up, down, keep
    return _uniform(g, 1.0, scale_range[1]) if choice == 0 else \
        _uniform(g, scale_range[0], 1.0) if choice == 1 else 1.0


def _levels(x):
    """The release's Poisson intensity: 2^⌈log₂ n⌉ for n distinct 8-bit values in the image."""
    return 2 ** math.ceil(math.log2(max(len(torch.unique(x)), 2)))


def _noise(x, g, s, stage):
    """Gaussian (with ``gaussian_noise_prob``) or Poisson noise, grey with ``gray_noise_prob``; clipped."""
    gray = bool(torch.rand((), generator=g) < s["gray_noise_prob" + stage])
    if torch.rand((), generator=g) < s["gaussian_noise_prob" + stage]:
        sigma = _uniform(g, *s["noise_range" + stage]) / 255
        noise = sigma * torch.randn((1, 1, *x.shape[-2:]) if gray else x.shape, generator=g)
    else:
        scale = _uniform(g, *s["poisson_scale_range" + stage])
        base = (0.2989 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:]) if gray else x
        base = (base * 255).round().clamp(0, 255) / 255
        levels = _levels(base)
        noise = scale * (torch.poisson(base * levels, generator=g) / levels - base)
    return (x + noise).clamp(0, 1)


def _jpeg(x, g, quality_range):
    from PIL import Image

    quality = round(_uniform(g, *quality_range))
    array = (x[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=quality)
    decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"), dtype=np.float32) / 255
    return torch.from_numpy(decoded.copy()).permute(2, 0, 1)[None]


def degrade_one(x: torch.Tensor, g: torch.Generator, settings: dict | None = None) -> torch.Tensor:
    """One ``(1, 3, H, W)`` image in [0, 1] through the second-order pipeline: ``(1, 3, H/4, W/4)`` in [0, 1]."""
    s = {**REALESRGAN_SETTINGS, **(settings or {})}
    h, w = x.shape[-2:]
    # the dataset's three kernels first, as the release draws them with the image
    kernel1, kernel2, sinc = random_blur_kernel(g, s), random_blur_kernel(g, s, "2"), random_final_sinc(g, s)
    y = filter2d(x, kernel1)
    y = _resize(y, g, factor=_resize_factor(g, s["resize_prob"], s["resize_range"]))
    y = _noise(y, g, s, "")
    y = _jpeg(y.clamp(0, 1), g, s["jpeg_range"])
    if torch.rand((), generator=g) < s["second_blur_prob"]:
        y = filter2d(y, kernel2)
    factor = _resize_factor(g, s["resize_prob2"], s["resize_range2"])
    y = _resize(y, g, size=[max(1, int(h / SCALE * factor)), max(1, int(w / SCALE * factor))])
    y = _noise(y, g, s, "2")
    final = (h // SCALE, w // SCALE)
    if torch.rand((), generator=g) < 0.5:  # resize back + sinc, then JPEG
        y = _resize(y, g, size=final)
        y = y if sinc is None else filter2d(y, sinc)
        y = _jpeg(y.clamp(0, 1), g, s["jpeg_range2"])
    else:  # JPEG, then resize back + sinc
        y = _jpeg(y.clamp(0, 1), g, s["jpeg_range2"])
        y = _resize(y, g, size=final)
        y = y if sinc is None else filter2d(y, sinc)
    return ((y * 255).round() / 255).clamp(0, 1)


def realworld_degrade(x: torch.Tensor, generator: torch.Generator | None = None, seed: int | None = None,
                      settings: dict | None = None) -> torch.Tensor:
    """``(N, 3, H, W)`` images in [0, 1] → ``(N, 3, H/4, W/4)`` real-world degraded low-resolution images.

    Image i draws from ``generator`` (in order) or, with ``seed``, from its own generator seeded ``seed + i``.
    H and W must be divisible by 4. ``settings`` override entries of ``REALESRGAN_SETTINGS``. The result lies
    on the centre-aligned grid (``CentredBicubicSR``).
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


__all__ = ["REALESRGAN_SETTINGS", "HELD_OUT_SEED", "circular_lowpass_kernel", "random_blur_kernel",
           "random_final_sinc", "filter2d", "unsharp_mask", "degrade_one", "realworld_degrade",
           "held_out_degradations"]
