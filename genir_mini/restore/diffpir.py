"""DiffPIR (Zhu et al., 2023): a diffusion model as the prior of plug-and-play HQS (ch. 5, eqs. 5.1–5.4).

Each of the ``steps`` iterations (one network evaluation each) at timestep k does

    x̂₀⁽ᵏ⁾ = Tweedie(x_k)                                            (prior step: the ε-model as a denoiser)
    x̃₀   = argmin_x ‖y − A x‖² + ρ_k ‖x − x̂₀⁽ᵏ⁾‖²,  ρ_k = λ σ_n² / σ̄_k²   (data step: ``operator.prox``)
    ε̂    = (x_k − √ᾱ_k x̃₀) / √(1 − ᾱ_k)                             (the noise the corrected x̃₀ implies)
    x_k' = √ᾱ_k' x̃₀ + √(1 − ᾱ_k') (√(1 − ζ) ε̂ + √ζ z)               (back to the next, lower noise level)

Units follow the official code: the diffusion runs in [−1, 1], the data step in [0, 1] (the book's image
units), σ_n is in [0, 1] units while σ̄_k = √((1 − ᾱ_k)/ᾱ_k) is in [−1, 1] units. A noise of σ̄_k in
model units is σ̄_k/2 in image units, so the Bayes-consistent weight is λ = 4; the official λ values
(and ours, which are the same numbers) absorb that factor 4. ρ_k grows as the noise falls: early on
the data step hardly moves x̂₀, at the end it enforces the measurement up to its noise.
"""

import math

import torch

from .._checks import check_choice, check_image, check_positive
from ..operators import LinearOperator
from ..priors.diffusion import Schedule
from ..priors.parameterization import EpsModel, check_eps_model, eps_from_x0
from ..units import to_signed, to_unit
from ._start import check_start

SIGMA_FLOOR = 0.001  # the official code's floor on σ_n (noise-free inpainting would otherwise give ρ = 0)

# (λ, ζ, NFE) per task (``tasks.make_task`` names) in the sweep loops of the official code (main_ddpir.py):
# deblurring λ = 7, ζ = 0.3, 100 NFE; inpainting λ = 1, ζ = 1, 20 NFE; ×4 SR ζ = 0.25, 100 NFE with λ swept
# over 2…12 (listed as 6, the middle of that range).
OFFICIAL_SETTINGS = {
    "deblur-gaussian": {"lam": 7.0, "zeta": 0.3, "steps": 100},
    "deblur-motion": {"lam": 7.0, "zeta": 0.3, "steps": 100},
    "sr4": {"lam": 6.0, "zeta": 0.25, "steps": 100},
    "inpaint-random": {"lam": 1.0, "zeta": 1.0, "steps": 20},
    "inpaint-box": {"lam": 1.0, "zeta": 1.0, "steps": 20},
}

# The book's settings for its own small models (``ddpm-digits``, ``ddpm-photos``): the best of
# λ ∈ {1, 6, 20} × ζ ∈ {0.3, 0.6, 1} at 50 NFE on training digits and training photographs, never the test
# images (``tools/tune_diffpir.py``). Both models preferred ζ = 1 on every task, by 1 to 9 dB over ζ = 0.3;
# λ mattered less (for inpainting not at all: λ = 1 kept, as in the official code). NFE as in the official code.
TASK_DEFAULTS = {
    "deblur-gaussian": {"lam": 6.0, "zeta": 1.0, "steps": 100},
    "deblur-motion": {"lam": 6.0, "zeta": 1.0, "steps": 100},
    "sr4": {"lam": 1.0, "zeta": 1.0, "steps": 100},
    "inpaint-random": {"lam": 1.0, "zeta": 1.0, "steps": 20},
    "inpaint-box": {"lam": 1.0, "zeta": 1.0, "steps": 20},
}
TASK_DEFAULTS["sr4-centred"] = TASK_DEFAULTS["sr4"]  # the same task on the other grid: not tuned separately


