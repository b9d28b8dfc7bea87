"""Additive white Gaussian noise, the ``n`` in ``y = H(x) + n``."""

import torch

from .._checks import check_image, check_positive


def add_noise(y: torch.Tensor, sigma: float, generator: torch.Generator | None = None,
              seed: int | None = None) -> torch.Tensor:
    """``y + sigma · ε`` with ``ε ~ N(0, I)``; ``sigma`` in image units (``25/255``), not clipped."""
    check_image(y, "y")
    if isinstance(sigma, torch.Tensor):
        if sigma.numel() != 1:
            raise ValueError(f"sigma must be one number, got a tensor of shape {tuple(sigma.shape)}")
        sigma = sigma.item()
    check_positive(sigma, "sigma", allow_zero=True)
    if sigma > 1:
        raise ValueError(f"sigma must be in image units (e.g. 25/255 = {25/255:.3f}), got {sigma}")
    if generator is None and seed is not None:
        generator = torch.Generator().manual_seed(seed)
    noise = torch.randn(y.shape, generator=generator, dtype=y.dtype).to(y.device)
    return y + sigma * noise
