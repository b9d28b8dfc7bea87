"""Results over several images: per-image scores, paired differences and their spread.

A benchmark's mean PSNR hides how much it varies from one photograph to the next, and a gain measured on
two photographs can rest on one of them. The chapters therefore report a method against a baseline by
its *paired* per-image differences (same image, same measurement): their mean, their standard deviation
over the images and their number, and call a gain clear only when its mean exceeds that spread::

    outputs = {}
    rows = tasks.benchmark(methods, task_list, images, outputs=outputs)
    scores = spread.per_image_psnr(outputs, images)        # task -> method -> (N,) PSNR in dB
    gain = spread.paired_gain(scores, "PnP-learned", "closed form")   # task -> (N,)
    spread.mean_std(gain["sr4"]), spread.is_clear_gain(gain["sr4"])
"""

import torch

from .._checks import check_image
from .metrics import psnr


def per_image_psnr(outputs: dict, images: torch.Tensor) -> dict:
    """``{task: {method: (N,) PSNR in dB}}`` of the estimates that ``tasks.benchmark`` stored in ``outputs``
    (``outputs[task][method]``: ``(N, C, H, W)``), against the clean ``images`` ``(N, C, H, W)``.

    The measurement ``outputs[task]["y"]`` is skipped (it may not have the images' shape).
    """
    check_image(images, "images", value_range=True)
    if not isinstance(outputs, dict) or not outputs:
        raise ValueError("outputs must be the non-empty dict that tasks.benchmark(..., outputs=outputs) filled")
    scores = {}
    for task, estimates in outputs.items():
        scores[task] = {}
        for method, estimate in estimates.items():
            if method == "y":
                continue
            if estimate.shape != images.shape:
                raise ValueError(f"outputs[{task!r}][{method!r}] has shape {tuple(estimate.shape)}, "
                                 f"expected the images' {tuple(images.shape)}")
            scores[task][method] = psnr(estimate.clamp(0, 1), images).cpu()
    return scores


def paired_gain(scores: dict, method: str, baseline: str) -> dict:
    """``{task: (N,) per-image PSNR of method − baseline}`` over the tasks where both were run.

    ``scores``: what ``per_image_psnr`` returns. A name that no task knows is an error.
    """
    known = {m for by_method in scores.values() for m in by_method}
    for name, value in (("method", method), ("baseline", baseline)):
        if value not in known:
            raise ValueError(f"{name} {value!r} is not among the scored methods {sorted(known)}")
    return {task: by_method[method] - by_method[baseline] for task, by_method in scores.items()
            if method in by_method and baseline in by_method}


def mean_std(values) -> tuple[float, float]:
    """Mean and standard deviation (n − 1 in the denominator; 0 for one value) of a 1-D set of values."""
    values = torch.as_tensor(values, dtype=torch.float64).flatten()
    if values.numel() == 0:
        raise ValueError("values must not be empty")
    std = values.std().item() if values.numel() > 1 else 0.0
    return values.mean().item(), std


def mean_pm_std(values, digits: int = 2, signed: bool = True) -> str:
    """``"+1.23 ± 0.45"``: the mean (signed, as a difference, unless ``signed=False``) and the standard
    deviation over the values (n − 1)."""
    mean, std = mean_std(values)
    return f"{mean:{'+' if signed else ''}.{digits}f} ± {std:.{digits}f}"


def is_clear_gain(values) -> bool:
    """Whether a set of paired differences is a clear gain: its mean exceeds its standard deviation (a gain
    that most images share, not one that a few of them carry). Needs at least two values."""
    values = torch.as_tensor(values, dtype=torch.float64).flatten()
    if values.numel() < 2:
        raise ValueError(f"a spread needs at least two values, got {values.numel()}")
    mean, std = mean_std(values)
    return mean > std


__all__ = ["per_image_psnr", "paired_gain", "mean_std", "mean_pm_std", "is_clear_gain"]


def seed_scores(outputs: torch.Tensor, images: torch.Tensor) -> dict:
    """A sampler's restorations of ``images`` (``(N, C, H, W)``) from several noise seeds, ``outputs``
    ``(S, N, C, H, W)``, summed up as one table row: PSNR (the mean over seeds, ± its standard deviation over the
    images), mean SSIM, the detail ratio (mean ± std over the images) and the per-pixel spread over seeds in
    /255 (how different the seeds' answers are)."""
    from .metrics import detail_ratio, ssim

    check_image(images, "images")
    if not isinstance(outputs, torch.Tensor) or outputs.ndim != 5 or outputs.shape[1:] != images.shape:
        raise ValueError(f"outputs must be (S, N, C, H, W) with (N, C, H, W) = {tuple(images.shape)}, got "
                         f"{tuple(getattr(outputs, 'shape', ()))}")
    psnrs = torch.stack([psnr(o, images) for o in outputs]).mean(0)  # (N,)
    details = torch.stack([detail_ratio(o, images) for o in outputs]).mean(0)
    return {"PSNR (dB)": mean_pm_std(psnrs, signed=False),
            "SSIM": torch.stack([ssim(o, images) for o in outputs]).mean().item(),
            "detail": mean_pm_std(details, signed=False),
            "spread over seeds (/255)": 255 * outputs.std(0).mean().item() if len(outputs) > 1 else 0.0}
