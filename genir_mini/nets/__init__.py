"""Networks: a small DRUNet-style denoiser (chapter 2); the time-conditioned UNet comes with chapter 3."""

from .drunet import DRUNet, noise_level_map

__all__ = ["DRUNet", "noise_level_map"]
