"""Distribution distances for generated images (chapters 3–4 and every later generative chapter).

Inception-based FID/KID need downloaded weights, so the book measures samples in the feature space of
its *own* small digit classifier (``nets.DigitClassifier``, recipe ``digit-classifier``, which callers pass
in, e.g. ``hub.load("digit-classifier")``): the Fréchet distance "FD in LeNet features", and a kernel
distance (the unbiased MMD² with KID's cubic polynomial kernel, Bińkowski et al., 2018) for features of
moderate scale. Neither is comparable to published FID/KID numbers. Always report them with their sample
counts and next to the real-vs-real floor (``real_floor``): two independent sets of real digits of the same
size are not at distance 0.
"""

import numpy as np
import torch

from .._checks import check_image


def frechet_distance(features_a, features_b) -> float:
    """‖μ_a − μ_b‖² + tr(Σ_a + Σ_b − 2(Σ_a Σ_b)^{1/2}) between Gaussians fitted to two ``(n, d)`` feature sets.

    tr (Σ_a Σ_b)^{1/2} is computed as Σ √λ_i of the symmetric PSD matrix Σ_a^{1/2} Σ_b Σ_a^{1/2} (same
    eigenvalues), which stays real and stable when a covariance is singular (dead ReLU features).
    """
    a, b = _as_features(features_a, "features_a"), _as_features(features_b, "features_b")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(cov_a)
    root_a = (v * np.sqrt(w.clip(min=0))) @ v.T
    cross = np.sqrt(np.linalg.eigvalsh(root_a @ cov_b @ root_a).clip(min=0)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * cross)


def kernel_distance(features_a, features_b, subsets: int = 50, subset_size: int = 200, seed: int = 0) -> tuple:
    """Unbiased MMD² with k(x, y) = (x·y/d + 1)³ over random subsets: returns (mean, std) over subsets."""
    a, b = _as_features(features_a, "features_a"), _as_features(features_b, "features_b")
    m = min(subset_size, len(a), len(b))
    rng = np.random.default_rng(seed)
    d = a.shape[1]
    values = []
    for _ in range(subsets):
        x, y = a[rng.choice(len(a), m, replace=False)], b[rng.choice(len(b), m, replace=False)]
        kxx, kyy, kxy = (x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3
        mmd = ((kxx.sum() - np.trace(kxx)) + (kyy.sum() - np.trace(kyy))) / (m * (m - 1)) - 2 * kxy.mean()
        values.append(mmd)
    return float(np.mean(values)), float(np.std(values))


def _as_features(f, name):
    f = f.detach().cpu().double().numpy() if isinstance(f, torch.Tensor) else np.asarray(f, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"{name} must be an (n, d) array with n >= 2, got shape {f.shape}")
    if not np.isfinite(f).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return f


def _check_classifier(classifier):
    """A digit classifier is an ``nn.Module`` with ``features`` (images → features) and ``head`` (→ logits)."""
    if not (isinstance(classifier, torch.nn.Module) and callable(getattr(classifier, "features", None))
            and callable(getattr(classifier, "head", None))):
        raise TypeError("classifier must be an nn.Module with .features and .head (a nets.DigitClassifier, e.g. "
                        f"hub.load('digit-classifier')), got {type(classifier).__name__}")
    return classifier


@torch.no_grad()
def digit_features(images: torch.Tensor, classifier: torch.nn.Module, batch: int = 500) -> torch.Tensor:
    """``(N, 1, 28, 28)`` digits in [0, 1] → ``(N, feature_dim)`` penultimate features of ``classifier``
    (``(N, 64)`` for the shipped ``digit-classifier``)."""
    _check_classifier(classifier)
    check_image(images, "images", channels=1, value_range=True)
    return torch.cat([classifier.features(images[i: i + batch]) for i in range(0, len(images), batch)])


def digit_distances(images: torch.Tensor, reference: torch.Tensor, classifier: torch.nn.Module) -> dict:
    """FD in ``classifier``'s features between generated ``images`` and real ``reference`` digits (both
    ``(N, 1, 28, 28)`` in [0, 1]), and the share of images the classifier reads with confidence (max
    softmax > 0.9), a legibility proxy."""
    _check_classifier(classifier)
    fa, fb = digit_features(images, classifier), digit_features(reference, classifier)
    confident = classifier.head(fa).softmax(1).amax(1).gt(0.9).float().mean().item()
    return {"fd": frechet_distance(fa, fb), "confident": confident, "n": len(images), "n_reference": len(reference)}


def real_floor(n: int, classifier: torch.nn.Module, seed: int = 0) -> dict:
    """The distances between ``n`` random *training* digits and the ``test`` digits: what a perfect
    generator of ``n`` samples would score (sampling noise only)."""
    from .. import data

    _check_classifier(classifier)
    train, _ = data.digits("train")
    test, _ = data.digits("test")
    if not 2 <= n <= len(train):
        raise ValueError(f"n must be in [2, {len(train)}], got {n}")
    idx = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[:n]
    return digit_distances(train[idx], test, classifier)
