"""A small DRUNet-style Gaussian denoiser conditioned on a noise-level map (chapter 2).

Following DPIR's DRUNet (Zhang et al., 2021): the input is the noisy image concatenated with a
constant channel equal to σ; a U-Net with residual blocks (conv–ReLU–conv, identity skip), no
normalisation and no biases, strided-conv downsampling, transposed-conv upsampling and *additive*
skips. Two departures to train fast on a CPU, both documented in chapter 2: fewer channels and blocks,
and a global residual (the network predicts ``x - y`` rather than ``x``).
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from .._checks import check_image


def noise_level_map(x: torch.Tensor, sigma) -> torch.Tensor:
    """A ``(N, 1, H, W)`` channel equal to ``sigma`` (a number or a ``(N,)`` tensor) for each image."""
    sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
    if sigma.ndim == 0:
        sigma = sigma.expand(x.shape[0])
    if sigma.shape != (x.shape[0],):
        raise ValueError(f"sigma must be a number or a ({x.shape[0]},) tensor, got shape {tuple(sigma.shape)}")
    if not torch.isfinite(sigma).all() or (sigma < 0).any() or (sigma > 1).any():
        raise ValueError(f"sigma must be in [0, 1] image units (25/255 for 'sigma 25'), got {sigma.tolist()}")
    return sigma.view(-1, 1, 1, 1).expand(-1, 1, *x.shape[-2:])


class ResBlock(nn.Module):
    """``x + conv(relu(conv(x)))`` with 3×3 convolutions and no biases."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
        )

    def forward(self, x):
        return x + self.body(x)


class DRUNet(nn.Module):
    """``D(y, σ)``: ``(N, C, H, W)``, σ -> ``(N, C, H, W)``; any ``H``, ``W`` (padded internally).

    ``channels`` gives the width per scale (one scale per entry), ``blocks`` the residual blocks per
    scale. Defaults give about 1 M parameters.
    """

    def __init__(self, in_channels: int = 3, channels=(32, 64, 128), blocks: int = 2, residual: bool = True):
        super().__init__()
        self.config = dict(in_channels=in_channels, channels=list(channels), blocks=blocks, residual=residual)
        self.in_channels = in_channels
        self.residual = residual
        self.head = nn.Conv2d(in_channels + 1, channels[0], 3, padding=1, bias=False)
        self.down = nn.ModuleList()
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            self.down.append(nn.Sequential(*[ResBlock(c_in) for _ in range(blocks)],
                                           nn.Conv2d(c_in, c_out, 2, stride=2, bias=False)))
        self.body = nn.Sequential(*[ResBlock(channels[-1]) for _ in range(blocks)])
        self.up = nn.ModuleList()
        for c_in, c_out in zip(channels[:0:-1], channels[-2::-1]):
            self.up.append(nn.ModuleDict({
                "upsample": nn.ConvTranspose2d(c_in, c_out, 2, stride=2, bias=False),
                "blocks": nn.Sequential(*[ResBlock(c_out) for _ in range(blocks)]),
            }))
        self.tail = nn.Conv2d(channels[0], in_channels, 3, padding=1, bias=False)
        self.multiple = 2 ** (len(channels) - 1)

    def forward(self, y: torch.Tensor, sigma) -> torch.Tensor:
        check_image(y, "y", channels=self.in_channels)
        H, W = y.shape[-2:]
        pad_h, pad_w = (-H) % self.multiple, (-W) % self.multiple
        y_pad = F.pad(y, (0, pad_w, 0, pad_h), mode="replicate") if pad_h or pad_w else y
        h = self.head(torch.cat([y_pad, noise_level_map(y_pad, sigma)], 1))
        skips = []
        for level in self.down:
            skips.append(h)
            h = level(h)
        h = self.body(h)
        for level in self.up:
            h = level["blocks"](level["upsample"](h) + skips.pop())
        out = self.tail(h)[..., :H, :W]
        return y + out if self.residual else out
