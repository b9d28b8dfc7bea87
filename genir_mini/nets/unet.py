"""A small time-conditioned UNet (chapters 3–8): the network behind every diffusion and flow model.

``UNet(x, t)`` maps an image ``x`` of shape ``(N, C, H, W)`` and a time ``t`` (a number or an ``(N,)``
tensor, in ``[0, 1]``) to an ``(N, out_channels, H, W)`` output — a noise prediction ε for DDPM
(chapter 3, with ``t = k / T``) or a velocity for flow matching (chapter 4). Two options serve later
chapters: ``cond_channels`` concatenates a condition image (a noisy low-resolution input, chapter 6)
to ``x``, and ``time_inputs=2`` adds a second time ``s`` (MeanFlow's ``u(x_t, t, s)``, chapter 7).

Architecture, as in DDPM's UNet (Ho et al., 2020) cut to CPU size: residual blocks (GroupNorm, SiLU,
3×3 conv) whose features are shifted and scaled by an MLP embedding of sinusoidal time features,
strided-conv downsampling, nearest-neighbour upsampling, concatenated skips. There is no attention,
so the network is fully convolutional: a model trained on patches restores whole photographs. H and W
must be divisible by ``2 ** (len(channels) - 1)``.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .._checks import check_image

# Subnormal floats (|x| < 1e-38) arise in these small networks for some inputs and make x86 CPUs 10–20×
# slower (measured: a 20-step DDIM sample took 33 s instead of 1.9 s). Flushing them to zero changes no
# visible result; the setting is process-wide and a no-op where unsupported.
torch.set_flush_denormal(True)


def time_features(t: torch.Tensor, dim: int, max_period: float = 10_000.0, scale: float = 1000.0) -> torch.Tensor:
    """Sinusoidal features ``(N, dim)`` of times ``t`` ``(N,)`` in [0, 1], scaled by ``scale`` (1000 as in DDPM:
    the fastest feature then turns 1000 radians over [0, 1])."""
    half = dim // 2
    dtype = t.dtype if t.is_floating_point() else torch.float32
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=dtype) / half)
    angles = scale * t.to(dtype)[:, None] * freqs[None]
    return torch.cat([angles.cos(), angles.sin()], dim=1)


class TimeResBlock(nn.Module):
    """``x + conv(silu(norm(h)·(1 + scale) + shift))`` with ``h = conv(silu(norm(x)))`` and (scale, shift)
    from the time embedding."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, groups: int, dropout: float):
        super().__init__()
        self.norm1 = nn.GroupNorm(min(groups, c_in), c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, 2 * c_out)
        self.norm2 = nn.GroupNorm(min(groups, c_out), c_out)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)  # each block starts as the identity
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb(emb)[:, :, None, None].chunk(2, dim=1)
        h = F.silu(self.norm2(h) * (1 + scale) + shift)
        return self.skip(x) + self.conv2(self.dropout(h))


