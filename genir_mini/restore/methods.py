"""The registry of restoration methods: one calling convention, each method's cost and where it applies.

Every method is called the same way (the one restoration call of the book)::

    x_hat = method(y, operator, prior, *, sigma_n, steps, generator=None, callback=None, **knobs)

``y``: the measurement ([0, 1] image units); ``operator``: an ``operators.LinearOperator``; ``prior``: what the
method knows about images (``None`` for the closed form, a Gaussian denoiser ``D(x, σ)`` for PnP-HQS, an
``EpsModel`` for the diffusion solvers, and a flow map for the one-step methods of chapters 6-8);
``steps``: iterations; ``callback``: called after every iteration (the closed form has none) with one dict
whose keys are the same for every method, ``i`` (step index), ``t`` (the method's own time: the noise level σ_k
for PnP, the DDPM timestep k for the diffusion solvers), ``x_t`` (the current iterate) and ``x0_hat`` (the
prior's estimate of the clean image), plus a method's own extras (``rho``, ``x0_data``, ``residual``), all in
image units; the result is an image ``(N, C, H, W)``. ``METHODS[name]`` knows the network evaluations (NFE) of
``steps`` steps, the operator capabilities the method needs, and the book's per-task settings, so one benchmark
(chapters 5 and 10) can run every method on every task it applies to.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .._checks import check_choice
from ..operators import LinearOperator, Spectral, SuperResolution
from . import ddrm, diffpir, dps, linear, mfsr, oftsr, pnp


@dataclass(frozen=True)
class Method:
    """A restoration method with its cost model and its defaults.

    ``solve``: the function with the common signature; ``prior``: the kind of prior it takes; ``nfe_per_step``:
    network evaluations per step (DPS adds one backward pass per step, ``backward``); ``requires``: operator
    capabilities (``operators.Spectral``); ``default_steps``; ``task_settings(task)``: the book's knobs for a
    task (an object with ``name``, ``n_iter``, ``sigma_min``: ``evaluation.tasks.Task``).
    """

    name: str
    solve: Callable
    prior: str
    nfe_per_step: int
    default_steps: int
    description: str
    requires: tuple = ()
    backward: bool = False
    task_settings: Callable = field(default=lambda task: {})

    def nfe(self, steps: int) -> int:
        """Network evaluations of ``steps`` steps."""
        return self.nfe_per_step * steps

    def applies_to(self, operator: LinearOperator) -> bool:
        """Whether ``operator`` has every capability the method needs."""
        return all(isinstance(operator, capability) for capability in self.requires)

    def __call__(self, y, operator, prior=None, *, sigma_n, steps=None, generator=None, callback=None, **knobs):
        steps = self.default_steps if steps is None else steps
        return self.solve(y, operator, prior, sigma_n=sigma_n, steps=steps, generator=generator, callback=callback,
                          **knobs)


METHODS = {m.name: m for m in (
    Method("closed-form", linear.closed_form, "none", 0, 30,
           "Tikhonov to a flat image, discrepancy-principle ρ (bicubic for SR); ch. 2"),
    Method("pnp-hqs", pnp.pnp_hqs, "denoiser", 1, 8, "plug-and-play HQS with DPIR's schedule; ch. 2",
           task_settings=lambda task: {"steps": task.n_iter, "sigma_min": task.sigma_min}),
    Method("diffpir", diffpir.diffpir, "eps-model", 1, 100, "DiffPIR, Algorithm 1; ch. 5",
           task_settings=lambda task: dict(diffpir.TASK_DEFAULTS.get(task.name, {}))),
    Method("ddrm", ddrm.ddrm, "eps-model", 1, 20, "DDRM in the operator's SVD; ch. 5", requires=(Spectral,)),
    Method("dps", dps.dps, "eps-model", 1, 1000, "diffusion posterior sampling; ch. 5", backward=True,
           task_settings=lambda task: dict(dps.TASK_DEFAULTS.get(task.name, {}))),
    Method("oftsr", oftsr.oftsr, "conditional-flow", 1, 1,
           "OFTSR: the conditional flow teacher (Euler steps) or its one-step student at t_in; ch. 6",
           requires=(SuperResolution,)),
    Method("mfsr", mfsr.mfsr, "conditional-mean-flow", 1, 1,
           "MFSR: the MeanFlow-distilled student, one jump of its flow map or a few (refinement); ch. 7",
           requires=(SuperResolution,)),
)}


class Trajectory(list):
    """A callback that records every step's dict, its tensors detached and moved to the CPU (for figures).

    ``path = Trajectory(); diffpir(y, operator, prior, sigma_n=s, callback=path)``; then ``path[i]["x0_hat"]``.
    """

    def __call__(self, step: dict):
        self.append({k: v.detach().cpu() if isinstance(v, torch.Tensor) else v for k, v in step.items()})


def get(name: str) -> Method:
    """The registered method ``name`` (a key of ``METHODS``)."""
    return METHODS[check_choice(name, "method", METHODS)]
