"""Named, reproducible training runs with tiers ``smoke`` (seconds), ``cpu`` (a 2-core machine, well
under an hour) and ``gpu`` (full scale, one GPU), and the command line that runs them::

    python -m genir_mini.training list
    python -m genir_mini.training train denoiser --tier cpu --run-dir runs/denoiser-cpu [--publish]

A recipe builds its model from a config, draws its batches, defines its loss and evaluates the result;
``run`` trains it with ``train.train`` (resuming from ``run_dir``) and ``--publish`` ships the EMA
weights to ``data/checkpoints`` with a manifest entry (see ``hub``).
"""

import argparse
import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from .. import data
from .._checks import check_choice
from ..nets import DRUNet, DigitClassifier, UNet
from .loop import TrainConfig, is_main_process, train

TIERS = ("smoke", "cpu", "gpu")


@dataclass
class Recipe:
    name: str
    description: str
    build_model: Callable[[dict], torch.nn.Module]  # config["model"] -> model
    make_task: Callable[[dict], tuple]  # config -> (batch_fn, loss_fn)
    evaluate: Callable[[torch.nn.Module, dict], dict]  # (model, config) -> figures
    tiers: dict = field(default_factory=dict)

    def config(self, tier: str) -> dict:
        if tier not in self.tiers:
            raise ValueError(f"unknown tier {tier!r} for recipe {self.name!r}; expected one of {list(self.tiers)}")
        return copy.deepcopy(self.tiers[tier])


# --------------------------------------------------------------------------------------------------
# denoiser: the DRUNet-style Gaussian denoiser of chapter 2

def _denoiser_task(config):
    d = config["data"]
    photos = data.training_photos()
    n_leaves = round(d["batch"] * d["dead_leaves_fraction"])

    def batch_fn(step, generator):
        batch = data.random_patches(photos, d["batch"] - n_leaves, d["patch"], generator)
        if n_leaves:
            batch = torch.cat([batch, data.dead_leaves(n_leaves, d["patch"], generator)])
        return batch

    def loss_fn(model, clean, generator):
        """L1 loss of D(x + σε, σ) against x, σ ~ U[0, σ_max] per patch (as DRUNet's training)."""
        device = next(model.parameters()).device
        sigma = torch.rand(clean.shape[0], generator=generator) * d["sigma_max"]
        noise = torch.randn(clean.shape, generator=generator)
        clean, sigma, noise = clean.to(device), sigma.to(device), noise.to(device)
        noisy = clean + sigma.view(-1, 1, 1, 1) * noise
        return F.l1_loss(model(noisy, sigma), clean)

    return batch_fn, loss_fn


def evaluate_denoiser(model, config, sigmas=(15, 25, 50), size=256, seed=0, classical=True) -> dict:
    """PSNR (dB) on the held-out photographs at each σ (in /255), with fixed noise.

    ``classical=True`` also scores scikit-image's TV, wavelet and NL-means denoisers on the same inputs.
    """
    from ..priors import denoisers
    from ..evaluation import metrics
    from ..operators import add_noise

    clean = data.test_images(size)
    methods = {"learned": denoisers.LearnedDenoiser(model)}
    if classical:
        methods.update(denoisers.classical_denoisers())
    figures = {"images": list(data.HELD_OUT_IMAGES), "size": size}
    for s in sigmas:
        noisy = add_noise(clean, s / 255, seed=seed + s)
        for name, denoiser in methods.items():
            psnr = metrics.psnr(denoiser(noisy, s / 255), clean).mean().item()
            figures[f"psnr_sigma{s}_{name}"] = round(psnr, 3)
    return figures


DENOISER = Recipe(
    name="denoiser",
    description="DRUNet-style colour Gaussian denoiser with a noise-level map, sigma in [0, 55]/255",
    build_model=lambda m: DRUNet(**m),
    make_task=_denoiser_task,
    evaluate=evaluate_denoiser,
    tiers={
        "smoke": {"model": {"in_channels": 3, "channels": [8, 16], "blocks": 1},
                  "data": {"batch": 4, "patch": 32, "sigma_max": 55 / 255, "dead_leaves_fraction": 0.25},
                  "train": {"steps": 4, "lr": 1e-3, "checkpoint_every": 2, "ema_decay": 0.9}},
        "cpu": {"model": {"in_channels": 3, "channels": [32, 64, 128], "blocks": 2},
                "data": {"batch": 24, "patch": 64, "sigma_max": 55 / 255, "dead_leaves_fraction": 0.25},
                "train": {"steps": 5000, "lr": 5e-4, "warmup_steps": 100, "checkpoint_every": 250,
                          "ema_decay": 0.995}},
        "gpu": {"model": {"in_channels": 3, "channels": [32, 64, 128, 256], "blocks": 2},
                "data": {"batch": 64, "patch": 96, "sigma_max": 55 / 255, "dead_leaves_fraction": 0.25},
                "train": {"steps": 40000, "lr": 5e-4, "warmup_steps": 500, "checkpoint_every": 2000,
                          "ema_decay": 0.999}},
    },
)

