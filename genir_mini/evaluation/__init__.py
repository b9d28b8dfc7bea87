"""Measuring restorations and samples: PSNR/SSIM, distribution distances in LeNet features, the book's
standard tasks and their benchmark, and the spread of results over images."""

from . import distances, metrics, spread, tasks

__all__ = ["metrics", "distances", "spread", "tasks"]
