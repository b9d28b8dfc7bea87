"""MeanFlow (``flowmaps.meanflow``, chapter 7): on the exact toy oracle the average velocity satisfies the
identity and its target is itself; the forward-mode product against finite differences; the paper's reversed
convention gives the same target after the change of variables; a network trained on the oracle has
u(x, t, t) = v; the start from a flow-matching model; the time sampler and bad input."""

import numpy as np
import pytest
import torch

from genir_mini import nets
from genir_mini.flowmaps import ODEMap, meanflow
from genir_mini.priors.toy2d import GaussianMixture

TOY = GaussianMixture([[-1.5, 0.5], [1.0, 1.0], [0.5, -1.5]], stds=0.35)


def exact_average_velocity(x, t, s, steps=400):
    """u(x_t, t, s) = (f(x_t, t, s) − x_t)/(s − t) with the exact velocity's flow map (Heun, float64)."""
    return TOY.average_velocity(x, t, s, steps)


def test_the_toy_average_velocity_is_the_flow_maps_chord():
    _, x, t, s = toy_points(8)
    chord = (ODEMap(TOY.velocity, 400, "heun")(x, t, s) - x) / (s - t)[:, None]
    assert torch.allclose(TOY.average_velocity(x, t, s), chord, atol=1e-12)
    assert torch.equal(TOY.average_velocity(x, t, t), TOY.velocity(x, t))
    with pytest.raises(ValueError, match="steps"):
        TOY.average_velocity(x, t, s, steps=0)