# --------------------------------------------------------------------------------------------------
# digit-classifier: the feature network of the distribution distances (chapter 3)

def _classifier_task(config):
    images, labels = data.digits("train")
    d = config["data"]

    def batch_fn(step, generator):
        idx = torch.randint(len(images), (d["batch"],), generator=generator)
        shift = torch.randint(-2, 3, (2,), generator=generator).tolist()  # small translations
        return torch.roll(images[idx], shifts=shift, dims=(-2, -1)), labels[idx]

    def loss_fn(model, batch, generator):
        device = next(model.parameters()).device
        x, y = batch
        return F.cross_entropy(model(x.to(device)), y.to(device))

    return batch_fn, loss_fn


@torch.no_grad()
def evaluate_classifier(model, config) -> dict:
    images, labels = data.digits("test")
    accuracy = (model(images).argmax(1) == labels).float().mean().item()
    return {"test_accuracy": round(accuracy, 4), "test_digits": len(labels)}


CLASSIFIER = Recipe(
    name="digit-classifier",
    description="LeNet-style digit classifier; its features define 'FD/KD in LeNet features'",
    build_model=lambda m: DigitClassifier(**m),
    make_task=_classifier_task,
    evaluate=evaluate_classifier,
    tiers={
        "smoke": {"model": {}, "data": {"batch": 16},
                  "train": {"steps": 4, "lr": 1e-3, "checkpoint_every": 2, "ema_decay": 0.9}},
        "cpu": {"model": {}, "data": {"batch": 128},
                "train": {"steps": 1500, "lr": 2e-3, "weight_decay": 1e-4, "checkpoint_every": 500,
                          "ema_decay": 0.99}},
        "gpu": {"model": {}, "data": {"batch": 256},
                "train": {"steps": 3000, "lr": 2e-3, "weight_decay": 1e-4, "checkpoint_every": 1000,
                          "ema_decay": 0.99}},
    },
)


# --------------------------------------------------------------------------------------------------
# generative models: DDPM and flow matching on digits (chapters 3–4) and on photograph patches (chapter 5)

def _generative_task(config):
    """Batches of training digits (no augmentation: a flipped 2 is not a digit) or photograph patches,
    and the DDPM ε-loss or the flow-matching loss."""
    from ..priors import diffusion
    from ..flowmaps import flow_matching

    d = config["data"]
    if d["source"] == "digits":
        images, _ = data.digits("train", d.get("folder"))

        def batch_fn(step, generator):
            return images[torch.randint(len(images), (d["batch"],), generator=generator)]
    else:
        photos = data.training_photos()

        def batch_fn(step, generator):
            return data.random_patches(photos, d["batch"], d["patch"], generator)

    if config["objective"] == "ddpm":
        schedule = diffusion.get_schedule(config["schedule"])

        def loss_fn(model, batch, generator):
            return diffusion.eps_loss(model, batch, schedule, generator)
    else:
        def loss_fn(model, batch, generator):
            return flow_matching.fm_loss(model, batch, generator, config.get("time_sampler", "uniform"))

    return batch_fn, loss_fn


