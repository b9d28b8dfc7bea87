"""The ConverseBlock and the three small networks of chapter 9 (Huang et al., ICCV 2025), each built in three
variants that differ only in the spatial layer under test:

* ``"converse"``: the reverse convolution ``Converse2D`` (a closed-form inverse with a learned kernel);
* ``"conv"``: a depthwise convolution of the same kernel size (for ×2 upsampling: nearest-neighbour
  replication, then the convolution);
* ``"convt"``: a depthwise transposed convolution (for ×2 upsampling: stride 2).

Each of the three layers has C·k² kernel weights and C biases (Converse2D's "bias" is its λ), so the three
variants of a network have the same number of parameters.

* ``ConverseDenoiser``: 1×1 head, ``blocks`` ConverseBlocks, 1×1 tail, predicting the clean image (as
  Converse-DnCNN);
* ``ConverseSR``: ×4 super-resolution (as Converse-SRResNet): head, blocks, two ×2 stages [block → ×2 layer →
  GELU], block, tail, plus the bilinear upsampling of the input (global residual);
* ``ConverseDeblur``: non-blind deblurring unfolded as in USRNet: ``stages`` × [closed-form data step with the
  known kernel and a learned λ per stage (``operators.fft_prox``, the Converse2D formula with the external
  kernel) → a small prior of ConverseBlocks, shared over the stages].
"""

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_choice, check_image
from ..operators import fft_prox, p2o
from .converse import Converse2D

VARIANTS = ("converse", "conv", "convt")


class LayerNorm2d(nn.Module):
    """Channels-first LayerNorm of ``(N, C, H, W)`` (normalises over C at each pixel), eps 1e-5."""

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.norm = nn.LayerNorm(channels, eps=eps)

    def forward(self, x):
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def spatial_layer(variant: str, channels: int, kernel_size: int, padding_mode: str = "circular") -> nn.Module:
    """The depthwise k×k layer under test, ``(N, C, H, W)`` → ``(N, C, H, W)``: Converse2D, Conv2d or
    ConvTranspose2d, each with C·k² weights and C biases (odd ``kernel_size``)."""
    check_choice(variant, "variant", VARIANTS)
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd for a size-preserving layer, got {kernel_size}")
    pad = kernel_size // 2
    if variant == "converse":
        return Converse2D(channels, kernel_size, scale=1, padding=kernel_size - 1, padding_mode=padding_mode)
    mode = "zeros" if padding_mode == "zeros" else padding_mode
    if variant == "conv":
        return nn.Conv2d(channels, channels, kernel_size, padding=pad, padding_mode=mode, groups=channels)
    return _PaddedTranspose(channels, kernel_size, mode)


class _PaddedTranspose(nn.Module):
    """A depthwise, size-preserving transposed convolution: pad the input, transpose-convolve, crop."""

    def __init__(self, channels, kernel_size, padding_mode):
        super().__init__()
        self.pad, self.mode = kernel_size // 2, padding_mode
        self.layer = nn.ConvTranspose2d(channels, channels, kernel_size, groups=channels)

    def forward(self, x):
        p = self.pad
        x = F.pad(x, (p, p, p, p), mode="constant" if self.mode == "zeros" else self.mode)
        out = self.layer(x)  # (H + 2p + k − 1) = H + 4p
        return out[..., 2 * p: out.shape[-2] - 2 * p, 2 * p: out.shape[-1] - 2 * p]


def upsampling_layer(variant: str, channels: int) -> nn.Module:
    """The depthwise ×2 upsampler under test, with 4C weights and C biases: Converse2D (k = 2, s = 2,
    replicate padding, λ floor 10⁻³, as the official upsampler), nearest ×2 then a 2×2 convolution, or a 2×2
    transposed convolution of stride 2."""
    check_choice(variant, "variant", VARIANTS)
    if variant == "converse":
        return Converse2D(channels, 2, scale=2, padding=2, padding_mode="replicate", eps=1e-3)
    if variant == "conv":
        return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.ReplicationPad2d((0, 1, 0, 1)),
                             nn.Conv2d(channels, channels, 2, groups=channels))
    return nn.ConvTranspose2d(channels, channels, 2, stride=2, groups=channels)


class ConverseBlock(nn.Module):
    """x + 1×1(GELU(L(GELU(1×1(LN(x)))))), then x + 1×1(GELU(1×1(LN(x)))) with L the spatial layer of
    ``variant`` on 2C channels (the official block, Transformer-like: a spatial branch and an MLP branch)."""

    def __init__(self, channels: int, kernel_size: int = 5, variant: str = "converse",
                 padding_mode: str = "circular"):
        super().__init__()
        wide = 2 * channels
        self.spatial = nn.Sequential(LayerNorm2d(channels), nn.Conv2d(channels, wide, 1), nn.GELU(),
                                     spatial_layer(variant, wide, kernel_size, padding_mode), nn.GELU(),
                                     nn.Conv2d(wide, channels, 1))
        self.mlp = nn.Sequential(LayerNorm2d(channels), nn.Conv2d(channels, wide, 1), nn.GELU(),
                                 nn.Conv2d(wide, channels, 1))

    def forward(self, x):
        x = x + self.spatial(x)
        return x + self.mlp(x)