class UNet(nn.Module):
    """Time-conditioned UNet; ``forward(x, t, s=None, cond=None)`` → ``(N, out_channels, H, W)``.

    ``channels[i]`` is the width at resolution ``H / 2**i``; ``blocks`` residual blocks per resolution
    on the way down and ``blocks + 1`` on the way up. ``time_scale`` multiplies the times before their
    sinusoidal features: DDPM's 1000 by default, 1 for the average-velocity networks of chapters 7–8, which are
    differentiated in t (``flowmaps.meanflow``).
    """

    def __init__(self, in_channels: int = 1, out_channels: int | None = None, channels=(32, 64, 64),
                 blocks: int = 1, cond_channels: int = 0, time_inputs: int = 1, time_dim: int = 64,
                 groups: int = 8, dropout: float = 0.0, time_scale: float = 1000.0):
        super().__init__()
        if time_inputs not in (1, 2):
            raise ValueError(f"time_inputs must be 1 or 2, got {time_inputs!r}")
        if not channels or any(c % min(groups, c) for c in channels):
            raise ValueError(f"channels must be a non-empty list divisible by groups={groups}, got {channels}")
        self.in_channels, self.cond_channels, self.time_inputs = in_channels, cond_channels, time_inputs
        self.out_channels = out_channels or in_channels
        self.factor = 2 ** (len(channels) - 1)
        self.time_dim, self.time_scale = time_dim, time_scale
        emb_dim = 4 * time_dim
        self.time_mlp = nn.Sequential(nn.Linear(time_inputs * time_dim, emb_dim), nn.SiLU(),
                                      nn.Linear(emb_dim, emb_dim))
        self.stem = nn.Conv2d(in_channels + cond_channels, channels[0], 3, padding=1)
        self.down, self.downsample = nn.ModuleList(), nn.ModuleList()
        skips, c = [channels[0]], channels[0]
        for i, width in enumerate(channels):
            for _ in range(blocks):
                self.down.append(TimeResBlock(c, width, emb_dim, groups, dropout))
                c = width
                skips.append(c)
            if i < len(channels) - 1:
                self.downsample.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
                skips.append(c)
        self.middle = TimeResBlock(c, c, emb_dim, groups, dropout)
        self.up, self.upsample = nn.ModuleList(), nn.ModuleList()
        for i, width in reversed(list(enumerate(channels))):
            for _ in range(blocks + 1):
                self.up.append(TimeResBlock(c + skips.pop(), width, emb_dim, groups, dropout))
                c = width
            if i > 0:
                self.upsample.append(nn.Conv2d(c, c, 3, padding=1))
        self.head = nn.Sequential(nn.GroupNorm(min(groups, c), c), nn.SiLU(),
                                  nn.Conv2d(c, self.out_channels, 3, padding=1))
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)
        self.blocks, self.levels = blocks, len(channels)

    def _times(self, x, t, name):
        t = torch.as_tensor(t, dtype=x.dtype if x.is_floating_point() else torch.float32, device=x.device)
        if t.ndim == 0:
            t = t.expand(x.shape[0])
        if t.shape != (x.shape[0],):
            raise ValueError(f"{name} must be a number or a ({x.shape[0]},) tensor, got shape {tuple(t.shape)}")
        return t

    def forward(self, x, t, s=None, cond=None):
        check_image(x, "x", channels=self.in_channels)
        if x.shape[-1] % self.factor or x.shape[-2] % self.factor:
            raise ValueError(f"x's height and width must be divisible by {self.factor}, got {tuple(x.shape[-2:])}")
        if (s is None) != (self.time_inputs == 1):
            raise ValueError(f"this UNet takes {self.time_inputs} time input(s): pass s exactly when time_inputs=2")
        if (cond is None) != (self.cond_channels == 0):
            raise ValueError(f"this UNet takes cond with {self.cond_channels} channels: pass cond exactly when "
                             "cond_channels > 0")
        times = [self._times(x, t, "t")] + ([self._times(x, s, "s")] if s is not None else [])
        features = [time_features(v, self.time_dim, scale=self.time_scale) for v in times]
        emb = self.time_mlp(torch.cat(features, dim=1))
        if cond is not None:
            check_image(cond, "cond", channels=self.cond_channels)
            if cond.shape[-2:] != x.shape[-2:] or cond.shape[0] != x.shape[0]:
                raise ValueError(f"cond must have shape (N, {self.cond_channels}, H, W) matching x, "
                                 f"got {tuple(cond.shape)} for x {tuple(x.shape)}")
            x = torch.cat([x, cond], dim=1)
        h = self.stem(x)
        hs = [h]
        blocks = iter(self.down)
        for i in range(self.levels):
            for _ in range(self.blocks):
                h = next(blocks)(h, emb)
                hs.append(h)
            if i < self.levels - 1:
                h = self.downsample[i](h)
                hs.append(h)
        h = self.middle(h, emb)
        blocks = iter(self.up)
        for i in range(self.levels):
            for _ in range(self.blocks + 1):
                h = next(blocks)(torch.cat([h, hs.pop()], dim=1), emb)
            if i < self.levels - 1:
                h = self.upsample[i](F.interpolate(h, scale_factor=2, mode="nearest"))
        return self.head(h)
