"""Degradation operators ``y = A x + n`` with adjoints, proxes and capabilities (chapter 1), and the random
forward-only real-world degradation pipeline (``realworld``, chapters 7–8)."""

from .base import PROX_CG_ITERS, Identity, LinearOperator, Spectral, require
from .blur import Blur
from .cg import cg_solve
from .fourier import block_mean, fft_prox, p2o, zero_upsample
from .inpaint import Inpainting, box_mask, random_mask
from .kernels import (
                      bicubic_kernel,
                      box_kernel,
                      centred_bicubic_kernel,
                      check_kernel,
                      gaussian_kernel,
                      motion_kernel,
)
from .noise import add_noise
from .realworld import REALESRGAN_SETTINGS, held_out_degradations, realworld_degrade, unsharp_mask
from .sr import (
                      BlockAverageSR,
                      CentredBicubicSR,
                      SuperResolution,
                      upsample_bicubic_aligned,
                      upsample_bicubic_centred,
)

__all__ = [
    "LinearOperator", "Spectral", "require", "cg_solve", "PROX_CG_ITERS", "Identity", "Blur",
    "SuperResolution", "CentredBicubicSR", "BlockAverageSR", "Inpainting", "gaussian_kernel", "motion_kernel",
    "bicubic_kernel", "centred_bicubic_kernel", "box_kernel", "check_kernel", "random_mask", "box_mask",
    "add_noise", "p2o", "zero_upsample", "upsample_bicubic_aligned", "upsample_bicubic_centred", "block_mean",
    "fft_prox", "realworld_degrade", "held_out_degradations", "unsharp_mask",
    "REALESRGAN_SETTINGS",
]
