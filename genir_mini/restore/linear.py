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

from .._checks import check_image, check_positive
from ..operators import BlockAverageSR, Blur, Identity, Inpainting, LinearOperator, SuperResolution, block_mean

__all__ = [
    "inverse_filter", "least_squares", "tikhonov", "cg_solve", "wiener",
    "frequency_radius", "power_law_spectrum", "radial_power_spectrum", "fit_power_spectrum",
    "constant_image",
]


# ---------------------------------------------------------------------------------------------
# input checks


def _check_operator(operator, name="operator", kind=LinearOperator):
    if not isinstance(operator, kind):
        raise TypeError(f"{name} must be a genir_mini.operators.{kind.__name__}, got {type(operator).__name__}")
    return operator


def _check_iters(iters, name="iters"):
    if isinstance(iters, bool) or not isinstance(iters, int) or iters < 1:
        raise ValueError(f"{name} must be a positive integer, got {iters!r}")
    return iters


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


def _as_image(z, like: torch.Tensor, name="z"):
    """``z`` (None, a number or a tensor broadcastable to ``like``) as a tensor of ``like``'s shape."""
    if z is None:
        return torch.zeros_like(like)
    if isinstance(z, (int, float)):
        return torch.full_like(like, float(z))
    if not isinstance(z, torch.Tensor):
        raise TypeError(f"{name} must be None, a number or a tensor, got {type(z).__name__}")
    try:
        return torch.broadcast_to(z.to(like.dtype), like.shape).clone()
    except RuntimeError:
        raise ValueError(f"{name} of shape {tuple(z.shape)} does not broadcast to the image shape "
                         f"{tuple(like.shape)}") from None


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
    K = blur.otf(y.shape[-2:], y)
    safe = K.abs() > eps
    inverse = torch.where(safe, 1 / torch.where(safe, K, torch.ones_like(K)), torch.zeros_like(K))
    return torch.fft.ifft2(torch.fft.fft2(y) * inverse).real


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
    if isinstance(operator, Blur):
        return inverse_filter(operator, y, eps)
    if isinstance(operator, SuperResolution):
        s = operator.scale
        K = operator.blur.otf((y.shape[-2] * s, y.shape[-1] * s), y)
        AAt = block_mean((K.abs() ** 2).to(K.dtype), s).real  # eigenvalues of A Aᵀ on the LR grid
        safe = AAt > eps * AAt.max()
        w = torch.fft.ifft2(torch.fft.fft2(y) * torch.where(safe, 1 / AAt.clamp_min(eps), 0.0)).real
        return operator.At(w)
    if isinstance(operator, BlockAverageSR):
        return operator.At(y) * operator.scale**2
    if isinstance(operator, (Inpainting, Identity)):
        return operator.At(y)
    raise TypeError(f"least_squares has no closed form for operator {type(operator).__name__}; "
                    "use cg_solve(operator, y, rho, iters=...) with a small rho")


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
    return operator.prox(_as_image(z, x0), y, rho)


# ---------------------------------------------------------------------------------------------
# conjugate gradients


def cg_solve(operator: LinearOperator, y: torch.Tensor, rho, z=None, iters: int = 100, x0=None,
             regularizer=None, tol: float = 0.0) -> torch.Tensor:
    """Solve ``(AᵀA + rho R) x = Aᵀy + rho R z`` by conjugate gradients, for ANY linear operator.

    Only ``operator.A`` and ``operator.At`` are used, so this checks the closed-form ``prox`` of every
    operator (``R = I``) and solves problems that have no closed form (ch. 1, eq. 1.7).
    ``y``: measurement; ``rho > 0``: a number or ``(N,)`` tensor; ``z``: prior image (``None`` = 0,
    a number, or a tensor broadcastable to ``(N, C, H, W)``); ``iters``: the number of CG iterations;
    ``x0``: starting image (default ``z``); ``regularizer``: a callable ``R(v)`` for a symmetric positive
    definite ``R`` (default the identity); ``tol``: an image stops iterating once its residual norm is below
    ``max(tol, 10 · machine epsilon)`` times the norm of its right-hand side (beyond rounding level more
    iterations cannot help, and they would compute with denormal numbers, which is very slow); the loop ends
    when every image has stopped. Each image of the batch is its own system.
    Returns ``x`` of shape ``(N, C, H, W)`` in ``y``'s dtype (use float64 for tight checks).
    """
    _check_operator(operator)
    check_image(y, "y")
    _check_iters(iters)
    check_positive(tol, "tol", allow_zero=True)
    check_positive(rho, "rho")
    if regularizer is not None and not callable(regularizer):
        raise TypeError(f"regularizer must be a callable R(v) or None, got {type(regularizer).__name__}")
    R = regularizer or (lambda v: v)
    Aty = operator.At(y)
    rho = torch.as_tensor(rho, dtype=y.dtype, device=y.device)
    rho = rho.view(-1, 1, 1, 1) if rho.ndim == 1 else rho
    z = _as_image(z, Aty)
    x = z.clone() if x0 is None else _as_image(check_image(x0, "x0"), Aty, "x0")

    def normal(v):
        return operator.At(operator.A(v)) + rho * R(v)

    def dot(a, b):  # one inner product per image, shaped to broadcast
        return (a * b).sum(dim=(1, 2, 3), keepdim=True)

    b = Aty + rho * R(z)
    r = b - normal(x)
    p = r.clone()
    rr = dot(r, r)
    finfo = torch.finfo(y.dtype)
    stop = (max(tol, 10 * finfo.eps) ** 2) * dot(b, b)
    for _ in range(iters):
        active = rr > stop  # (N, 1, 1, 1): images still iterating; the others are frozen
        if not bool(active.any()):
            break
        Ap = normal(p)
        alpha = torch.where(active, rr / dot(p, Ap).clamp_min(finfo.tiny), 0.0)
        x = x + alpha * p
        r = r - alpha * Ap
        rr_new = dot(r, r)
        p = r + torch.where(active, rr_new / rr.clamp_min(finfo.tiny), 0.0) * p
        rr = rr_new
    return x


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
    _check_iters(bins, "bins")
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
    mu = _as_image(constant_image(y, operator) if mean is None else mean, x0, "mean")
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
