"""The batches each recipe trains on: ``batch_fn(step, generator)`` closures built from a recipe's config.

Every random draw comes from the ``generator`` the loop seeds per step, so a resumed run sees the same
batches (see ``loop``).

Photo recipes name their images in ``config["data"]["source"]``:

* ``"corpus"``: the train split of the corpus of natural photographs (``data.photo_corpus``, halved),
  plus the package's training photographs when ``package_photos`` is true, each at the ``scales`` of a
  multi-scale pyramid (``data.pyramid``) so that whole-scene resizes are in the training distribution;
* ``"package-photos"`` (``"photos"`` in older manifests): the 11 training photographs that ship inside
  Python packages (``data.training_photos``), at ``scales`` (default 1 and 1/2): the ``smoke`` tiers, which
  run where the corpus is not installed.
"""

import torch

from .. import data, operators

PHOTO_SOURCES = ("corpus", "package-photos", "photos")


def photo_patches_source(d: dict) -> list:
    """The list of ``(1, 3, H, W)`` images that photo patches are cut from, per ``d = config["data"]``."""
    source = d.get("source", "package-photos")
    if source not in PHOTO_SOURCES:
        raise ValueError(f"data source must be one of {PHOTO_SOURCES}, got {source!r}")
    if source != "corpus":
        return data.training_photos(tuple(d.get("scales", (1.0, 0.5))))
    images = data.photo_corpus("train")
    if d.get("package_photos", False):
        images += data.training_photos(scales=(1.0,))
    return data.pyramid(images, tuple(d.get("scales", (1.0, 0.5, 0.25))), min_side=d["patch"])


def denoiser_batches(config: dict):
    """``(batch, 3, patch, patch)`` photo patches in [0, 1], the last ``round(batch · dead_leaves_fraction)``
    replaced by dead-leaves images (``config["data"]``)."""
    d = config["data"]
    photos = photo_patches_source(d)
    n_leaves = round(d["batch"] * d["dead_leaves_fraction"])

    def batch_fn(step, generator):
        batch = data.random_patches(photos, d["batch"] - n_leaves, d["patch"], generator)
        if n_leaves:
            batch = torch.cat([batch, data.dead_leaves(n_leaves, d["patch"], generator)])
        return batch

    return batch_fn


SR_OPERATORS = {
    "block-average": operators.BlockAverageSR,  # OFTSR's
    "bicubic": operators.SuperResolution,  # bicubic kernel + upper-left decimation: DPIR/DiffPIR's (chapters 5-6)
    "bicubic-centred": operators.CentredBicubicSR,  # PIL's / Real-ESRGAN's grid: real-world SR (chapters 7-8)
}


def sr_operator(d: dict):
    """The ×``scale`` degradation of ``d = config["data"]``, by its name ``d["operator"]`` in ``SR_OPERATORS``
    (default ``"block-average"``). The operator's ``init`` builds the condition of every model trained on it,
    so a model is always restored with the operator of its own config."""
    scale, kind = d.get("scale", 4), d.get("operator", "block-average")
    if kind not in SR_OPERATORS:
        raise ValueError(f"operator must be one of {sorted(SR_OPERATORS)}, got {kind!r}")
    return SR_OPERATORS[kind](scale)


def sr_pair_batches(config: dict):
    """Pairs ``(x, y)`` for a conditional super-resolution model (chapter 6's OFTSR): ``x`` the
    high-resolution ``(batch, 3, patch, patch)`` photo patches in [0, 1] (a photo ``source``) or
    ``(batch, 1, 32, 32)`` training digits padded by 2 pixels (``source: digits``), ``y = A x + σ_n ε``
    their ``(batch, C, H/scale, W/scale)`` low-resolution observations (``sr_operator``, ``sigma_n`` in
    image units, default 0). The side must be divisible by ``scale``."""
    d = config["data"]
    operator = sr_operator(d)
    sigma_n = d.get("sigma_n", 0.0)
    if d["source"] == "digits":
        digits = torch.nn.functional.pad(data.digits("train", d.get("folder"))[0], (2, 2, 2, 2))

        def draw(generator):
            return digits[torch.randint(len(digits), (d["batch"],), generator=generator)]
    else:
        photos = photo_patches_source(d)
        if d["patch"] % operator.scale:
            raise ValueError(f"patch ({d['patch']}) must be divisible by scale ({operator.scale})")

        def draw(generator):
            return data.random_patches(photos, d["batch"], d["patch"], generator)

    def batch_fn(step, generator):
        x = draw(generator)
        y = operator.A(x)
        if sigma_n:
            y = operators.add_noise(y, sigma_n, generator=generator)
        return x, y

    return batch_fn


