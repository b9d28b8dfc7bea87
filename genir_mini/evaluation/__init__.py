"""Measuring restorations and samples: PSNR/SSIM, distribution distances in LeNet features, the book's
standard tasks and their benchmark."""

from . import distances, metrics, tasks

__all__ = ["metrics", "distances", "tasks"]