def evaluate_generator(model, config) -> dict:
    """Sample quality: FD/KD in LeNet features against the test digits at each NFE of ``config["eval"]``
    (with the real-vs-real floor for the same sample count); for photograph models, the PSNR of the
    model used as a Gaussian denoiser on the held-out photographs."""
    from ..priors import diffusion
    from ..evaluation import distances, metrics
    from ..flowmaps import flow_matching
    from ..operators import add_noise

    e = config["eval"]
    figures = {}
    if config["data"]["source"] == "digits":
        reference, _ = data.digits("test")
        figures["floor"] = _rounded(distances.real_floor(e["samples"]))
        for sampler, nfe in e["samplers"]:
            t0 = time.perf_counter()
            samples = sample_images(model, config, sampler, nfe, e["samples"], device=_device(model))
            key = f"{sampler}_nfe{nfe}"
            figures[key] = _rounded(distances.digit_distances(samples, reference))
            figures[key]["seconds"] = round(time.perf_counter() - t0, 1)
    else:
        schedule = diffusion.get_schedule(config["schedule"])
        denoiser = diffusion.DiffusionDenoiser(model, schedule)
        clean = data.test_images(e["size"])
        for s in e["sigmas"]:
            noisy = add_noise(clean, s / 255, seed=s).to(_device(model))
            psnr = metrics.psnr(denoiser(noisy, s / 255).cpu(), clean).mean().item()
            figures[f"denoise_psnr_sigma{s}"] = round(psnr, 3)
    return figures


def sample_images(model, config, sampler: str, nfe: int, n: int, seed: int = 0, device="cpu") -> torch.Tensor:
    """``n`` images (digits, or patches of the photograph recipes) in [0, 1] from a generative recipe's model
    with ``sampler`` at ``nfe`` network evaluations: ``ddpm`` (ancestral, β̃) or ``ddim`` (η = 0) for DDPM
    models, ``euler`` or ``heun`` for flow models."""
    from ..priors import diffusion
    from ..flowmaps import flow_matching

    size = 28 if config["data"]["source"] == "digits" else config["data"]["patch"]
    shape = (config["model"]["in_channels"], size, size)
    if config["objective"] == "ddpm":
        schedule = diffusion.get_schedule(config["schedule"])
        eta = {"ddpm": 1.0, "ddim": 0.0}[check_choice(sampler, "sampler", ("ddpm", "ddim"))]  # η = 1: ancestral, β̃
        return diffusion.generate(model, schedule, n, shape, steps=nfe, eta=eta, seed=seed, device=device)
    check_choice(sampler, "sampler", ("euler", "heun"))
    if sampler == "heun" and nfe % 2:
        raise ValueError(f"Heun uses 2 evaluations per step: nfe must be even, got {nfe}")
    steps = nfe // 2 if sampler == "heun" else nfe
    return flow_matching.generate(model, n, shape, steps=steps, method=sampler, seed=seed, device=device)


def _device(model):
    return next(model.parameters()).device


def _rounded(d: dict) -> dict:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in d.items()}


def _digit_tiers(objective):
    base = {"objective": objective, "schedule": "linear"} if objective == "ddpm" else {"objective": objective}
    samplers = ([["ddpm", 1000], ["ddpm", 100], ["ddim", 100], ["ddim", 20], ["ddim", 10]] if objective == "ddpm"
                else [["euler", 100], ["euler", 20], ["euler", 10], ["euler", 4], ["euler", 1], ["heun", 20]])
    return {
        "smoke": {**base, "model": {"in_channels": 1, "channels": [8, 16], "blocks": 1, "time_dim": 16},
                  "data": {"source": "digits", "batch": 8}, "eval": {"samples": 16, "samplers": [samplers[-1][:1] + [2]]},
                  "train": {"steps": 4, "lr": 1e-3, "checkpoint_every": 2, "ema_decay": 0.9}},
        "cpu": {**base, "model": {"in_channels": 1, "channels": [32, 64, 64], "blocks": 1},
                "data": {"source": "digits", "batch": 64}, "eval": {"samples": 500, "samplers": samplers},
                "train": {"steps": 5000, "lr": 1e-3, "warmup_steps": 200, "checkpoint_every": 250,
                          "ema_decay": 0.999}},
        "gpu": {**base, "model": {"in_channels": 1, "channels": [64, 128, 128], "blocks": 2},
                "data": {"source": "digits", "batch": 256}, "eval": {"samples": 1000, "samplers": samplers},
                "train": {"steps": 20000, "lr": 5e-4, "warmup_steps": 500, "checkpoint_every": 1000,
                          "ema_decay": 0.9995}},
    }


DDPM_DIGITS = Recipe(
    name="ddpm-digits",
    description="DDPM (ε-prediction, linear schedule, T = 1000) on 28×28 handwritten digits",
    build_model=lambda m: UNet(**m), make_task=_generative_task, evaluate=evaluate_generator,
    tiers=_digit_tiers("ddpm"),
)

