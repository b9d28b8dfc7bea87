"""Image units and model units, converted in one place.

Images are ``(N, C, H, W)`` tensors in ``[0, 1]`` (the book's image units, noise levels σ too); every
generative model of the book works in ``[-1, 1]`` (model units), where a noise level σ becomes 2σ and a
variance 4σ² (the factor 4 in DiffPIR's λ, ch. 5).
"""

import torch


def to_signed(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] images → [−1, 1], the range every generative model works in (noise σ doubles)."""
    return 2 * x - 1


def to_unit(z: torch.Tensor) -> torch.Tensor:
    """[−1, 1] → [0, 1] (no clamping)."""
    return (z + 1) / 2
