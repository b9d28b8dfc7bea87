"""DDPM/DDIM (chapter 3): schedules against closed forms and diffusers, samplers against the exact
Gaussian-data model, and the diffusion model as a Gaussian denoiser."""

import math

import pytest
import torch
from gaussian_oracle import check_moments, schedule_and_data

from genir_mini import units
from genir_mini.priors import diffusion
from genir_mini.priors.parameterization import EpsModel


def test_linear_schedule_closed_form():
    s = diffusion.linear_schedule(1000)
    assert s.betas[0].item() == pytest.approx(1e-4) and s.betas[-1].item() == pytest.approx(0.02)
    assert s.alpha_bar[-1].sqrt().item() == pytest.approx(0.00635, abs=5e-5)
    assert s.sigma_bar[0].item() == pytest.approx(0.0100, abs=1e-4)
    assert s.sigma_bar[-1].item() == pytest.approx(157.4, rel=2e-3)
    assert torch.allclose(s.snr, 1 / s.sigma_bar**2)
    short = diffusion.linear_schedule(100)  # rescaled by 1000/T: same end point
    assert short.betas[-1].item() == pytest.approx(0.2)


def test_cosine_schedule_closed_form():
    s = diffusion.cosine_schedule(1000)
    f = [math.cos((k / 1000 + 0.008) / 1.008 * math.pi / 2) ** 2 for k in (0, 1, 500, 1000)]
    assert s.alpha_bar[0].item() == pytest.approx(f[1] / f[0], rel=1e-9)
    assert s.alpha_bar[499].item() == pytest.approx(f[2] / f[0], rel=1e-9)
    assert s.betas.max().item() == pytest.approx(0.999)


@pytest.mark.parametrize("ours, theirs", [("linear", "linear"), ("cosine", "squaredcos_cap_v2")])
def test_schedules_match_diffusers(ours, theirs):
    diffusers = pytest.importorskip("diffusers")
    ref = diffusers.DDPMScheduler(num_train_timesteps=1000, beta_schedule=theirs).alphas_cumprod
    assert torch.allclose(diffusion.get_schedule(ours).alpha_bar.float(), ref, rtol=1e-5, atol=1e-7)


def test_forward_process_and_tweedie_invert_each_other():
    s = diffusion.linear_schedule()
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(4, 3, 8, 8, generator=g), torch.randn(4, 3, 8, 8, generator=g)
    k = torch.tensor([0, 10, 500, 999])
    x_k = diffusion.q_sample(x0, k, eps, s)
    assert torch.allclose(diffusion.predict_x0(x_k, k, eps, s), x0, atol=2e-3)
    assert torch.allclose(diffusion.eps_from_x0(x_k, k, x0, s), eps, atol=1e-4)
    # the marginal variance of x_k for unit-variance data is 1 (variance preserving)
    x0, eps = torch.randn(20000, 1, 1, 1, generator=g), torch.randn(20000, 1, 1, 1, generator=g)
    big = diffusion.q_sample(x0, 300, eps, s)
    assert big.var().item() == pytest.approx(1.0, abs=0.03)


def test_timesteps():
    assert diffusion.timesteps(1000, 1000) == list(range(999, -1, -1))
    assert diffusion.timesteps(1000, 10)[0] == 999 and diffusion.timesteps(1000, 10)[-1] == 0
    q = diffusion.timesteps(1000, 10, "quadratic")
    gaps = [a - b for a, b in zip(q[:-1], q[1:])]
    assert gaps == sorted(gaps, reverse=True)  # denser near the data
    for bad in (0, 1001, 2.5):
        with pytest.raises(ValueError, match="steps"):
            diffusion.timesteps(1000, bad)
    with pytest.raises(ValueError, match="spacing"):
        diffusion.timesteps(1000, 10, "cubic")


def _model_space_samples(sampler, n=4000, **kw):
    schedule, gauss = schedule_and_data()
    g = torch.Generator().manual_seed(1)
    noise = torch.randn(n, 1, 1, gauss.d, generator=g)
    out = sampler(EpsModel(gauss.eps_model(schedule), schedule, clip=False), noise, generator=g, **kw)
    return out, gauss


def test_ddim_with_exact_model_converges_to_the_gaussian():
    """With the exact ε-model, DDIM (η = 0) reproduces the data's mean and spread as the steps grow; at few
    steps it under-disperses (a discretisation error that chapter 3 shows on digits)."""
    errors = []
    for steps in (10, 50, 1000):
        samples, gauss = _model_space_samples(diffusion.ddim_sample, steps=steps, eta=0.0)
        errors.append((samples.double().std(0) - gauss.var[0].sqrt()).abs().max().item())
    check_moments(samples, gauss, tol_mean=0.03, tol_std=0.01)
    assert errors[0] > errors[1] > errors[2]


def test_ancestral_with_exact_model_recovers_gaussian():
    for variance in ("beta_tilde", "beta"):
        samples, gauss = _model_space_samples(diffusion.ancestral_sample, steps=None, variance=variance)
        check_moments(samples, gauss, tol_mean=0.03, tol_std=0.01)
    # on a respaced 20-step chain the two variances bracket the truth (Ho et al., 2020, §3.2)
    low, _ = _model_space_samples(diffusion.ancestral_sample, steps=20, variance="beta_tilde")
    high, _ = _model_space_samples(diffusion.ancestral_sample, steps=20, variance="beta")
    true_std = gauss.var[0].sqrt()
    assert (low.double().std(0) < true_std).all() and (high.double().std(0) > true_std).all()


