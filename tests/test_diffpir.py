"""DiffPIR, DDRM and DPS (chapter 5) against the exact posterior of a Gaussian linear inverse problem, on
every operator, and against the official code's conventions.

Data: independent Gaussian pixels (model units) with the exact ε-model of ``gaussian_oracle``; the
measurement observes two of four pixels with noise σ_n. The posterior is Gaussian and independent per
pixel: observed pixels combine prior and measurement, unobserved ones keep the prior.
"""

import pytest
import torch
from gaussian_oracle import GaussianData

from genir_mini.evaluation import tasks
from genir_mini.operators import BlockAverageSR, Inpainting, SuperResolution
from genir_mini.priors import diffusion
from genir_mini.priors.parameterization import EpsModel
from genir_mini.restore import ddrm, diffpir, dps

SIGMA_N = 0.05
N = 3000


@pytest.fixture(scope="module")
def gaussian_problem():
    schedule = diffusion.linear_schedule(1000)
    prior = GaussianData([0.3, -0.5, 0.0, 0.2], [0.15, 0.1, 0.2, 0.15])  # well inside [−1, 1]: no clipping
    mask = torch.tensor([1.0, 1.0, 0.0, 0.0]).view(1, 1, 1, 4)
    y = torch.tensor([0.7, 0.2, 0.0, 0.0]).view(1, 1, 1, 4).expand(N, 1, 1, 4).contiguous()
    mean_u, var_u = (prior.mean + 1) / 2, prior.var / 4  # the prior in [0, 1] units
    post_var = torch.where(mask > 0, 1 / (1 / var_u + 1 / SIGMA_N**2), var_u)
    post_mean = torch.where(mask > 0, post_var * (mean_u / var_u + y[:1].double() / SIGMA_N**2), mean_u)
    return dict(schedule=schedule, prior=EpsModel(prior.eps_model(schedule), schedule), operator=Inpainting(mask),
                y=y, mask=mask,
                mean=post_mean.flatten(), std=post_var.sqrt().flatten())


def moment_errors(samples, problem):
    s = samples.double().flatten(1)
    return (s.mean(0) - problem["mean"]).abs(), (s.std(0) - problem["std"]).abs()


def run(method, problem, steps, seed=0, **kw):
    g = torch.Generator().manual_seed(seed)
    p = problem
    solve = {"diffpir": diffpir.diffpir, "ddrm": ddrm.ddrm, "dps": dps.dps}[method]
    return solve(p["y"], p["operator"], p["prior"], sigma_n=SIGMA_N, steps=steps, generator=g, **kw)


def test_diffpir_timesteps_follow_the_official_quad_skip():
    assert diffpir.diffpir_timesteps(1000, 100)[:4] == [999, 899, 857, 825]
    assert diffpir.diffpir_timesteps(1000, 100)[-4:] == [15, 10, 5, 0]
    assert diffpir.diffpir_timesteps(1000, 20)[:4] == [999, 770, 675, 602]
    assert diffpir.diffpir_timesteps(1000, 20)[-4:] == [82, 54, 26, 0]
    uniform = diffpir.diffpir_timesteps(1000, 10, skip="uniform")
    assert uniform[0] == 999 and uniform[-1] == 0 and len(set(uniform)) == 10
    with pytest.raises(ValueError, match="steps"):
        diffpir.diffpir_timesteps(1000, 1)
    with pytest.raises(ValueError, match="repeat"):
        diffpir.diffpir_timesteps(1000, 900)
    with pytest.raises(ValueError, match="skip"):
        diffpir.diffpir_timesteps(1000, 10, skip="cubic")


def test_rho_grows_as_the_noise_falls_with_the_official_values():
    schedule = diffusion.linear_schedule(1000)
    rho = diffpir.rho_schedule(schedule, [999, 500, 100, 0], 0.05, 1.0)
    # the official convention gives, for σ_n = 0.05 and λ = 1: ≈ 1e-7, 2.1e-4, 0.021, 25
    assert rho[0].item() == pytest.approx(1.0e-7, rel=0.05)
    assert rho[1].item() == pytest.approx(2.1e-4, rel=0.05)
    assert rho[2].item() == pytest.approx(0.021, rel=0.05)
    assert rho[3].item() == pytest.approx(25, rel=0.05)
    assert diffpir.rho_schedule(schedule, [0], 0.0, 1.0).item() > 0, "σ_n = 0 is floored at 0.001"


