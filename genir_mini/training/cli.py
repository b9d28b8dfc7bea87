"""Named, reproducible training runs with tiers ``smoke`` (seconds), ``cpu`` (a 2-core machine, well
under an hour) and ``gpu`` (full scale, one GPU), and the command line that runs them::

    python -m genir_mini.training list
    python -m genir_mini.training train denoiser --tier cpu --run-dir runs/denoiser-cpu [--publish]
    python -m genir_mini.training evaluate denoiser [--run-dir runs/denoiser-cpu --tier cpu] [--classical]

``train`` runs ``run.run`` (resuming from ``--run-dir``) and ``--publish`` ships the EMA weights to
``data/checkpoints`` with a manifest entry (see ``hub``). ``evaluate`` measures a photo model as a Gaussian
denoiser on the shipped test set (``evaluate.denoising_on_test_set``): the shipped checkpoint, or the last
checkpoint of ``--run-dir``. Also the ``genir-train`` script.
"""

import argparse
import json
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
    p.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                   help="an ablation: set a config entry by dotted path to a JSON value (or a bare string), "
                        "e.g. teacher_norm=l1 or train.steps=500; not with --publish")
    e = sub.add_parser("evaluate", help="PSNR of a photo model as a denoiser on the test set (mean ± std)")
    e.add_argument("recipe", choices=["denoiser", "ddpm-photos"])
    e.add_argument("--run-dir", default=None, help="this run's last checkpoint (default: the shipped one)")
    e.add_argument("--tier", choices=TIERS, default="cpu", help="the tier of --run-dir")
    e.add_argument("--sigmas", type=int, nargs="+", default=[15, 25, 50], help="noise levels in /255")
    e.add_argument("--size", type=int, default=256)
    e.add_argument("--classical", action="store_true", help="also the classical denoisers at a few settings")
    e.add_argument("--json", default=None, help="write the full table (per-image PSNR) to this file")
    args = parser.parse_args(argv)
    if args.command == "evaluate":
        return evaluate_command(args)
    if args.command == "list":
        for r in RECIPES.values():
            print(f"{r.name:12s} tiers: {', '.join(r.tiers)} — {r.description}")
        return
    run_dir = args.run_dir or default_run_dir(args.recipe, args.tier)
    if RECIPES[args.recipe].config(args.tier).get("data", {}).get("source") == "corpus":
        from ..data import corpus

        corpus.install()  # apt where it can (root), else a clear error saying how
    overrides = _parse_overrides(args.set)
    if overrides and args.publish:
        parser.error("--set makes an ablation, which is not published: a shipped checkpoint is its recipe's")
    t0 = time.perf_counter()
    out = run(args.recipe, args.tier, run_dir, args.device, progress=not args.no_progress, data_dir=args.data_dir,
              overrides=overrides)
    if not is_main_process():  # under torchrun, rank 0 reports and publishes
        return
    print(f"trained {args.recipe} ({args.tier}) in {out['train_seconds']} s on {out['hardware']}")
    print("evaluation:", out["evaluation"])
    if args.publish:
        from .. import hub

        entry = hub.publish(args.recipe, out, force=args.force)
        print(f"published {entry['file']} ({entry['bytes']} bytes, sha256 {entry['sha256'][:12]}…)")
    print(f"total {time.perf_counter() - t0:.1f} s")


def _parse_overrides(items) -> dict:
    """``["a.b=1", 'c="l1"']`` → ``{"a.b": 1, "c": "l1"}``: JSON values, or the bare string where not JSON."""
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--set takes KEY=VALUE, got {item!r}")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return overrides


def evaluate_command(args):
    import json

    from .. import hub
    from .evaluate import (
        best_of,
        classical_settings,
        denoising_on_test_set,
        format_denoising_table,
        photo_denoiser,
    )
    from .run import load_run

    if args.run_dir:
        model, config, label = load_run(args.recipe, args.tier, args.run_dir), \
            RECIPES[args.recipe].config(args.tier), f"{args.recipe} ({args.run_dir})"
    else:
        model, config = hub.load(args.recipe), hub.manifest()[args.recipe]["config"]
        label = f"{args.recipe} (shipped, {hub.manifest()[args.recipe]['tier']} tier)"
    methods = {label: photo_denoiser(args.recipe, model, config)}
    if args.classical:
        methods.update(classical_settings())
    t0 = time.perf_counter()
    table = denoising_on_test_set(methods, tuple(args.sigmas), args.size)
    print(format_denoising_table(table))
    if args.classical:
        best = best_of(table, [m for m in methods if m != label])
        print("best classical setting:", json.dumps(best))
        table["best_classical"] = best
    print(f"measured in {time.perf_counter() - t0:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(table, f, indent=1)


if __name__ == "__main__":
    main()
