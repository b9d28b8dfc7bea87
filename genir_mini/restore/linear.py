"""Classical linear estimators for ``y = A x + n`` (chapter 1): inverse filter, least squares,
Tikhonov, Wiener, and a conjugate-gradient solver that works for any operator.

Every estimator here is linear in ``y`` and is a special case of one quadratic problem
(ch. 1, eqs. 1.7 and 1.11):

    x̂ = argmin_x ||y − A x||² + rho · (x − z)ᵀ R (x − z)    <=>    (AᵀA + rho R) x = Aᵀy + rho R z,

* ``R = I`` is Tikhonov: ``operator.prox(z, y, rho)``, solved in closed form by the operator,
  or by :func:`cg_solve` for any operator (the chapter checks the two agree);
* ``rho → 0`` with ``z = 0`` is the minimum-norm least-squares solution (:func:`least_squares`),
  for a blur the inverse filter ``F⁻¹[F(y) / K]`` (:func:`inverse_filter`);
* ``rho = σ²`` and ``R = C⁻¹`` for a Gaussian prior ``x ~ N(μ, C)`` whose covariance is stationary
  with power spectrum ``P(ω)`` is the Wiener filter / Gaussian MAP (:func:`wiener`).

Images are ``(N, C, H, W)`` tensors; spectra are real ``(H, W)`` tensors on the unshifted FFT grid
(``torch.fft.fftfreq`` order, DC at index ``(0, 0)``).
"""

import math

import torch

from .._checks import broadcast_image, check_image, check_int, check_positive
from ..operators import Blur, LinearOperator, SuperResolution, block_mean, cg_solve

__all__ = [
    "inverse_filter", "least_squares", "tikhonov", "cg_solve", "wiener",
    "frequency_radius", "power_law_spectrum", "radial_power_spectrum", "fit_power_spectrum",
    "constant_image", "discrepancy_rho", "closed_form",
]


# ---------------------------------------------------------------------------------------------
# input checks


def _check_operator(operator, name="operator", kind=LinearOperator):
    if not isinstance(operator, kind):
        raise TypeError(f"{name} must be a genir_mini.operators.{kind.__name__}, got {type(operator).__name__}")
    return operator


def _check_spectrum(spectrum, shape, name="spectrum"):
    if not isinstance(spectrum, torch.Tensor):
        raise TypeError(f"{name} must be a real (H, W) torch.Tensor, got {type(spectrum).__name__}")
    if spectrum.is_complex() or tuple(spectrum.shape) != tuple(shape):
        raise ValueError(f"{name} must be a real tensor of shape {tuple(shape)} (the image's H, W), "
                         f"got {spectrum.dtype} of shape {tuple(spectrum.shape)}")
    if not torch.isfinite(spectrum).all() or (spectrum <= 0).any():
        raise ValueError(f"{name} must be positive and finite everywhere")
    return spectrum


def constant_image(y: torch.Tensor, operator: LinearOperator) -> torch.Tensor:
    """The constant prior image ``z`` used by default: ``(N, C, 1, 1)``, the mean of ``operator.init(y)``
    per image and channel (broadcasts against ``(N, C, H, W)``)."""
    return operator.init(y).mean(dim=(-2, -1), keepdim=True)


# ---------------------------------------------------------------------------------------------
# inverse filter and least squares


