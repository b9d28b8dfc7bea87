"""Measuring restorations and samples: PSNR/SSIM, distribution distances in LeNet features, realism of
photographs (NIQE, a patch sliced Wasserstein distance), the book's standard tasks and their benchmark, and
the spread of results over images."""

from . import distances, metrics, realism, spread, tasks

__all__ = ["metrics", "distances", "realism", "spread", "tasks"]