class ConverseDenoiser(nn.Module):
    """Gaussian denoiser ``(N, C, H, W)`` → the clean estimate: 1×1 head, ``blocks`` ConverseBlocks, 1×1 tail."""

    def __init__(self, in_channels: int = 3, channels: int = 32, blocks: int = 4, kernel_size: int = 5,
                 variant: str = "converse"):
        super().__init__()
        self.in_channels, self.variant = in_channels, check_choice(variant, "variant", VARIANTS)
        self.head = nn.Conv2d(in_channels, channels, 1)
        self.body = nn.Sequential(*[ConverseBlock(channels, kernel_size, variant) for _ in range(blocks)])
        self.tail = nn.Conv2d(channels, in_channels, 1)

    def forward(self, x):
        check_image(x, channels=self.in_channels)
        return self.tail(self.body(self.head(x)))


class ConverseSR(nn.Module):
    """×4 super-resolution ``(N, C, h, w)`` → ``(N, C, 4h, 4w)``: head + GELU, ``blocks`` blocks, two stages of
    [block → ×2 upsampler → GELU], block → GELU → 1×1 tail, plus the bilinear ×4 upsampling of the input."""

    def __init__(self, in_channels: int = 3, channels: int = 32, blocks: int = 4, kernel_size: int = 5,
                 variant: str = "converse"):
        super().__init__()
        self.in_channels, self.variant = in_channels, check_choice(variant, "variant", VARIANTS)
        self.head = nn.Sequential(nn.Conv2d(in_channels, channels, 1), nn.GELU())
        body = [ConverseBlock(channels, kernel_size, variant, "replicate") for _ in range(blocks)]
        for _ in range(2):
            body += [ConverseBlock(channels, kernel_size, variant, "replicate"),
                     upsampling_layer(variant, channels), nn.GELU()]
        body += [ConverseBlock(channels, kernel_size, variant, "replicate"), nn.GELU()]
        self.body = nn.Sequential(*body)
        self.tail = nn.Conv2d(channels, in_channels, 1, bias=False)

    def forward(self, y):
        check_image(y, "y", channels=self.in_channels)
        base = F.interpolate(y, scale_factor=4, mode="bilinear", align_corners=False)
        return base + self.tail(self.body(self.head(y)))


class ConverseDeblur(nn.Module):
    """Non-blind deblurring, unfolded (USRNet-style): ``forward(y, kernel)`` with ``y`` ``(N, C, H, W)`` and the
    known blur ``kernel`` ``(k, k)`` (or one per image, ``(N, k, k)``). Each of ``stages`` iterations takes the
    closed-form data step x = argmin ‖y − k ⊛ x‖² + λ_i‖x − z‖² (``operators.fft_prox``, circular; λ_i =
    sigmoid(b_i − 9) + 10⁻³ learned, as the official data module) and then z = x + prior(x), the prior
    ``blocks`` ConverseBlocks of ``variant`` on ``channels`` features, shared over the stages."""

    def __init__(self, in_channels: int = 3, channels: int = 32, blocks: int = 2, stages: int = 4,
                 kernel_size: int = 3, variant: str = "converse"):
        super().__init__()
        self.in_channels, self.variant = in_channels, check_choice(variant, "variant", VARIANTS)
        self.stage_bias = nn.Parameter(torch.full((stages,), 4.0))  # λ_i ≈ 0.008 at the start
        self.prior = nn.Sequential(nn.Conv2d(in_channels, channels, 1),
                                   *[ConverseBlock(channels, kernel_size, variant) for _ in range(blocks)],
                                   nn.Conv2d(channels, in_channels, 1))

    def lam(self) -> torch.Tensor:
        """The data weights λ_i, ``(stages,)``, positive by construction."""
        return torch.sigmoid(self.stage_bias - 9.0) + 1e-3

    def forward(self, y, kernel):
        check_image(y, "y", channels=self.in_channels)
        if kernel.ndim not in (2, 3) or (kernel.ndim == 3 and kernel.shape[0] != y.shape[0]):
            raise ValueError(f"kernel must be (k, k) or one per image (N, k, k), got {tuple(kernel.shape)}")
        FB = p2o(kernel.to(y.dtype), y.shape[-2:])
        FB = FB[:, None] if FB.ndim == 3 else FB  # (N, 1, H, W): one kernel per image, all channels
        z = y
        for lam in self.lam():
            x = fft_prox(FB, y, z, lam, 1)
            z = x + self.prior(x)
        return z


def parameter_count(net: nn.Module) -> int:
    """The number of learned parameters (counted whether or not they are frozen, as a loaded checkpoint's)."""
    return sum(p.numel() for p in net.parameters())


__all__ = ["VARIANTS", "LayerNorm2d", "spatial_layer", "upsampling_layer", "ConverseBlock", "ConverseDenoiser",
           "ConverseSR", "ConverseDeblur", "parameter_count"]
