"""The talk's "equivalent predictions" (slide 7): noise ε, clean image x₀, score ∇log q(x_k) and velocity v,
converted in one place, and ``EpsModel``, the one adapter that gives an ε-network all of them.

Notation (chapters 3-4; model units, [−1, 1]): a DDPM state is x_k = a x₀ + b ε with a = √ᾱ_k,
b = √(1 − ᾱ_k). Then

    x₀ = (x_k − b ε)/a              (Tweedie's estimate when ε is the network's ε̂; ch. 3, eq. 3.5)
    ε  = (x_k − a x₀)/b
    score = ∇ log q(x_k) = −ε/b      (ch. 3, eq. 3.6)

and the same state on the flow-matching path of chapter 4 (t = 0 noise, t = 1 data) is y_t = x_k/(a + b) at
flow time t = a/(a + b), since y_t = t x₀ + (1 − t) ε: its velocity is v = dy_t/dt = x₀ − ε, and back,
x₀ = y_t + (1 − t) v (ch. 4, eq. 4.4), ε = y_t − t v. So a DDPM enters every flow-map sampler through this
velocity, and Euler steps on the flow times of DDIM's timesteps are DDIM (η = 0) exactly.

``a`` and ``b`` are numbers or tensors that broadcast against the images (``(N, 1, 1, 1)``).
"""

import math

import torch

from .._checks import check_image, check_positive
from ..units import to_signed, to_unit


def x0_from_eps(x_k, eps, a, b):
    """x₀ = (x_k − b ε)/a."""
    return (x_k - b * eps) / a


def eps_from_x0(x_k, x0, a, b):
    """ε = (x_k − a x₀)/b (the noise that takes x₀ to x_k)."""
    return (x_k - a * x0) / b


def score_from_eps(eps, b):
    """∇ log q(x_k) = −ε/b."""
    return -eps / b


def eps_from_score(score, b):
    """ε = −b · score."""
    return -b * score


def flow_time(a, b):
    """The flow time t = a/(a + b) of a DDPM state (0 = noise, 1 = data)."""
    return a / (a + b)


def velocity_from_x0_eps(x0, eps):
    """v = x₀ − ε: the velocity of the straight path y_t = t x₀ + (1 − t) ε (ch. 4)."""
    return x0 - eps


def x0_eps_from_velocity(y_t, v, t):
    """(x₀, ε) = (y_t + (1 − t) v, y_t − t v) on the straight path at flow time ``t``."""
    return y_t + (1 - t) * v, y_t - t * v


