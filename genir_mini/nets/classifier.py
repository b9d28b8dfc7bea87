"""A LeNet-style digit classifier (chapter 3) whose penultimate features define the distribution
distances of ``metrics`` ("FD in LeNet features", never "FID": it is not the Inception network)."""

import torch
import torch.nn as nn

from .._checks import check_image


class DigitClassifier(nn.Module):
    """``(N, 1, 28, 28)`` images in [0, 1] → ``(N, classes)`` logits; ``features(x)`` → ``(N, feature_dim)``."""

    def __init__(self, classes: int = 10, feature_dim: int = 64):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 14×14
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 7×7
            nn.Flatten(), nn.Linear(64 * 7 * 7, feature_dim), nn.ReLU(),
        )
        self.head = nn.Linear(feature_dim, classes)

    def features(self, x):
        check_image(x, "x", channels=1)
        if x.shape[-2:] != (28, 28):
            raise ValueError(f"x must be 28×28 digits, got {tuple(x.shape[-2:])}")
        return self.body(x)

    def forward(self, x):
        return self.head(self.features(x))
