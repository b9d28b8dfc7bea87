"""The equivalent predictions of an ε-model (``priors.parameterization``): noise, clean image, score and velocity
agree with each other and, on Gaussian data, with the exact posterior mean, score and velocity.

Gaussian data x₀ ~ N(μ, s²) per pixel (model units, ``gaussian_oracle``): the DDPM marginal at timestep k is
x_k ~ N(a μ, a² s² + b²) with a = √ᾱ_k, b = √(1 − ᾱ_k), so

    E[x₀ | x_k] = μ + a s² (x_k − a μ)/(a² s² + b²),    ∇ log q(x_k) = −(x_k − a μ)/(a² s² + b²).
"""

import pytest
import torch
from gaussian_oracle import schedule_and_data

from genir_mini import units
from genir_mini.priors import diffusion, parameterization
from genir_mini.priors.parameterization import EpsModel

KS = (0, 10, 250, 500, 900, 999)


def oracle(clip=False):
    schedule, gauss = schedule_and_data()
    return EpsModel(gauss.eps_model(schedule), schedule, clip=clip), gauss


def states(gauss, n=16, seed=0):
    """Arbitrary states x_k (float64, model units): not only typical ones, the formulas hold everywhere."""
    return 1.5 * torch.randn(n, 1, 1, gauss.d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def exact(gauss, x_k, a, b):
    """(posterior mean E[x₀ | x_k], score ∇ log q(x_k)) of the Gaussian data."""
    var = a**2 * gauss.var + b**2
    return gauss.mean + a * gauss.var * (x_k - a * gauss.mean) / var, -(x_k - a * gauss.mean) / var


@pytest.mark.parametrize("k", KS)
def test_x0_and_score_of_the_exact_eps_model_are_the_exact_posterior_mean_and_score(k):
    """x̂₀ = (x_k − b ε̂)/a is the posterior mean and −ε̂/b the score of the marginal, at every noise level."""
    prior, gauss = oracle()
    x_k = states(gauss)
    a, b = prior.coefficients(k, x_k)
    mean, score = exact(gauss, x_k, a, b)
    assert torch.allclose(prior.x0_hat(x_k, k), mean, atol=1e-9, rtol=1e-7)
    assert torch.allclose(prior.score(x_k, k), score, atol=1e-9, rtol=1e-7)
    x0, eps = prior.predict(x_k, k)
    assert torch.allclose(a * x0 + b * eps, x_k, atol=1e-12), "x̂₀ and ε̂ explain x_k"
    assert torch.allclose(eps, prior.eps(x_k, k))


def test_per_sample_timesteps_match_one_timestep_at_a_time():
    """An ``(N,)`` tensor of timesteps gives each sample its own coefficients."""
    prior, gauss = oracle()
    x_k = states(gauss, n=len(KS))
    ks = torch.tensor(KS)
    batched_x0, batched_eps = prior.predict(x_k, ks)
    for i, k in enumerate(KS):
        x0, eps = prior.predict(x_k[i : i + 1], k)
        assert torch.allclose(batched_x0[i : i + 1], x0, atol=1e-12)
        assert torch.allclose(batched_eps[i : i + 1], eps, atol=1e-12)
    assert torch.allclose(prior.score(x_k, ks)[2:3], prior.score(x_k[2:3], KS[2]), atol=1e-12)


@pytest.mark.parametrize("k", KS[1:])
def test_velocity_is_the_exact_flow_matching_velocity_and_round_trips(k):
    """At the flow time t = a/(a + b) of timestep k the ε-model's velocity x̂₀ − ε̂ is the exact flow-matching
    velocity E[x₁ − x₀ | y_t] of the same data at y_t = x_k/(a + b), and (x̂₀, ε̂) = x0_eps_from_velocity(y, v,
    t)."""
    prior, gauss = oracle()
    x_k = states(gauss)
    a, b = prior.coefficients(k, x_k)
    t = prior.flow_times([k])[0]
    assert t == pytest.approx(parameterization.flow_time(a, b)) and prior.timestep_of(t) == k
    y = prior.to_flow(x_k, k)
    assert torch.allclose(y, x_k / (a + b))
    v = prior.velocity(y, t)
    exact_v = gauss.velocity(y, torch.full((len(y),), t, dtype=torch.float64))
    assert torch.allclose(v, exact_v, atol=1e-8, rtol=1e-6)
    x0, eps = parameterization.x0_eps_from_velocity(y, v, t)
    assert torch.allclose(x0, prior.x0_hat(x_k, k), atol=1e-8)
    assert torch.allclose(eps, prior.eps(x_k, k), atol=1e-8)
    assert torch.allclose(parameterization.velocity_from_x0_eps(x0, eps), v, atol=1e-12)
    assert torch.equal(prior.velocity(y, torch.full((len(y),), t)), v), "a time tensor gives the same velocity"


def test_velocity_is_unclipped_while_predict_clips():
    """``clip`` clamps x̂₀ to [−1, 1] (with ε̂ consistent with it) in ``predict``; ``velocity`` never clips."""
    schedule = diffusion.linear_schedule(1000)

    def wild(x, t):  # an ε-model whose x̂₀ leaves [−1, 1]
        return -3 * x

    clipped, free = EpsModel(wild, schedule, clip=True), EpsModel(wild, schedule, clip=False)
    x_k = torch.randn(4, 1, 2, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    k = 600
    a, b = clipped.coefficients(k, x_k)
    x0, eps = clipped.predict(x_k, k)
    assert x0.abs().max() <= 1 and free.x0_hat(x_k, k).abs().max() > 1
    assert torch.allclose(a * x0 + b * eps, x_k, atol=1e-12)
    y, t = clipped.to_flow(x_k, k), clipped.flow_times([k])[0]
    assert torch.equal(clipped.velocity(y, t), free.velocity(y, t))
    assert torch.allclose(clipped.velocity(y, t), parameterization.velocity_from_x0_eps(*free.predict(x_k, k)))


def test_conversions_are_inverses_of_each_other():
    """x₀ ↔ ε, score ↔ ε and (x₀, ε) ↔ velocity convert back exactly, for numbers and per-sample tensors."""
    g = torch.Generator().manual_seed(2)
    x0, eps = torch.randn(3, 2, 4, 4, generator=g, dtype=torch.float64), torch.randn(3, 2, 4, 4, generator=g,
                                                                                       dtype=torch.float64)
    ab = torch.tensor([0.9, 0.5, 0.01], dtype=torch.float64).view(-1, 1, 1, 1)
    for a, b in ((0.6, 0.8), (ab.sqrt(), (1 - ab).sqrt())):
        x_k = a * x0 + b * eps
        assert torch.allclose(parameterization.x0_from_eps(x_k, eps, a, b), x0, atol=1e-12)
        assert torch.allclose(parameterization.eps_from_x0(x_k, x0, a, b), eps, atol=1e-12)
        score = parameterization.score_from_eps(eps, b)
        assert torch.allclose(parameterization.eps_from_score(score, b), eps, atol=1e-12)
        t = parameterization.flow_time(a, b)
        y = x_k / (a + b)
        assert torch.allclose(y, t * x0 + (1 - t) * eps, atol=1e-12), "the DDPM state on the straight path"
        v = parameterization.velocity_from_x0_eps(x0, eps)
        back = parameterization.x0_eps_from_velocity(y, v, t)
        assert torch.allclose(back[0], x0, atol=1e-12) and torch.allclose(back[1], eps, atol=1e-12)


def test_flow_times_increase_towards_the_data_and_invert_to_timesteps():
    prior, _ = oracle()
    ks = diffusion.timesteps(1000, 50)
    ts = prior.flow_times(ks)
    assert all(s > t for t, s in zip(ts[:-1], ts[1:])) and 0 < ts[0] < 0.01 and 0.99 < ts[-1] < 1
    assert [prior.timestep_of(t) for t in ts] == ks


def test_denoise_is_the_posterior_mean():
    """On Gaussian data the ε-model's D(x, σ) is the Wiener/posterior mean m + s²/(s² + σ²)(y − m), image units."""
    schedule, gauss = schedule_and_data()
    prior = EpsModel(gauss.eps_model(schedule), schedule, clip=False)
    k = 400
    sigma = schedule.sigma_bar[k].item() / 2  # [0, 1] units: exactly the σ̄ of timestep k
    assert prior.sigma_timestep(sigma) == k
    m, var = units.to_unit(gauss.mean), gauss.var / 4  # the same Gaussian in [0, 1] units
    y = (m + 0.3 * torch.randn(8, 1, 1, gauss.d, generator=torch.Generator().manual_seed(0))).float()
    expected = m + var / (var + sigma**2) * (y - m)
    assert torch.allclose(prior.denoise(y, sigma).double(), expected, atol=1e-5)
    with pytest.raises(ValueError, match="sigma"):
        prior.denoise(y, -0.1)
