"""The one restoration call (``restore.methods``): every registered method on every standard task it applies to,
the common callback, the cost model (NFE) and the capabilities, and ``tasks.Solver`` / ``benchmark`` over them."""

import pytest
import torch

from genir_mini.evaluation import tasks
from genir_mini.flowmaps.meanflow import ConditionalMeanFlow
from genir_mini.flowmaps.oftsr import ConditionalFlow
from genir_mini.operators import BlockAverageSR, Identity, Inpainting, Spectral, SuperResolution
from genir_mini.priors import diffusion
from genir_mini.priors.parameterization import EpsModel
from genir_mini.restore import METHODS, ddrm, diffpir, methods, pnp

SIZE = 32
STEPS = 3
COMMON_KEYS = {"i", "t", "x_t", "x0_hat"}
EXTRAS = {"pnp-hqs": {"rho"}, "diffpir": {"x0_data", "rho"}, "dps": {"residual"}, "ddrm": set(), "oftsr": set(),
          "mfsr": set()}


class CountingEps(torch.nn.Module):
    """A tiny random-weight ε-network net(x_k, k/T) that counts its evaluations."""

    def __init__(self, channels=3):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(channels, channels, 3, padding=1)
        self.calls = 0

    def forward(self, x, t):
        self.calls += 1
        return 0.1 * self.conv(x) + 0.5 * x


