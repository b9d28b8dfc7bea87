"""fp32 against bf16 autocast (and ``torch.compile``) in the training loop, on CPU.

    python -m tools.bench_precision speed [--rounds 7] [--steps 5] [--compile]
    python -m tools.bench_precision accuracy [--seeds 0 1 2] [--steps 1500]

``speed`` times training steps of the ``ddpm-digits`` cpu tier (the digits UNet, batch 64, 32×32),
alternating the variants round by round so that machine noise hits them alike, and prints the median
milliseconds per step. ``accuracy`` trains the ``digit-classifier`` cpu tier with each seed in each precision
and prints the held-out accuracy. bf16 autocast is forced even where ``loop.bf16_supported`` says it does not
pay (no bf16 matrix units): the figures are the same, only slower.
"""

import argparse
import copy
import statistics
import time

import torch

from genir_mini.training import loop, recipes


def _setup(name, tier, seed=0, **train):
    recipe = recipes.get_recipe(name)
    config = recipe.config(tier)
    config["train"].update(seed=seed, **train)
    torch.manual_seed(seed)
    model = recipe.build_model(config["model"])
    return recipe, config, model, *recipe.make_task(config)


def speed(rounds: int, steps: int, compile_: bool):
    _, config, model, batch_fn, loss_fn = _setup("ddpm-digits", "cpu")
    cfg = loop.TrainConfig(**config["train"])
    variants = {"fp32": None, "bf16": "cpu"}
    if compile_:
        variants.update({"fp32+compile": None, "bf16+compile": "cpu"})
    runs = {}
    for name, autocast in variants.items():
        m = copy.deepcopy(model).train()
        forward = torch.compile(m) if "compile" in name else m
        opt = torch.optim.AdamW(m.parameters(), lr=cfg.lr)
        t0 = time.perf_counter()
        for k in range(2):  # warm-up (and compilation)
            loop.train_step(m, copy.deepcopy(m), opt, loss_fn, batch_fn, cfg, k, autocast, forward)
        print(f"{name}: 2 warm-up steps (with compilation if any) {time.perf_counter() - t0:.1f} s")
        runs[name] = (m, copy.deepcopy(m).eval(), opt, autocast, forward, [])
    for r in range(rounds):
        for m, ema, opt, autocast, forward, times in runs.values():
            t0 = time.perf_counter()
            for k in range(steps):
                loop.train_step(m, ema, opt, loss_fn, batch_fn, cfg, 10 + r * steps + k, autocast, forward)
            times.append((time.perf_counter() - t0) / steps)
    for name, (*_, times) in runs.items():
        ms = statistics.median(times) * 1e3
        per_round = " ".join(f"{t * 1e3:.0f}" for t in times)
        print(f"{name:13s} {ms:7.0f} ms/step  {1e3 / ms:5.2f} steps/s  (rounds: {per_round})")


def accuracy(seeds, steps=None):
    loop.bf16_supported = lambda device="cpu": True  # force autocast: same numerics as on a CPU with bf16 units
    for bf16 in (False, True):
        figures = []
        for seed in seeds:
            extra = {"steps": steps} if steps else {}
            recipe, config, model, batch_fn, loss_fn = _setup("digit-classifier", "cpu", seed, bf16=bf16, **extra)
            result = loop.train(model, loss_fn, batch_fn, loop.TrainConfig(**config["train"]), progress=False)
            acc = recipe.evaluate(result.ema, config)["test_accuracy"]
            figures.append(acc)
            print(f"{result.settings['precision']} seed {seed}: accuracy {acc:.4f}, {result.seconds:.0f} s",
                  flush=True)
        spread = statistics.stdev(figures) if len(figures) > 1 else 0.0
        print(f"{'bf16' if bf16 else 'fp32'}: {statistics.mean(figures):.4f} ± {spread:.4f} "
              f"(mean ± sd over {len(seeds)} seeds)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("speed")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--compile", action="store_true")
    p.add_argument("--threads", type=int, default=2)
    p = sub.add_parser("accuracy")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--steps", type=int, default=None, help="fewer training steps than the tier's 1500")
    p.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}, fast bf16: {loop.bf16_supported('cpu')}")
    if args.command == "speed":
        speed(args.rounds, args.steps, args.compile)
    else:
        accuracy(args.seeds, args.steps)


if __name__ == "__main__":
    main()