def diffpir_timesteps(T: int, steps: int, skip: str = "quad") -> list:
    """The decreasing timesteps DiffPIR visits, from T − 1 to 0 (``steps`` of them, one NFE each).

    ``quad`` (the official default): k_i = T − 1 − ⌊√(i·T²/(steps − 1))⌋ (the last one 0), dense near the
    data: for T = 1000 and 100 steps, 999, 899, 857, 825, …, 10, 5, 0. ``uniform``: evenly spaced.
    """
    check_choice(skip, "skip", ("quad", "uniform"))
    if not isinstance(steps, int) or not 2 <= steps <= T:
        raise ValueError(f"steps must be an integer in [2, {T}], got {steps!r}")
    if skip == "uniform":
        ks = torch.linspace(T - 1, 0, steps, dtype=torch.float64).round().long().tolist()
    else:
        seq = torch.linspace(0, T**2, steps, dtype=torch.float64).sqrt().floor().long().tolist()
        seq[-1] -= 1
        ks = [T - 1 - s for s in seq]
    if len(set(ks)) != steps:
        raise ValueError(f"{steps} {skip} steps out of T={T} repeat a timestep; use fewer steps")
    return ks


def rho_schedule(schedule: Schedule, ks, sigma_n: float, lam: float) -> torch.Tensor:
    """ρ_k = λ max(σ_n, 0.001)² / σ̄_k² for the timesteps ``ks`` (float64, shape (len(ks),))."""
    sigma = max(float(sigma_n), SIGMA_FLOOR)
    return lam * sigma**2 / schedule.sigma_bar[list(ks)] ** 2


@torch.no_grad()
def diffpir(y: torch.Tensor, operator: LinearOperator, prior: EpsModel, *, sigma_n: float, steps: int = 100,
            generator: torch.Generator | None = None, callback=None, lam: float = 7.0, zeta: float = 0.3,
            skip: str = "quad", x_init=None):
    """Restore ``y`` (the measurement of ``operator``, [0, 1] units) with DiffPIR; returns (N, C, H, W) in [0, 1].

    ``prior``: the ε-model (``EpsModel``, [−1, 1] units); ``sigma_n`` the measurement noise (image units);
    ``steps`` network evaluations; ``lam``, ``zeta`` as in Algorithm 1 (the defaults are the official
    deblurring values; ``TASK_DEFAULTS`` are the book's per task). ``x_init`` (default ``operator.init(y)``)
    only seeds x_T = √ᾱ_T (2 x_init − 1) + √(1 − ᾱ_T) z, which is noise to within √ᾱ_T ≈ 0.006, as in
    the official code. The result is the data-corrected x̃₀ of the last step (k = 0); the official code
    returns the x of the step before, √ᾱ₀ x̃₀ plus about 1 % noise. ``callback`` receives
    ``{"i", "t" (= k), "x_t", "x0_hat" (prior step), "x0_data" (data step), "rho"}`` per step, in image units.
    """
    check_image(y, "y")
    check_positive(sigma_n, "sigma_n", allow_zero=True)
    check_positive(lam, "lam")
    if not 0 <= zeta <= 1:
        raise ValueError(f"zeta must be in [0, 1], got {zeta}")
    schedule = check_eps_model(prior).schedule
    ks = diffpir_timesteps(schedule.T, steps, skip)
    rhos = rho_schedule(schedule, ks, sigma_n, lam)
    start = operator.init(y) if x_init is None else check_start(x_init, operator, y)
    operator = operator.unchecked()
    ab = schedule.alpha_bar
    noise = torch.randn(start.shape, generator=generator).to(start.device)
    x = math.sqrt(ab[ks[0]]) * to_signed(start) + math.sqrt(1 - ab[ks[0]]) * noise
    for i, k in enumerate(ks):
        x0 = prior.x0_hat(x, k)
        x0_data = to_signed(operator.prox(to_unit(x0), y, rhos[i].item()))
        if callback is not None:
            callback({"i": i, "t": k, "x_t": to_unit(x), "x0_hat": to_unit(x0), "x0_data": to_unit(x0_data),
                      "rho": rhos[i].item()})
        if i == len(ks) - 1:
            break
        a, a_next = ab[k].item(), ab[ks[i + 1]].item()
        eps_hat = eps_from_x0(x, x0_data, math.sqrt(a), math.sqrt(1 - a))
        z = torch.randn(x.shape, generator=generator).to(x.device)
        noise_mix = math.sqrt(1 - zeta) * eps_hat + math.sqrt(zeta) * z
        x = math.sqrt(a_next) * x0_data + math.sqrt(1 - a_next) * noise_mix
    return to_unit(x0_data).clamp(0, 1)
