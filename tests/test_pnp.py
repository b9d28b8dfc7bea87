"""Tests of genir_mini.restore.pnp: DPIR's schedule, the HQS loop, and an exact Gaussian-prior oracle.

Oracle: for the prior x ~ N(m, s² I) the MAP denoiser is linear, D(v, σ) = (s² v + σ² m) / (s² + σ²).
HQS with a fixed ρ and σ² = λσ_n²/ρ alternately minimises the jointly convex quadratic
    J(x, z) = ||y − A x||² + ρ ||x − z||² + a ||z − m||²,   a = λ σ_n² / s²,
so it converges to J's minimiser: x* = prox(m, y, ρa/(ρ + a)) (Tikhonov with the infimal-convolution
weight) and z* = D(x*, σ). As ρ → ∞ this tends to the MAP/Tikhonov solution prox(m, y, a).
"""

import math

import pytest
import torch

from genir_mini.operators import Blur, Identity, Inpainting, SuperResolution, gaussian_kernel, random_mask
from genir_mini.restore import pnp

DPIR_EXAMPLE = [49, 37.58, 28.82, 22.11, 16.96, 13.00, 9.97, 7.65]  # σ_k·255, K = 8, σ_n = 7.65/255


def gaussian_map_denoiser(m, s):
    """The exact MAP (= MMSE) denoiser of the prior N(m, s² I)."""

    def denoise(v, sigma):
        return (s**2 * v + sigma**2 * m) / (s**2 + sigma**2)

    return denoise


def operators(size=16):
    return {
        "blur": Blur(gaussian_kernel(5, 1.0)),
        "sr2": SuperResolution(2),
        "inpaint": Inpainting(random_mask(size, size, 0.5, seed=1)),
        "identity": Identity(),
    }


