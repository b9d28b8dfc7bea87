"""Flow matching (chapter 4): the talk's interpolation and target, the flow-map samplers against the exact
velocity of Gaussian data, and the convention mapping to diffusers' (data at 0) flow matching. The flow maps
themselves (grids, composition, average velocities, DDIM as Euler) are tested in ``test_flowmaps``."""

import pytest
import torch
from gaussian_oracle import GaussianData, check_moments, schedule_and_data

from genir_mini import units
from genir_mini.flowmaps import EulerMap, HeunMap, ODEMap, nfe, sample, uniform_grid
from genir_mini.flowmaps import flow_matching as flows


def test_interpolation_and_target_follow_the_talk():
    g = torch.Generator().manual_seed(0)
    x0, x1 = torch.randn(3, 1, 4, 4, generator=g), torch.randn(3, 1, 4, 4, generator=g)
    assert torch.equal(flows.interpolate(x0, x1, 0.0), x0) and torch.equal(flows.interpolate(x0, x1, 1.0), x1)
    t = torch.tensor([0.1, 0.5, 0.9])
    assert torch.allclose(flows.interpolate(x0, x1, t)[1], 0.5 * x0[1] + 0.5 * x1[1])
    h = 1e-3  # the target is the time derivative of the path
    deriv = (flows.interpolate(x0, x1, t + h) - flows.interpolate(x0, x1, t - h)) / (2 * h)
    assert torch.allclose(deriv, flows.velocity_target(x0, x1), atol=1e-3)


def test_mapping_to_diffusers_flow_matching_convention():
    """diffusers (SD3) puts data at σ = 0 and noise at σ = 1: its x_σ is our x_t with t = 1 − σ."""
    diffusers = pytest.importorskip("diffusers")
    scheduler = diffusers.FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=1.0)
    g = torch.Generator().manual_seed(1)
    noise, clean = torch.randn(1, 1, 4, 4, generator=g), torch.randn(1, 1, 4, 4, generator=g)
    timestep = scheduler.timesteps[300:301]
    sigma = timestep.item() / 1000
    theirs = scheduler.scale_noise(clean, timestep, noise)
    assert torch.allclose(theirs, flows.interpolate(noise, clean, 1 - sigma), atol=1e-6)


def test_straight_paths_are_integrated_exactly_in_one_step():
    """Data concentrated on one point μ: every path is straight, so one Euler step lands on μ."""
    point = GaussianData([0.3, -0.5, 0.8], [1e-4, 1e-4, 1e-4])
    x0 = torch.randn(100, 1, 1, 3, generator=torch.Generator().manual_seed(2))
    out = sample(EulerMap(point.velocity), x0, uniform_grid(1))
    assert torch.allclose(out, point.mean.float().expand_as(out), atol=1e-3)


def test_samplers_with_exact_velocity_recover_gaussian():
    _, gauss = schedule_and_data()
    x0 = torch.randn(4000, 1, 1, gauss.d, generator=torch.Generator().manual_seed(3))
    for step, steps in ((EulerMap, 200), (HeunMap, 50)):
        check_moments(sample(step(gauss.velocity), x0, uniform_grid(steps)), gauss, tol_mean=0.03, tol_std=0.01)
    # Heun is second order: at equal NFE it beats Euler on curved (Gaussian-to-Gaussian) paths
    exact = sample(HeunMap(gauss.velocity), x0, uniform_grid(400))
    err_euler = (sample(EulerMap(gauss.velocity), x0, uniform_grid(8)) - exact).abs().mean()
    err_heun = (sample(HeunMap(gauss.velocity), x0, uniform_grid(4)) - exact).abs().mean()
    assert err_heun < err_euler / 2
    assert nfe(HeunMap(gauss.velocity), uniform_grid(4)) == 8
    assert nfe(EulerMap(gauss.velocity), uniform_grid(8)) == 8


def test_flow_map_composes_and_reverses():
    _, gauss = schedule_and_data()
    f = ODEMap(gauss.velocity, steps=100, method="heun")
    x0 = torch.randn(50, 1, 1, gauss.d, generator=torch.Generator().manual_seed(4))
    direct = f(x0, 0.0, 1.0)
    assert torch.allclose(f(f(x0, 0.0, 0.4), 0.4, 1.0), direct, atol=1e-3)
    assert torch.allclose(f(direct, 1.0, 0.0), x0, atol=1e-3)  # integrating backwards inverts it


def test_fm_loss_of_exact_velocity_is_the_conditional_variance():
    """The FM loss is minimised by E[x₁ − x₀ | x_t]; a perturbed field scores higher."""
    _, gauss = schedule_and_data()
    x1 = units.to_unit(gauss.sample(5000, torch.Generator().manual_seed(5))).clamp(0, 1)

    class Exact(torch.nn.Module):
        def __init__(self, offset=0.0):
            super().__init__()
            self.offset = torch.nn.Parameter(torch.tensor(offset))

        def forward(self, x, t):
            return gauss.velocity(x, t) + self.offset

    losses = [flows.fm_loss(Exact(o), x1, torch.Generator().manual_seed(6)).item() for o in (0.0, 0.2)]
    assert losses[0] < losses[1]


