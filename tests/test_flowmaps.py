"""Flow maps f(x_t, t, s) = x_s and the one sampler over any time grid (``flowmaps.base``): DDIM is Euler on the
flow times of its timesteps, the maps reproduce the uniform-grid Euler/Heun samplers, the ODE map composes and
reverses, an exact average velocity is exact in one step, and the bookkeeping (times, NFE, bad input)."""

import math

import pytest
import torch
from gaussian_oracle import schedule_and_data

from genir_mini.flowmaps import (
    AverageVelocityMap,
    EulerMap,
    HeunMap,
    ODEMap,
    nfe,
    sample,
    trajectory,
    uniform_grid,
)
from genir_mini.priors import diffusion
from genir_mini.priors.parameterization import EpsModel
from genir_mini.priors.toy2d import GaussianMixture


class RandomEps(torch.nn.Module):
    """A random-weight ε-network net(x_k, k/T) (no closed form, so nothing but the algebra can make DDIM agree)."""

    def __init__(self, channels=2, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.conv = torch.nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x, t):
        return 0.5 * torch.tanh(self.conv(x)) * (1 + t.view(-1, 1, 1, 1)) + 0.3 * x


def gaussian_flow_map(gauss, x, t, s):
    """The exact flow map of Gaussian data: the marginals are N(tμ, σ_t²), σ_t² = (1 − t)² + t² s², and the ODE
    moves x_t affinely, x_s = sμ + (σ_s/σ_t)(x_t − tμ). ``t``, ``s`` numbers or ``(N,)`` tensors."""
    t = torch.as_tensor(t, dtype=torch.float64).reshape(-1, 1, 1, 1)
    s = torch.as_tensor(s, dtype=torch.float64).reshape(-1, 1, 1, 1)
    std_t = ((1 - t) ** 2 + t**2 * gauss.var).sqrt()
    std_s = ((1 - s) ** 2 + s**2 * gauss.var).sqrt()
    return s * gauss.mean + std_s / std_t * (x.double() - t * gauss.mean)


def old_euler(velocity, x, steps, t0=0.0, t1=1.0):
    """The uniform-grid Euler sampler the flow maps replaced (reference implementation)."""
    ts = torch.linspace(t0, t1, steps + 1).tolist()
    for a, b in zip(ts[:-1], ts[1:]):
        x = x + (b - a) * velocity(x, torch.full((x.shape[0],), a))
    return x


def old_heun(velocity, x, steps, t0=0.0, t1=1.0):
    """The uniform-grid Heun sampler the flow maps replaced (reference implementation)."""
    ts = torch.linspace(t0, t1, steps + 1).tolist()
    for a, b in zip(ts[:-1], ts[1:]):
        v = velocity(x, torch.full((x.shape[0],), a))
        v_end = velocity(x + (b - a) * v, torch.full((x.shape[0],), b))
        x = x + (b - a) * 0.5 * (v + v_end)
    return x


# ---- DDIM is Euler on the flow times of its timesteps ------------------------------------------------------

@pytest.mark.parametrize("steps", [1, 5, 20])
def test_euler_on_ddims_flow_times_is_ddim(steps):
    """With y = x_k/(a + b) and t = a/(a + b), one DDIM (η = 0) step from k to k' is one Euler step of the
    velocity x̂₀ − ε̂ from t to t': both give t' x̂₀ + (1 − t') ε̂. DDIM's last step returns x̂₀, which is Euler's
    step to t = 1. So Euler from ``to_flow(noise, ks[0])`` on ``flow_times(ks) + [1]`` ends on DDIM's sample, and
    every intermediate state is DDIM's x_k/(a + b)."""
    schedule = diffusion.linear_schedule(1000)
    prior = EpsModel(RandomEps().requires_grad_(False), schedule, clip=False)
    noise = torch.randn(3, 2, 4, 4, generator=torch.Generator().manual_seed(1))
    ks = diffusion.timesteps(schedule.T, steps)
    ddim_states = []
    ddim = diffusion.ddim_sample(prior, noise, steps, callback=ddim_states.append)
    grid = prior.flow_times(ks) + [1.0]
    euler = trajectory(EulerMap(prior.velocity), prior.to_flow(noise, ks[0]), grid)
    assert len(euler) == steps + 1
    assert (euler[-1] - ddim).abs().max() < 1e-4 * max(1.0, ddim.abs().max().item())
    for state, step in zip(euler[:-1], ddim_states):
        assert torch.allclose(state, prior.to_flow(step["x_t"], step["t"]), atol=1e-4)
    assert torch.equal(sample(EulerMap(prior.velocity), prior.to_flow(noise, ks[0]), grid), euler[-1])
    if steps > 1:  # a different grid gives a different sample: the agreement is not a coincidence
        shifted = sample(EulerMap(prior.velocity), prior.to_flow(noise, ks[0]), uniform_grid(steps, grid[0], 1.0))
        assert (shifted - ddim).abs().max() > 1e-3