def test_diffpir_and_ddrm_means_approach_the_exact_posterior(gaussian_problem):
    for method, kw in (("diffpir", dict(lam=4.0, zeta=0.3)), ("ddrm", {})):
        coarse, _ = moment_errors(run(method, gaussian_problem, 10, **kw), gaussian_problem)
        fine, _ = moment_errors(run(method, gaussian_problem, 200, **kw), gaussian_problem)
        assert fine.max() < 0.015, (method, fine)
        assert fine.max() < coarse.max(), (method, coarse, fine)


def test_deterministic_diffpir_spread_approaches_the_exact_posterior(gaussian_problem):
    deterministic = dict(lam=4.0, zeta=0.0, skip="uniform")
    _, coarse = moment_errors(run("diffpir", gaussian_problem, 20, **deterministic), gaussian_problem)
    _, fine = moment_errors(run("diffpir", gaussian_problem, 400, **deterministic), gaussian_problem)
    assert fine.max() < 0.01 and (fine < coarse).all(), (coarse, fine)


def test_ddrm_eta_trades_spread_on_unobserved_pixels(gaussian_problem):
    std = gaussian_problem["std"]
    exact = run("ddrm", gaussian_problem, 400, eta=0.0).double().flatten(1).std(0)
    default = run("ddrm", gaussian_problem, 400).double().flatten(1).std(0)
    assert torch.allclose(exact[2:], std[2:], atol=0.005), "η = 0 is DDIM on the unobserved pixels"
    assert (default[2:] < std[2:]).all(), "η = 0.85 injects a fixed share of fresh noise: under-dispersed"
    assert (default[:2] > 0).all() and (default[:2] < std[:2]).all()


def test_solvers_fit_the_measurement_to_its_noise_level(gaussian_problem):
    mask = gaussian_problem["mask"]
    # DPS's step ζ∇‖r‖ has a fixed length whatever the residual: with two observed pixels a large ζ makes it
    # jitter around y (ζ = 0.5 gives an RMS residual of ~2σ_n here), so the low-dimensional test takes ζ = 0.05
    for method, kw in (("diffpir", dict(lam=4.0, zeta=0.3)), ("ddrm", {}), ("dps", dict(scale=0.05))):
        x = run(method, gaussian_problem, 100, **kw)
        residual = ((gaussian_problem["y"] - x) * mask).pow(2).sum() / (mask.sum() * N)
        assert 0.3 * SIGMA_N < residual.sqrt().item() < 1.5 * SIGMA_N, (method, residual.sqrt().item())


def test_dps_moves_the_unconditional_sampler_towards_the_measurement(gaussian_problem):
    guided = run("dps", gaussian_problem, 100, scale=0.05).double().flatten(1).mean(0)
    free = run("dps", gaussian_problem, 100, scale=0.0).double().flatten(1).mean(0)
    target = gaussian_problem["mean"]
    assert ((guided[:2] - target[:2]).abs() < (free[:2] - target[:2]).abs()).all()
    assert torch.allclose(guided[2:], target[2:], atol=0.02), "unobserved pixels keep the prior mean"


class TinyModel(torch.nn.Module):
    """A trainable-shape stand-in ε-model (one conv), enough to run every solver on every operator."""

    def __init__(self, channels):
        super().__init__()
        self.conv = torch.nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x, t):
        return 0.1 * self.conv(x) + 0.5 * x


