"""A small MLP average velocity on 2-D points (chapters 7–8's experiments on the toy mixture)."""

import torch
import torch.nn as nn


class ToyAverageVelocity(nn.Module):
    """u(x, t, h) for points ``x`` ``(N, d)``, times ``t`` and jump lengths ``h = s − t`` ``(N,)``: the calling
    convention of ``flowmaps.meanflow.average_velocity``; ``depth`` hidden layers of ``width`` SiLU units."""

    def __init__(self, dim: int = 2, width: int = 128, depth: int = 3):
        super().__init__()
        layers, d = [], dim + 2
        for _ in range(depth):
            layers += [nn.Linear(d, width), nn.SiLU()]
            d = width
        self.mlp = nn.Sequential(*layers, nn.Linear(width, dim))

    def forward(self, x, t, h):
        return self.mlp(torch.cat([x, t[:, None], h[:, None]], 1))


__all__ = ["ToyAverageVelocity"]
