"""SplitMeanFlow (``flowmaps.splitmeanflow``, chapter 8): on the exact toy oracle the average velocity splits
(8.1) and a perturbed one does not; the loss of the exact u is zero; the paper's reversed convention gives
the same target; the loss needs no Jacobian-vector product; the time sampler and bad input."""

import pytest
import torch
from test_meanflow import random_unet  # a small random average-velocity UNet, float64

from genir_mini import nets
from genir_mini.flowmaps import meanflow, splitmeanflow
from genir_mini.priors.toy2d import GaussianMixture

TOY = GaussianMixture([[-1.5, 0.5], [1.0, 1.0], [0.5, -1.5]], stds=0.35)


def exact_u(x, t, s):
    return TOY.average_velocity(x, t, s, steps=400)


def exact_net(x, t, h):
    """The exact average velocity in the network's calling convention, net(x, t, h = s − t)."""
    return exact_u(x, t, t + h)


def split_points(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    t = 0.6 * torch.rand(n, generator=g, dtype=torch.float64)
    r = t + 0.05 + (0.95 - t) * torch.rand(n, generator=g, dtype=torch.float64)
    s = t + torch.rand(n, generator=g, dtype=torch.float64) * (r - t)
    x1, x0 = TOY.sample(n, g).double(), torch.randn(n, 2, generator=g, dtype=torch.float64)
    return (1 - t[:, None]) * x0 + t[:, None] * x1, t, s, r


def test_exact_average_velocity_splits_and_a_perturbed_one_does_not():
    x, t, s, r = split_points()
    residual = splitmeanflow.splitting_residual(exact_u, x, t, s, r)
    assert residual.abs().max() < 1e-4  # the Heun solve of the exact flow map: error ∝ 1/steps²
    # 5 % too long at long intervals: additivity fails
    bent = lambda x, t, s: exact_u(x, t, s) * (1 + 0.05 * (s - t)[:, None])  # noqa: E731
    assert splitmeanflow.splitting_residual(bent, x, t, s, r).abs().max() > 1e-3


def test_the_target_of_the_exact_average_velocity_is_itself_and_its_loss_is_zero():
    x, t, s, r = split_points()
    target = splitmeanflow.split_target(exact_u, x, t, s, r)
    assert torch.allclose(target, exact_u(x, t, r), atol=1e-5)
    # half of the samples on the boundary, with the exact velocity there
    r = torch.where(torch.arange(len(t)) % 2 == 0, t, r)
    s = torch.where(r == t, t, s)
    loss = splitmeanflow.consistency_loss(exact_net, x, TOY.velocity(x, t), t, s, r, p=0.0)
    assert loss < 1e-9
    # a wrong boundary velocity is seen by the loss
    assert splitmeanflow.consistency_loss(exact_net, x, 1.1 * TOY.velocity(x, t), t, s, r, p=0.0) > 1e-3


def test_small_splits_recover_the_meanflow_identity():
    """(8.1) with s = t + λ(r − t), λ → 0, is MeanFlow's identity (7.2): on a wrong u (where neither target is
    u), u + (split target − u)/λ tends to MeanFlow's target (7.3) at first order in λ."""
    x, t, _, r = split_points(16)
    bent = lambda x, t, s: exact_u(x, t, s) * (1 + 0.05 * (s - t)[:, None])  # noqa: E731
    u, meanflow_target = meanflow.identity_target(bent, x, t, r, TOY.velocity(x, t))
    gaps = []
    for lam in (0.1, 0.01):
        split = splitmeanflow.split_target(bent, x, t, t + lam * (r - t), r)
        gaps.append((u + (split - u) / lam - meanflow_target).abs().max().item())
    assert gaps[1] < gaps[0] / 5, gaps  # first order: ten times smaller λ, about ten times smaller gap


def test_paper_convention_gives_the_same_target():
    """The paper: data at 0, z_s = z_t − (t − s)·u(z_t, s, t) and target (1 − λ)·u(z_s, r, s) + λ·u(z_t, s, t)
    with s = (1 − λ)·t + λ·r, r ≤ s ≤ t. With τ = 1 − t it is the book's target, negated."""
    u_book = meanflow.average_velocity(random_unet())

    def u_paper(z, r, t):  # the same network read in the paper's time: u_MF(z, r, t), r < t
        return -u_book(z, 1 - t, 1 - r)

    g = torch.Generator().manual_seed(3)
    x = torch.randn(3, 1, 8, 8, generator=g, dtype=torch.float64)
    t, r = torch.tensor([0.1, 0.3, 0.5], dtype=torch.float64), torch.tensor([0.6, 0.9, 0.7], dtype=torch.float64)
    s = torch.tensor([0.2, 0.6, 0.55], dtype=torch.float64)
    t_mf, r_mf, s_mf = 1 - t, 1 - r, 1 - s
    lam = ((t_mf - s_mf) / (t_mf - r_mf)).view(-1, 1, 1, 1)
    u2 = u_paper(x, s_mf, t_mf)
    z_s = x - (t_mf - s_mf).view(-1, 1, 1, 1) * u2
    target_mf = (1 - lam) * u_paper(z_s, r_mf, s_mf) + lam * u2
    with torch.no_grad():
        assert torch.allclose(splitmeanflow.split_target(u_book, x, t, s, r), -target_mf, atol=1e-12)


def test_the_loss_needs_no_jvp(monkeypatch):
    def no_forward_mode(*args, **kwargs):
        raise RuntimeError("forward-mode AD is unavailable")

    monkeypatch.setattr(torch.func, "jvp", no_forward_mode)
    net = random_unet().float()
    x1 = torch.rand(4, 1, 8, 8)
    with pytest.raises(RuntimeError, match="forward-mode"):  # MeanFlow's loss does need it
        meanflow.loss(net, x1, torch.Generator().manual_seed(0))
    loss = splitmeanflow.loss(net, x1, torch.Generator().manual_seed(0))
    loss.backward()
    assert torch.isfinite(loss) and all(p.grad is not None for p in net.parameters() if p.requires_grad)


def test_conditional_loss_runs_on_a_conditional_network():
    torch.manual_seed(0)
    net = nets.build("unet", {"in_channels": 1, "cond_channels": 1, "channels": [8, 16], "blocks": 1,
                              "time_dim": 16, "time_inputs": 2, "time_scale": 1.0})
    x0, x1, cond = torch.randn(4, 1, 8, 8), torch.randn(4, 1, 8, 8), torch.randn(4, 1, 8, 8)
    loss = splitmeanflow.conditional_loss(net, x0, x1, cond, torch.Generator().manual_seed(0))
    loss.backward()
    assert torch.isfinite(loss)
    with pytest.raises(ValueError, match="x0"):
        splitmeanflow.conditional_loss(net, x0[:2], x1, cond)
    with pytest.raises(ValueError, match="cond"):
        splitmeanflow.consistency_loss(net, x1, x1, torch.zeros(4), torch.zeros(4), torch.ones(4), cond[:2])


def test_split_times_are_ordered_with_the_boundary_fraction():
    g = torch.Generator().manual_seed(0)
    t, s, r = splitmeanflow.sample_split_times(20000, g, fraction_boundary=0.3, mean=0.0, std=1.0)
    assert bool(((t <= s) & (s <= r)).all())
    assert abs((r == t).float().mean().item() - 0.3) < 0.02
    inside = r > t
    lam = (s - t)[inside] / (r - t)[inside]
    assert abs(lam.mean().item() - 0.5) < 0.02  # λ ~ U(0, 1)


def test_bad_input_names_the_argument():
    x, t, s, r = split_points(4)
    with pytest.raises(ValueError, match="t ≤ s ≤ r"):
        splitmeanflow.split_target(exact_u, x, t, s, t)
    with pytest.raises(ValueError, match="v must"):
        splitmeanflow.consistency_loss(exact_net, x, x[:2], t, s, r)
    with pytest.raises(ValueError, match="fraction_boundary"):
        splitmeanflow.loss(random_unet().float(), torch.rand(2, 1, 8, 8), fraction_boundary=1.5)
    with pytest.raises(TypeError, match="fraction_equal"):
        splitmeanflow.loss(random_unet().float(), torch.rand(2, 1, 8, 8), fraction_equal=0.5)


def test_distillation_takes_the_teachers_velocity_on_the_boundary_only():
    """With every sample on the boundary the distillation loss is flow matching against the teacher: zero when
    the teacher's velocity is the student's own u(x, t, t), positive when it is not; with half on the
    boundary the teacher is evaluated on those samples only."""
    student, x1 = random_unet().float(), torch.rand(6, 1, 8, 8)
    own = lambda x, t: meanflow.average_velocity(student)(x, t, t)  # noqa: E731
    with torch.no_grad():
        same = splitmeanflow.distillation_loss(student, own, x1, torch.Generator().manual_seed(0),
                                               fraction_boundary=1.0)
        shifted = splitmeanflow.distillation_loss(student, lambda x, t: own(x, t) + 0.1, x1,
                                                  torch.Generator().manual_seed(0), fraction_boundary=1.0)
    assert same < 1e-10 < shifted
    seen = []
    spy = lambda x, t: (seen.append(len(x)), own(x, t))[1]  # noqa: E731
    splitmeanflow.distillation_loss(student, spy, torch.rand(64, 1, 8, 8), torch.Generator().manual_seed(1))
    assert len(seen) == 1 and 16 < seen[0] < 48  # DISTILLATION: half of the 64 samples on the boundary


def test_the_uniform_time_law_is_uniform():
    """``law="uniform"`` (SplitMeanFlow's re-implementations): t and r are the smaller and larger of two U(0, 1)
    draws (KS distance against their closed-form CDFs 1 − (1 − x)² and x²)."""
    from scipy import stats

    t, _, r = splitmeanflow.sample_split_times(20000, torch.Generator().manual_seed(0), fraction_boundary=0.0,
                                               **{k: splitmeanflow.DISTILLATION[k] for k in meanflow.TIME_LAW})
    assert stats.kstest(t.double().numpy(), lambda x: 1 - (1 - x) ** 2).statistic < 0.02
    assert stats.kstest(r.double().numpy(), lambda x: x ** 2).statistic < 0.02
    with pytest.raises(ValueError, match="law must be one of"):
        meanflow.sample_times(4, law="beta")
