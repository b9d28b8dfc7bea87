"""Tests of genir_mini.restore.linear: the classical estimators of chapter 1 against independent computations."""

import math

import pytest
import torch

from genir_mini import operators as ops
from genir_mini.restore import linear

SIZE = 32


def image(seed=0, n=2, c=3, size=SIZE, dtype=torch.float64):
    """A smooth-ish random test image in [0, 1] (random values blurred a little)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, c, size, size, generator=g, dtype=dtype)
    return ops.Blur(ops.gaussian_kernel(5, 1.0)).A(x)


def all_operators(size=SIZE):
    return {
        "gaussian": ops.Blur(ops.gaussian_kernel(9, 1.5)),
        "motion": ops.Blur(ops.motion_kernel(15, 8.0, seed=1)),
        "sr": ops.SuperResolution(2),
        "sr4-gauss": ops.SuperResolution(4, ops.gaussian_kernel(9, 1.5)),
        "block": ops.BlockAverageSR(4),
        "inpaint": ops.Inpainting(ops.random_mask(size, size, missing=0.5, seed=2)),
        "box": ops.Inpainting(ops.box_mask(size, size, seed=3)),
        "identity": ops.Identity(),
    }


def measure(op, x, sigma=0.01, seed=5):
    y = ops.add_noise(op.A(x), sigma, seed=seed)
    return op.A(y) if isinstance(op, ops.Inpainting) else y


def cg_inverse_covariance(P):
    return lambda v: torch.fft.ifft2(torch.fft.fft2(v) / P).real


# ---------------------------------------------------------------------------------------------
# conjugate gradients vs the closed-form proxes


@pytest.mark.parametrize("name", list(all_operators()))
@pytest.mark.parametrize("rho", [0.02, 0.7])
def test_cg_solve_matches_closed_form_prox(name, rho):
    op = all_operators()[name]
    x = image()
    y = measure(op, x)
    z = image(seed=9)
    exact = op.prox(z, y, rho)
    iterative = linear.cg_solve(op, y, rho, z, iters=2000, tol=1e-14)
    assert (exact - iterative).abs().max() < 1e-5


def test_cg_solve_solves_the_normal_equations_with_per_image_rho_and_regularizer():
    op = ops.SuperResolution(2)
    x = image()
    y = measure(op, x)
    rho = torch.tensor([0.05, 0.3], dtype=torch.float64)
    z = 0.5

    def R(v):  # a symmetric positive definite regulariser: I - 0.2 * (5-point Laplacian)
        return v + 0.2 * (4 * v - sum(torch.roll(v, s, d) for s in (1, -1) for d in (-2, -1)))

    sol = linear.cg_solve(op, y, rho, z, iters=3000, regularizer=R, tol=1e-14)
    zz = torch.full_like(sol, z)
    residual = op.At(op.A(sol)) + rho.view(-1, 1, 1, 1) * R(sol) - op.At(y) - rho.view(-1, 1, 1, 1) * R(zz)
    assert residual.norm() / op.At(y).norm() < 1e-9
    # without R, the per-image rho must agree with the closed form
    closed = op.prox(zz, y, rho)
    assert (linear.cg_solve(op, y, rho, z, iters=2000, tol=1e-14) - closed).abs().max() < 1e-8


def test_cg_solve_tolerance_and_start():
    op = ops.Blur(ops.gaussian_kernel(9, 1.5))
    x = image()
    y = measure(op, x)
    exact = op.prox(torch.zeros_like(x), y, 0.1)
    early = linear.cg_solve(op, y, 0.1, iters=1000, tol=1e-3)
    assert 1e-12 < (early - exact).abs().max() < 0.05
    warm = linear.cg_solve(op, y, 0.1, iters=1, x0=exact)
    assert (warm - exact).abs().max() < 1e-10


# ---------------------------------------------------------------------------------------------
# inverse filter and least squares


def test_inverse_filter_is_exact_without_noise_for_an_invertible_kernel():
    blur = ops.Blur(ops.gaussian_kernel(9, 1.0))
    assert blur.otf((SIZE, SIZE), image()).abs().min() > 1e-4
    x = image()
    assert (linear.inverse_filter(blur, blur.A(x)) - x).abs().max() < 1e-10


def test_inverse_filter_amplifies_noise_as_predicted():
    blur = ops.Blur(ops.gaussian_kernel(9, 1.0))
    x = image(n=8)
    sigma = 1e-3
    err = ((linear.inverse_filter(blur, measure(blur, x, sigma)) - x) ** 2).mean()
    predicted = sigma**2 * (blur.otf((SIZE, SIZE), x).abs() ** -2).mean()
    assert abs(math.log(err / predicted)) < 0.15


def test_inverse_filter_zeroes_vanishing_frequencies():
    blur = ops.Blur(ops.box_kernel(3))  # |K| = 0 at f = ±1/3 on a grid divisible by 3
    x = image(size=24)
    y = blur.A(x)
    assert blur.otf((24, 24), x).abs().min() < 1e-12
    xi = linear.inverse_filter(blur, y, eps=1e-8)
    assert torch.isfinite(xi).all()
    assert (blur.A(xi) - y).abs().max() < 1e-10
    assert xi.norm() <= x.norm() + 1e-9  # minimum norm: the lost frequencies are not invented


@pytest.mark.parametrize("name", ["sr", "sr4-gauss", "block", "inpaint", "box", "identity", "motion"])
def test_least_squares_is_consistent_and_minimum_norm(name):
    op = all_operators()[name]
    x = image()
    y = measure(op, x)
    ls = linear.least_squares(op, y)
    assert (op.A(ls) - y).abs().max() < 1e-8, "A A⁺ y must reproduce y (full row rank)"
    # A⁺ y = lim_{rho -> 0} prox(0, y, rho); the Fourier-division prox of a blur stays accurate for a tinier rho
    tiny = 1e-13 if isinstance(op, ops.Blur) else 1e-9
    assert (ls - op.prox(torch.zeros_like(x), y, tiny)).abs().max() < 1e-5
    n = x - linear.least_squares(op, op.A(x))  # null-space part of x
    assert op.A(n).abs().max() < 1e-8
    assert abs((ls * n).sum()) < 1e-8 * ls.norm() * n.norm() + 1e-12, "A⁺ y is orthogonal to the null space"


def test_least_squares_rejects_unknown_operators():
    class Twice(ops.LinearOperator):
        def _A(self, x):
            return 2 * x

        _At = _A

    with pytest.raises(TypeError, match="Twice"):
        linear.least_squares(Twice(), image())


# ---------------------------------------------------------------------------------------------
# Tikhonov and Wiener


def test_tikhonov_is_prox_with_a_constant_prior_image():
    op = ops.Inpainting(ops.random_mask(SIZE, SIZE, 0.5, seed=0))
    x = image()
    y = measure(op, x)
    z = linear.constant_image(y, op)
    assert z.shape == (2, 3, 1, 1)
    assert torch.allclose(linear.tikhonov(op, y, 0.1), op.prox(z.expand_as(x), y, 0.1))
    assert torch.allclose(linear.tikhonov(op, y, 0.1, z=0.5), op.prox(torch.full_like(x, 0.5), y, 0.1))
    # missing pixels are exactly z
    holes = op.mask.expand_as(x) == 0
    assert torch.allclose(linear.tikhonov(op, y, 0.1, z=0.25)[holes], torch.tensor(0.25, dtype=x.dtype))


@pytest.mark.parametrize("name", ["gaussian", "sr", "block", "inpaint"])
def test_wiener_with_flat_spectrum_is_tikhonov(name):
    op = all_operators()[name]
    x = image()
    y = measure(op, x)
    sigma, v = 0.02, 0.05
    flat = torch.full((SIZE, SIZE), v, dtype=torch.float64)
    mu = linear.constant_image(y, op)
    w = linear.wiener(op, y, sigma, flat, mean=mu, iters=2000, tol=1e-13)
    t = linear.tikhonov(op, y, sigma**2 / v, z=mu)
    assert (w - t).abs().max() < 1e-8


@pytest.mark.parametrize("name", ["gaussian", "motion", "sr", "sr4-gauss"])
def test_wiener_closed_forms_match_conjugate_gradients(name):
    op = all_operators()[name]
    x = image()
    y = measure(op, x)
    P = linear.power_law_spectrum((SIZE, SIZE), 1e-3, 1.5, dtype=torch.float64)
    sigma = 0.02
    mu = linear.constant_image(y, op)
    closed = linear.wiener(op, y, sigma, P)
    iterative = linear.cg_solve(op, y, sigma**2, mu, iters=5000, regularizer=cg_inverse_covariance(P), tol=1e-14)
    assert (closed - iterative).abs().max() < 1e-6


def test_wiener_beats_tikhonov_on_power_law_images():
    """On Gaussian images that really have the power-law spectrum, Wiener (the MMSE estimate) beats every
    Tikhonov weight in expectation."""
    size, scale, alpha = 64, 1e-3, 2.0
    P = linear.power_law_spectrum((size, size), scale, alpha, dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    white = torch.randn(8, 1, size, size, generator=g, dtype=torch.float64)
    x = 0.5 + torch.fft.ifft2(torch.fft.fft2(white) * P.sqrt()).real
    op = ops.Blur(ops.gaussian_kernel(9, 1.5))
    sigma = 0.02
    y = measure(op, x, sigma)
    mse_w = ((linear.wiener(op, y, sigma, P, mean=0.5) - x) ** 2).mean()
    log_rhos = torch.arange(-5, 1, 0.25).tolist()
    mse_t = min(((linear.tikhonov(op, y, 10.0**lr, z=0.5) - x) ** 2).mean() for lr in log_rhos)
    assert mse_w < mse_t


# ---------------------------------------------------------------------------------------------
# spectra


def test_fit_power_spectrum_recovers_a_synthetic_power_law():
    size, scale, alpha = 128, 2e-4, 2.3
    P = linear.power_law_spectrum((size, size), scale, alpha, dtype=torch.float64)
    g = torch.Generator().manual_seed(1)
    white = torch.randn(16, 3, size, size, generator=g, dtype=torch.float64)
    x = torch.fft.ifft2(torch.fft.fft2(white) * P.sqrt()).real
    fit_scale, fit_alpha = linear.fit_power_spectrum(x)
    assert abs(fit_alpha - alpha) < 0.05
    assert abs(math.log(fit_scale / scale)) < 0.15
    f, power = linear.radial_power_spectrum(x)
    assert f.shape == power.shape and (f[1:] > f[:-1]).all()


def test_power_law_spectrum_and_frequency_radius():
    r = linear.frequency_radius((8, 6))
    assert r.shape == (8, 6) and r[0, 0] == 0 and abs(r.max().item() - math.hypot(0.5, 0.5)) < 1e-6
    P = linear.power_law_spectrum((8, 6), 1.0, 2.0)
    assert P.shape == (8, 6) and torch.isfinite(P).all() and (P > 0).all()
    assert P[0, 0] == P.max()
    assert torch.allclose(linear.power_law_spectrum((8, 6), 3.0, 0.0), torch.full((8, 6), 3.0))


# ---------------------------------------------------------------------------------------------
# bad input


def test_bad_inputs_raise_clear_errors():
    blur = ops.Blur(ops.gaussian_kernel(5, 1.0))
    x = image(dtype=torch.float32)
    y = blur.A(x)
    P = torch.ones(SIZE, SIZE)
    with pytest.raises(TypeError, match="operator"):
        linear.tikhonov("blur", y, 0.1)
    with pytest.raises(TypeError, match="blur must be"):
        linear.inverse_filter(ops.SuperResolution(2), y)
    with pytest.raises(TypeError, match="y must be a torch.Tensor"):
        linear.cg_solve(blur, y.numpy(), 0.1)
    with pytest.raises(ValueError, match="rho"):
        linear.cg_solve(blur, y, 0.0)
    with pytest.raises(ValueError, match="rho"):
        linear.tikhonov(blur, y, -1.0)
    with pytest.raises(ValueError, match="iters"):
        linear.cg_solve(blur, y, 0.1, iters=0)
    with pytest.raises(ValueError, match="tol"):
        linear.cg_solve(blur, y, 0.1, tol=-1)
    with pytest.raises(ValueError, match="z of shape"):
        linear.cg_solve(blur, y, 0.1, z=torch.zeros(1, 3, 5, 5))
    with pytest.raises(TypeError, match="z must be"):
        linear.cg_solve(blur, y, 0.1, z="zero")
    with pytest.raises(TypeError, match="regularizer"):
        linear.cg_solve(blur, y, 0.1, regularizer=3)
    with pytest.raises(ValueError, match="eps"):
        linear.inverse_filter(blur, y, eps=0)
    with pytest.raises(ValueError, match="sigma"):
        linear.wiener(blur, y, 0.0, P)
    with pytest.raises(ValueError, match="spectrum must be a real tensor of shape"):
        linear.wiener(blur, y, 0.01, torch.ones(SIZE, SIZE + 1))
    with pytest.raises(ValueError, match="spectrum must be positive"):
        linear.wiener(blur, y, 0.01, torch.zeros(SIZE, SIZE))
    with pytest.raises(TypeError, match="spectrum"):
        linear.wiener(blur, y, 0.01, 1.0)
    with pytest.raises(ValueError, match="f_min"):
        linear.fit_power_spectrum(x, f_min=0.6)
    with pytest.raises(ValueError, match="bins"):
        linear.radial_power_spectrum(x, bins=0)
    with pytest.raises(ValueError, match="alpha"):
        linear.power_law_spectrum((8, 8), 1.0, -1.0)


def test_cg_solve_is_the_operators_cg_and_the_closed_form_lives_here():
    """``restore.linear`` re-exports ``operators.cg_solve``; the closed-form baseline (moved here from
    ``evaluation.tasks``) fits the data down to the noise level."""
    assert linear.cg_solve is ops.cg_solve
    op = ops.Blur(ops.gaussian_kernel(9, 1.5))
    y = measure(op, image(), sigma=0.02)
    residual = ((op.A(linear.closed_form(y, op, sigma_n=0.02, steps=40)) - y) ** 2).sum((1, 2, 3))
    assert torch.allclose(residual, torch.full_like(residual, 0.02**2 * y[0].numel()), rtol=1e-3)
