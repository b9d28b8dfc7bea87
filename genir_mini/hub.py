"""The checkpoints the book ships (``data/checkpoints``), each produced by a recipe and described in
``manifest.json``: file, sha256, bytes, net, recipe, tier, config, steps, hardware, training time, evaluation.

``load(name)`` checks the file's hash and rebuilds the model with ``nets.build(entry["net"],
entry["config"]["model"])``; a missing or corrupt file raises ``CheckpointError`` saying how to get it.
``training.load_or_train(name)`` falls back to training the recipe (resumably) for readers without the file.
"""

import hashlib
import json
import os
import time
from pathlib import Path

import torch

from . import nets

TIERS = ("smoke", "cpu", "gpu")  # the training tiers, in increasing order (``publish`` never goes down one)


class CheckpointError(RuntimeError):
    """A shipped checkpoint is missing, unknown or does not match its manifest."""


def checkpoint_dir() -> Path:
    """``$GENIR_CHECKPOINTS`` if set, else ``data/checkpoints`` of the repository holding this package."""
    env = os.environ.get("GENIR_CHECKPOINTS")
    return Path(env) if env else Path(__file__).resolve().parents[1] / "data" / "checkpoints"


def manifest(directory=None) -> dict:
    path = Path(directory or checkpoint_dir()) / "manifest.json"
    if not path.exists():
        return {}
    return json.loads(path.read_text())


def sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load(name: str, device="cpu", directory=None) -> torch.nn.Module:
    """The shipped model ``name`` in eval mode, after checking its sha256 against the manifest."""
    directory = Path(directory or checkpoint_dir())
    entries = manifest(directory)
    if name not in entries:
        raise CheckpointError(f"no checkpoint named {name!r} in {directory / 'manifest.json'}; "
                              f"available: {sorted(entries) or 'none'}")
    entry = entries[name]
    if entry.get("net") not in nets.NETS:
        raise CheckpointError(f"manifest entry {name!r} in {directory / 'manifest.json'} has "
                              + (f"net {entry['net']!r}" if "net" in entry else "no 'net' field")
                              + f"; expected the network to build, one of {sorted(nets.NETS)}")
    path = directory / entry["file"]
    if not path.exists():
        raise CheckpointError(f"checkpoint file {path} is missing; restore it from the repository "
                              f"(git checkout -- {entry['file']}) or train it with `python -m genir_mini.training "
                              f"train {entry['recipe']} --tier {entry['tier']} --publish`, or call "
                              f"genir_mini.training.load_or_train({name!r})")
    digest = sha256(path)
    if digest != entry["sha256"]:
        raise CheckpointError(f"checkpoint file {path} is corrupt or out of date: sha256 {digest[:12]}… "
                              f"but the manifest says {entry['sha256'][:12]}…; restore or retrain it")
    state = torch.load(path, map_location=device, weights_only=True)
    model = nets.build(entry["net"], entry["config"]["model"])
    model.load_state_dict(state)
    return model.to(device).eval().requires_grad_(False)


def publish(name: str, result: dict, directory=None, force: bool = False) -> dict:
    """Write ``result["model"]``'s weights to ``<directory>/<name>.pt`` and record it in the manifest.

    ``result`` is what ``training.run.run`` returns: model, net, recipe, tier, config, steps, hardware,
    train_seconds and evaluation.

    Refuses to replace a shipped checkpoint of a higher tier (e.g. ``cpu`` by ``smoke``) unless ``force``.
    Both files are written atomically.
    """
    missing = [k for k in ("model", "net", "recipe", "tier", "config", "steps", "hardware", "train_seconds",
                           "evaluation") if k not in result]
    if missing:
        raise KeyError(f"result lacks {missing} (publish takes what training.run.run returns)")
    directory = Path(directory or checkpoint_dir())
    directory.mkdir(parents=True, exist_ok=True)
    entries = manifest(directory)
    shipped = entries.get(name, {}).get("tier")
    if shipped and TIERS.index(result["tier"]) < TIERS.index(shipped) and not force:  # smoke < cpu < gpu
        raise CheckpointError(f"{directory / (name + '.pt')} holds a {shipped!r}-tier model; publishing a "
                              f"{result['tier']!r}-tier one over it needs force=True (--force)")
    path = directory / f"{name}.pt"
    state = {k: v.detach().cpu().contiguous() for k, v in result["model"].state_dict().items()}
    torch.save(state, path.with_suffix(".tmp"))
    os.replace(path.with_suffix(".tmp"), path)
    entry = {
        "file": path.name, "sha256": sha256(path), "bytes": path.stat().st_size,
        "net": result["net"], "recipe": result["recipe"], "tier": result["tier"], "config": result["config"],
        "steps": result["steps"], "hardware": result["hardware"], "train_seconds": result["train_seconds"],
        "parameters": sum(p.numel() for p in result["model"].parameters()),
        "evaluation": result["evaluation"], "created": time.strftime("%Y-%m-%d"),
        "training": result.get("training", {}),  # precision, compiled, processes, micro_batches used
    }
    entries[name] = entry
    tmp = directory / "manifest.json.tmp"
    tmp.write_text(json.dumps(entries, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, directory / "manifest.json")
    return entry
