"""Reverse convolution (chapter 9; Huang et al., ICCV 2025, the talk's backup slides "Reverse Convolution" and
"ConverseNet"): a depthwise layer that *inverts* a learned convolution-plus-decimation in closed form.

For each channel c, with a learned kernel K_c and weight λ_c > 0 (9.1):

    X* = argmin_X ‖Y − (X ⊛ K_c)↓s‖² + λ_c‖X − X₀‖²,

``Y`` the layer's input, ``X₀`` its nearest-neighbour ×s upsampling, circular convolution and upper-left
decimation. This is the data step of chapters 1, 2 and 5 (``operators.SuperResolution.prox`` with z = X₀,
ρ = λ) with a learned kernel per channel, so ``converse2d`` calls the same closed form,
``operators.fft_prox`` (Zhao et al., 2016, for s > 1; the Wiener-like quotient for s = 1). The official
layer's conventions: the input padded by P pixels first (``padding_mode``, circular by default) and P·s
cropped from the output; λ = sigmoid(b − 9) + eps with b learnable (b = 0 at the start: λ ≈ 1.2·10⁻⁴);
the kernel initialised as a softmax over its taps (positive, summing to 1).
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_choice, check_image, check_int, check_positive
from ..operators import fft_prox, p2o

PADDING_MODES = ("circular", "replicate", "reflect", "zeros")


def converse2d(x: torch.Tensor, kernel: torch.Tensor, lam, scale: int = 1, padding: int = 2,
               padding_mode: str = "circular") -> torch.Tensor:
    """The closed-form reverse convolution (9.1) of ``x`` ``(N, C, H, W)`` → ``(N, C, s·H, s·W)``.

    ``kernel``: ``(C, k, k)`` (one kernel per channel; ``(k, k)`` is shared); ``lam``: a positive number or a
    tensor broadcastable to ``(N, C, 1, 1)``; ``padding`` P ≥ 0 pixels added with ``padding_mode`` before
    the FFT (its circular boundary then wraps onto the padding) and P·s cropped after.
    """
    check_image(x)
    check_int(scale, "scale")
    check_int(padding, "padding", minimum=0)
    check_choice(padding_mode, "padding_mode", PADDING_MODES)
    kernel = kernel if kernel.ndim == 3 else kernel.reshape(-1, *kernel.shape[-2:])
    if kernel.shape[0] not in (1, x.shape[1]):
        raise ValueError(f"kernel has {kernel.shape[0]} channels but x has {x.shape[1]} (one kernel per channel)")
    lam = torch.as_tensor(check_positive(lam, "lam"), dtype=x.dtype, device=x.device)
    return _reverse_convolution(x, kernel, lam.view(1, -1, 1, 1) if lam.ndim == 1 else lam, scale, padding,
                                padding_mode)


def _reverse_convolution(x, kernel, lam, scale, padding, padding_mode):
    """``converse2d`` without its checks (the layer checked its settings once, at construction): ``kernel``
    ``(C or 1, k, k)``, ``lam`` a positive number or broadcastable to ``(N, C, 1, 1)``."""
    if padding:
        x = F.pad(x, (padding,) * 4, mode="constant" if padding_mode == "zeros" else padding_mode)
    H, W = x.shape[-2:]
    x0 = F.interpolate(x, scale_factor=scale, mode="nearest") if scale > 1 else x
    FB = p2o(kernel.to(x.dtype), (scale * H, scale * W))  # (C or 1, sH, sW)
    out = fft_prox(FB, x, x0, lam, scale)
    if padding:
        crop = padding * scale
        out = out[..., crop:-crop, crop:-crop]
    return out


class Converse2D(nn.Module):
    """The reverse-convolution layer: ``converse2d`` with a learned depthwise kernel and λ per channel.

    ``channels`` in = out (depthwise); ``kernel_size`` k; ``scale`` s (1: same size, 2: ×2 upsampling);
    ``padding`` P (the official default 2; P = k − 1 is its docstring's advice); ``eps``: λ's floor (10⁻⁵ for
    feature layers, 10⁻³ for upsampling layers). ``forward(x)``: ``(N, C, H, W)`` → ``(N, C, sH, sW)``.
    """

    def __init__(self, channels: int, kernel_size: int = 3, scale: int = 1, padding: int = 2,
                 padding_mode: str = "circular", eps: float = 1e-5):
        super().__init__()
        check_int(channels, "channels")
        check_int(kernel_size, "kernel_size")
        check_int(scale, "scale")
        check_int(padding, "padding", minimum=0)
        check_choice(padding_mode, "padding_mode", PADDING_MODES)
        self.scale, self.padding, self.padding_mode, self.eps = scale, padding, padding_mode, eps
        taps = torch.randn(channels, kernel_size * kernel_size)
        self.weight = nn.Parameter(taps.softmax(-1).view(channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))

    @property
    def lam(self) -> torch.Tensor:
        """λ = sigmoid(b − 9) + eps, ``(1, C, 1, 1)``: positive by construction."""
        return torch.sigmoid(self.bias - 9.0) + self.eps

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.weight.shape[0]:
            raise ValueError(f"x must be (N, {self.weight.shape[0]}, H, W), got {tuple(x.shape)}")
        return _reverse_convolution(x, self.weight, self.lam, self.scale, self.padding, self.padding_mode)

    def extra_repr(self):
        c, k, _ = self.weight.shape
        return f"{c}, kernel_size={k}, scale={self.scale}, padding={self.padding}, mode={self.padding_mode}"


LAMBDA_AT_INIT = 1 / (1 + math.exp(9.0))  # sigmoid(−9), λ before training (plus eps)

__all__ = ["converse2d", "Converse2D", "PADDING_MODES", "LAMBDA_AT_INIT"]
