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
from ..units import to_unit
from ..priors.diffusion import Schedule, timesteps
from ..operators import LinearOperator


def dps(y: torch.Tensor, operator: LinearOperator, model, schedule: Schedule, steps: int = 1000,
        scale: float = 1.0, generator: torch.Generator | None = None, return_trajectory: bool = False):
    """Restore ``y`` ([0, 1] units) with DPS on ``steps`` uniform timesteps; returns (N, C, H, W) in [0, 1].

    ``model(x_k, k/T)``: an ε-model in [−1, 1] units; ``scale``: ζ above. Each image of the batch gets its
    own normalised step (the official code takes one norm over the whole batch). With
    ``return_trajectory`` also returns a list of {"k", "x_k", "x0", "residual"} ([0, 1] units).
    """
    check_image(y, "y")
    check_positive(scale, "scale", allow_zero=True)
    ks = timesteps(schedule.T, steps)
    ab_all = schedule.alpha_bar
    shape = operator.init(y).shape
    x = torch.randn(shape, generator=generator).to(y.device)
    trajectory = []
    for i, k in enumerate(ks):
        ab = ab_all[k].item()
        x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            eps = model(x, schedule.time(k).expand(x.shape[0]).to(x.device))
            x0 = ((x - math.sqrt(1 - ab) * eps) / math.sqrt(ab)).clamp(-1, 1)
            residual = 2 * (y - operator.A(to_unit(x0)))  # model units
            norms = residual.flatten(1).norm(dim=1)
            grad, = torch.autograd.grad(norms.sum(), x)
        x, x0, eps = x.detach(), x0.detach(), eps.detach()
        if return_trajectory:
            trajectory.append({"k": k, "x_k": to_unit(x).cpu(), "x0": to_unit(x0).cpu(),
                               "residual": (norms.detach() / 2).cpu()})
        if i == len(ks) - 1:
            x = x0
            break
        ab_prev = ab_all[ks[i + 1]].item()
        beta = 1 - ab / ab_prev
        mean = (math.sqrt(ab_prev) * beta * x0 + math.sqrt(ab / ab_prev) * (1 - ab_prev) * x) / (1 - ab)
        std = math.sqrt(beta * (1 - ab_prev) / (1 - ab))
        x = mean + std * torch.randn(x.shape, generator=generator).to(x.device) - scale * grad
    out = to_unit(x).clamp(0, 1)
    return (out, trajectory) if return_trajectory else out