def test_bad_input():
    with pytest.raises(ValueError, match="steps"):
        sample(EulerMap(lambda x, t: x), torch.zeros(1, 1, 2, 2), uniform_grid(0))
    with pytest.raises(ValueError, match="method"):
        ODEMap(lambda x, t: x, method="rk4")
    with pytest.raises(ValueError, match="method"):
        flows.generate(torch.nn.Conv2d(1, 1, 1), 1, (1, 2, 2), method="rk4")
    with pytest.raises(ValueError, match="sampler"):
        flows.sample_times(4, sampler="beta")
    with pytest.raises(ValueError, match="x1 must have values in"):
        flows.fm_loss(torch.nn.Conv2d(1, 1, 1), torch.full((2, 1, 4, 4), 255.0))


def test_gaussian_mixture_velocity_matches_the_single_gaussian_oracle_and_samples():
    from genir_mini.priors.toy2d import GaussianMixture

    single = GaussianMixture([[0.3, -0.5]], 0.2)
    oracle = GaussianData([0.3, -0.5], [0.2, 0.2])
    x, t = torch.randn(64, 2, generator=torch.Generator().manual_seed(7)), torch.rand(64)
    assert torch.allclose(single.velocity(x, t), oracle.velocity(x.view(64, 1, 1, 2), t).view(64, 2), atol=1e-5)
    ring = GaussianMixture.ring(8, radius=2.0, std=0.15)
    x0 = torch.randn(4000, 2, generator=torch.Generator().manual_seed(8))
    out = sample(HeunMap(ring.velocity), x0, uniform_grid(100))
    labels = ring.posterior_weights(out, torch.ones(4000)).argmax(1)
    counts = labels.bincount(minlength=8).float() / 4000
    assert torch.allclose(counts, torch.full((8,), 1 / 8), atol=0.03)  # every mode, equal mass
    spread = (out - ring.means[labels].float()).norm(dim=1).pow(2).mean().div(2).sqrt()
    assert abs(spread.item() - 0.15) < 0.02  # and the right width
    with pytest.raises(ValueError, match="weights"):
        GaussianMixture([[0.0, 0.0], [1.0, 1.0]], 0.1, weights=[0.2, 0.2])
    with pytest.raises(ValueError, match="x must have shape"):
        ring.velocity(torch.zeros(3, 3), torch.zeros(3))


def test_gaussian_mixture_from_a_shifted_source_and_from_a_point():
    """Chapter 6's sources: from N(μ₀, σ₀² I) the exact ODE still ends on the data (every mode, its width);
    from a point (σ₀ = 0) every trajectory is the straight line to the data mean."""
    from genir_mini.priors.toy2d import GaussianMixture

    means = [[1.0, -1.0], [-1.0, 1.0]]
    shifted = GaussianMixture(means, 0.1, source_mean=[0.5, 0.2], source_std=0.3)
    x0 = shifted.sample_source(4000, torch.Generator().manual_seed(3))
    assert torch.allclose(x0.mean(0), torch.tensor([0.5, 0.2]), atol=0.02)
    assert torch.allclose(x0.std(0), torch.tensor(0.3), atol=0.01)
    out = sample(HeunMap(shifted.velocity), x0, uniform_grid(200))
    labels = shifted.posterior_weights(out, torch.ones(4000)).argmax(1)
    assert abs(labels.float().mean().item() - 0.5) < 0.03
    spread = (out - shifted.means[labels].float()).norm(dim=1).pow(2).mean().div(2).sqrt()
    assert abs(spread.item() - 0.1) < 0.01
    point = GaussianMixture(means, 0.1, weights=[0.7, 0.3], source_mean=[0.2, 0.2], source_std=0.0)
    start = point.sample_source(5)
    assert torch.equal(start, torch.tensor([[0.2, 0.2]]).expand(5, 2))
    mean = torch.tensor([0.4, -0.4])  # 0.7·(1, −1) + 0.3·(−1, 1)
    assert torch.allclose(point.velocity(start, torch.zeros(5)), mean - start, atol=1e-6)
    assert torch.allclose(sample(EulerMap(point.velocity), start, uniform_grid(10)), mean.expand(5, 2), atol=1e-5)
    with pytest.raises(ValueError, match="source_std"):
        GaussianMixture(means, 0.1, source_std=-1.0)
    with pytest.raises(ValueError, match="source_mean"):
        GaussianMixture(means, 0.1, source_mean=[0.0, 0.0, 0.0])


def test_generate_integrates_noise_to_images():
    """``generate`` is the seeded Euler/Heun flow-map sampler from noise, returned as images in [0, 1]."""
    _, gauss = schedule_and_data()

    class Exact(torch.nn.Module):
        def forward(self, x, t):
            return gauss.velocity(x, t)

    images = flows.generate(Exact(), 6, (1, 1, gauss.d), steps=5, method="heun", seed=3)
    noise = torch.randn((6, 1, 1, gauss.d), generator=torch.Generator().manual_seed(3))
    expected = units.to_unit(sample(HeunMap(gauss.velocity), noise, uniform_grid(5))).clamp(0, 1)
    assert torch.allclose(images, expected, atol=1e-6)
    assert not torch.allclose(flows.generate(Exact(), 6, (1, 1, gauss.d), steps=5, seed=3), images, atol=1e-3)
