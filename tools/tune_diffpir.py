"""The sweep behind ``genir_mini.restore.diffpir.TASK_DEFAULTS``: DiffPIR's λ and ζ per task for the book's models,
chosen by PSNR on *training* images (the chapters evaluate on held-out ones).

Usage::

    python tools/tune_diffpir.py digits      # ddpm-digits on 8 training digits padded to 32×32 (~1 min, CPU)
    python tools/tune_diffpir.py photos      # ddpm-photos on 2 training photographs at 128² (~10 min, CPU)

Prints one line per task: the best (λ, ζ) and the PSNR of every pair of the grid.
"""

from __future__ import annotations

import argparse
import itertools

import torch
import torch.nn.functional as F

from genir_mini import data, hub
from genir_mini.evaluation import metrics, tasks
from genir_mini.priors import diffusion
from genir_mini.priors.parameterization import EpsModel
from genir_mini.restore import diffpir

LAMBDAS = (1.0, 6.0, 20.0)
ZETAS = (0.3, 0.6, 1.0)


def validation_images(which: str, n: int) -> tuple[torch.Tensor, int]:
    """``n`` training digits (one per class first) padded to 32×32, or ``n`` training photographs at 128²."""
    if which == "digits":
        images = data.digits("train")[0]
        return F.pad(images[:: len(images) // n][:n], (2, 2, 2, 2)), 32
    return torch.cat([data.load_image(name, 128) for name in data.TRAIN_IMAGES[:n]]), 128


def sweep(model, images, size, task_names, lambdas=LAMBDAS, zetas=ZETAS, steps=50) -> dict:
    """{task: {(λ, ζ): mean PSNR}} for DiffPIR with ``steps`` NFE, same noise and seed for every pair.

    ``model``: the ε-network (or an ``EpsModel``; a network is wrapped with the book's linear schedule).
    """
    prior = model if isinstance(model, EpsModel) else EpsModel(model, diffusion.linear_schedule(1000))
    results = {}
    for name in task_names:
        task = tasks.make_task(name, size)
        y = tasks.degrade(task, images)
        results[name] = {}
        for lam, zeta in itertools.product(lambdas, zetas):
            out = diffpir.diffpir(y, task.operator, prior, sigma_n=task.sigma_n, steps=steps, lam=lam, zeta=zeta,
                                  generator=torch.Generator().manual_seed(0))
            results[name][lam, zeta] = metrics.psnr(out, images).mean().item()
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", choices=("digits", "photos"))
    parser.add_argument("--images", type=int, default=None, help="how many (default 8 digits, 2 photographs)")
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args(argv)
    model = hub.load("ddpm-digits" if args.which == "digits" else "ddpm-photos")
    images, size = validation_images(args.which, args.images or (8 if args.which == "digits" else 2))
    for name, scores in sweep(model, images, size, list(diffpir.TASK_DEFAULTS), steps=args.steps).items():
        best = max(scores, key=scores.get)
        print(name, "best (λ, ζ) =", best, f"{scores[best]:.2f} dB;",
              ", ".join(f"{k}: {v:.2f}" for k, v in scores.items()), flush=True)


if __name__ == "__main__":
    main()