def inverse_filter(blur: Blur, y: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """The naive inverse filter ``x = F⁻¹[F(y) / K]`` for a circular ``Blur`` (ch. 1, eq. 1.4).

    ``y``: ``(N, C, H, W)`` blurred image; returns ``(N, C, H, W)``. Frequencies where ``|K| <= eps``
    are set to 0 instead (they are in the numerical null space), so the result is the minimum-norm
    least-squares solution; ``eps`` only guards against division by zero, it does not regularise.
    Exact when ``y = A x`` exactly and ``|K| > eps`` everywhere; any noise in ``y`` is multiplied by
    ``1 / |K(ω)|``.
    """
    _check_operator(blur, "blur", Blur)
    check_image(y, "y")
    check_positive(eps, "eps")
    return blur.pinv(y, eps)


def least_squares(operator: LinearOperator, y: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """The minimum-norm least-squares solution ``A⁺ y = Aᵀ (A Aᵀ)⁻¹ y`` (ch. 1, eq. 1.2).

    Among all ``x`` minimising ``||y − A x||²`` it is the one with no component in the null space of
    ``A``; it is also ``lim_{rho→0} operator.prox(0, y, rho)``. ``A Aᵀ`` is diagonal for every operator of
    the book: ``|K|²`` in the Fourier domain (``Blur``), the block mean of ``|K|²`` on the low-resolution
    Fourier grid (``SuperResolution``), ``I / s²`` (``BlockAverageSR``), the mask (``Inpainting``), ``I``
    (``Identity``). Numerically zero eigenvalues are treated as 0: for ``SuperResolution`` those
    ``<= eps`` times the largest, for ``Blur`` (via :func:`inverse_filter`) the frequencies with
    ``|K| <= eps`` (``|K| <= 1``, so eigenvalues ``|K|² <= eps²``).

    ``y``: a measurement of ``operator``; returns an image ``(N, C, H, W)``.
    """
    _check_operator(operator)
    check_image(y, "y")
    check_positive(eps, "eps")
    return operator.pinv(y, eps)


def tikhonov(operator: LinearOperator, y: torch.Tensor, rho, z=None) -> torch.Tensor:
    """Tikhonov regularisation ``argmin_x ||y − A x||² + rho ||x − z||²`` (ch. 1, eq. 1.7).

    This *is* ``operator.prox(z, y, rho)``; the function only supplies the default prior image:
    ``z = None`` uses :func:`constant_image` (the mean colour of ``operator.init(y)``), a number gives a
    constant image, a tensor must broadcast to ``(N, C, H, W)``. ``rho > 0``: a number or ``(N,)`` tensor.
    """
    _check_operator(operator)
    check_image(y, "y")
    x0 = operator.init(y)
    z = constant_image(y, operator) if z is None else z
    return operator.prox(broadcast_image(z, x0), y, rho)


# ---------------------------------------------------------------------------------------------
# the closed-form baseline of the later chapters


def discrepancy_rho(operator: LinearOperator, z: torch.Tensor, y: torch.Tensor, sigma_n: float,
                    entries: int | None = None, steps: int = 30) -> torch.Tensor:
    """Per-image ``ρ`` ``(N,)`` with ``||y − A prox(z, y, ρ)||² = σ_n² · entries`` (Morozov's discrepancy
    principle: fit the data down to the noise level, no further), by bisection on ``log10 ρ ∈ [−6, 3]``.

    ``entries``: the number of noisy entries in one measurement (default ``operator.measured_entries(y)``).
    The residual grows with ``ρ``, so the bisection is well defined.
    """
    target = sigma_n**2 * (operator.measured_entries(y) if entries is None else entries)
    lo = torch.full((y.shape[0],), -6.0, dtype=torch.float64)
    hi = torch.full((y.shape[0],), 3.0, dtype=torch.float64)
    fast = operator.unchecked()
    for _ in range(steps):
        mid = (lo + hi) / 2
        x = fast.prox(z, y, (10**mid).to(y.dtype))
        too_far = ((fast.A(x) - y) ** 2).sum((1, 2, 3)).double() > target
        hi, lo = torch.where(too_far, mid, hi), torch.where(too_far, lo, mid)
    return (10 ** ((lo + hi) / 2)).to(y.dtype)


def closed_form(y: torch.Tensor, operator: LinearOperator, prior=None, *, sigma_n: float, steps: int = 30,
                generator: torch.Generator | None = None, callback=None) -> torch.Tensor:
    """The closed-form baseline (chapter 2): Tikhonov regularisation towards a flat image.

    ``x̂ = argmin ||y − A x||² + ρ ||x − m||²`` = ``operator.prox(m, y, ρ)``, the MAP estimate under a white
    Gaussian prior centred on ``m``, the mean of the observed values of ``y`` (per image and channel); ``ρ``
    (per image) follows the discrepancy principle (``discrepancy_rho``, ``steps`` bisection steps). For
    super-resolution the baseline is the usual reference, bicubic interpolation (``operator.init(y)``); the
    white-prior Tikhonov solution there is an interpolation with the blur kernel and scores about the same
    (chapter 1). No network: ``prior`` must be ``None``; ``generator`` and ``callback`` are unused (the
    common signature of ``restore.methods``).
    """
    check_image(y, "y")
    _check_operator(operator)
    if prior is not None:
        raise TypeError(f"the closed form uses its own flat Gaussian prior; prior must be None, got "
                        f"{type(prior).__name__}")
    if isinstance(operator, SuperResolution):
        return operator.init(y)
    m = constant_image(y, operator).expand_as(y).contiguous()
    return operator.prox(m, y, discrepancy_rho(operator, m, y, sigma_n, steps=steps))


# ---------------------------------------------------------------------------------------------
# power spectra and the Wiener filter


def frequency_radius(shape, dtype=torch.float32, device=None) -> torch.Tensor:
    """``|ω|`` in cycles per pixel on the unshifted ``(H, W)`` FFT grid (0 at DC, at most ``√2 / 2``)."""
    H, W = shape
    fy = torch.fft.fftfreq(H, dtype=dtype, device=device)
    fx = torch.fft.fftfreq(W, dtype=dtype, device=device)
    return (fy[:, None] ** 2 + fx[None, :] ** 2).sqrt()


def power_law_spectrum(shape, scale: float, alpha: float, dtype=torch.float32, device=None) -> torch.Tensor:
    """The natural-image power spectrum model ``P(ω) = scale · |ω|^(−alpha)``, ``(H, W)``.

    ``P`` is the variance per pixel carried by frequency ``ω`` (the eigenvalues of the prior covariance,
    the normalisation of ``|F(x − μ)|² / (H W)``). The DC term, where the law diverges, uses
    ``|ω| = 1 / (2 max(H, W))``; the data always determine the mean colour, so its value barely matters.
    """
    check_positive(scale, "scale")
    check_positive(alpha, "alpha", allow_zero=True)
    H, W = shape
    radius = frequency_radius(shape, torch.float64).clamp_min(0.5 / max(H, W))
    return (scale * radius ** (-alpha)).to(dtype=dtype, device=device)


def radial_power_spectrum(images: torch.Tensor, f_min: float | None = None, f_max: float = 0.5,
                          bins: int = 24) -> tuple[torch.Tensor, torch.Tensor]:
    """The periodogram ``|F(x − mean)|² / (H W)`` of ``images`` ``(N, C, H, W)``, averaged over images,
    channels and ``bins`` log-spaced rings ``f_min <= |ω| < f_max`` (default ``f_min = 2 / min(H, W)``).

    Returns ``(frequencies, power)``: two float64 tensors ``(B,)``, the mean ``|ω|`` and the mean power of
    each non-empty ring (``B <= bins``).
    """
    check_image(images, "images")
    check_int(bins, "bins")
    H, W = images.shape[-2:]
    f_min = 2 / min(H, W) if f_min is None else f_min
    check_positive(f_min, "f_min")
    if not f_min < f_max:
        raise ValueError(f"f_min ({f_min}) must be smaller than f_max ({f_max})")
    x = images.double()
    x = x - x.mean(dim=(-2, -1), keepdim=True)
    periodogram = (torch.fft.fft2(x).abs() ** 2 / (H * W)).mean(dim=(0, 1))
    radius = frequency_radius((H, W), torch.float64)
    edges = torch.logspace(math.log10(f_min), math.log10(f_max), bins + 1, dtype=torch.float64)
    freqs, power = [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        ring = (radius >= lo) & (radius < hi)
        if ring.any():
            freqs.append(radius[ring].mean())
            power.append(periodogram[ring].mean())
    if len(freqs) < 2:
        raise ValueError(f"too few frequency rings between f_min={f_min} and f_max={f_max} for {H}x{W} images")
    return torch.stack(freqs), torch.stack(power)


def fit_power_spectrum(images: torch.Tensor, f_min: float | None = None, f_max: float = 0.5,
                       bins: int = 24) -> tuple[float, float]:
    """Fit ``P(ω) = scale · |ω|^(−alpha)`` to the ring-averaged periodogram of ``images`` ``(N, C, H, W)``
    (:func:`radial_power_spectrum`) by a straight line through ``log P`` against ``log |ω|``.

    Returns ``(scale, alpha)`` as floats (photographs: ``alpha`` around 2, more after downscaling).
    """
    freqs, power = radial_power_spectrum(images, f_min, f_max, bins)
    logf, logp = freqs.log(), power.log()
    design = torch.stack([torch.ones_like(logf), logf], 1)
    intercept, slope = torch.linalg.lstsq(design, logp[:, None]).solution[:, 0]
    return math.exp(intercept.item()), -slope.item()


def wiener(operator: LinearOperator, y: torch.Tensor, sigma: float, spectrum: torch.Tensor, mean=None,
           iters: int = 300, tol: float = 1e-6) -> torch.Tensor:
    """The Wiener filter: the MAP (= posterior mean) estimate under a stationary Gaussian prior
    ``x ~ N(μ, C)``, ``C`` with power spectrum ``P(ω)``, and noise ``N(0, sigma² I)``
    (ch. 1, eq. 1.11):

        x̂ = argmin_x ||y − A x||² + sigma² (x − μ)ᵀ C⁻¹ (x − μ) = μ + C Aᵀ (A C Aᵀ + sigma² I)⁻¹ (y − A μ).

    This is Tikhonov with a frequency-dependent weight ``rho(ω) = sigma² / P(ω)``: a flat spectrum
    ``P = v`` gives ``tikhonov(operator, y, sigma² / v, μ)``. Closed forms: ``Blur``,
    ``x̂ = F⁻¹[(conj(K) F(y) + rho(ω) F(μ)) / (|K|² + rho(ω))]``; ``SuperResolution``, where ``A C Aᵀ`` is
    the block mean of ``|K|² P`` on the low-resolution Fourier grid. Any other operator is solved by
    :func:`cg_solve` (``iters``, ``tol``) with ``R = C⁻¹``.

    ``y``: measurement; ``sigma > 0``: noise level (image units); ``spectrum``: ``P``, real positive
    ``(H, W)`` for the image size (:func:`power_law_spectrum`); ``mean``: ``μ`` (default
    :func:`constant_image`). Returns ``(N, C, H, W)``.
    """
    _check_operator(operator)
    check_image(y, "y")
    check_positive(sigma, "sigma")
    x0 = operator.init(y)
    P = _check_spectrum(spectrum, x0.shape[-2:]).to(y.dtype).to(y.device)
    mu = broadcast_image(constant_image(y, operator) if mean is None else mean, x0, "mean")
    if isinstance(operator, Blur):
        K = operator.otf(y.shape[-2:], y)
        rho = sigma**2 / P
        numerator = K.conj() * torch.fft.fft2(y) + rho * torch.fft.fft2(mu)
        return torch.fft.ifft2(numerator / (K.abs() ** 2 + rho)).real
    if isinstance(operator, SuperResolution):
        s = operator.scale
        K = operator.blur.otf(x0.shape[-2:], y)
        ACAt = block_mean((K.abs() ** 2 * P).to(K.dtype), s)
        w = torch.fft.fft2(y - operator.A(mu)) / (ACAt + sigma**2)
        correction = P * K.conj() * w.repeat(1, 1, s, s)  # C Aᵀ w: zero-upsampling tiles the spectrum
        return mu + torch.fft.ifft2(correction).real

    def inverse_covariance(v):
        return torch.fft.ifft2(torch.fft.fft2(v) / P).real

    return cg_solve(operator, y, sigma**2, mu, iters=iters, x0=x0, regularizer=inverse_covariance, tol=tol)