def toy_points(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    t = 0.05 + 0.5 * torch.rand(n, generator=g, dtype=torch.float64)
    s = t + 0.05 + 0.35 * torch.rand(n, generator=g, dtype=torch.float64)
    x = TOY.sample_source(n, g).double()
    return TOY.velocity(x, t), x, t, s


def test_exact_average_velocity_satisfies_the_identity_and_is_its_own_target():
    v, x, t, s = toy_points()
    u, target = meanflow.identity_target(exact_average_velocity, x, t, s, v)
    assert (u - target).abs().max() < 1e-4 * u.abs().max()  # Heun: the residual falls as 1/steps²
    # a wrong u (5 % too long) is not its own target
    u_bad, target_bad = meanflow.identity_target(lambda *a: 1.05 * exact_average_velocity(*a, steps=50), x, t, s,
                                                 v)
    assert (u_bad - target_bad).abs().max() > 1e-2 * u.abs().max()


def test_boundary_of_the_exact_average_velocity_is_the_velocity():
    v, x, t, _ = toy_points()
    u = exact_average_velocity(x, t, t + 1e-4)
    assert torch.allclose(u, v, atol=1e-3)


def random_unet(seed=0):
    torch.manual_seed(seed)
    net = nets.build("unet", {"in_channels": 1, "channels": [8, 16], "blocks": 1, "time_dim": 16,
                              "time_inputs": 2, "time_scale": 1.0}).double()
    with torch.no_grad():
        for p in net.parameters():  # zero-initialised heads would make u ≡ 0
            p.add_(0.05 * torch.randn_like(p))
    return net


def batch(seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(3, 1, 8, 8, generator=g, dtype=torch.float64)
    v = torch.randn(3, 1, 8, 8, generator=g, dtype=torch.float64)
    return x, v, torch.tensor([0.1, 0.4, 0.7], dtype=torch.float64), torch.tensor([0.5, 0.4, 0.9],
                                                                                    dtype=torch.float64)


def test_jvp_against_finite_differences():
    u_fn = meanflow.average_velocity(random_unet())
    x, v, t, s = batch()
    u, target = meanflow.identity_target(u_fn, x, t, s, v)
    eps = 1e-7
    du_dt = (u_fn(x + eps * v, t + eps, s) - u_fn(x - eps * v, t - eps, s)) / (2 * eps)
    expected = v + (s - t).view(-1, 1, 1, 1) * du_dt
    assert torch.allclose(target, expected, atol=1e-6 * expected.abs().max().item())
    assert torch.equal(u, u_fn(x, t, s))
    assert u.requires_grad and not target.requires_grad


def test_paper_convention_gives_the_same_target():
    """MeanFlow's code: data at 0, noise at 1, u_MF(z_t, r, t) with r < t, target v − (t − r)·du/dt with
    tangents (v, 0, 1) on (z, r, t). With τ = 1 − t it is the book's target, negated."""
    net = random_unet()
    u_book = meanflow.average_velocity(net)
    x, v, t, s = batch()

    def u_paper(z, r, t_mf):  # the same network read in the paper's time
        return -u_book(z, 1 - t_mf, 1 - r)

    r_mf, t_mf, v_mf = 1 - s, 1 - t, -v
    u_mf, du_dt_mf = torch.func.jvp(u_paper, (x, r_mf, t_mf), (v_mf, torch.zeros_like(r_mf),
                                                               torch.ones_like(t_mf)))
    target_mf = v_mf - (t_mf - r_mf).view(-1, 1, 1, 1) * du_dt_mf
    u, target = meanflow.identity_target(u_book, x, t, s, v)
    assert torch.allclose(u, -u_mf) and torch.allclose(target, -target_mf, atol=1e-10)
    # and one step of either map lands on the same point: z_r = z_t − (t − r)·u_MF = x_t + (s − t)·u
    assert torch.allclose(x - (t_mf - r_mf).view(-1, 1, 1, 1) * u_mf, meanflow.flow_map(net)(x, t, s))


class ToyAverageVelocity(torch.nn.Module):
    """A small MLP u(x, t, s) on 2-D points."""

    def __init__(self):
        super().__init__()
        self.mlp = torch.nn.Sequential(torch.nn.Linear(4, 128), torch.nn.SiLU(), torch.nn.Linear(128, 128),
                                       torch.nn.SiLU(), torch.nn.Linear(128, 2))

    def forward(self, x, t, s):
        return self.mlp(torch.cat([x, t[:, None], (s - t)[:, None]], 1))


def test_trained_on_the_oracle_its_boundary_is_the_velocity_and_one_step_is_the_ode():
    """Trained with the exact velocity (as a teacher), u(x, t, t) ≈ v, and one step of its map lands far
    closer to the exact ODE's end than one Euler step of the exact velocity (which is what the JVP term buys)."""
    torch.manual_seed(0)
    net, g = ToyAverageVelocity(), torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    for _ in range(600):
        x1, x0 = TOY.sample(256, g), torch.randn(256, 2, generator=g)
        t, s = meanflow.sample_times(256, g, mean=0.0, std=1.0, fraction_equal=0.5, mean_s=None)
        x_t = (1 - t[:, None]) * x0 + t[:, None] * x1
        u, target = meanflow.identity_target(net, x_t, t, s, TOY.velocity(x_t, t))
        opt.zero_grad()
        meanflow.adaptive_loss(u, target, p=0.5).backward()
        opt.step()
    with torch.no_grad():
        t = 0.1 + 0.8 * torch.rand(512, generator=g)
        x = (1 - t[:, None]) * torch.randn(512, 2, generator=g) + t[:, None] * TOY.sample(512, g)  # on the path
        v = TOY.velocity(x, t)
        boundary_error = (net(x, t, t) - v).norm(dim=1).mean() / v.norm(dim=1).mean()
        x0, zero, one = torch.randn(512, 2, generator=g), torch.zeros(512), torch.ones(512)
        end = ODEMap(TOY.velocity, 200, "heun")(x0.double(), zero.double(), one.double()).float()
        one_step = (meanflow.flow_map(net)(x0, zero, one) - end).norm(dim=1).mean()
        euler = (x0 + TOY.velocity(x0, zero) - end).norm(dim=1).mean()
    assert boundary_error < 0.3, f"relative error of u(x, t, t) against v: {boundary_error:.3f}"
    assert one_step < euler / 3, f"one MeanFlow step misses the ODE's end by {one_step:.3f}, Euler by {euler:.3f}"


def test_start_from_velocity_makes_u_the_velocity_for_every_s():
    torch.manual_seed(0)
    config = {"in_channels": 1, "channels": [8, 16], "blocks": 1, "time_dim": 16}
    fm = nets.build("unet", config)
    with torch.no_grad():
        for p in fm.parameters():
            p.add_(0.05 * torch.randn_like(p))
    mf = meanflow.start_from_velocity(nets.build("unet", {**config, "time_inputs": 2}), fm)
    x, t = torch.randn(2, 1, 8, 8), torch.tensor([0.2, 0.6])
    for s in (torch.tensor([0.2, 0.6]), torch.tensor([0.9, 0.7])):
        assert torch.allclose(meanflow.average_velocity(mf)(x, t, s), fm(x, t), atol=1e-6)
    with pytest.raises(ValueError, match="velocity_net"):
        meanflow.start_from_velocity(mf, nets.build("unet", {**config, "channels": [8, 8]}))


def test_sample_times_orders_and_shares_equal_times():
    g = torch.Generator().manual_seed(0)
    t, s = meanflow.sample_times(20000, g, fraction_equal=0.25)
    assert (t <= s).all() and ((t >= 0) & (s <= 1)).all()
    assert abs((t == s).float().mean().item() - 0.25) < 0.02
    # the default (improved CIFAR-10) law: s near the data end, t anywhere
    t, s = meanflow.sample_times(20000, g, fraction_equal=0.0)
    assert s.median() > 0.95 and 0.3 < t.median() < 0.8
    with pytest.raises(ValueError, match="fraction_equal"):
        meanflow.sample_times(4, g, fraction_equal=1.5)
    with pytest.raises(ValueError, match="std"):
        meanflow.sample_times(4, g, std=0.0)


def test_adaptive_weight_and_loss_bad_input():
    u, target = torch.ones(2, 1, 2, 2), torch.zeros(2, 1, 2, 2)
    assert meanflow.adaptive_loss(u, target, p=0.0).item() == pytest.approx(4.0)
    assert meanflow.adaptive_loss(u, target, p=1.0, c=0.0).item() == pytest.approx(1.0)
    with pytest.raises(TypeError, match="setting"):
        meanflow.loss(random_unet().float(), torch.rand(2, 1, 8, 8), typo=1)
    with pytest.raises(ValueError, match="v must"):
        meanflow.identity_target(lambda x, t, s: x, torch.zeros(2, 3), torch.zeros(2), torch.ones(2),
                                 torch.zeros(2, 4))


def test_guided_velocity_is_the_conditional_one_at_w_1_and_extrapolates():
    teacher = lambda x, t, cond: x + cond  # noqa: E731
    x, cond, t = torch.ones(2, 1, 4, 4), torch.full((2, 1, 4, 4), 2.0), torch.zeros(2)
    assert torch.equal(meanflow.guided_velocity(teacher, cond, 1.0)(x, t), x + cond)
    assert torch.allclose(meanflow.guided_velocity(teacher, cond, 2.0)(x, t), x + 2 * cond)


def test_mfsr_started_from_its_teacher_is_the_teachers_euler_step():
    """u = v at step 0 (``start_from_velocity``): one jump of the student's map is one Euler step of the
    teacher from the same source, through the one restoration call."""
    from genir_mini.evaluation import tasks
    from genir_mini.flowmaps import oftsr
    from genir_mini.restore import METHODS

    torch.manual_seed(0)
    config = {"in_channels": 3, "cond_channels": 3, "channels": [8, 16], "blocks": 1, "time_dim": 16,
              "time_scale": 1.0}
    teacher = nets.build("unet", config)
    with torch.no_grad():
        for p in teacher.parameters():
            p.add_(0.05 * torch.randn_like(p))
    student = meanflow.start_from_velocity(nets.build("unet", {**config, "time_inputs": 2}), teacher)
    task = tasks.make_task("sr4", 32)
    y = tasks.degrade(task, torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1)))
    steps = []
    one_jump = METHODS["mfsr"](y, task.operator, meanflow.ConditionalMeanFlow(student, 0.2), sigma_n=0.0,
                               steps=1, generator=torch.Generator().manual_seed(2), callback=steps.append)
    euler = METHODS["oftsr"](y, task.operator, oftsr.ConditionalFlow(teacher, 0.2), sigma_n=0.0, steps=1,
                             generator=torch.Generator().manual_seed(2))
    assert torch.allclose(one_jump, euler, atol=1e-5)
    assert set(steps[0]) == {"i", "t", "x_t", "x0_hat"} and torch.allclose(steps[0]["x0_hat"], one_jump)
    with pytest.raises(TypeError, match="ConditionalMeanFlow"):
        METHODS["mfsr"](y, task.operator, oftsr.ConditionalFlow(teacher, 0.2), sigma_n=0.0)


