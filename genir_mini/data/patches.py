"""Random training patches: the 8 dihedral transforms, seeded crops from a list of images, and the
multi-scale pyramid that puts whole-scene resizes in the training distribution."""

import torch

from .images import resize


def dihedral(x: torch.Tensor, mode: int) -> torch.Tensor:
    """One of the 8 flips/rotations of the square (``mode`` in 0..7) applied to ``(…, H, W)``."""
    if mode not in range(8):
        raise ValueError(f"mode must be in 0..7, got {mode!r}")
    if mode >= 4:
        x = x.flip(-1)
    return torch.rot90(x, mode % 4, dims=(-2, -1))


def random_patches(images, n: int, size: int, generator: torch.Generator, augment: bool = True) -> torch.Tensor:
    """``n`` random ``size×size`` crops from a list of ``(1, C, H, W)`` images -> ``(n, C, size, size)``.

    Each crop picks an image uniformly and, with ``augment``, one of the 8 dihedral transforms.
    """
    if not images:
        raise ValueError("images must be a non-empty list of (1, C, H, W) tensors")
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    out = []
    for _ in range(n):
        img = images[int(torch.randint(len(images), (), generator=generator))]
        H, W = img.shape[-2:]
        if H < size or W < size:
            raise ValueError(f"size {size} is larger than an image of {H}x{W}")
        top = int(torch.randint(H - size + 1, (), generator=generator))
        left = int(torch.randint(W - size + 1, (), generator=generator))
        patch = img[0, :, top : top + size, left : left + size]
        if augment:
            patch = dihedral(patch, int(torch.randint(8, (), generator=generator)))
        out.append(patch)
    return torch.stack(out)


def pyramid(images, scales=(1.0, 0.5, 0.25), min_side: int = 64) -> list:
    """Each ``(1, C, H, W)`` image of ``images`` at each of ``scales`` (antialiased), as one flat list.

    Levels whose shorter side would fall under ``min_side`` (the patch size) are left out. With the
    corpus's 512×384 scenes (1024×768 halved) and ``scales`` 1, 1/2, 1/4, a patch of the smallest level
    holds as much of the scene as a patch of the whole scene resized to 128 px: whole-scene resizes to
    128–512 px are in distribution.
    """
    if not images:
        raise ValueError("images must be a non-empty list of (1, C, H, W) tensors")
    if not scales or any(not 0 < s <= 1 for s in scales):
        raise ValueError(f"scales must be numbers in (0, 1], got {scales!r}")
    levels = []
    for x in images:
        H, W = x.shape[-2:]
        for s in scales:
            h, w = round(H * s), round(W * s)
            if min(h, w) >= min_side:
                levels.append(x if s == 1 else resize(x, (h, w)))
    if not levels:
        raise ValueError(f"no image is at least {min_side} px on its shorter side at any of the scales {scales}")
    return levels
