"""Networks: the DRUNet-style denoiser (chapter 2), the time-conditioned UNet (chapters 3–8) and the
small digit classifier whose features measure generated images (chapter 3)."""

from .classifier import DigitClassifier
from .drunet import DRUNet, noise_level_map
from .unet import UNet

__all__ = ["DRUNet", "DigitClassifier", "UNet", "noise_level_map"]
