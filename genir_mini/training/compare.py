"""Trained recipes compared as the chapters compare them: digits drawn by generative recipes from the same
noise and scored in LeNet features (chapters 7 and 8)."""

import time
from dataclasses import dataclass

from .. import data, hub
from ..evaluation import distances
from .recipes import get_recipe
from .run import load_or_train
from .sampling import sample_images


@dataclass
class DigitComparison:
    """Digits drawn by trained generative recipes and scored in LeNet features (``digit_models``)."""

    rows: list  # one table row per (model, NFE), the floor of real digits first
    scores: dict  # (name, NFE) -> ``distances.digit_distances``: "fd", "confident", ...
    samples: dict  # (name, NFE) -> the first 16 samples, (16, 1, 28, 28) in [0, 1]
    floor_fds: list  # FD of real training digits against the test digits, one per draw

    @property
    def fd_noise(self) -> float:
        """The floor's range over its draws: a difference in FD smaller than this is sampling noise."""
        return max(self.floor_fds) - min(self.floor_fds)


def digit_models(models: dict, n: int, classifier, *, floor_draws: int = 4, seed: int = 4,
                         device=None) -> DigitComparison:
    """Each model draws ``n`` digits from the same noise (``seed``) at each of its NFEs, scored against the
    test digits: FD in ``classifier``'s LeNet features, the share read with confidence ("legible") and the
    sampling time; the floor row is the FD of ``n`` real digits, over ``floor_draws`` draws.

    ``models``: name -> ``(recipe, sampler, nfes)``, the network trained by the recipe's ``cpu`` tier
    (``load_or_train``) sampled with ``sample_images``' ``sampler``. Table columns: model, training steps
    and seconds (from the manifest), NFE, FD, legible, s / 100 images.
    """
    if not models:
        raise ValueError("models must be a non-empty dict name -> (recipe, sampler, nfes)")
    test_digits, _ = data.digits("test")
    floors = [distances.real_floor(n, classifier, seed=k) for k in range(floor_draws)]
    floor_fds = [f["fd"] for f in floors]
    rows = [{"model": "real digits (floor)", "training steps": "", "training s": "", "NFE": 0,
             "FD": f"{min(floor_fds):.1f}–{max(floor_fds):.1f}", "legible": floors[0]["confident"],
             "s / 100 images": 0.0}]
    scores, samples, manifest = {}, {}, hub.manifest()
    for name, (recipe, sampler, nfes) in models.items():
        net = load_or_train(recipe, device=device)
        config, entry = get_recipe(recipe).config("cpu"), manifest.get(recipe, {})
        for nfe in nfes:
            start = time.perf_counter()
            out = sample_images(net, config, sampler, nfe, n, seed=seed).cpu()
            seconds = time.perf_counter() - start
            score = scores[name, nfe] = distances.digit_distances(out, test_digits, classifier)
            samples[name, nfe] = out[:16]
            rows.append({"model": name, "training steps": entry.get("steps"),
                         "training s": entry.get("train_seconds"), "NFE": nfe, "FD": score["fd"],
                         "legible": score["confident"], "s / 100 images": 100 * seconds / n})
    return DigitComparison(rows, scores, samples, floor_fds)
