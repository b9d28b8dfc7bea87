"""The training losses of the recipes: ``loss_fn(model, batch, generator)`` closures built from a config.

The denoiser's L1 loss and the classifier's cross-entropy live here; the DDPM ε-loss and the flow-matching
loss are those of ``priors.diffusion`` and ``flowmaps.flow_matching``.
"""

import torch
import torch.nn.functional as F


def denoiser_loss(config: dict):
    """L1 loss of D(x + σε, σ) against clean ``(N, C, H, W)`` x, σ ~ U[0, σ_max] per patch (as DRUNet's
    training), σ_max = ``config["data"]["sigma_max"]``."""
    d = config["data"]

    def loss_fn(model, clean, generator):
        device = next(model.parameters()).device
        sigma = torch.rand(clean.shape[0], generator=generator) * d["sigma_max"]
        noise = torch.randn(clean.shape, generator=generator)
        clean, sigma, noise = clean.to(device), sigma.to(device), noise.to(device)
        noisy = clean + sigma.view(-1, 1, 1, 1) * noise
        return F.l1_loss(model(noisy, sigma), clean)

    return loss_fn


def classifier_loss(config: dict):
    """Cross-entropy of the logits ``model(x)`` against the labels of a ``(x, y)`` batch."""

    def loss_fn(model, batch, generator):
        device = next(model.parameters()).device
        x, y = batch
        return F.cross_entropy(model(x.to(device)), y.to(device))

    return loss_fn


def generative_loss(config: dict):
    """The DDPM ε-loss with ``config["schedule"]`` (``objective: ddpm``) or the flow-matching loss with
    ``config["time_sampler"]`` (default ``uniform``)."""
    from ..flowmaps import flow_matching
    from ..priors import diffusion

    if config["objective"] == "ddpm":
        schedule = diffusion.get_schedule(config["schedule"])

        def loss_fn(model, batch, generator):
            return diffusion.eps_loss(model, batch, schedule, generator)
    else:
        def loss_fn(model, batch, generator):
            return flow_matching.fm_loss(model, batch, generator, config.get("time_sampler", "uniform"))

    return loss_fn
