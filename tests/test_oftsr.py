"""OFTSR (ch. 6): the source, the teacher loss and the distillation target by hand; the distillation identity on
the Gaussian oracle, where the exact flow map is known; the one-step restorer's two ends; bad arguments."""

import math

import pytest
import torch

from genir_mini.flowmaps import EulerMap, MidpointMap, oftsr
from genir_mini.operators import BlockAverageSR, Blur, SuperResolution
from genir_mini.restore import METHODS
from genir_mini.restore.oftsr import oftsr as restore_oftsr

M, C = 0.7, 0.5  # data x₁ ~ N(M, C²) per pixel; source x₀ ~ N(0, 1) (σ_p = 1, the condition unused)


@pytest.fixture(autouse=True)
def float64():
    """float64 in this module only (the identities are checked to high precision)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def oracle_velocity(x, t, cond=None):
    """E[x₁ − x₀ | x_t = x] for independent x₀ ~ N(0, 1), x₁ ~ N(M, C²): M + (tC² − (1 − t))/a_t·(x − tM)."""
    t = t.view(-1, *([1] * (x.ndim - 1)))
    a_t = (1 - t) ** 2 + t**2 * C**2
    return M + (t * C**2 - (1 - t)) / a_t * (x - t * M)


def oracle_flow(x0, t):
    """The exact flow map φ_t(x₀) = tM + √a_t·x₀ (Gaussian quantiles move linearly)."""
    t = torch.as_tensor(t, dtype=x0.dtype).view(-1, *([1] * (x0.ndim - 1)))
    return t * M + torch.sqrt((1 - t) ** 2 + t**2 * C**2) * x0


def exact_student(x0, t, cond=None):
    """The exact one-step student: v(x₀, t) = (φ_t(x₀) − x₀)/t (the teacher's velocity at t = 0)."""
    t_col = t.view(-1, *([1] * (x0.ndim - 1)))
    safe = torch.where(t_col > 0, t_col, torch.ones_like(t_col))
    return torch.where(t_col > 0, (oracle_flow(x0, t) - x0) / safe, oracle_velocity(x0, torch.zeros_like(t)))


def test_oracle_flow_solves_the_oracle_ode():
    x0 = torch.randn(4, 1, 3, 3, generator=torch.Generator().manual_seed(0))
    t = torch.full((4,), 0.4)
    h = 1e-6
    derivative = (oracle_flow(x0, 0.4 + h) - oracle_flow(x0, 0.4 - h)) / (2 * h)
    assert torch.allclose(derivative, oracle_velocity(oracle_flow(x0, 0.4), t), atol=1e-6)


def test_noisy_source_is_the_vp_mixture():
    cond = torch.tensor([[[[0.5, -1.0]]]])
    noise = torch.tensor([[[[2.0, 1.0]]]])
    x0 = oftsr.noisy_source(cond, 0.6, noise=noise)
    assert torch.allclose(x0, torch.tensor([[[[0.8 * 0.5 + 0.6 * 2.0, 0.8 * -1.0 + 0.6]]]]))
    assert torch.equal(oftsr.noisy_source(cond, 0.0, noise=noise), cond)  # σ_p = 0: a deterministic map
    big = torch.full((20000, 1, 1, 1), 0.3)
    x = oftsr.noisy_source(big, 0.2, torch.Generator().manual_seed(1))
    assert abs(x.mean().item() - math.sqrt(1 - 0.04) * 0.3) < 0.01 and abs(x.std().item() - 0.2) < 0.01
    with pytest.raises(ValueError, match="sigma_p"):
        oftsr.noisy_source(cond, 1.5)
    with pytest.raises(ValueError, match="noise"):
        oftsr.noisy_source(cond, 0.5, noise=noise[..., :1])


def test_teacher_loss_by_hand():
    x1 = torch.randn(3, 1, 2, 2, generator=torch.Generator().manual_seed(2))
    cond = torch.randn(3, 1, 2, 2, generator=torch.Generator().manual_seed(3))

    def net(x, t, cond=None):  # any network: here x·t + cond
        return x * t.view(-1, 1, 1, 1) + cond

    loss = oftsr.teacher_loss(net, x1, cond, 0.3, torch.Generator().manual_seed(4))
    g = torch.Generator().manual_seed(4)  # the same draws, in the same order: ε, then t
    x0 = math.sqrt(1 - 0.09) * cond + 0.3 * torch.randn(cond.shape, generator=g)
    t = oftsr.T_EPS + (1 - oftsr.T_EPS) * torch.rand(3, generator=g)
    x_t = (1 - t.view(-1, 1, 1, 1)) * x0 + t.view(-1, 1, 1, 1) * x1
    assert loss.item() == pytest.approx((net(x_t, t, cond) - (x1 - x0)).pow(2).mean().item())
    assert t.min() >= oftsr.T_EPS
    l1 = oftsr.teacher_loss(net, x1, cond, 0.3, torch.Generator().manual_seed(4), norm="l1")  # OFTSR's DIV2K
    assert l1.item() == pytest.approx((net(x_t, t, cond) - (x1 - x0)).abs().mean().item())
    with pytest.raises(ValueError, match="one shape"):
        oftsr.teacher_loss(net, x1, cond[:2], 0.3)
    with pytest.raises(ValueError, match="norm"):
        oftsr.teacher_loss(net, x1, cond, 0.3, norm="huber")


def test_distillation_target_by_hand_and_as_a_teacher_step():
    v_phi_t, v_theta_t = torch.tensor([1.0, -2.0]), torch.tensor([3.0, 0.0])
    target = oftsr.distillation_target(v_phi_t, v_theta_t, 0.2, 0.25)
    assert torch.allclose(target, v_phi_t + (0.05 / 0.25) * (v_theta_t - v_phi_t))
    # slide 19: the target is the average velocity from x₀ to the teacher's Euler step from the student's x_t
    x0 = torch.tensor([0.5, 0.1])
    x_t = x0 + 0.2 * v_phi_t
    x_s = x_t + 0.05 * v_theta_t
    assert torch.allclose(target, (x_s - x0) / 0.25)
    with pytest.raises(ValueError, match="s must be positive"):
        oftsr.distillation_target(v_phi_t, v_theta_t, -0.1, 0.0)


def exact_residual(dt, student=exact_student, teacher_step="euler", t=0.3):
    """RMS of v_φ^(s) − target for the oracle teacher and ``student`` at time t, s = t + dt."""
    x0 = torch.randn(64, 1, 4, 4, generator=torch.Generator().manual_seed(5))
    cond = torch.zeros_like(x0)
    loss, parts = oftsr.distillation_loss(student, oracle_velocity, x0, cond, t, dt, boundary_weight=0.0,
                                          teacher_step=teacher_step)
    return math.sqrt(parts["distill"])


def test_the_exact_student_satisfies_the_distillation_identity_up_to_the_step_error():
    residuals = [exact_residual(dt) for dt in (0.08, 0.04, 0.02, 0.01)]
    ratios = [a / b for a, b in zip(residuals, residuals[1:])]
    assert all(3.3 < r < 4.7 for r in ratios), f"an Euler step's error falls like dt²: {ratios}"
    assert exact_residual(0.02, teacher_step="midpoint") < residuals[2] / 20  # second order: far smaller
    assert exact_residual(0.02, teacher_step="heun") < residuals[2] / 20

    def wrong_student(x0, t, cond=None):
        return 0.9 * exact_student(x0, t)

    assert exact_residual(0.01, wrong_student) > 20 * residuals[-1]  # a wrong student does not pass


def test_boundary_term_is_zero_for_a_student_equal_to_the_teacher_at_zero():
    x0 = torch.randn(8, 1, 2, 2, generator=torch.Generator().manual_seed(6))
    _, parts = oftsr.distillation_loss(exact_student, oracle_velocity, x0, torch.zeros_like(x0), 0.5, 0.05)
    assert parts["boundary"] < 1e-20
    loss, parts = oftsr.distillation_loss(lambda x, t, cond=None: 0 * x, oracle_velocity, x0, x0, 0.5, 0.05)
    assert parts["boundary"] > 0.1 and loss.item() == pytest.approx(parts["distill"] + 0.1 * parts["boundary"])
    with pytest.raises(ValueError, match="dt"):
        oftsr.distillation_loss(exact_student, oracle_velocity, x0, x0, 0.5, 0.0)
    with pytest.raises(ValueError, match="teacher_step"):
        oftsr.distillation_loss(exact_student, oracle_velocity, x0, x0, 0.5, 0.05, teacher_step="rk4")


def test_one_step_ends_the_teacher_first_step_and_the_ode_endpoint():
    x0 = torch.randn(8, 1, 2, 2, generator=torch.Generator().manual_seed(7))
    cond = torch.zeros_like(x0)
    first_euler = EulerMap(oracle_velocity)(x0, 0.0, 1.0)
    assert torch.allclose(oftsr.one_step(exact_student, x0, cond, 0.0), first_euler)
    assert torch.allclose(oftsr.one_step(exact_student, x0, cond, 1.0), oracle_flow(x0, 1.0))
    solved = oftsr.teacher_map(oracle_velocity, cond, steps=200, method="midpoint")(x0, 0.0, 1.0)
    assert torch.allclose(solved, oracle_flow(x0, 1.0), atol=1e-5)
    with pytest.raises(ValueError, match="t_in"):
        oftsr.one_step(exact_student, x0, cond, 1.2)


class Network(torch.nn.Module):
    """A parametrised stand-in for a conditional UNet: v = a·x + b·cond + c·t."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor([0.3, 0.5, -0.2]))

    def forward(self, x, t, cond=None):
        return self.w[0] * x + self.w[1] * cond + self.w[2] * t.view(-1, 1, 1, 1)


def test_restore_student_at_zero_equals_the_teacher_one_euler_step():
    y = torch.rand(2, 1, 2, 2, generator=torch.Generator().manual_seed(8))
    op = BlockAverageSR(4)
    net = Network()
    student = restore_oftsr(y, op, oftsr.ConditionalFlow(net, 0.3, student=True), steps=1, t_in=0.0,
                            generator=torch.Generator().manual_seed(9))
    teacher = restore_oftsr(y, op, oftsr.ConditionalFlow(net, 0.3), steps=1,
                            generator=torch.Generator().manual_seed(9))
    assert student.shape == (2, 1, 8, 8) and torch.allclose(student, teacher)
    seen = []
    restore_oftsr(y, op, oftsr.ConditionalFlow(net, 0.3), steps=4, method="heun", callback=seen.append)
    assert [s["i"] for s in seen] == [0, 1, 2, 3] and seen[1]["t"] == 0.25
    assert METHODS["oftsr"].applies_to(SuperResolution(4))
    assert not METHODS["oftsr"].applies_to(Blur(torch.ones(3, 3) / 9))
    via_registry = METHODS["oftsr"](y, SuperResolution(4), oftsr.ConditionalFlow(net, 0.3), sigma_n=0.0, steps=2,
                                    generator=torch.Generator().manual_seed(9))
    assert via_registry.shape == (2, 1, 8, 8)
    with pytest.raises(ValueError, match="steps=1"):
        restore_oftsr(y, op, oftsr.ConditionalFlow(net, 0.3, student=True), steps=2)
    with pytest.raises(TypeError, match="ConditionalFlow"):
        restore_oftsr(y, op, net, steps=1)
    with pytest.raises(ValueError, match="sigma_p"):
        oftsr.ConditionalFlow(net, -0.1)


def test_midpoint_map_is_second_order():
    def grow(x, t):
        return x

    errors = []
    for n in (8, 16):
        x = torch.ones(1, 1)
        step = MidpointMap(grow)
        for i in range(n):
            x = step(x, i / n, (i + 1) / n)
        errors.append(abs(x.item() - math.e))
    assert 3.5 < errors[0] / errors[1] < 4.5


def test_teacher_loss_drops_the_condition_for_guidance():
    seen = []

    class Recorder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(()))

        def forward(self, x, t, cond):
            seen.append(cond.flatten(1).abs().sum(1) == 0)
            return x * self.w

    cond = torch.rand(400, 1, 2, 2) + 0.1
    oftsr.teacher_loss(Recorder(), cond.clone(), cond, 0.2, torch.Generator().manual_seed(0), cond_dropout=0.25)
    assert abs(seen[-1].float().mean().item() - 0.25) < 0.06
    oftsr.teacher_loss(Recorder(), cond.clone(), cond, 0.2, torch.Generator().manual_seed(0))
    assert not seen[-1].any(), "no dropout by default"
    with pytest.raises(ValueError, match="cond_dropout"):
        oftsr.teacher_loss(Recorder(), cond.clone(), cond, 0.2, cond_dropout=1.0)
