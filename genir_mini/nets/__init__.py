"""Networks: the DRUNet-style denoiser (chapter 2), the time-conditioned UNet (chapters 3–8) and the
small digit classifier whose features measure generated images (chapter 3), the reverse-convolution layer
and its block and networks (chapter 9), the patch discriminator of the adversarial refinement and a toy
average velocity (chapters 7–8), and the registry that builds them by name (``build``, ``register``)."""

from .classifier import DigitClassifier
from .converse import Converse2D, converse2d
from .converse_nets import ConverseBlock, ConverseDeblur, ConverseDenoiser, ConverseSR
from .discriminator import GeneratorCritic, PatchDiscriminator
from .drunet import DRUNet, noise_level_map
from .registry import NETS, build, device_of, register
from .toy import ToyAverageVelocity
from .unet import UNet

__all__ = [
    "ConverseBlock", "ConverseDeblur", "ConverseDenoiser", "ConverseSR", "Converse2D", "DRUNet", "DigitClassifier",
    "converse2d", "GeneratorCritic", "NETS", "PatchDiscriminator", "ToyAverageVelocity", "UNet", "build",
    "device_of",
    "noise_level_map", "register",
]
