"""Tests of genir_mini.evaluation.tasks: the task registry, degradation, the closed-form baseline, Solver and
the benchmark."""

import pytest
import torch

from genir_mini.evaluation import tasks
from genir_mini.operators import Blur, Inpainting, SuperResolution
from genir_mini.restore import linear, pnp

SIZE = 32


def clean(n=2, size=SIZE, seed=0):
    g = torch.Generator().manual_seed(seed)
    smooth = torch.nn.functional.avg_pool2d(torch.rand(n, 3, size + 4, size + 4, generator=g), 5, 1)
    return smooth.clamp(0, 1)


@pytest.mark.parametrize("name", sorted(tasks.TASKS))
def test_every_task_builds_and_degrades_to_the_operators_measurement(name):
    task = tasks.make_task(name, SIZE, seed=3)
    assert task.name == name and task.image_size == SIZE and task.description
    assert 0 < task.sigma_n < 0.05 and task.n_iter >= 1
    x = clean()
    y = tasks.degrade(task, x, seed=1)
    assert y.shape == task.operator.output_shape(x.shape)
    noise = y - task.operator.A(x)
    entries = task.operator.measured_entries(y)
    assert (noise**2).sum().item() / (len(x) * entries) == pytest.approx(task.sigma_n**2, rel=0.3)
    if name.startswith("inpaint"):  # only the observed pixels are measured
        assert (y * (1 - task.operator.mask)).abs().max() == 0
        assert entries == task.operator.mask.sum().item() * 3
    else:
        assert entries == y[0].numel()
    assert torch.equal(y, task.operator.restrict(y)), "noise only on the measured entries"
    assert torch.equal(y, tasks.degrade(task, x, seed=1))  # same seed, same measurement
    assert not torch.equal(y, tasks.degrade(task, x, seed=2))


def test_task_operators_and_dpir_settings():
    assert isinstance(tasks.make_task("deblur-gaussian").operator, Blur)
    assert tasks.make_task("deblur-gaussian").sigma_n == pytest.approx(7.65 / 255)
    sr = tasks.make_task("sr4", 64)
    assert isinstance(sr.operator, SuperResolution) and sr.operator.scale == 4
    assert sr.n_iter == 24 and sr.sigma_min == pytest.approx(4 / 255)  # DPIR: σ_K = max(s, σ_n·255)/255
    mask = tasks.make_task("inpaint-random", 64).operator.mask
    assert mask.shape == (1, 1, 64, 64) and abs(mask.mean().item() - 0.5) < 0.05
    box = tasks.make_task("inpaint-box", 64).operator.mask
    assert isinstance(tasks.make_task("inpaint-box", 64).operator, Inpainting) and box.sum() == 64 * 64 - 32 * 32


def test_seed_fixes_the_random_operator():
    a, b = tasks.make_task("deblur-motion", 64, seed=0), tasks.make_task("deblur-motion", 64, seed=0)
    assert torch.equal(a.operator.kernel, b.operator.kernel)
    assert not torch.equal(a.operator.kernel, tasks.make_task("deblur-motion", 64, seed=1).operator.kernel)
    m0, m1 = (tasks.make_task("inpaint-random", 64, seed=s).operator.mask for s in (0, 1))
    assert not torch.equal(m0, m1)


@pytest.mark.parametrize("call, error, match", [
    (lambda: tasks.make_task("deblur"), ValueError, "unknown task name 'deblur'"),
    (lambda: tasks.make_task("sr4", 30), ValueError, "image_size"),
    (lambda: tasks.make_task("sr4", 36 + 2), ValueError, "divisible by 4"),
    (lambda: tasks.make_task("deblur-gaussian", 16), ValueError, "image_size"),
    (lambda: tasks.degrade(tasks.make_task("deblur-gaussian", 64), clean(1, 32)), ValueError, "64x64"),
    (lambda: tasks.degrade(tasks.make_task("deblur-gaussian", 32), clean(1) * 255), ValueError, r"\[0, 1\]"),
    (lambda: tasks.degrade(tasks.make_task("deblur-gaussian", 32), clean(1)[0]), ValueError, "shape"),
])
def test_bad_input_gives_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("name", ["deblur-gaussian", "deblur-motion", "inpaint-random"])
def test_closed_form_is_the_tikhonov_prox_towards_the_flat_image(name):
    task = tasks.make_task(name, SIZE)
    y = tasks.degrade(task, clean(), seed=0)
    x = tasks.closed_form(y, task)
    assert x.shape == clean().shape
    # optimality: (AᵀA + ρI) x = Aᵀy + ρ m with m flat per channel, i.e. Aᵀ(A x − y) + ρ x is flat
    op = task.operator
    if name == "inpaint-random":  # where pixels are missing, x is the flat mean of the observed ones
        missing = (op.mask[0, 0] == 0)
        values = x[..., missing]  # (N, C, number missing)
        assert (values.amax(-1) - values.amin(-1)).max() < 1e-5
        observed = x[..., ~missing]
        assert not torch.allclose(observed, observed.mean(-1, keepdim=True))
        return
    residual = op.At(op.A(x) - y).double()
    cr = residual - residual.mean((-2, -1), keepdim=True)
    cx = (x - x.mean((-2, -1), keepdim=True)).double()
    rho = -(cr * cx).sum((1, 2, 3)) / (cx * cx).sum((1, 2, 3))  # least-squares ρ per image
    assert (rho > 0).all()
    misfit = (cr + rho.view(-1, 1, 1, 1) * cx).norm() / cr.norm()
    assert misfit < 1e-3