@pytest.mark.parametrize("task", list(diffpir.TASK_DEFAULTS))
def test_every_solver_runs_on_every_task(task):
    """DiffPIR with the task's settings, DPS and DDRM run on every task (DDRM on the SVD-free ``SuperResolution``
    raises a TypeError naming the capability and runs on ``BlockAverageSR`` instead)."""
    torch.manual_seed(0)
    schedule = diffusion.linear_schedule(1000)
    prior = EpsModel(TinyModel(3), schedule)
    t = tasks.make_task(task, image_size=32)
    x = torch.rand(2, 3, 32, 32)
    y = tasks.degrade(t, x, seed=0)
    traj = []
    settings = {**diffpir.TASK_DEFAULTS[task], "steps": 5}
    out = diffpir.diffpir(y, t.operator, prior, sigma_n=t.sigma_n, callback=traj.append, **settings)
    assert out.shape == x.shape and 0 <= out.min() and out.max() <= 1 and len(traj) == 5
    assert {"i", "t", "x_t", "x0_hat", "x0_data", "rho"} <= set(traj[0])
    assert [step["t"] for step in traj] == diffpir.diffpir_timesteps(1000, 5)
    assert torch.equal(out, traj[-1]["x0_data"].clamp(0, 1)), "the result is the last data step"
    out = dps.dps(y, t.operator, prior, steps=4, scale=0.3)
    assert out.shape == x.shape and torch.isfinite(out).all()
    if isinstance(t.operator, SuperResolution):
        with pytest.raises(TypeError, match="Spectral"):
            ddrm.ddrm(y, t.operator, prior, sigma_n=t.sigma_n, steps=4)
        operator = BlockAverageSR(4)
        y = operator.A(x)
    else:
        operator = t.operator
    traj = []
    out = ddrm.ddrm(y, operator, prior, sigma_n=t.sigma_n, steps=4, callback=traj.append)
    assert out.shape == x.shape and torch.isfinite(out).all() and len(traj) == 4


def test_bad_input_names_the_argument():
    schedule = diffusion.linear_schedule(1000)
    model = TinyModel(1)
    prior = EpsModel(model, schedule)
    op = Inpainting(torch.ones(1, 1, 8, 8))
    y = torch.rand(1, 1, 8, 8)
    with pytest.raises(ValueError, match="zeta"):
        diffpir.diffpir(y, op, prior, sigma_n=0.01, steps=5, zeta=1.5)
    with pytest.raises(ValueError, match="lam"):
        diffpir.diffpir(y, op, prior, sigma_n=0.01, steps=5, lam=-1)
    with pytest.raises(ValueError, match="x_init"):
        diffpir.diffpir(y, op, prior, sigma_n=0.01, steps=5, x_init=torch.rand(1, 1, 4, 4))
    with pytest.raises(ValueError, match="sigma_n"):
        ddrm.ddrm(y, op, prior, sigma_n=-0.1, steps=5)
    with pytest.raises(ValueError, match="eta"):
        ddrm.ddrm(y, op, prior, sigma_n=0.01, steps=5, eta=2)
    with pytest.raises(ValueError, match="scale"):
        dps.dps(y, op, prior, steps=5, scale=-1)
    for solve in (diffpir.diffpir, ddrm.ddrm, dps.dps):  # a bare network must be wrapped with its schedule
        with pytest.raises(TypeError, match="EpsModel"):
            solve(y, op, model, sigma_n=0.01, steps=5)
    assert "denoise" not in diffpir.TASK_DEFAULTS and set(diffpir.TASK_DEFAULTS) == set(tasks.TASKS)


def test_the_tuning_sweep_scores_every_pair():
    from tools.tune_diffpir import sweep, validation_images

    images, size = validation_images("digits", 2)
    assert images.shape == (2, 1, 32, 32) and size == 32
    net = TinyModel(1)
    scores = sweep(net, images, size, ["inpaint-random"], lambdas=(1.0, 6.0), zetas=(1.0,), steps=2)
    assert set(scores["inpaint-random"]) == {(1.0, 1.0), (6.0, 1.0)}
    assert all(0 < v < 100 for v in scores["inpaint-random"].values())
    prior = EpsModel(net, diffusion.linear_schedule(1000))  # a wrapped network scores the same
    assert sweep(prior, images, size, ["inpaint-random"], lambdas=(1.0,), zetas=(1.0,), steps=2)[
        "inpaint-random"][1.0, 1.0] == scores["inpaint-random"][1.0, 1.0]
