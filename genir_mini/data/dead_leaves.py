"""A procedural image source: the dead-leaves model, a known stand-in for natural-image statistics."""

import torch


def dead_leaves(n: int, size: int, generator: torch.Generator, channels: int = 3, disks: int = 250,
                r_min: float = 1.0, r_max: float | None = None) -> torch.Tensor:
    """Dead-leaves images ``(n, channels, size, size)``: occluding disks with power-law radii.

    Radii follow a density ∝ r⁻³ on ``[r_min, r_max]`` (scale invariance, Lee, Mumford & Huang 2001);
    each disk gets a random colour and a faint linear shading, and later disks occlude earlier ones.
    """
    if n < 1 or size < 4:
        raise ValueError(f"n must be >= 1 and size >= 4, got n={n}, size={size}")
    r_max = size / 2 if r_max is None else r_max
    yy, xx = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32),
                            indexing="ij")
    img = torch.rand(n, channels, 1, 1, generator=generator).expand(n, channels, size, size).clone()
    u = torch.rand(n, disks, generator=generator)
    # inverse CDF of p(r) ∝ r^-3 on [r_min, r_max]
    radii = (r_min**-2 - u * (r_min**-2 - r_max**-2)) ** -0.5
    centres = torch.rand(n, disks, 2, generator=generator) * size
    colours = torch.rand(n, disks, channels, generator=generator)
    shading = (torch.rand(n, disks, 2, generator=generator) - 0.5) * 0.02
    for k in range(disks):
        cy, cx = centres[:, k, 0].view(n, 1, 1), centres[:, k, 1].view(n, 1, 1)
        inside = ((yy - cy) ** 2 + (xx - cx) ** 2 <= radii[:, k].view(n, 1, 1) ** 2).unsqueeze(1)
        ramp = shading[:, k, 0].view(n, 1, 1) * (yy - cy) + shading[:, k, 1].view(n, 1, 1) * (xx - cx)
        value = (colours[:, k].view(n, channels, 1, 1) + ramp.unsqueeze(1)).clamp(0, 1)
        img = torch.where(inside, value, img)
    return img