def test_ddim_as_euler_on_the_exact_gaussian_model():
    """The same identity with the exact ε-model of Gaussian data, whose DDIM converges to the data."""
    schedule, gauss = schedule_and_data()
    prior = EpsModel(gauss.eps_model(schedule), schedule, clip=False)
    noise = torch.randn(64, 1, 1, gauss.d, generator=torch.Generator().manual_seed(2))
    ks = diffusion.timesteps(schedule.T, 20)
    euler = sample(EulerMap(prior.velocity), prior.to_flow(noise, ks[0]), prior.flow_times(ks) + [1.0])
    assert torch.allclose(euler, diffusion.ddim_sample(prior, noise, 20), atol=1e-4)


# ---- the maps against the samplers they replaced -----------------------------------------------------------

def test_maps_reproduce_the_uniform_grid_samplers_on_the_gaussian_mixture():
    """EulerMap, HeunMap and ODEMap give the numbers of the uniform-grid Euler and Heun loops, forwards and
    backwards, with the mixture's exact velocity."""
    ring = GaussianMixture.ring(8, radius=2.0, std=0.15)
    x = torch.randn(200, 2, generator=torch.Generator().manual_seed(3))
    for steps in (1, 4, 25):
        grid, v = uniform_grid(steps), ring.velocity
        assert torch.allclose(sample(EulerMap(v), x, grid), old_euler(v, x, steps), atol=1e-6)
        assert torch.allclose(sample(HeunMap(v), x, grid), old_heun(v, x, steps), atol=1e-6)
    for method, old in (("euler", old_euler), ("heun", old_heun)):
        f = ODEMap(ring.velocity, steps=10, method=method)
        assert torch.allclose(f(x, 0.2, 0.9), old(ring.velocity, x, 10, 0.2, 0.9), atol=1e-6)
        assert torch.allclose(f(x, 0.9, 0.2), old(ring.velocity, x, 10, 0.9, 0.2), atol=1e-6)
    # a non-uniform grid is the composition of one-step maps on its intervals
    grid = [0.0, 0.1, 0.5, 1.0]
    step = HeunMap(ring.velocity)
    one_by_one = step(step(step(x, 0.0, 0.1), 0.1, 0.5), 0.5, 1.0)
    assert torch.allclose(sample(HeunMap(ring.velocity), x, grid), one_by_one, atol=1e-6)


