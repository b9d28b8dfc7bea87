"""Image quality metrics: PSNR and SSIM (chapter 1).

Convention (tested against scikit-image to 1e-6 dB / 1e-4):

* ``psnr(x, ref)`` = ``skimage.metrics.peak_signal_noise_ratio(ref, x, data_range=1)`` per image;
* ``ssim(x, ref)`` = ``skimage.metrics.structural_similarity(ref, x, data_range=1, channel_axis=0,
  gaussian_weights=True, sigma=1.5, use_sample_covariance=False)`` per image — the Gaussian-window
  SSIM of Wang et al. (2004), averaged over channels, over the pixels at least 5 from the border.

Both return a float64 ``(N,)`` tensor (one value per image). Images are compared after clipping nothing: pass
the estimate as is, clamp it first if you want the clipped score.
"""


import torch
import torch.nn.functional as F

from .._checks import check_image, check_same_shape


def _check_pair(x, ref, data_range=None):
    """Shapes always; with ``data_range``, also that ``ref`` lies in ``[0, data_range]``."""
    check_image(x, "x")
    check_image(ref, "ref")
    check_same_shape(x, ref, "x", "ref")
    if data_range is None:
        return
    if not data_range > 0:
        raise ValueError(f"data_range must be positive, got {data_range}")
    if ref.min() < -1e-6 or ref.max() > data_range + 1e-6:
        raise ValueError(f"ref must have values in [0, data_range={data_range}], got range "
                         f"[{ref.min().item():.3g}, {ref.max().item():.3g}] (images in [0, 255]: divide by 255)")


def mse(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Mean squared error per image, ``(N,)`` float64."""
    _check_pair(x, ref)
    return ((x.double() - ref.double()) ** 2).mean(dim=(1, 2, 3))


def psnr(x: torch.Tensor, ref: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image, ``(N,)``: ``10 log10(range² / MSE)``.

    Identical images give 200 dB (the MSE is floored at 1e-20) where scikit-image gives ``inf``.
    """
    _check_pair(x, ref, data_range)
    err = mse(x, ref)
    return 10 * torch.log10(data_range**2 / err.clamp_min(1e-20))


def _gaussian_window(sigma=1.5, truncate=3.5, dtype=torch.float64):
    radius = int(truncate * sigma + 0.5)
    r = torch.arange(-radius, radius + 1, dtype=dtype)
    g = torch.exp(-(r**2) / (2 * sigma**2))
    return g / g.sum()


def ssim(x: torch.Tensor, ref: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Structural similarity per image, ``(N,)`` (Gaussian window σ = 1.5, 11×11, border cropped)."""
    _check_pair(x, ref, data_range)
    g = _gaussian_window()
    size = g.numel()
    if min(x.shape[-2:]) < size:
        raise ValueError(f"ssim needs images of at least {size}x{size} pixels, got {tuple(x.shape[-2:])}")
    C = x.shape[1]
    wy = g.view(1, 1, -1, 1).repeat(C, 1, 1, 1)
    wx = g.view(1, 1, 1, -1).repeat(C, 1, 1, 1)

    def blur(t):  # 'valid' separable filtering = scikit-image's filtering followed by its border crop
        return F.conv2d(F.conv2d(t, wy, groups=C), wx, groups=C)

    a, b = x.double(), ref.double()
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return s.mean(dim=(1, 2, 3))


__all__ = ["mse", "psnr", "ssim"]


def detail_ratio(x: torch.Tensor, ref: torch.Tensor, f_min: float = 0.25) -> torch.Tensor:
    """How much fine detail ``x`` has relative to ``ref``: the ratio of their spectral energies at spatial
    frequencies ``|ω| >= f_min`` cycles per pixel (up to the Nyquist corners), per image, ``(N,)`` float64.

    1 means as much high-frequency energy as the reference; below 1, blurrier (an MMSE estimate averages
    detail away); above 1, noisier or sharper than the truth. It measures the *amount* of detail, not
    whether it is the right detail: read it next to PSNR, never instead of it (chapter 5).
    """
    _check_pair(x, ref)
    if not 0 < f_min < 0.5:
        raise ValueError(f"f_min must be in (0, 0.5) cycles per pixel, got {f_min}")
    H, W = x.shape[-2:]
    fy = torch.fft.fftfreq(H, dtype=torch.float64)
    fx = torch.fft.fftfreq(W, dtype=torch.float64)
    band = (fy[:, None] ** 2 + fx[None, :] ** 2).sqrt() >= f_min

    def energy(z):
        return (torch.fft.fft2(z.double()).abs() ** 2 * band).sum(dim=(1, 2, 3))

    return energy(x) / energy(ref).clamp_min(1e-20)