@pytest.mark.parametrize("name", sorted(meanflow.OFFICIAL_SETTINGS))
def test_official_time_laws_do_not_inherit_the_defaults(name):
    """A partial override names a whole law: OFFICIAL_SETTINGS[name] gives exactly that law for t and s (KS
    distance against the closed-form CDFs of the smaller and larger of the two logit-normal draws), through
    ``sample_times`` and through the losses' merged settings, MeanFlow's and SplitMeanFlow's."""
    from scipy import stats

    from genir_mini.flowmaps import splitmeanflow

    official = meanflow.OFFICIAL_SETTINGS[name]
    law = {k: official[k] for k in meanflow.TIME_LAW if k in official}
    t, s = meanflow.sample_times(20000, torch.Generator().manual_seed(0), fraction_equal=0.0, **law)

    def cdf(mean, std):
        return lambda x: stats.norm.cdf((np.log(x) - np.log1p(-x) - mean) / std)

    f = cdf(official["mean"], official["std"])
    g = cdf(official.get("mean_s", official["mean"]), official.get("std_s", official["std"]))
    assert stats.kstest(t.double().numpy(), lambda x: 1 - (1 - f(x)) * (1 - g(x))).statistic < 0.02
    assert stats.kstest(s.double().numpy(), lambda x: f(x) * g(x)).statistic < 0.02
    for merged in (meanflow.merge_settings(official), splitmeanflow._settings(
            {k: v for k, v in official.items() if k != "fraction_equal"})):
        expected = {k: official.get(k, "logit-normal" if k == "law" else None) for k in meanflow.TIME_LAW}
        assert {k: merged[k] for k in meanflow.TIME_LAW} == expected
    with pytest.raises(ValueError, match="std_s needs mean_s"):
        meanflow.merge_settings({"mean": 0.0, "std_s": 1.0})