def test_ode_map_composes_reverses_and_approaches_the_exact_flow_map():
    """f(f(x, 0, 0.4), 0.4, 1) = f(x, 0, 1), f(f(x, 0, 1), 1, 0) = x, and f → the exact Gaussian flow map."""
    _, gauss = schedule_and_data()
    f = ODEMap(gauss.velocity, steps=100, method="heun")
    x0 = torch.randn(50, 1, 1, gauss.d, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    direct = f(x0, 0.0, 1.0)
    assert torch.allclose(f(f(x0, 0.0, 0.4), 0.4, 1.0), direct, atol=1e-3)
    assert torch.allclose(f(direct, 1.0, 0.0), x0, atol=1e-3)  # integrating backwards inverts it
    exact = gaussian_flow_map(gauss, x0, 0.0, 1.0)
    error = (direct - exact).abs().max().item()
    finer = (ODEMap(gauss.velocity, steps=400, method="heun")(x0, 0.0, 1.0) - exact).abs().max().item()
    assert error < 3e-4 and finer < error / 10, "Heun converges to the exact map at second order"
    coarse = ODEMap(gauss.velocity, steps=3, method="euler")(x0, 0.0, 1.0)
    assert (coarse - gaussian_flow_map(gauss, x0, 0.0, 1.0)).abs().max() > 1e-2, "few Euler steps are not exact"


# ---- average velocities --------------------------------------------------------------------------------------

def test_exact_average_velocity_is_exact_in_one_step_for_any_times():
    """u(x, t, s) = (Φ(x, t, s) − x)/(s − t) for the exact flow map Φ of Gaussian data: one step of
    AverageVelocityMap lands on Φ for every (t, s), forwards and backwards, with times as numbers or per sample;
    u(x, t, s) → v(x, t) as s → t."""
    _, gauss = schedule_and_data()
    calls = []

    def u(x, t, s):
        calls.append((t, s))
        assert t.shape == s.shape == (x.shape[0],)
        return ((gaussian_flow_map(gauss, x, t, s) - x.double()) / (s - t).double().view(-1, 1, 1, 1)).to(x.dtype)

    f = AverageVelocityMap(u)
    x = torch.randn(6, 1, 1, gauss.d, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    for t, s in ((0.0, 1.0), (0.0, 0.3), (0.3, 0.8), (0.9, 0.1)):
        assert torch.allclose(f(x, t, s), gaussian_flow_map(gauss, x, t, s), atol=1e-12)
        ts = torch.full((6,), t, dtype=torch.float64), torch.full((6,), s, dtype=torch.float64)
        assert torch.allclose(f(x, *ts), f(x, t, s), atol=1e-12)
    assert torch.allclose(sample(f, x, [0.0, 0.25, 1.0]), gaussian_flow_map(gauss, x, 0.0, 1.0), atol=1e-12)
    assert nfe(f, [0.0, 0.25, 1.0]) == 2 and len(calls) == 4 * 3 + 2
    t = torch.full((6,), 0.4, dtype=torch.float64)
    assert torch.allclose(u(x, t, t + 1e-7), gauss.velocity(x, t), atol=1e-5), "u(x, t, t) = v(x, t)"
    # per-sample times: each sample moves on its own interval
    t, s = torch.tensor([0.0, 0.2, 0.5, 0.7, 0.9, 0.95]), torch.tensor([1.0, 0.6, 0.1, 0.75, 1.0, 0.0])
    batched = f(x, t, s)
    for i in range(6):
        assert torch.allclose(batched[i : i + 1], f(x[i : i + 1], t[i].item(), s[i].item()), atol=1e-12)


@pytest.mark.parametrize("make", [EulerMap, HeunMap, lambda v: ODEMap(v, 4, "heun")], ids=["euler", "heun", "ode"])
def test_times_as_numbers_and_as_tensors_agree(make):
    """Numbers, 0-d tensors and ``(N,)`` tensors of equal entries are the same time; distinct entries are each
    sample's own time."""
    ring = GaussianMixture.ring()
    f = make(ring.velocity)
    x = torch.randn(5, 2, generator=torch.Generator().manual_seed(6))
    expected = f(x, 0.2, 0.7)
    assert torch.allclose(f(x, torch.full((5,), 0.2), torch.full((5,), 0.7)), expected, atol=1e-6)
    assert torch.allclose(f(x, torch.tensor(0.2), 0.7), expected, atol=1e-6)
    t, s = torch.tensor([0.0, 0.2, 0.4, 0.9, 0.5]), torch.tensor([1.0, 0.7, 0.5, 0.3, 0.5])
    batched = f(x, t, s)
    for i in range(5):
        assert torch.allclose(batched[i : i + 1], f(x[i : i + 1], t[i].item(), s[i].item()), atol=1e-5)
    assert torch.allclose(batched[4], x[4]), "s = t is the identity"


# ---- bookkeeping -------------------------------------------------------------------------------------------

def test_nfe_counts_the_network_evaluations():
    """``nfe(f, ts)`` is the number of velocity calls ``sample(f, x, ts)`` makes."""
    calls = []

    def v(x, t):
        calls.append(t)
        return -x

    x = torch.ones(2, 3)
    for f, ts in ((EulerMap(v), uniform_grid(8)), (HeunMap(v), uniform_grid(4)),
                  (ODEMap(v, 5, "heun"), [0.0, 0.5, 1.0]), (ODEMap(v, 3), [1.0, 0.0]),
                  (EulerMap(v), [0.0, 0.1, 0.5, 1.0])):
        calls.clear()
        sample(f, x, ts)
        assert len(calls) == nfe(f, ts), (f, ts)
    assert nfe(EulerMap(v), uniform_grid(8)) == 8 and nfe(HeunMap(v), uniform_grid(4)) == 8
    assert ODEMap(v, 5, "heun").nfe == 10 and nfe(ODEMap(v, 5, "heun"), [0.0, 0.5, 1.0]) == 20
    assert torch.allclose(sample(ODEMap(v, 200, "heun"), x, [0.0, 1.0]), x * math.exp(-1), atol=1e-6)


def test_grids_trajectories_and_callbacks():
    assert uniform_grid(4) == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0])
    assert uniform_grid(2, 1.0, 0.0) == pytest.approx([1.0, 0.5, 0.0])
    f = EulerMap(lambda x, t: torch.ones_like(x))
    x = torch.zeros(2, 1)
    states = trajectory(f, x, [0.0, 0.5, 0.75])
    assert len(states) == 3 and torch.equal(states[0], x) and torch.allclose(states[-1], torch.full((2, 1), 0.75))
    steps = []
    out = sample(f, x, [0.0, 0.5, 0.75], callback=steps.append)
    assert [(s["i"], s["t"], s["s"]) for s in steps] == [(0, 0.0, 0.5), (1, 0.5, 0.75)]
    assert torch.equal(steps[-1]["x_s"], out) and torch.equal(steps[1]["x_t"], steps[0]["x_s"])


@pytest.mark.parametrize("call, match", [
    (lambda: sample(EulerMap(lambda x, t: x), torch.zeros(1, 2), [0.0]), "at least two"),
    (lambda: sample(EulerMap(lambda x, t: x), torch.zeros(1, 2), []), "at least two"),
    (lambda: nfe(EulerMap(lambda x, t: x), [1.0]), "at least two"),
    (lambda: uniform_grid(0), "steps"),
    (lambda: uniform_grid(2.5), "steps"),
    (lambda: ODEMap(lambda x, t: x, steps=0), "steps"),
    (lambda: ODEMap(lambda x, t: x, method="rk4"), "method"),
    (lambda: EulerMap(lambda x, t: x)(torch.zeros(3, 2), torch.zeros(2), 1.0), r"shape \(3,\)"),
])
def test_bad_input_gives_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