def realworld_pair_batches(config: dict):
    """Pairs ``(x, y)`` for real-world ×4 SR (chapter 7's MFSR): ``x`` ``(batch, 3, patch, patch)`` photo
    patches, ``y`` ``(batch, 3, patch/4, patch/4)`` from the second-order pipeline
    (``operators.realworld_degrade``), except the last ``round(batch · bicubic_fraction)``, which get the
    clean bicubic ×4 degradation of the config's operator (``sr_operator``, ``sigma_n``) so that the model also
    knows it. Both halves must be on one pixel grid: the real-world pipeline ends with a centre-aligned resize,
    so the operator must be ``"bicubic-centred"``. With ``sharpen_targets`` the patches are first sharpened
    as Real-ESRGAN's training targets are (``operators.unsharp_mask``, the release's ``gt_usm``)."""
    d = config["data"]
    photos, operator = photo_patches_source(d), sr_operator(d)
    if not isinstance(operator, operators.CentredBicubicSR):
        raise ValueError("real-world pairs need data operator 'bicubic-centred' (the pipeline's grid), "
                         f"got {d.get('operator', 'block-average')!r}")
    n_bicubic = round(d["batch"] * d.get("bicubic_fraction", 0.0))

    def batch_fn(step, generator):
        x = data.random_patches(photos, d["batch"], d["patch"], generator)
        if d.get("sharpen_targets", False):  # the release's gt_usm: sharpened targets, degraded as such
            x = operators.unsharp_mask(x)
        split = len(x) - n_bicubic
        ys = [operators.realworld_degrade(x[:split], generator=generator)] if split else []
        if n_bicubic:
            bicubic = operator.A(x[split:])
            if d.get("sigma_n", 0.0):
                bicubic = operators.add_noise(bicubic, d["sigma_n"], generator=generator)
            ys.append(bicubic)
        return x, torch.cat(ys)

    return batch_fn


def blur_batches(config: dict):
    """Triples ``(x, y, kernels)`` for non-blind deblurring (chapter 9): ``x`` ``(batch, 3, patch, patch)``
    photo patches, ``kernels`` ``(batch, k, k)`` drawn per patch (``kernel_size`` k, default 25; half
    Gaussian with std ~ U[0.5, 3] px, half camera shake of length ~ U[5, 20] px) and ``y = k ⊛ x + σ_n ε``
    (circular, ``sigma_n`` in image units): the ``deblur-gaussian`` and ``deblur-motion`` tasks' models."""
    d = config["data"]
    photos = photo_patches_source(d)
    size, sigma_n = d.get("kernel_size", 25), d.get("sigma_n", 0.0)

    def batch_fn(step, generator):
        x = data.random_patches(photos, d["batch"], d["patch"], generator)
        kernels = []
        for i in range(d["batch"]):
            u = torch.rand(2, generator=generator).tolist()
            if i % 2:
                kernels.append(operators.gaussian_kernel(size, 0.5 + 2.5 * u[0]))
            else:
                kernels.append(operators.motion_kernel(size, 5 + 15 * u[0], generator=generator))
        kernels = torch.stack(kernels)
        y = torch.fft.ifft2(torch.fft.fft2(x) * operators.p2o(kernels, x.shape[-2:])[:, None]).real
        if sigma_n:
            y = operators.add_noise(y, sigma_n, generator=generator)
        return x, y, kernels

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
    replaces the offline digits), or ``(batch, 3, patch, patch)`` photo patches (a photo ``source``)."""
    d = config["data"]
    if d["source"] == "digits":
        images, _ = data.digits("train", d.get("folder"))

        def batch_fn(step, generator):
            return images[torch.randint(len(images), (d["batch"],), generator=generator)]
    else:
        photos = photo_patches_source(d)

        def batch_fn(step, generator):
            return data.random_patches(photos, d["batch"], d["patch"], generator)

    return batch_fn
