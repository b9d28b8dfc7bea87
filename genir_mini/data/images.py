"""Image arrays and tensors: conversion, antialiased resizing, luma, and loading a folder of images.

Images are ``(N, C, H, W)`` float32 tensors in [0, 1] (``(1, C, H, W)`` for a single image).
"""

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .._checks import check_image


def to_tensor(array: np.ndarray) -> torch.Tensor:
    """``(H, W[, C])`` uint8 or float array -> ``(1, C, H, W)`` float32 tensor in [0, 1]."""
    arr = np.asarray(array)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3:
        raise ValueError(f"array must have shape (H, W) or (H, W, C), got {arr.shape}")
    if arr.dtype == np.uint16:
        scale = 65535.0
    elif arr.dtype == np.uint8:
        scale = 255.0
    elif np.issubdtype(arr.dtype, np.floating) and arr.size and (arr.min() < 0 or arr.max() > 1):
        raise ValueError(f"a float array must have values in [0, 1], got [{arr.min():.3g}, {arr.max():.3g}]")
    elif np.issubdtype(arr.dtype, np.floating):
        scale = 1.0
    else:
        raise TypeError(f"array must be uint8, uint16 or float in [0, 1], got {arr.dtype}")
    return torch.from_numpy(arr.astype(np.float32) / scale).permute(2, 0, 1)[None].contiguous()


def to_numpy(x: torch.Tensor) -> np.ndarray:
    """``(N, C, H, W)`` or ``(C, H, W)`` tensor -> ``(H, W, C)`` (first image) float array for plotting."""
    if x.ndim == 4:
        x = x[0]
    return x.detach().cpu().clamp(0, 1).permute(1, 2, 0).numpy()


def resize(x: torch.Tensor, size) -> torch.Tensor:
    """Antialiased bicubic resize of ``(N, C, H, W)`` to ``size`` = ``(h, w)``, clamped to [0, 1]."""
    return F.interpolate(x, size=size, mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)


def resize_and_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    """Resize ``(N, C, H, W)`` so its shorter side is ``size`` (antialiased), keep the centre square."""
    if not isinstance(size, int) or size < 8:
        raise ValueError(f"size must be an integer >= 8, got {size!r}")
    H, W = x.shape[-2:]
    scale = size / min(H, W)
    x = resize(x, (max(size, round(H * scale)), max(size, round(W * scale))))
    top, left = (x.shape[-2] - size) // 2, (x.shape[-1] - size) // 2
    return x[..., top : top + size, left : left + size]


def rgb_to_gray(x: torch.Tensor) -> torch.Tensor:
    """ITU-R BT.601 luma, ``(N, 3, H, W) -> (N, 1, H, W)``."""
    check_image(x, "x", channels=3)
    weights = torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * weights).sum(1, keepdim=True)


def load_image_folder(folder, size: int | None = None, extensions=(".png", ".jpg", ".jpeg", ".bmp", ".tif")):
    """Every image in ``folder`` (sorted by name) as a list of ``(1, 3, H, W)`` tensors.

    The loader the full-scale notebooks use for data sets downloaded on Colab (DIV2K, BSD, …);
    ``size`` as in ``load_image``.
    """
    from PIL import Image

    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"folder {str(folder)!r} does not exist or is not a directory")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in extensions)
    if not paths:
        raise ValueError(f"folder {str(folder)!r} holds no images with extensions {extensions}")
    images = []
    for path in paths:
        with Image.open(path) as im:
            x = to_tensor(np.asarray(im.convert("RGB")))
        if size is not None:
            x = resize_and_crop(x, size)
        images.append(x.contiguous())
    return images
