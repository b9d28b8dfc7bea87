"""The batches each recipe trains on: ``batch_fn(step, generator)`` closures built from a recipe's config.

Every random draw comes from the ``generator`` the loop seeds per step, so a resumed run sees the same
batches (see ``loop``).
"""

import torch

from .. import data


def denoiser_batches(config: dict):
    """``(batch, 3, patch, patch)`` patches of the training photographs in [0, 1], the last
    ``round(batch · dead_leaves_fraction)`` replaced by dead-leaves images (``config["data"]``)."""
    d = config["data"]
    photos = data.training_photos()
    n_leaves = round(d["batch"] * d["dead_leaves_fraction"])

    def batch_fn(step, generator):
        batch = data.random_patches(photos, d["batch"] - n_leaves, d["patch"], generator)
        if n_leaves:
            batch = torch.cat([batch, data.dead_leaves(n_leaves, d["patch"], generator)])
        return batch

    return batch_fn


def classifier_batches(config: dict):
    """``((batch, 1, 28, 28) digits, (batch,) labels)`` from the training digits, each batch shifted by up
    to 2 pixels (small translations)."""
    images, labels = data.digits("train")
    d = config["data"]

    def batch_fn(step, generator):
        idx = torch.randint(len(images), (d["batch"],), generator=generator)
        shift = torch.randint(-2, 3, (2,), generator=generator).tolist()  # small translations
        return torch.roll(images[idx], shifts=shift, dims=(-2, -1)), labels[idx]

    return batch_fn


def generative_batches(config: dict):
    """``(batch, 1, 28, 28)`` training digits (no augmentation: a flipped 2 is not a digit; ``data.folder``
    replaces the offline digits), or ``(batch, 3, patch, patch)`` photograph patches (``source: photos``)."""
    d = config["data"]
    if d["source"] == "digits":
        images, _ = data.digits("train", d.get("folder"))

        def batch_fn(step, generator):
            return images[torch.randint(len(images), (d["batch"],), generator=generator)]
    else:
        photos = data.training_photos()

        def batch_fn(step, generator):
            return data.random_patches(photos, d["batch"], d["patch"], generator)

    return batch_fn
