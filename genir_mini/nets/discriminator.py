"""A patch discriminator (chapter 8's adversarial refinement; the PatchGAN of Isola et al., 2017): a few strided
convolutions that score every overlapping patch of an image as real or generated, and the generator–critic
pair that one training loop updates together."""

import torch.nn as nn

from .unet import UNet


class PatchDiscriminator(nn.Module):
    """``(N, C, H, W)`` images in model units → ``(N, 1, H/2^k, W/2^k)`` logits, one per receptive field of
    about ``4·2^k`` pixels (k = ``len(channels)``): convolutions 4×4 with stride 2, group norm after the first,
    LeakyReLU(0.2), then a 3×3 convolution to one logit map."""

    def __init__(self, in_channels: int = 3, channels=(32, 64, 128), groups: int = 8):
        super().__init__()
        layers, c = [], in_channels
        for k, width in enumerate(channels):
            layers.append(nn.Conv2d(c, width, 4, stride=2, padding=1))
            if k:
                layers.append(nn.GroupNorm(min(groups, width), width))
            layers.append(nn.LeakyReLU(0.2))
            c = width
        layers.append(nn.Conv2d(c, 1, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class GeneratorCritic(nn.Module):
    """A one-step generator (an average-velocity ``UNet``, built from ``generator``) and its
    ``PatchDiscriminator`` (built from ``discriminator``), one module so that one optimizer, one EMA and one
    checkpoint hold both (``training.adversarial`` keeps their gradients apart). Restoration uses
    ``.generator``."""

    def __init__(self, generator: dict, discriminator: dict | None = None):
        super().__init__()
        self.generator = UNet(**generator)
        self.discriminator = PatchDiscriminator(**(discriminator or {}))

    def forward(self, *args, **kwargs):
        return self.generator(*args, **kwargs)


__all__ = ["PatchDiscriminator", "GeneratorCritic"]
