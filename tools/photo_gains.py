"""The photo priors' gains over the closed form on the test set, on both preparations of the photographs:
the before/after figures of a retrained prior (chapter 2: PnP-HQS with the learned denoiser; chapter 5:
DiffPIR with ``ddpm-photos``).

Usage::

    python tools/photo_gains.py pnp [--checkpoints DIR] [--size 128] [--json out.json]
    python tools/photo_gains.py diffpir [--checkpoints DIR] [--size 96] [--json out.json]

``--checkpoints`` is a folder with a ``manifest.json`` (default: the shipped ``data/checkpoints``), e.g.
an older commit's checkpoints extracted with ``git archive``. Prints, per task and preparation, the mean ±
standard deviation of the per-image gain over the 16 test photographs and whether it is clear (mean >
std), then the gap between the two preparations' mean gains. One pass takes 5–15 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json

import torch

from genir_mini import data, hub
from genir_mini.evaluation import spread, tasks
from genir_mini.priors import EpsModel, denoisers, diffusion
from genir_mini.restore import diffpir

PREPARATIONS = ("resize", "crop")
PNP_TASKS = ("deblur-gaussian", "deblur-motion", "sr4", "inpaint-random")


def methods(which: str, directory) -> tuple[str, dict, tuple]:
    """(the method's name, {name: method(y, task)} with the closed form, the task names)."""
    if which == "pnp":
        learned = denoisers.LearnedDenoiser(hub.load("denoiser", directory=directory))
        return "PnP-learned", {"PnP-learned": tasks.Solver("pnp-hqs", learned)}, PNP_TASKS
    prior = EpsModel(hub.load("ddpm-photos", directory=directory), diffusion.linear_schedule(1000))
    return "DiffPIR", {"DiffPIR": tasks.Solver("diffpir", prior, max_steps=20)}, tuple(diffpir.TASK_DEFAULTS)


def measure(which: str, size: int, directory=None) -> dict:
    """``{preparation: {task: [per-image gain in dB, ...]}}`` over ``data.TEST_SET``."""
    name, solvers, task_names = methods(which, directory)
    gains = {}
    for preparation in PREPARATIONS:
        images = data.test_photographs(size, preparation)
        outputs = {}
        tasks.benchmark({"closed form": tasks.closed_form, **solvers}, task_names, images, outputs=outputs)
        per_task = spread.paired_gain(spread.per_image_psnr(outputs, images), name, "closed form")
        gains[preparation] = {task: g.tolist() for task, g in per_task.items()}
        for task, g in per_task.items():
            clear = "clear" if spread.is_clear_gain(g) else "not clear"
            print(f"{preparation:6s} {task:16s} {name} − closed form {spread.mean_pm_std(g)} dB "
                  f"(n = {len(g)}, {clear})", flush=True)
    for task in task_names:
        resize, crop = (spread.mean_std(gains[p][task])[0] for p in PREPARATIONS)
        print(f"{task:16s} crop − resize gap {crop - resize:+.2f} dB")
    return gains


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("prior", choices=["pnp", "diffpir"])
    parser.add_argument("--checkpoints", default=None, help="folder with manifest.json (default: shipped)")
    parser.add_argument("--size", type=int, default=None, help="image side (default 128 for pnp, 96 for diffpir)")
    parser.add_argument("--json", default=None, help="write the per-image gains here")
    args = parser.parse_args(argv)
    size = args.size or (128 if args.prior == "pnp" else 96)
    torch.manual_seed(0)
    gains = measure(args.prior, size, args.checkpoints)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"prior": args.prior, "size": size, "checkpoints": args.checkpoints or "shipped",
                       "images": list(data.TEST_SET), "gains": gains}, f, indent=1)


if __name__ == "__main__":
    main()
