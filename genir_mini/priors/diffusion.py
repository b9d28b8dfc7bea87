"""DDPM and DDIM (chapter 3): schedules, the forward process, the ε-prediction loss, Tweedie's x̂₀,
ancestral and DDIM samplers on any sub-sequence of timesteps, and the bridge to plug-and-play: an
ε-model seen through its equivalent predictions (``parameterization.EpsModel``: x̂₀, ε̂, score, velocity and
the Gaussian denoiser D(x, σ) of plug-and-play).

Conventions (the book's notation page): discrete timesteps ``k = 0 … T−1`` with ``k = 0`` nearest the
data; ``x_k = √ᾱ_k x₀ + √(1−ᾱ_k) ε``; the model works on images in [−1, 1] (``data.to_signed``) and is
called as ``model(x_k, k / T)``. Samplers take the network wrapped once as an ``EpsModel`` and work in model
units ([−1, 1]); ``generate`` returns images in [0, 1].
"""

import math
from dataclasses import dataclass

import torch

from .._checks import check_choice, check_image
from ..units import to_signed, to_unit
from . import parameterization
from .parameterization import EpsModel, check_eps_model


@dataclass(frozen=True)
class Schedule:
    """A noise schedule: ``betas`` (T,), float64. Derived: α_k = 1 − β_k, ᾱ_k = ∏_{j≤k} α_j."""

    betas: torch.Tensor
    name: str = "custom"

    def __post_init__(self):
        b = self.betas
        if b.ndim != 1 or len(b) < 2 or not ((b > 0) & (b < 1)).all():
            raise ValueError("betas must be a 1-D tensor of at least 2 values in (0, 1)")

    @property
    def T(self) -> int:
        return len(self.betas)

    @property
    def alphas(self) -> torch.Tensor:
        return 1 - self.betas

    @property
    def alpha_bar(self) -> torch.Tensor:
        return torch.cumprod(self.alphas, 0)

    @property
    def sigma_bar(self) -> torch.Tensor:
        """The variance-exploding noise level σ̄_k = √((1 − ᾱ_k)/ᾱ_k): x_k/√ᾱ_k = x₀ + σ̄_k ε (in [−1, 1] units)."""
        ab = self.alpha_bar
        return ((1 - ab) / ab).sqrt()

    @property
    def snr(self) -> torch.Tensor:
        """Signal-to-noise ratio ᾱ_k / (1 − ᾱ_k) = 1 / σ̄_k²."""
        ab = self.alpha_bar
        return ab / (1 - ab)

    def time(self, k) -> torch.Tensor:
        """The network's time input for timestep(s) ``k``: ``k / T`` in [0, 1)."""
        return torch.as_tensor(k, dtype=torch.float32) / self.T


