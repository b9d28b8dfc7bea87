"""Training a recipe at a tier into a run folder (``run``), the run's machine (``hardware``) and folder
(``default_run_dir``), and the readers' fallback ``load_or_train`` (the shipped model, or its recipe trained)."""

from pathlib import Path

import torch

from .. import hub
from .loop import TrainConfig, is_main_process, train
from .recipes import get_recipe


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
        evaluate: bool = True, data_dir=None, overrides: dict | None = None) -> dict:
    """Train recipe ``name`` at ``tier`` (resuming from ``run_dir``); return the model, EMA and figures.

    ``data_dir`` replaces the offline training data of the digit recipes by a folder of MNIST-format idx
    files (the full MNIST or Fashion-MNIST of the GPU notebooks). ``overrides`` sets config entries by dotted
    path (``{"teacher_norm": "l1", "train.steps": 500}``): an ablation of the recipe, recorded in the returned
    config (the CLI's ``--set``; such a run is not published).
    """
    recipe = get_recipe(name)
    config = apply_overrides(recipe.config(tier), overrides or {})
    if data_dir is not None:
        if config.get("data", {}).get("source") != "digits":
            raise ValueError(f"data_dir applies to the digit recipes only, not to {name!r}")
        config["data"]["folder"] = str(data_dir)
    with torch.random.fork_rng():  # seeded initialisation, without touching the caller's generator
        torch.manual_seed(config["train"].get("seed", 0))
        model = recipe.build_model(config["model"])
    if recipe.teacher is None:
        batch_fn, loss_fn = recipe.make_task(config)
    else:  # a distillation: the student starts as its teacher (a resumed run then loads its own weights)
        teacher = teacher_model(recipe.teacher, tier, device, progress)
        if recipe.start is None:
            model.load_state_dict(teacher.state_dict())
        else:
            recipe.start(model, teacher)
        batch_fn, loss_fn = recipe.make_task(config, teacher)
    result = train(model, loss_fn, batch_fn, TrainConfig(**config["train"]), run_dir=run_dir, device=device,
                   progress=progress)
    figures = recipe.evaluate(result.ema, config) if evaluate and is_main_process() else {}
    return {"recipe": name, "tier": tier, "config": config, "model": result.ema, "history": result.history,
            "train_seconds": round(result.seconds, 1), "hardware": hardware(device), "evaluation": figures,
            "steps": config["train"]["steps"], "net": recipe.net, "training": result.settings}


def apply_overrides(config: dict, overrides: dict) -> dict:
    """``config`` with each ``"a.b.c": value`` of ``overrides`` set (intermediate entries must exist, the last
    may be new), in place; returns it."""
    for path, value in overrides.items():
        *parents, key = path.split(".")
        node = config
        for part in parents:
            if not isinstance(node.get(part), dict):
                raise ValueError(f"override {path!r}: the config has no section {part!r}")
            node = node[part]
        node[key] = value
    return config


def teacher_model(name: str, tier: str, device="cpu", progress: bool = True) -> torch.nn.Module:
    """The teacher recipe ``name``'s model at ``tier``: the shipped checkpoint if it is of that tier, else the
    recipe trained at that tier in ``default_run_dir`` (resuming; the smoke tier takes seconds)."""
    entry = hub.manifest().get(name)
    if entry is not None and entry.get("tier") == tier:
        try:
            return hub.load(name, device)
        except hub.CheckpointError as err:
            print(f"{err}\n-> training the teacher {name!r} at tier {tier!r} instead")
    return _train_instead(name, tier, None, device, progress)


def _train_instead(recipe: str, tier: str, run_dir, device, progress) -> torch.nn.Module:
    """The fallback of ``load_or_train`` and ``teacher_model``: recipe ``recipe`` trained at ``tier`` in
    ``run_dir`` (default ``runs/<recipe>-<tier>``, so an interrupted training resumes), in eval mode."""
    out = run(recipe, tier, run_dir or default_run_dir(recipe, tier), device, progress=progress, evaluate=False)
    return out["model"].eval().requires_grad_(False)


def load_run(name: str, tier: str, run_dir, device="cpu") -> torch.nn.Module:
    """The EMA weights in a run folder's last checkpoint (finished or not), built with the recipe's tier config:
    the model of a run that is not published yet."""
    from .loop import CHECKPOINT_NAME

    path = Path(run_dir) / CHECKPOINT_NAME
    if not path.exists():
        raise FileNotFoundError(f"no {CHECKPOINT_NAME} in {run_dir}")
    state = torch.load(path, map_location=device, weights_only=False)
    model = get_recipe(name).build_model(get_recipe(name).config(tier)["model"])
    model.load_state_dict(state["ema"])
    print(f"{name} ({tier}) from {path}: step {state['step']}, {state.get('seconds', 0):.0f} s of training")
    return model.to(device).eval().requires_grad_(False)


def load_or_train(name: str, tier: str | None = None, run_dir=None, device="cpu", progress=True,
                  directory=None) -> torch.nn.Module:
    """``hub.load(name)``, or — if the file is missing or corrupt — train its recipe and return the result.

    The fallback trains ``tier`` (default: the manifest's tier, else ``cpu``) in ``run_dir`` (default
    ``runs/<name>-<tier>`` at the repository root, wherever the caller runs), so an interrupted training
    resumes where it stopped.
    """
    try:
        return hub.load(name, device, directory)
    except hub.CheckpointError as err:
        entry = hub.manifest(directory).get(name, {})
        recipe = entry.get("recipe", name)
        tier = tier or entry.get("tier", "cpu")
        print(f"{err}\n-> training recipe {recipe!r} at tier {tier!r} instead")
        return _train_instead(recipe, tier, run_dir or default_run_dir(name, tier), device, progress)
