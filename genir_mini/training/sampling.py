"""Samples from a generative recipe's model, by sampler name and number of network evaluations (NFE)."""

import torch

from .._checks import check_choice


def sample_images(model, config, sampler: str, nfe: int, n: int, seed: int = 0, device=None) -> torch.Tensor:
    """``n`` images (digits, or patches of the photograph recipes) in [0, 1] from a generative recipe's model
    with ``sampler`` at ``nfe`` network evaluations: ``ddpm`` (ancestral, β̃) or ``ddim`` (η = 0) for DDPM
    models, ``euler`` or ``heun`` for flow models, ``mean`` (the average-velocity flow map, ``nfe`` uniform
    steps) for MeanFlow and SplitMeanFlow models; on the CPU, sampled on ``device`` (default: the model's)."""
    from ..flowmaps import flow_matching
    from ..priors import diffusion

    size = 28 if config["data"]["source"] == "digits" else config["data"]["patch"]
    shape = (config["model"]["in_channels"], size, size)
    if config["objective"] == "ddpm":
        schedule = diffusion.get_schedule(config["schedule"])
        eta = {"ddpm": 1.0, "ddim": 0.0}[check_choice(sampler, "sampler", ("ddpm", "ddim"))]  # η = 1: ancestral, β̃
        return diffusion.generate(model, schedule, n, shape, steps=nfe, eta=eta, seed=seed, device=device)
    if config["objective"] in ("meanflow", "splitmeanflow"):  # k uniform steps of the average-velocity map
        from ..flowmaps import meanflow

        check_choice(sampler, "sampler", ("mean",))
        return flow_matching.generate(model, n, shape, steps=nfe, seed=seed, device=device,
                                      flow_map=meanflow.flow_map(model))
    check_choice(sampler, "sampler", ("euler", "heun"))
    if sampler == "heun" and nfe % 2:
        raise ValueError(f"Heun uses 2 evaluations per step: nfe must be even, got {nfe}")
    steps = nfe // 2 if sampler == "heun" else nfe
    return flow_matching.generate(model, n, shape, steps=steps, method=sampler, seed=seed, device=device)