@pytest.mark.parametrize("name", ["deblur-gaussian", "deblur-motion", "inpaint-random"])
def test_closed_form_fits_the_data_down_to_the_noise_level(name):
    task = tasks.make_task(name, SIZE)
    y = tasks.degrade(task, clean(3), seed=4)
    residual = ((task.operator.A(tasks.closed_form(y, task)) - y) ** 2).sum((1, 2, 3))
    target = task.sigma_n**2 * task.operator.measured_entries(y)  # the discrepancy principle
    assert torch.allclose(residual, torch.full_like(residual, target), rtol=1e-3)


def test_discrepancy_rho_grows_with_the_noise_level():
    task = tasks.make_task("deblur-gaussian", SIZE)
    y = tasks.degrade(task, clean(1))
    m = y.mean((-2, -1), keepdim=True).expand_as(y).contiguous()
    rhos = [linear.discrepancy_rho(task.operator, m, y, s).item() for s in (0.01, 0.03, 0.1)]
    assert rhos[0] < rhos[1] < rhos[2]


def test_closed_form_for_sr_is_bicubic_and_reduces_error_for_deblurring():
    task = tasks.make_task("sr4", 64)
    x = clean(2, 64)
    y = tasks.degrade(task, x)
    assert torch.equal(tasks.closed_form(y, task), task.operator.init(y))
    task = tasks.make_task("deblur-gaussian", 64)
    y = tasks.degrade(task, x)
    assert (tasks.closed_form(y, task) - x).norm() < (y - x).norm()


def test_benchmark_rows_outputs_and_timing():
    x = clean(2)
    calls = []

    def blurry(y, task):
        calls.append(task.name)
        return task.operator.init(y)

    outputs = {}
    rows = tasks.benchmark({"init": blurry, "closed form": tasks.closed_form}, ["deblur-gaussian", "sr4"], x,
                           outputs=outputs)
    assert [(r["task"], r["method"]) for r in rows] == [
        ("deblur-gaussian", "init"), ("deblur-gaussian", "closed form"), ("sr4", "init"), ("sr4", "closed form")]
    assert calls == ["deblur-gaussian", "sr4"]
    for r in rows:  # a Solver (the closed form) also reports its network evaluations, a plain function does not
        extra = {"NFE"} if r["method"] == "closed form" else set()
        assert set(r) == {"task", "method", "PSNR (dB)", "PSNR std (dB)", "SSIM", "s / image"} | extra
        assert r.get("NFE", 0) == 0
        assert 5 < r["PSNR (dB)"] < 60 and -1 <= r["SSIM"] <= 1 and r["s / image"] >= 0
    task = tasks.make_task("deblur-gaussian", SIZE)
    y = tasks.degrade(task, x, seed=0)
    assert torch.equal(outputs["deblur-gaussian"]["y"], y)
    from genir_mini.evaluation.metrics import psnr

    assert rows[0]["PSNR (dB)"] == pytest.approx(psnr(y.clamp(0, 1), x).mean().item())
    assert rows[0]["PSNR std (dB)"] == pytest.approx(psnr(y.clamp(0, 1), x).std().item())
    assert outputs["sr4"]["init"].min() >= 0 and outputs["sr4"]["init"].max() <= 1


def test_benchmark_accepts_task_objects_and_checks_shapes():
    x = clean(1)
    task = tasks.make_task("inpaint-random", SIZE, seed=5)
    rows = tasks.benchmark({"cf": tasks.closed_form}, [task], x)
    assert rows[0]["task"] == "inpaint-random"
    with pytest.raises(ValueError, match="returned shape"):
        tasks.benchmark({"bad": lambda y, t: y[..., :8, :8]}, [task], x)
    with pytest.raises(ValueError, match="methods"):
        tasks.benchmark({}, [task], x)


def test_pnp_solver_runs_the_tasks_dpir_schedule():
    """``Solver("pnp-hqs", d)`` is PnP-HQS with the task's K and σ_K; ``steps`` and ``lam`` override them."""
    task = tasks.make_task("sr4", SIZE)
    y = tasks.degrade(task, clean(1))
    smooth = lambda v, sigma: torch.nn.functional.avg_pool2d(v, 3, 1, 1, count_include_pad=False)  # noqa: E731
    expected = pnp.pnp_hqs(y, task.operator, smooth, sigma_n=task.sigma_n, steps=task.n_iter,
                           sigma_min=task.sigma_min)
    assert torch.equal(tasks.Solver("pnp-hqs", smooth)(y, task), expected)
    expected = pnp.pnp_hqs(y, task.operator, smooth, sigma_n=task.sigma_n, steps=3, lam=0.5,
                           sigma_min=task.sigma_min)
    assert torch.equal(tasks.Solver("pnp-hqs", smooth, steps=3, lam=0.5)(y, task), expected)
    assert not torch.equal(tasks.Solver("pnp-hqs", smooth, steps=3)(y, task), expected), "lam is passed on"


def test_closed_form_solver_is_the_linear_closed_form():
    """``tasks.closed_form`` is ``restore.linear.closed_form`` with the task's noise level; it takes no prior."""
    task = tasks.make_task("deblur-motion", SIZE)
    y = tasks.degrade(task, clean(2))
    assert torch.equal(tasks.closed_form(y, task), linear.closed_form(y, task.operator, sigma_n=task.sigma_n))
    assert tasks.closed_form.nfe(task) == 0 and tasks.closed_form.applies(task)
    with pytest.raises(TypeError, match="prior must be None"):
        linear.closed_form(y, task.operator, lambda v, s: v, sigma_n=task.sigma_n)