class EpsModel:
    """An ε-network ``net(x_k, k/T)`` and its schedule, seen through every equivalent prediction.

    ``net`` works in model units ([−1, 1]) and takes the time input ``k / T``; ``schedule`` is a
    ``priors.diffusion.Schedule``. Timesteps ``k`` are an int (the whole batch) or an ``(N,)`` tensor.
    ``clip`` clamps x̂₀ to [−1, 1] in ``predict`` (guided-diffusion's ``clip_denoised``), with ε̂ made
    consistent with the clamped x̂₀. Solvers of chapter 5 take an ``EpsModel`` as their prior; chapter 2's
    PnP-HQS takes its ``denoise``; the flow-map samplers take its ``velocity``.
    """

    def __init__(self, net, schedule, clip: bool = True):
        if not callable(net):
            raise TypeError(f"net must be a callable ε-network net(x_k, t), got {type(net).__name__}")
        self.net, self.schedule, self.clip = net, schedule, clip

    @property
    def device(self) -> torch.device:
        """Where the network's weights are (CPU for a parameter-free callable)."""
        from ..nets import device_of

        return device_of(self.net)

    def coefficients(self, k, like: torch.Tensor):
        """(a, b) = (√ᾱ_k, √(1 − ᾱ_k)): Python floats for an int ``k``, ``(N, 1, 1, 1)`` tensors for a tensor."""
        if isinstance(k, int):
            ab = self.schedule.alpha_bar[k].item()
            return math.sqrt(ab), math.sqrt(1 - ab)
        ab = self.schedule.alpha_bar.to(like.device)[k.to(like.device)].to(like.dtype).view(-1, 1, 1, 1)
        return ab.sqrt(), (1 - ab).sqrt()

    def eps(self, x_k: torch.Tensor, k) -> torch.Tensor:
        """The network's noise prediction ε̂(x_k, k) (unclipped), computed on the network's device and
        returned on ``x_k``'s (so a chapter's tensors may stay on the CPU while the network runs on a GPU)."""
        t = self.schedule.time(k)
        t = t.expand(x_k.shape[0]) if t.ndim == 0 else t
        device = self.device
        return self.net(x_k.to(device), t.to(device)).to(x_k.device)

    def predict(self, x_k: torch.Tensor, k):
        """(x̂₀, ε̂) at timestep ``k``: Tweedie's x̂₀ (clamped if ``clip``) and the ε̂ consistent with it."""
        a, b = self.coefficients(k, x_k)
        eps = self.eps(x_k, k)
        x0 = x0_from_eps(x_k, eps, a, b)
        if self.clip:
            x0 = x0.clamp(-1, 1)
            eps = eps_from_x0(x_k, x0, a, b)
        return x0, eps

    def x0_hat(self, x_k: torch.Tensor, k) -> torch.Tensor:
        """Tweedie's posterior mean E[x₀ | x_k] (ch. 3, eq. 3.5), clamped if ``clip``."""
        a, b = self.coefficients(k, x_k)
        x0 = x0_from_eps(x_k, self.eps(x_k, k), a, b)
        return x0.clamp(-1, 1) if self.clip else x0

    def score(self, x_k: torch.Tensor, k) -> torch.Tensor:
        """∇ log q(x_k) = −ε̂/√(1 − ᾱ_k)."""
        return score_from_eps(self.eps(x_k, k), self.coefficients(k, x_k)[1])

    def flow_times(self, ks) -> list:
        """The flow times t = a/(a + b) of the timesteps ``ks`` (increasing as k decreases)."""
        a, b = self.schedule.alpha_bar.sqrt(), (1 - self.schedule.alpha_bar).sqrt()
        return [(a[k] / (a[k] + b[k])).item() for k in ks]

    def timestep_of(self, t: float) -> int:
        """The timestep whose flow time is nearest to ``t``."""
        a, b = self.schedule.alpha_bar.sqrt(), (1 - self.schedule.alpha_bar).sqrt()
        return int((flow_time(a, b).float() - float(t)).abs().argmin())

    def to_flow(self, x_k: torch.Tensor, k: int) -> torch.Tensor:
        """The flow state y_t = x_k/(a + b) of a DDPM state at timestep ``k``."""
        a, b = self.coefficients(k, x_k)
        return x_k / (a + b)

    def velocity(self, y: torch.Tensor, t) -> torch.Tensor:
        """The probability-flow velocity v = x̂₀ − ε̂ at flow time ``t`` (a number, or an ``(N,)`` tensor
        whose entries are all equal), evaluated at the nearest timestep; unclipped, so that Euler on the
        flow times of DDIM's grid is DDIM with ``clip=False``."""
        t0 = float(t.flatten()[0]) if isinstance(t, torch.Tensor) else float(t)
        k = self.timestep_of(t0)
        a, b = self.coefficients(k, y)
        x_k = (a + b) * y
        eps = self.eps(x_k, k)
        return velocity_from_x0_eps(x0_from_eps(x_k, eps, a, b), eps)

    def sigma_timestep(self, sigma: float) -> int:
        """The timestep whose σ̄_k = b/a is nearest to 2σ (σ in [0, 1] image units; ×2 into model units)."""
        return int((self.schedule.sigma_bar - 2 * float(sigma)).abs().argmin())

    @torch.no_grad()
    def denoise(self, x: torch.Tensor, sigma: float) -> torch.Tensor:
        """D(x, σ): the ε-model as a Gaussian denoiser on [0, 1] images (ch. 3, eq. 3.8; used in ch. 2 and 5).

        A noisy image x = x₀ + σ n in image units is z = 2x − 1 = z₀ + 2σ n in model units, i.e. x_k/a at the
        timestep whose σ̄_k is nearest to 2σ. So D(x, σ) = (x̂₀(a z, k) + 1)/2, Tweedie's posterior mean.
        The factor 2 here is the factor 4 in DiffPIR's λ (variances). Runs where the network is and answers
        on ``x``'s device.
        """
        check_image(x, "x")
        check_positive(sigma, "sigma")
        k = self.sigma_timestep(sigma)
        a, _ = self.coefficients(k, x)
        x_k = a * to_signed(x).to(self.device)
        return to_unit(self.x0_hat(x_k, k)).to(x.device)

    def __repr__(self):
        return f"EpsModel({type(self.net).__name__}, T={self.schedule.T}, clip={self.clip})"


def check_eps_model(prior) -> EpsModel:
    """``prior`` if it is an ``EpsModel`` (what the samplers and the diffusion solvers take), else a TypeError."""
    if not isinstance(prior, EpsModel):
        raise TypeError("prior must be a priors.parameterization.EpsModel (an ε-network wrapped with its "
                        f"schedule), got {type(prior).__name__}")
    return prior
