"""DPS (Chung et al., 2023): diffusion posterior sampling by a gradient through Tweedie's x̂₀ (chapter 5).

Each step of ancestral sampling is followed by a step down the gradient of the measurement misfit,
differentiated through the network:

    x_k' = ancestral step from x_k with x̂₀(x_k)                 (chapter 3, respaced posterior, β̃)
    x_k' ← x_k' − ζ ∇_{x_k} ‖y − A x̂₀(x_k)‖                      (the norm, not its square)

The paper writes the step on the squared norm with a size ζ'/‖y − A x̂₀‖, which is the same step up to a
factor 2; the official code takes the gradient of the norm, as here.

Like the official code, the residual is measured in the model's [−1, 1] units (twice the image units,
for a linear A), so the step sizes ζ of its configuration files carry over: 0.3 for super-resolution and
deblurring, 0.5 for inpainting. One network evaluation *and one backward pass* per step, and
1,000 steps in the paper: the slow end of the talk's speed table.
"""

import math

import torch

from .._checks import check_image, check_positive
from ..operators import LinearOperator
from ..priors.diffusion import timesteps
from ..priors.parameterization import EpsModel, check_eps_model
from ..units import to_unit

# ζ per task (``evaluation.tasks`` names) in the official configuration files (FFHQ 256², 1,000 steps):
# 0.3 for super-resolution and deblurring, 0.5 for inpainting. The book uses them unchanged.
OFFICIAL_SETTINGS = {
    "sr4": {"scale": 0.3}, "deblur-gaussian": {"scale": 0.3}, "deblur-motion": {"scale": 0.3},
    "inpaint-random": {"scale": 0.5}, "inpaint-box": {"scale": 0.5},
}
TASK_DEFAULTS = OFFICIAL_SETTINGS


def dps(y: torch.Tensor, operator: LinearOperator, prior: EpsModel, *, sigma_n: float = 0.0, steps: int = 1000,
        generator: torch.Generator | None = None, callback=None, scale: float = 1.0):
    """Restore ``y`` ([0, 1] units) with DPS on ``steps`` uniform timesteps; returns (N, C, H, W) in [0, 1].

    ``prior``: the ε-model (``EpsModel``, [−1, 1] units); ``scale``: ζ above. The step size does not use the
    noise level (``sigma_n`` is accepted for the common signature and checked). Each image of the batch gets
    its own normalised step (the official code takes one norm over the whole batch). ``callback`` receives
    ``{"i", "t" (= k), "x_t", "x0_hat", "residual"}`` per step (image units; ``residual``: ‖y − A x̂₀‖ per image).
    """
    check_image(y, "y")
    check_positive(sigma_n, "sigma_n", allow_zero=True)
    check_positive(scale, "scale", allow_zero=True)
    schedule = check_eps_model(prior).schedule
    ks = timesteps(schedule.T, steps)
    ab_all = schedule.alpha_bar
    shape = operator.init(y).shape
    operator = operator.unchecked()
    x = torch.randn(shape, generator=generator).to(y.device)
    for i, k in enumerate(ks):
        ab = ab_all[k].item()
        x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            x0 = prior.x0_hat(x, k)
            residual = 2 * (y - operator.A(to_unit(x0)))  # model units
            norms = residual.flatten(1).norm(dim=1)
            grad, = torch.autograd.grad(norms.sum(), x)
        x, x0 = x.detach(), x0.detach()
        if callback is not None:
            callback({"i": i, "t": k, "x_t": to_unit(x), "x0_hat": to_unit(x0), "residual": norms.detach() / 2})
        if i == len(ks) - 1:
            x = x0
            break
        ab_prev = ab_all[ks[i + 1]].item()
        beta = 1 - ab / ab_prev
        mean = (math.sqrt(ab_prev) * beta * x0 + math.sqrt(ab / ab_prev) * (1 - ab_prev) * x) / (1 - ab)
        std = math.sqrt(beta * (1 - ab_prev) / (1 - ab))
        x = mean + std * torch.randn(x.shape, generator=generator).to(x.device) - scale * grad
    return to_unit(x).clamp(0, 1)