FM_DIGITS = Recipe(
    name="fm-digits",
    description="flow matching / rectified flow (noise at t = 0, data at t = 1) on 28×28 handwritten digits",
    build_model=lambda m: UNet(**m), make_task=_generative_task, evaluate=evaluate_generator,
    tiers=_digit_tiers("fm"),
)

DDPM_PHOTOS = Recipe(
    name="ddpm-photos",
    description="fully convolutional DDPM on 32×32 colour patches of the training photographs (chapter 5's prior)",
    build_model=lambda m: UNet(**m), make_task=_generative_task, evaluate=evaluate_generator,
    tiers={
        "smoke": {"objective": "ddpm", "schedule": "linear",
                  "model": {"in_channels": 3, "channels": [8, 16], "blocks": 1, "time_dim": 16},
                  "data": {"source": "photos", "batch": 4, "patch": 16},
                  "eval": {"size": 32, "sigmas": [25]},
                  "train": {"steps": 4, "lr": 1e-3, "checkpoint_every": 2, "ema_decay": 0.9}},
        "cpu": {"objective": "ddpm", "schedule": "linear",
                "model": {"in_channels": 3, "channels": [32, 64, 128], "blocks": 1},
                "data": {"source": "photos", "batch": 32, "patch": 32},
                "eval": {"size": 256, "sigmas": [15, 25, 50]},
                "train": {"steps": 6000, "lr": 5e-4, "warmup_steps": 200, "checkpoint_every": 250,
                          "ema_decay": 0.999}},
        "gpu": {"objective": "ddpm", "schedule": "linear",
                "model": {"in_channels": 3, "channels": [64, 128, 256], "blocks": 2},
                "data": {"source": "photos", "batch": 64, "patch": 64},
                "eval": {"size": 256, "sigmas": [15, 25, 50]},
                "train": {"steps": 40000, "lr": 2e-4, "warmup_steps": 1000, "checkpoint_every": 2000,
                          "ema_decay": 0.9995}},
    },
)

RECIPES = {r.name: r for r in (DENOISER, CLASSIFIER, DDPM_DIGITS, FM_DIGITS, DDPM_PHOTOS)}


def get_recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; expected one of {sorted(RECIPES)}")
    return RECIPES[name]


def hardware(device="cpu") -> str:
    """A one-line description of the machine a run used."""
    import os
    import platform

    device = torch.device(device)
    if device.type == "cuda":
        where = torch.cuda.get_device_name(device)
    else:
        where = f"CPU ({platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} threads)"
    return f"{where}, torch {torch.__version__}"


def default_run_dir(name: str, tier: str) -> Path:
    """``runs/<name>-<tier>`` at the root of the repository holding this package (wherever the caller runs)."""
    return Path(__file__).resolve().parents[2] / "runs" / f"{name}-{tier}"


def run(name: str, tier: str = "cpu", run_dir=None, device: str = "cpu", progress: bool = True,
        evaluate: bool = True, data_dir=None) -> dict:
    """Train recipe ``name`` at ``tier`` (resuming from ``run_dir``); return the model, EMA and figures.

    ``data_dir`` replaces the offline training data of the digit recipes by a folder of MNIST-format idx
    files (the full MNIST or Fashion-MNIST of the GPU notebooks).
    """
    recipe = get_recipe(name)
    config = recipe.config(tier)
    if data_dir is not None:
        if config.get("data", {}).get("source") != "digits":
            raise ValueError(f"data_dir applies to the digit recipes only, not to {name!r}")
        config["data"]["folder"] = str(data_dir)
    with torch.random.fork_rng():  # seeded initialisation, without touching the caller's generator
        torch.manual_seed(config["train"].get("seed", 0))
        model = recipe.build_model(config["model"])
    batch_fn, loss_fn = recipe.make_task(config)
    result = train(model, loss_fn, batch_fn, TrainConfig(**config["train"]), run_dir=run_dir, device=device,
                   progress=progress)
    figures = recipe.evaluate(result.ema, config) if evaluate and is_main_process() else {}
    return {"recipe": name, "tier": tier, "config": config, "model": result.ema, "history": result.history,
            "train_seconds": round(result.seconds, 1), "hardware": hardware(device), "evaluation": figures,
            "steps": config["train"]["steps"], "training": result.settings}


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