def linear_schedule(T: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> Schedule:
    """Ho et al. (2020): β linear from 1e-4 to 0.02, both scaled by 1000/T so any T spans the same noise."""
    if not isinstance(T, int) or T < 2:
        raise ValueError(f"T must be an integer >= 2, got {T!r}")
    scale = 1000 / T
    if scale * beta_end >= 1:
        raise ValueError(f"T must be larger than {1000 * beta_end:g} for beta_end={beta_end} (β is scaled by 1000/T)")
    return Schedule(torch.linspace(scale * beta_start, scale * beta_end, T, dtype=torch.float64), "linear")


def cosine_schedule(T: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> Schedule:
    """Nichol & Dhariwal (2021): ᾱ(t) = f(t)/f(0), f(t) = cos²(((t/T) + s)/(1 + s)·π/2), β clipped at 0.999."""
    if not isinstance(T, int) or T < 2:
        raise ValueError(f"T must be an integer >= 2, got {T!r}")

    def f(t):
        return math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2

    betas = [min(1 - f(k + 1) / f(k), max_beta) for k in range(T)]
    return Schedule(torch.tensor(betas, dtype=torch.float64), "cosine")


def get_schedule(name: str, T: int = 1000) -> Schedule:
    check_choice(name, "schedule", ("linear", "cosine"))
    return linear_schedule(T) if name == "linear" else cosine_schedule(T)


def _per_sample(values: torch.Tensor, k: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``values[k]`` reshaped to broadcast against ``like`` (N, C, H, W), in ``like``'s dtype."""
    return values.to(like.device)[k.to(like.device)].to(like.dtype).view(-1, *([1] * (like.ndim - 1)))


def _check_timesteps(k, schedule: Schedule, n: int) -> torch.Tensor:
    k = torch.as_tensor(k, dtype=torch.long)
    if k.ndim == 0:
        k = k.expand(n)
    if k.shape != (n,) or (k < 0).any() or (k >= schedule.T).any():
        raise ValueError(f"k must be an integer or ({n},) tensor of timesteps in [0, {schedule.T - 1}]")
    return k


def q_sample(x0: torch.Tensor, k, noise: torch.Tensor, schedule: Schedule) -> torch.Tensor:
    """The forward process x_k = √ᾱ_k x₀ + √(1 − ᾱ_k) ε (ch. 3, eq. 3.2); x₀ in model units."""
    k = _check_timesteps(k, schedule, x0.shape[0])
    ab = _per_sample(schedule.alpha_bar, k, x0)
    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise


def predict_x0(x_k: torch.Tensor, k, eps: torch.Tensor, schedule: Schedule) -> torch.Tensor:
    """Tweedie's estimate x̂₀ = (x_k − √(1 − ᾱ_k) ε̂)/√ᾱ_k = (x_k + (1 − ᾱ_k)·score)/√ᾱ_k (``parameterization``)."""
    k = _check_timesteps(k, schedule, x_k.shape[0])
    ab = _per_sample(schedule.alpha_bar, k, x_k)
    return parameterization.x0_from_eps(x_k, eps, ab.sqrt(), (1 - ab).sqrt())


def eps_from_x0(x_k: torch.Tensor, k, x0: torch.Tensor, schedule: Schedule) -> torch.Tensor:
    """The noise that takes x₀ to x_k: ε = (x_k − √ᾱ_k x₀)/√(1 − ᾱ_k) (inverse of ``predict_x0``)."""
    k = _check_timesteps(k, schedule, x_k.shape[0])
    ab = _per_sample(schedule.alpha_bar, k, x_k)
    return parameterization.eps_from_x0(x_k, x0, ab.sqrt(), (1 - ab).sqrt())


def eps_loss(model, x0: torch.Tensor, schedule: Schedule, generator: torch.Generator | None = None):
    """L_simple = E_{k, ε} ‖ε − ε_θ(x_k, k/T)‖² for a batch x₀ in [0, 1] (Ho et al., 2020, eq. 14)."""
    check_image(x0, "x0", value_range=True)
    device = next(model.parameters()).device
    k = torch.randint(schedule.T, (x0.shape[0],), generator=generator)
    noise = torch.randn(x0.shape, generator=generator)
    z0 = to_signed(x0)
    x_k = q_sample(z0, k, noise, schedule)
    return (model(x_k.to(device), schedule.time(k).to(device)) - noise.to(device)).pow(2).mean()


def timesteps(T: int, steps: int, spacing: str = "uniform") -> list:
    """A decreasing sub-sequence of ``steps`` timesteps from ``T − 1`` to 0.

    ``uniform`` spaces them evenly; ``quadratic`` (DDIM's alternative) puts them closer together near the
    data, k_i ∝ (i/(steps−1))². DiffPIR's own "quad" skip is a different curve: ``diffpir.diffpir_timesteps``.
    """
    check_choice(spacing, "spacing", ("uniform", "quadratic"))
    if not isinstance(steps, int) or not 1 <= steps <= T:
        raise ValueError(f"steps must be an integer in [1, {T}], got {steps!r}")
    if steps == 1:
        return [T - 1]
    u = torch.linspace(0, 1, steps, dtype=torch.float64)
    ks = (T - 1) * (u if spacing == "uniform" else u**2)
    ks = sorted({int(round(v)) for v in ks.tolist()}, reverse=True)
    if len(ks) != steps:
        raise ValueError(f"{steps} {spacing} steps out of T={T} repeat a timestep; use fewer steps")
    return ks


@torch.no_grad()
def ddim_sample(prior: EpsModel, noise: torch.Tensor, steps: int = 50, eta: float = 0.0,
                spacing: str = "uniform", generator: torch.Generator | None = None, callback=None):
    """DDIM (Song et al., 2021; ch. 3, eq. 3.7) with stochasticity η from pure noise ``noise`` (N, C, H, W).

    For consecutive timesteps k > k' of the sub-sequence:
    x_{k'} = √ᾱ_{k'} x̂₀ + √(1 − ᾱ_{k'} − σ²) ε̂ + σ z, σ = η √((1 − ᾱ_{k'})/(1 − ᾱ_k)) √(1 − ᾱ_k/ᾱ_{k'}),
    and the last step returns x̂₀. η = 0 is deterministic (the probability-flow ODE's discretisation),
    η = 1 is ancestral sampling with the posterior variance β̃ (identical to ``ancestral_sample``).
    One network evaluation (NFE) per step. ``prior.clip`` clamps x̂₀ to [−1, 1] as guided-diffusion does.
    Like every sampler of the library it works in the model's units: the result is in [−1, 1]
    (``units.to_unit`` gives images). ``callback`` receives ``{"i", "t" (= k), "x_t", "x0_hat"}`` per step.
    """
    if not 0 <= eta <= 1:
        raise ValueError(f"eta must be in [0, 1], got {eta}")
    return _sample(prior, noise, steps, spacing, generator, callback, eta=eta)


@torch.no_grad()
def ancestral_sample(prior: EpsModel, noise: torch.Tensor, steps: int | None = None,
                     variance: str = "beta_tilde", spacing: str = "uniform",
                     generator: torch.Generator | None = None, callback=None):
    """DDPM ancestral sampling (Ho et al., 2020, Algorithm 2) on ``steps`` timesteps (default all T); model units.

    Each step draws x_{k'} ~ N(c₁ x̂₀ + c₂ x_k, σ²) with the posterior q(x_{k'} | x_k, x₀) of the
    *respaced* chain, whose β is 1 − ᾱ_k/ᾱ_{k'} (Nichol & Dhariwal, 2021): c₁ = √ᾱ_{k'} β/(1 − ᾱ_k),
    c₂ = √(ᾱ_k/ᾱ_{k'}) (1 − ᾱ_{k'})/(1 − ᾱ_k), and σ² = β̃ = β(1 − ᾱ_{k'})/(1 − ᾱ_k) or σ² = β.
    """
    check_choice(variance, "variance", ("beta", "beta_tilde"))
    return _sample(prior, noise, steps or prior.schedule.T, spacing, generator, callback, variance=variance)


def _sample(prior, noise, steps, spacing, generator, callback, eta=None, variance=None):
    check_eps_model(prior)
    check_image(noise, "noise")
    ks = timesteps(prior.schedule.T, steps, spacing)
    device = noise.device
    ab_all = prior.schedule.alpha_bar
    x = noise
    for i, k in enumerate(ks):
        x0, eps = prior.predict(x, k)
        if callback is not None:
            callback({"i": i, "t": k, "x_t": x, "x0_hat": x0})
        if i == len(ks) - 1:
            return x0
        ab, ab_prev = ab_all[k].item(), ab_all[ks[i + 1]].item()
        z = torch.randn(x.shape, generator=generator).to(device)
        if eta is not None:  # DDIM
            sigma = eta * math.sqrt((1 - ab_prev) / (1 - ab)) * math.sqrt(1 - ab / ab_prev)
            x = math.sqrt(ab_prev) * x0 + math.sqrt(max(1 - ab_prev - sigma**2, 0.0)) * eps + sigma * z
        else:  # ancestral, respaced posterior
            beta = 1 - ab / ab_prev
            c1 = math.sqrt(ab_prev) * beta / (1 - ab)
            c2 = math.sqrt(ab / ab_prev) * (1 - ab_prev) / (1 - ab)
            var = beta * (1 - ab_prev) / (1 - ab) if variance == "beta_tilde" else beta
            x = c1 * x0 + c2 * x + math.sqrt(var) * z


def generate(model, schedule: Schedule, n: int, shape, steps: int = 50, eta: float = 0.0,
             seed: int = 0, batch: int = 250, device=None) -> torch.Tensor:
    """``n`` images (n, *shape) in [0, 1], on the CPU, by DDIM(η) with ``steps`` NFE from the ε-network
    ``model``, seeded; sampled on ``device`` (default: the network's)."""
    prior = EpsModel(model, schedule)
    device = prior.device if device is None else device
    generator = torch.Generator().manual_seed(seed)
    out = []
    for start in range(0, n, batch):
        m = min(batch, n - start)
        noise = torch.randn((m, *shape), generator=generator).to(device)
        out.append(to_unit(ddim_sample(prior, noise, steps, eta, generator=generator)).cpu())
    return torch.cat(out).clamp(0, 1)