class Conditional(torch.nn.Module):
    """``net`` as a conditional velocity network net(x, t, cond=...) (the condition unused)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x, t, cond=None):
        return self.net(x, t)


class ConditionalAverage(Conditional):
    """``net`` as a conditional average-velocity network net(x, t, h, cond=...) (h and the condition unused)."""

    def forward(self, x, t, h, cond=None):
        return self.net(x, t)


def prior_for(method, net):
    """The prior each kind of method takes: none, a Gaussian denoiser, the ε-model, or a conditional flow."""
    eps_model = EpsModel(net, diffusion.linear_schedule(1000))
    if method.prior == "conditional-flow":
        return ConditionalFlow(Conditional(net), 0.2)
    if method.prior == "conditional-mean-flow":
        return ConditionalMeanFlow(ConditionalAverage(net), 0.2)
    return {"none": None, "denoiser": eps_model.denoise, "eps-model": eps_model}[method.prior]


def clean(n=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.avg_pool2d(torch.rand(n, 3, SIZE + 4, SIZE + 4, generator=g), 5, 1).clamp(0, 1)


CASES = [(m, t) for m in METHODS for t in tasks.TASKS]


@pytest.mark.parametrize("name, task_name", CASES, ids=[f"{m}-{t}" for m, t in CASES])
def test_every_method_runs_on_every_task_it_applies_to(name, task_name):
    """One call for every method: an image (N, C, H, W) out, in [0, 1] for the solvers with a prior, the callback
    called once per step with the common keys (plus the method's extras, all images in image units), the step
    index counting up and the method's time ``t`` (σ_k or the timestep k) decreasing, and exactly
    ``Method.nfe(steps)`` network evaluations. OFTSR and MFSR, trained super-resolution models, apply to the
    bicubic ×s operator only, and their time is the flow's, counting up from the source (t = 0)."""
    method, task = METHODS[name], tasks.make_task(task_name, SIZE)
    x = clean()
    y = tasks.degrade(task, x, seed=0)
    if not method.applies_to(task.operator):
        is_sr = isinstance(task.operator, SuperResolution)
        assert (name == "ddrm" and is_sr) or (name in ("oftsr", "mfsr") and not is_sr)
        return
    net = CountingEps()
    steps = []
    out = method(y, task.operator, prior_for(method, net), sigma_n=task.sigma_n, steps=STEPS,
                 generator=torch.Generator().manual_seed(0), callback=steps.append)
    assert out.shape == x.shape and torch.isfinite(out).all()
    assert net.calls == method.nfe(STEPS)
    if name == "closed-form":  # no prior and no iterations of a prior: nothing to report
        assert method.nfe(STEPS) == 0
        return
    assert 0 <= out.min() and out.max() <= 1
    assert len(steps) == STEPS and [s["i"] for s in steps] == list(range(STEPS))
    for step in steps:
        assert set(step) == COMMON_KEYS | EXTRAS[name], set(step)
        assert step["x_t"].shape == step["x0_hat"].shape == x.shape
        assert -0.01 <= step["x0_hat"].min() and step["x0_hat"].max() <= 1.01, "x0_hat in image units"
    times = [s["t"] for s in steps]
    assert times == sorted(times, reverse=name not in ("oftsr", "mfsr")) and len(set(times)) == STEPS


def test_the_callback_does_not_change_the_result():
    """Passing a callback only observes: the same generator gives the same restoration with or without it."""
    task = tasks.make_task("inpaint-random", SIZE)
    y = tasks.degrade(task, clean(1))
    for name in ("pnp-hqs", "diffpir", "ddrm", "dps"):
        method = METHODS[name]
        prior = prior_for(method, CountingEps())
        runs = [method(y, task.operator, prior, sigma_n=task.sigma_n, steps=STEPS,
                       generator=torch.Generator().manual_seed(1), callback=cb)
                for cb in (None, lambda step: None)]
        assert torch.equal(*runs), name


def test_the_registry_knows_names_costs_defaults_and_capabilities():
    assert set(METHODS) == {"closed-form", "pnp-hqs", "diffpir", "ddrm", "dps", "oftsr", "mfsr"}
    assert methods.get("ddrm") is METHODS["ddrm"] and all(m.name == n for n, m in METHODS.items())
    with pytest.raises(ValueError, match="method"):
        methods.get("ddnm")
    assert METHODS["closed-form"].nfe(30) == 0
    assert METHODS["pnp-hqs"].nfe(8) == 8 and METHODS["diffpir"].nfe(20) == 20 and METHODS["ddrm"].nfe(20) == 20
    assert METHODS["dps"].nfe(1000) == 1000 and METHODS["dps"].backward and not METHODS["ddrm"].backward
    assert METHODS["pnp-hqs"].default_steps == 8 and METHODS["diffpir"].default_steps == 100
    for name, method in METHODS.items():
        for op in (Identity(), Inpainting(torch.ones(1, 1, 4, 4)), BlockAverageSR(2)):
            assert method.applies_to(op) == (name not in ("oftsr", "mfsr")), (name, op)
        assert method.applies_to(SuperResolution(2)) == (name != "ddrm"), name
    assert METHODS["oftsr"].requires == (SuperResolution,) and METHODS["oftsr"].default_steps == 1
    assert METHODS["ddrm"].requires == (Spectral,)


def test_ddrm_on_super_resolution_raises_a_type_error_naming_spectral():
    task = tasks.make_task("sr4", SIZE)
    y = tasks.degrade(task, clean(1))
    prior = EpsModel(CountingEps(), diffusion.linear_schedule(1000))
    for call in (lambda: METHODS["ddrm"](y, task.operator, prior, sigma_n=task.sigma_n, steps=2),
                 lambda: ddrm.ddrm(y, task.operator, prior, sigma_n=task.sigma_n, steps=2)):
        with pytest.raises(TypeError, match="Spectral") as info:
            call()
        assert "SuperResolution" in str(info.value)
    assert not tasks.Solver("ddrm", prior).applies(task)


def test_method_default_steps_are_used_when_steps_is_not_given():
    task = tasks.make_task("deblur-gaussian", SIZE)
    y = tasks.degrade(task, clean(1))
    d = lambda v, sigma: v  # noqa: E731
    expected = pnp.pnp_hqs(y, task.operator, d, sigma_n=task.sigma_n, steps=METHODS["pnp-hqs"].default_steps)
    assert torch.equal(METHODS["pnp-hqs"](y, task.operator, d, sigma_n=task.sigma_n), expected)


# ---- tasks.Solver and benchmark ------------------------------------------------------------------------------

def test_solver_settings_combine_defaults_task_settings_steps_and_max_steps():
    """Later settings win: method defaults < the book's task settings < ``steps``/knobs; ``max_steps`` caps."""
    prior = EpsModel(CountingEps(), diffusion.linear_schedule(1000))
    box, sr = tasks.make_task("inpaint-box", SIZE), tasks.make_task("sr4", SIZE)
    solver = tasks.Solver("diffpir", prior)
    assert solver.settings(box) == diffpir.TASK_DEFAULTS["inpaint-box"] and solver.nfe(box) == 20
    assert solver.settings(sr)["steps"] == 100 and solver.nfe(sr) == 100
    expected = {**diffpir.TASK_DEFAULTS["inpaint-box"], "steps": 7}
    assert tasks.Solver("diffpir", prior, steps=7).settings(box) == expected
    assert tasks.Solver("diffpir", prior, lam=3.0).settings(box)["lam"] == 3.0
    capped = tasks.Solver("diffpir", prior, max_steps=10)
    assert capped.settings(box)["steps"] == 10 and capped.nfe(sr) == 10
    assert tasks.Solver("diffpir", prior, steps=5, max_steps=10).nfe(box) == 5, "max_steps only caps"
    hqs = tasks.Solver("pnp-hqs", prior.denoise)
    assert hqs.settings(sr) == {"steps": sr.n_iter, "sigma_min": sr.sigma_min} and hqs.nfe(sr) == 24
    assert tasks.Solver("ddrm", prior).settings(box) == {"steps": METHODS["ddrm"].default_steps}
    assert tasks.Solver("dps", prior).settings(box)["scale"] == 0.5
    with pytest.raises(ValueError, match="method"):
        tasks.Solver("unknown")


def test_solver_is_the_method_with_its_settings_and_a_fresh_seeded_generator():
    task = tasks.make_task("inpaint-random", SIZE)
    y = tasks.degrade(task, clean(1))
    prior = EpsModel(CountingEps(), diffusion.linear_schedule(1000))
    solver = tasks.Solver("diffpir", prior, steps=4, seed=3)
    expected = diffpir.diffpir(y, task.operator, prior, sigma_n=task.sigma_n,
                               generator=torch.Generator().manual_seed(3), **solver.settings(task))
    assert torch.equal(solver(y, task), expected) and torch.equal(solver(y, task), expected)
    assert not torch.equal(tasks.Solver("diffpir", prior, steps=4, seed=4)(y, task), expected)
    steps = []
    solver(y, task, callback=steps.append)
    assert len(steps) == 4


def test_benchmark_skips_methods_that_do_not_apply_and_reports_nfe():
    prior = EpsModel(CountingEps(), diffusion.linear_schedule(1000))
    x = clean(1)
    rows = tasks.benchmark({"cf": tasks.closed_form, "ddrm": tasks.Solver("ddrm", prior, steps=2),
                            "plain": lambda y, task: task.operator.init(y)}, ["sr4", "inpaint-random"], x)
    assert [(r["task"], r["method"]) for r in rows] == [
        ("sr4", "cf"), ("sr4", "plain"), ("inpaint-random", "cf"), ("inpaint-random", "ddrm"),
        ("inpaint-random", "plain")]
    nfe = {(r["task"], r["method"]): r.get("NFE") for r in rows}
    assert nfe[("sr4", "cf")] == 0 and nfe[("inpaint-random", "ddrm")] == 2 and nfe[("sr4", "plain")] is None