def problem(op, size=16, sigma_n=0.05, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(1, 3, size, size, generator=g, dtype=torch.float64)
    y = op.A(x)
    return x, y + sigma_n * torch.randn(y.shape, generator=g, dtype=torch.float64)


# ---- schedule ------------------------------------------------------------------------------------

def test_dpir_schedule_matches_dpirs_published_example():
    sigmas, rhos = pnp.dpir_schedule(7.65 / 255, 8)
    assert sigmas.shape == rhos.shape == (8,)
    assert torch.allclose(sigmas * 255, torch.tensor(DPIR_EXAMPLE, dtype=torch.float64), atol=0.006)


def test_dpir_schedule_is_log_spaced_from_49_to_sigma_min():
    sigmas, _ = pnp.dpir_schedule(2.55 / 255, 24, sigma_min=4 / 255)
    assert sigmas[0].item() == pytest.approx(49 / 255) and sigmas[-1].item() == pytest.approx(4 / 255)
    ratios = sigmas[1:] / sigmas[:-1]
    assert torch.allclose(ratios, ratios[0].expand_as(ratios))  # geometric progression
    assert (ratios < 1).all()


@pytest.mark.parametrize("sigma_n, lam", [(7.65 / 255, 0.23), (2.55 / 255, 0.1), (25 / 255, 1.0)])
def test_rho_k_is_lambda_sigma_n_squared_over_sigma_k_squared(sigma_n, lam):
    sigmas, rhos = pnp.dpir_schedule(sigma_n, 8, lam)
    assert torch.allclose(rhos, lam * sigma_n**2 / sigmas**2)
    assert (rhos[1:] > rhos[:-1]).all()  # the data weight grows as the denoiser level falls
    assert rhos[-1].item() == pytest.approx(lam)  # σ_K = σ_n gives ρ_K = λ


def test_noise_free_measurement_uses_dpirs_floor():
    sigmas, rhos = pnp.dpir_schedule(0.0, 4)
    floor = 0.255 / 255
    assert sigmas[-1].item() == pytest.approx(floor)
    assert torch.allclose(rhos, 0.23 * floor**2 / sigmas**2) and (rhos > 0).all()


def test_single_iteration_schedule_is_the_last_level():
    sigmas, rhos = pnp.dpir_schedule(7.65 / 255, 1)
    assert sigmas.tolist() == pytest.approx([7.65 / 255]) and rhos.tolist() == pytest.approx([0.23])


@pytest.mark.parametrize("kwargs, match", [
    ({"sigma_n": -0.1}, "sigma_n"),
    ({"sigma_n": 0.03, "n_iter": 0}, "n_iter"),
    ({"sigma_n": 0.03, "n_iter": 2.5}, "n_iter"),
    ({"sigma_n": 0.03, "lam": 0.0}, "lam"),
    ({"sigma_n": 0.03, "sigma_min": 0.5}, "sigma_min"),
    ({"sigma_n": 0.3}, "sigma_min"),  # σ_n above σ_max = 49/255
])
def test_dpir_schedule_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pnp.dpir_schedule(**kwargs)


# ---- the HQS loop ----------------------------------------------------------------------------------

def hqs(y, op, denoiser, sigmas, rhos, **kw):
    """PnP-HQS on the explicit schedule (sigmas, rhos)."""
    return pnp.pnp_hqs(y, op, denoiser, sigma_n=0.05, steps=len(sigmas), schedule=(sigmas, rhos), **kw)


def test_callback_records_data_step_then_denoiser():
    """Each step's callback holds the data step's output (``x_t``), the denoiser's (``x0_hat``) and σ_k, ρ_k."""
    op = operators()["blur"]
    x, y = problem(op)
    denoiser = gaussian_map_denoiser(0.5, 0.2)
    sigmas, rhos = pnp.dpir_schedule(0.05, 5)
    traj = []
    out = hqs(y, op, denoiser, sigmas, rhos, callback=traj.append)
    assert len(traj) == 5 and torch.equal(out, traj[-1]["x0_hat"])
    z = op.init(y)
    for k, step in enumerate(traj):
        assert step["i"] == k
        assert step["t"] == pytest.approx(sigmas[k].item()) and step["rho"] == pytest.approx(rhos[k].item())
        assert torch.allclose(step["x_t"], op.prox(z, y, rhos[k].item()))
        assert torch.allclose(step["x0_hat"], denoiser(step["x_t"], sigmas[k].item()))
        z = step["x0_hat"]


def test_x_init_replaces_operator_init():
    op = operators()["sr2"]
    x, y = problem(op)
    identity_denoiser = lambda v, sigma: v  # noqa: E731
    start = torch.full_like(x, 0.5)
    traj = []
    hqs(y, op, identity_denoiser, [0.1], [0.3], x_init=start, callback=traj.append)
    assert torch.allclose(traj[0]["x_t"], op.prox(start, y, 0.3))
    traj = []
    hqs(y, op, identity_denoiser, [0.1], [0.3], callback=traj.append)
    assert torch.allclose(traj[0]["x_t"], op.prox(op.init(y), y, 0.3))


def test_default_schedule_is_dpirs():
    """Without ``schedule`` the levels and weights are DPIR's,
    ``dpir_schedule(sigma_n, steps, lam, sigma_max, sigma_min)``."""
    op = operators()["inpaint"]
    x, y = problem(op, sigma_n=0.02)
    denoiser = gaussian_map_denoiser(0.5, 0.25)
    sigmas, rhos = pnp.dpir_schedule(0.02, 6, 0.3, sigma_min=0.05)
    expected = pnp.pnp_hqs(y, op, denoiser, sigma_n=0.02, steps=6, schedule=(sigmas, rhos))
    assert torch.equal(pnp.pnp_hqs(y, op, denoiser, sigma_n=0.02, steps=6, lam=0.3, sigma_min=0.05), expected)
    other = pnp.pnp_hqs(y, op, denoiser, sigma_n=0.02, steps=6, lam=0.3)  # σ_K = σ_n: a different schedule
    assert not torch.equal(other, expected)


@pytest.mark.parametrize("name", ["blur", "sr2", "inpaint", "identity"])
def test_hqs_with_fixed_rho_converges_to_the_closed_form_gaussian_map(name):
    op = operators()[name]
    m, s, sigma_n, lam, rho = 0.5, 0.2, 0.05, 0.8, 0.1
    x, y = problem(op, sigma_n=sigma_n)
    a = lam * sigma_n**2 / s**2  # = 0.05
    sigma = math.sqrt(lam * sigma_n**2 / rho)  # the denoiser level that goes with ρ (σ² = λσ_n²/ρ)
    flat = torch.full_like(x, m)
    n = 150  # contraction factor ≤ ρ/(ρ + a) = 2/3 per iteration
    traj = []
    z = hqs(y, op, gaussian_map_denoiser(m, s), [sigma] * n, [rho] * n, callback=traj.append)
    x_star = op.prox(flat, y, rho * a / (rho + a))
    assert torch.allclose(traj[-1]["x_t"], x_star, atol=1e-10)
    assert torch.allclose(z, (rho * x_star + a * flat) / (rho + a), atol=1e-10)


def test_hqs_with_increasing_rho_approaches_the_map_solution():
    """DPIR's continuation: ρ_k ↑ ∞ (σ_k ↓ 0 with σ_k² = λσ_n²/ρ_k) drives HQS to the exact MAP."""
    op = operators()["blur"]
    m, s, sigma_n, lam = 0.5, 0.2, 0.05, 0.8
    x, y = problem(op, sigma_n=sigma_n)
    a = lam * sigma_n**2 / s**2
    x_map = op.prox(torch.full_like(x, m), y, a)  # argmin ||y − Ax||²/(2σ_n²) + λ||x − m||²/(2s²)
    errors = []
    for n in (50, 100, 200):
        rhos = torch.logspace(-1, 3, n, dtype=torch.float64)
        sigmas = (lam * sigma_n**2 / rhos).sqrt()
        z = hqs(y, op, gaussian_map_denoiser(m, s), sigmas, rhos)
        errors.append((z - x_map).abs().max().item())
    fixed = hqs(y, op, gaussian_map_denoiser(m, s), sigmas[:1].expand(200), rhos[:1].expand(200))
    assert errors[0] > errors[1] > errors[2] and errors[2] < 5e-3
    assert (fixed - x_map).abs().max().item() > 10 * errors[2]  # a fixed small ρ stays away from the MAP


@pytest.mark.parametrize("args, error, match", [
    (dict(y=torch.zeros(3, 8, 8)), ValueError, "y"),
    (dict(y=[[0.0]]), TypeError, "y"),
    (dict(schedule=([0.1, 0.05], [0.2])), ValueError, "length"),
    (dict(schedule=([0.1], [0.2]), steps=2), ValueError, "length steps=2"),
    (dict(schedule=([], []), steps=0), ValueError, "steps"),
    (dict(steps=0, schedule=None), ValueError, "steps"),
    (dict(x_init=torch.zeros(8, 8)), ValueError, "x_init"),
    (dict(x_init=torch.zeros(1, 3, 4, 4)), ValueError, "x_init"),
    (dict(schedule=([0.1], [-1.0])), ValueError, "rho"),
    (dict(sigma_n=-0.1, schedule=None), ValueError, "sigma_n"),
])
def test_pnp_hqs_rejects_bad_input(args, error, match):
    """Bad arguments raise before the loop, naming the argument (the loop itself runs unchecked)."""
    call = dict(y=torch.zeros(1, 3, 8, 8), operator=Identity(), denoiser=lambda v, s: v, sigma_n=0.05, steps=1,
                schedule=([0.1], [0.2]))
    call.update(args)
    if call["schedule"] is None:
        del call["schedule"]
    with pytest.raises(error, match=match):
        pnp.pnp_hqs(**call)
