"""The figures a recipe records in the manifest for its trained model: PSNR for the denoiser, test accuracy
for the classifier, FD in LeNet features (or denoising PSNR) for the generative models."""

import time

import torch

from .. import data, hub
from .sampling import sample_images


def evaluate_denoiser(model, config, sigmas=(15, 25, 50), size=256, seed=0, classical=True) -> dict:
    """PSNR (dB) on the held-out photographs at each σ (in /255), with fixed noise.

    ``classical=True`` also scores scikit-image's TV, wavelet and NL-means denoisers on the same inputs.
    """
    from ..evaluation import metrics
    from ..operators import add_noise
    from ..priors import denoisers

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


@torch.no_grad()
def evaluate_classifier(model, config) -> dict:
    """Accuracy of ``model``'s ``(N, 10)`` logits on the test digits."""
    images, labels = data.digits("test")
    accuracy = (model(images).argmax(1) == labels).float().mean().item()
    return {"test_accuracy": round(accuracy, 4), "test_digits": len(labels)}


def evaluate_generator(model, config) -> dict:
    """Sample quality: FD/KD in LeNet features against the test digits at each NFE of ``config["eval"]``
    (with the real-vs-real floor for the same sample count), measured with the shipped
    ``digit-classifier``; for photograph models, the PSNR of the model used as a Gaussian denoiser on the
    held-out photographs."""
    from ..evaluation import distances, metrics
    from ..operators import add_noise
    from ..priors import EpsModel, diffusion

    e = config["eval"]
    figures = {}
    if config["data"]["source"] == "digits":
        classifier = hub.load("digit-classifier")
        reference, _ = data.digits("test")
        figures["floor"] = _rounded(distances.real_floor(e["samples"], classifier))
        for sampler, nfe in e["samplers"]:
            t0 = time.perf_counter()
            samples = sample_images(model, config, sampler, nfe, e["samples"], device=_device(model))
            key = f"{sampler}_nfe{nfe}"
            figures[key] = _rounded(distances.digit_distances(samples, reference, classifier))
            figures[key]["seconds"] = round(time.perf_counter() - t0, 1)
    else:
        schedule = diffusion.get_schedule(config["schedule"])
        denoiser = EpsModel(model, schedule).denoise
        clean = data.test_images(e["size"])
        for s in e["sigmas"]:
            noisy = add_noise(clean, s / 255, seed=s).to(_device(model))
            psnr = metrics.psnr(denoiser(noisy, s / 255).cpu(), clean).mean().item()
            figures[f"denoise_psnr_sigma{s}"] = round(psnr, 3)
    return figures


def _device(model):
    return next(model.parameters()).device


def _rounded(d: dict) -> dict:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in d.items()}
