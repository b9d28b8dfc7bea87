"""Named, reproducible training runs with tiers ``smoke`` (seconds), ``cpu`` (a 2-core machine, well
under an hour) and ``gpu`` (full scale, one GPU), and the command line that runs them::

    python -m genir_mini.training list
    python -m genir_mini.training train denoiser --tier cpu --run-dir runs/denoiser-cpu [--publish]

``train`` runs ``run.run`` (resuming from ``--run-dir``) and ``--publish`` ships the EMA weights to
``data/checkpoints`` with a manifest entry (see ``hub``). Also the ``genir-train`` script.
"""

import argparse
import time

import torch

from ..hub import TIERS
from .loop import is_main_process
from .recipes import RECIPES
from .run import default_run_dir, run


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m genir_mini.training", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the recipes and their tiers")
    p = sub.add_parser("train", help="train a recipe (resumes from --run-dir)")
    p.add_argument("recipe", choices=sorted(RECIPES))
    p.add_argument("--tier", choices=TIERS, default="cpu")
    p.add_argument("--run-dir", default=None, help="checkpoint folder (default <repository>/runs/<recipe>-<tier>)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--data-dir", default=None, help="digit recipes: a folder of MNIST-format idx files")
    p.add_argument("--publish", action="store_true", help="ship the EMA weights to data/checkpoints")
    p.add_argument("--force", action="store_true", help="let --publish replace a checkpoint of a higher tier")
    p.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "list":
        for r in RECIPES.values():
            print(f"{r.name:12s} tiers: {', '.join(r.tiers)} — {r.description}")
        return
    run_dir = args.run_dir or default_run_dir(args.recipe, args.tier)
    t0 = time.perf_counter()
    out = run(args.recipe, args.tier, run_dir, args.device, progress=not args.no_progress, data_dir=args.data_dir)
    if not is_main_process():  # under torchrun, rank 0 reports and publishes
        return
    print(f"trained {args.recipe} ({args.tier}) in {out['train_seconds']} s on {out['hardware']}")
    print("evaluation:", out["evaluation"])
    if args.publish:
        from .. import hub

        entry = hub.publish(args.recipe, out, force=args.force)
        print(f"published {entry['file']} ({entry['bytes']} bytes, sha256 {entry['sha256'][:12]}…)")
    print(f"total {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