def test_ddim_eta_one_is_ancestral():
    a, _ = _model_space_samples(diffusion.ddim_sample, n=64, steps=25, eta=1.0)
    b, _ = _model_space_samples(diffusion.ancestral_sample, n=64, steps=25, variance="beta_tilde")
    assert torch.allclose(a, b, atol=1e-4)


def _diffusers_loop(scheduler, model, x, generator, **step_kw):
    for t in scheduler.timesteps:
        eps = model(x, torch.full((x.shape[0],), int(t) / 1000))
        x = scheduler.step(eps, t, x, generator=generator, **step_kw).prev_sample
    return x


def test_samplers_match_diffusers_step_by_step():
    diffusers = pytest.importorskip("diffusers")
    schedule, gauss = schedule_and_data()
    model = gauss.eps_model(schedule)
    prior = EpsModel(model, schedule, clip=False)
    noise = torch.randn(16, 1, 1, gauss.d, generator=torch.Generator().manual_seed(3))
    # DDIM, η = 0, all 1000 steps (diffusers' step rule t → t − T/n needs n = T to match our spacing)
    ddim = diffusers.DDIMScheduler(num_train_timesteps=1000, beta_schedule="linear", clip_sample=False,
                                   set_alpha_to_one=True)
    ddim.set_timesteps(1000)
    theirs = _diffusers_loop(ddim, model, noise, None, eta=0.0)
    ours = diffusion.ddim_sample(prior, noise, 1000)  # model units, like diffusers' samples
    assert torch.allclose(ours, theirs, atol=1e-4)
    # DDPM ancestral with β̃ ("fixed_small"), same noise draws in the same order
    ddpm = diffusers.DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear", clip_sample=False,
                                   variance_type="fixed_small")
    ddpm.set_timesteps(1000)
    theirs = _diffusers_loop(ddpm, model, noise, torch.Generator().manual_seed(4))
    ours = diffusion.ancestral_sample(prior, noise, generator=torch.Generator().manual_seed(4))
    assert torch.allclose(ours, theirs, atol=1e-3)


def test_samplers_work_in_model_units_and_report_every_step_to_the_callback():
    """The samplers return model units ([−1, 1]; ``generate`` alone returns images), call the callback once per
    step with the step's timestep, state and x̂₀, and return the last step's x̂₀."""
    schedule, gauss = schedule_and_data()
    prior = EpsModel(gauss.eps_model(schedule), schedule)
    noise = torch.randn(8, 1, 1, gauss.d, generator=torch.Generator().manual_seed(5))
    for sampler, kw in ((diffusion.ddim_sample, {"eta": 0.5}), (diffusion.ancestral_sample, {})):
        steps = []
        out = sampler(prior, noise, 6, generator=torch.Generator().manual_seed(6), callback=steps.append, **kw)
        assert [s["i"] for s in steps] == list(range(6))
        assert [s["t"] for s in steps] == diffusion.timesteps(1000, 6)
        assert all({"i", "t", "x_t", "x0_hat"} <= set(s) for s in steps)
        assert torch.equal(steps[0]["x_t"], noise) and torch.equal(out, steps[-1]["x0_hat"])
        assert out.min() < 0, "model units: the data's second pixel has mean −0.5"
        again = sampler(prior, noise, 6, generator=torch.Generator().manual_seed(6), **kw)
        assert torch.equal(out, again), "the callback does not change the result"
    class Net(torch.nn.Module):  # a random-weight ε-network net(x_k, k/T)
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(1, 1, 1)

        def forward(self, x, t):
            return self.conv(x) + t.view(-1, 1, 1, 1)

    net = Net().requires_grad_(False)
    images = diffusion.generate(net, schedule, 3, (1, 4, 4), steps=4, seed=2)
    noise = torch.randn((3, 1, 4, 4), generator=torch.Generator().manual_seed(2))
    expected = units.to_unit(diffusion.ddim_sample(EpsModel(net, schedule), noise, 4)).clamp(0, 1)
    assert torch.allclose(images, expected.detach(), atol=1e-6), "generate returns images in [0, 1]"


def test_eps_loss_and_samplers_reject_bad_input():
    schedule = diffusion.linear_schedule(100)
    model = torch.nn.Conv2d(1, 1, 1)
    with pytest.raises(ValueError, match="x0 must have values in"):
        diffusion.eps_loss(model, torch.full((2, 1, 4, 4), 255.0), schedule)
    with pytest.raises(ValueError, match="eta"):
        diffusion.ddim_sample(EpsModel(lambda x, t: x, schedule), torch.zeros(1, 1, 4, 4), 5, eta=2)
    with pytest.raises(ValueError, match="variance"):
        diffusion.ancestral_sample(EpsModel(lambda x, t: x, schedule), torch.zeros(1, 1, 4, 4), variance="large")
    with pytest.raises(TypeError, match="EpsModel"):  # a bare network must be wrapped with its schedule
        diffusion.ddim_sample(lambda x, t: x, torch.zeros(1, 1, 4, 4), 5)
    with pytest.raises(TypeError, match="net must be a callable"):
        EpsModel("unet", schedule)
    with pytest.raises(ValueError, match="k must be"):
        diffusion.q_sample(torch.zeros(2, 1, 4, 4), 100, torch.zeros(2, 1, 4, 4), schedule)
    with pytest.raises(ValueError, match="schedule"):
        diffusion.get_schedule("sigmoid")
    for T in (1, 10):
        with pytest.raises(ValueError, match="T must be"):
            diffusion.linear_schedule(T)
