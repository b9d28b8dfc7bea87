"""Operators: adjointness, prox optimality, FFT blur = direct convolution, Zhao prox = iterative solve."""

import pytest
import scipy.ndimage
import torch

from genir_mini import operators as O

torch.set_default_dtype(torch.float32)


def all_operators():
    return {
        "identity": O.Identity(),
        "blur-gaussian": O.Blur(O.gaussian_kernel(9, 2.0)),
        "blur-motion": O.Blur(O.motion_kernel(15, 8.0, seed=3)),
        "sr4-bicubic": O.SuperResolution(4),
        "sr2-box": O.SuperResolution(2, O.box_kernel(3)),
        "sr2-gaussian": O.SuperResolution(2, O.gaussian_kernel(7, 1.2)),
        "block-average4": O.BlockAverageSR(4),
        "sr4-bicubic-centred": O.CentredBicubicSR(4),
        "inpaint-random": O.Inpainting(O.random_mask(32, 32, 0.5, seed=1)),
        "inpaint-box": O.Inpainting(O.box_mask(32, 32, 12, seed=2)),
    }


OPERATORS = all_operators()


def random_pair(op, generator, n=2, c=3, size=32):
    x = torch.rand(n, c, size, size, generator=generator, dtype=torch.float64)
    y = torch.rand(op.output_shape(x.shape), generator=generator, dtype=torch.float64)
    return x, y


@pytest.mark.parametrize("name", OPERATORS)
def test_adjoint(name):
    op = OPERATORS[name]
    x, y = random_pair(op, torch.Generator().manual_seed(0))
    lhs = (op.A(x) * y).sum()
    rhs = (x * op.At(y)).sum()
    assert abs(lhs - rhs) < 1e-10 * abs(lhs), f"{name}: <Ax,y>={lhs} but <x,Aty>={rhs}"


@pytest.mark.parametrize("name", OPERATORS)
@pytest.mark.parametrize("rho", [1e-3, 0.5, 10.0])
def test_prox_solves_normal_equations(name, rho):
    op = OPERATORS[name]
    g = torch.Generator().manual_seed(1)
    z, y = random_pair(op, g)
    x = op.prox(z, y, rho)
    residual = op.At(op.A(x)) + rho * x - op.At(y) - rho * z
    scale = (op.At(y) + rho * z).abs().max()
    assert residual.abs().max() < 1e-10 * scale, f"{name}: normal-equation residual {residual.abs().max():.2e}"


@pytest.mark.parametrize("name", OPERATORS)
def test_prox_is_the_minimiser(name):
    """The objective ||y - Ax||² + rho||x - z||² does not decrease in random directions."""
    op = OPERATORS[name]
    g = torch.Generator().manual_seed(2)
    z, y = random_pair(op, g)
    rho = 0.3

    def objective(x):
        return ((y - op.A(x)) ** 2).sum() + rho * ((x - z) ** 2).sum()

    x = op.prox(z, y, rho)
    f0 = objective(x)
    for _ in range(5):
        d = torch.randn(x.shape, generator=g, dtype=x.dtype) * 1e-3
        assert objective(x + d) >= f0 - 1e-12


def test_prox_per_image_rho():
    op = OPERATORS["blur-gaussian"]
    z, y = random_pair(op, torch.Generator().manual_seed(3))
    rho = torch.tensor([0.1, 2.0], dtype=torch.float64)
    batched = op.prox(z, y, rho)
    for i in range(2):
        single = op.prox(z[i : i + 1], y[i : i + 1], float(rho[i]))
        assert torch.allclose(batched[i : i + 1], single, atol=1e-12)


@pytest.mark.parametrize("kernel", [O.gaussian_kernel(7, 1.5), O.motion_kernel(11, 6.0, seed=5)])
def test_fft_blur_equals_direct_circular_convolution(kernel):
    x = torch.rand(1, 1, 24, 20, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    ours = O.Blur(kernel).A(x)[0, 0].numpy()
    direct = scipy.ndimage.convolve(x[0, 0].numpy(), kernel.double().numpy(), mode="wrap")
    assert abs(ours - direct).max() < 1e-6


def conjugate_gradient(apply, b, iters=500, tol=1e-13):
    x = torch.zeros_like(b)
    r = b - apply(x)
    p = r.clone()
    rs = (r * r).sum()
    for _ in range(iters):
        Ap = apply(p)
        alpha = rs / (p * Ap).sum()
        x = x + alpha * p
        r = r - alpha * Ap
        rs_new = (r * r).sum()
        if rs_new.sqrt() < tol:
            break
        p = r + rs_new / rs * p
        rs = rs_new
    return x


@pytest.mark.parametrize("scale,kernel", [(2, O.bicubic_kernel(2)), (4, O.bicubic_kernel(4)),
                                          (3, O.gaussian_kernel(9, 1.6))])
def test_zhao_sr_prox_equals_iterative_solve(scale, kernel):
    op = O.SuperResolution(scale, kernel)
    g = torch.Generator().manual_seed(6)
    z = torch.rand(1, 3, 12 * scale, 12 * scale, generator=g, dtype=torch.float64)
    y = torch.rand(1, 3, 12, 12, generator=g, dtype=torch.float64)
    rho = 0.05
    closed = op.prox(z, y, rho)
    iterative = conjugate_gradient(lambda v: op.At(op.A(v)) + rho * v, op.At(y) + rho * z)
    assert (closed - iterative).abs().max() < 1e-8


def test_block_average_prox_matches_box_kernel_structure():
    op = O.BlockAverageSR(2)
    x = torch.rand(1, 1, 8, 8, dtype=torch.float64)
    assert torch.allclose(op.A(x), x.unfold(2, 2, 2).unfold(3, 2, 2).mean((-1, -2)))
    # A Aᵀ = I / s²
    y = torch.rand(1, 1, 4, 4, dtype=torch.float64)
    assert torch.allclose(op.A(op.At(y)), y / 4)


def test_sr_init_is_aligned_with_decimation():
    """A smooth image: bicubic-aligned init of y should be close to the original (no half-pixel shift)."""
    t = torch.linspace(0, 2 * torch.pi, 65)[:-1]
    x = (0.5 + 0.3 * torch.sin(t)[None, :] * torch.cos(2 * t)[:, None]).view(1, 1, 64, 64)
    op = O.SuperResolution(4)
    err_aligned = (op.init(op.A(x)) - x).abs().mean()
    shifted = torch.nn.functional.interpolate(op.A(x), scale_factor=4, mode="bicubic")
    assert err_aligned < 0.5 * (shifted - x).abs().mean()
    assert err_aligned < 0.01


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_centred_sr_is_antialiased_bicubic_resizing(scale):
    """Away from the (circular) borders, CentredBicubicSR's A is torch's antialiased bicubic reduction — the
    grid of PIL and Real-ESRGAN — and its init is the centre-aligned bicubic upsampling."""
    g = torch.Generator().manual_seed(2)
    x = torch.rand(2, 3, 12 * scale, 12 * scale, generator=g, dtype=torch.float64)
    op = O.CentredBicubicSR(scale)
    ref = torch.nn.functional.interpolate(x, scale_factor=1 / scale, mode="bicubic", antialias=True)
    assert (op.A(x) - ref)[..., 3:-3, 3:-3].abs().max() < 1e-6
    assert (op.A(x) - O.SuperResolution(scale).A(x)).abs().max() > 1e-2 or scale % 2, "even s: another grid"
    t = torch.linspace(0, 2 * torch.pi, 16 * scale + 1)[:-1]
    smooth = (0.5 + 0.3 * torch.sin(t)[None, :] * torch.cos(2 * t)[:, None]).view(1, 1, 16 * scale, 16 * scale)
    err = (op.init(op.A(smooth)) - smooth)[..., 8:-8, 8:-8].abs().mean()
    wrong_grid = (O.SuperResolution(scale).init(op.A(smooth)) - smooth)[..., 8:-8, 8:-8].abs().mean()
    assert err < 0.01 and (scale % 2 or err < 0.5 * wrong_grid)


@pytest.mark.parametrize("kernel,tolerance", [(O.gaussian_kernel(11, 2.0), 1e-5), (O.bicubic_kernel(4), 1e-5),
                                              (O.box_kernel(5), 1e-5), (O.motion_kernel(21, 12.0, seed=0), 0.5)])
def test_kernels_are_normalised_and_centred(kernel, tolerance):
    assert abs(kernel.sum() - 1) < 1e-5 and kernel.shape[0] % 2 == 1
    r = torch.arange(kernel.shape[0]) - kernel.shape[0] // 2
    centre = ((kernel.sum(1) * r).sum(), (kernel.sum(0) * r).sum())
    assert abs(centre[0]) < tolerance and abs(centre[1]) < tolerance


def test_motion_kernel_is_seeded():
    assert torch.equal(O.motion_kernel(15, 8.0, seed=1), O.motion_kernel(15, 8.0, seed=1))
    assert not torch.equal(O.motion_kernel(15, 8.0, seed=1), O.motion_kernel(15, 8.0, seed=2))


def test_add_noise_statistics_and_seed():
    x = torch.zeros(1, 1, 200, 200)
    y = O.add_noise(x, 0.1, seed=0)
    assert abs(y.std() - 0.1) < 0.003 and abs(y.mean()) < 0.003
    assert torch.equal(y, O.add_noise(x, 0.1, seed=0))


def test_inpainting_prox_hard_replacement_limit():
    mask = O.random_mask(16, 16, 0.5, seed=0)
    op = O.Inpainting(mask)
    z, y = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    x = op.prox(z, op.A(y), 1e-9)
    assert torch.allclose(x * mask, y * mask, atol=1e-6)
    assert torch.allclose(x * (1 - mask), z * (1 - mask), atol=1e-6)


# ---- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("call,match", [
    (lambda: O.gaussian_kernel(8, 1.0), "odd"),
    (lambda: O.gaussian_kernel(9, -1.0), "std"),
    (lambda: O.Blur(torch.ones(4, 4) / 16), "odd"),
    (lambda: O.Blur(torch.ones(3, 3)), "sum to 1"),
    (lambda: O.SuperResolution(0), "scale"),
    (lambda: O.SuperResolution(4).A(torch.rand(1, 3, 30, 32)), "divisible"),
    (lambda: O.Blur(O.gaussian_kernel(5, 1.0)).A(torch.rand(3, 32, 32)), r"\(N, C, H, W\)"),
    (lambda: O.Blur(O.gaussian_kernel(5, 1.0)).A([1, 2, 3]), "torch.Tensor"),
    (lambda: O.Identity().prox(torch.rand(1, 1, 4, 4), torch.rand(1, 1, 4, 4), -1.0), "rho"),
    (lambda: O.Identity().prox(torch.rand(1, 1, 4, 4), torch.rand(1, 1, 5, 4), 1.0), "y has shape"),
    (lambda: O.Inpainting(torch.rand(1, 1, 4, 4)), "binary"),
    (lambda: O.Inpainting(torch.ones(1, 1, 4, 4)).A(torch.rand(1, 1, 5, 5)), "mask"),
    (lambda: O.random_mask(8, 8, 1.5), "missing"),
    (lambda: O.add_noise(torch.rand(1, 1, 4, 4), 25), "image units"),
    (lambda: O.motion_kernel(9, 20.0), "length"),
])
def test_bad_input_gives_clear_errors(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


@pytest.mark.parametrize("call,match", [
    (lambda: O.Blur(torch.full((3, 3), float("nan"))), "NaN"),
    (lambda: O.Identity().A(torch.full((1, 1, 4, 4), float("nan"))), "NaN"),
    (lambda: O.box_mask(64, 64, 16, top=60, left=0), "does not fit"),
    (lambda: O.box_mask(64, 64, 16, top=-8, left=0), "does not fit"),
    (lambda: O.Inpainting(torch.ones(1, 3, 8, 8)).A(torch.rand(1, 1, 8, 8)), "channel count"),
    (lambda: O.Inpainting(torch.ones(2, 1, 8, 8)).A(torch.rand(3, 1, 8, 8)), "batch size"),
    (lambda: O.add_noise(torch.rand(1, 1, 4, 4), torch.tensor([0.1, 0.2])), "one number"),
])
def test_more_bad_input(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_box_mask_has_the_requested_area():
    for size, box in ((64, 64), (64, 60), (64, 32), (50, 17)):
        assert (O.box_mask(size, size, box, seed=0) == 0).sum() == box * box


# ---- the default CG prox, unchecked(), the Spectral capability and pinv ---------------------------------------

class CGBlur(O.Blur):
    """A blur that only defines ``_A`` and ``_At``: its prox is the base class's conjugate gradients."""

    _prox = O.LinearOperator._prox


class Twice(O.LinearOperator):
    """A = 2I, defined by ``_A``/``_At`` only; its prox is (2y + ρz)/(4 + ρ) in closed form."""

    def _A(self, x):
        return 2 * x

    _At = _A


@pytest.mark.parametrize("rho", [0.05, 0.5, torch.tensor([0.1, 2.0], dtype=torch.float64)], ids=str)
def test_default_prox_by_conjugate_gradients_matches_the_closed_form(rho):
    """An operator with only ``_A``/``_At`` gets an exact prox by CG (``PROX_CG_ITERS`` iterations)."""
    z, y = random_pair(OPERATORS["blur-gaussian"], torch.Generator().manual_seed(7))
    kernel = O.gaussian_kernel(9, 2.0)
    assert (CGBlur(kernel).prox(z, y, rho) - O.Blur(kernel).prox(z, y, rho)).abs().max() < 1e-8
    r = rho.view(-1, 1, 1, 1) if isinstance(rho, torch.Tensor) else rho
    assert torch.allclose(Twice().prox(z, y, rho), (2 * y + r * z) / (4 + r), atol=1e-12)
    assert O.PROX_CG_ITERS >= 1


@pytest.mark.parametrize("name", OPERATORS)
def test_unchecked_gives_identical_results(name):
    """``unchecked()`` skips validation only: A, At, prox (scalar and per-image ρ) and init are bit-identical,
    and the operator's attributes and capabilities stay reachable."""
    op = OPERATORS[name]
    x, y = random_pair(op, torch.Generator().manual_seed(8))
    fast = op.unchecked()
    assert torch.equal(fast.A(x), op.A(x)) and torch.equal(fast.At(y), op.At(y))
    assert torch.equal(fast.init(y), op.init(y))
    for rho in (0.3, torch.tensor([0.1, 2.0], dtype=torch.float64)):
        assert torch.equal(fast.prox(x, y, rho), op.prox(x, y, rho))
    assert fast.unchecked() is fast and fast.output_shape(x.shape) == op.output_shape(x.shape)
    if isinstance(op, O.Spectral):
        assert torch.equal(fast.svd_vt(x), op.svd_vt(x))
    with pytest.raises(ValueError, match="rho"):
        op.prox(x, y, -1.0)  # the checked operator still validates


SPECTRAL = [O.Identity(), O.Blur(O.gaussian_kernel(7, 1.5)), O.Blur(O.motion_kernel(9, 5.0, seed=1)),
            O.BlockAverageSR(4), O.Inpainting((torch.rand(1, 1, 16, 16, generator=torch.Generator().manual_seed(9))
                                               > 0.5).float())]


@pytest.mark.parametrize("operator", SPECTRAL, ids=repr)
def test_spectral_transform_is_orthonormal_and_diagonalises_A(operator):
    """V is orthonormal (Vᵀ inverts V, keeps norms and inner products), ‖A x‖ = ‖Σ Vᵀx‖ (A = U Σ Vᵀ with U
    orthonormal), and ȳ = Σ⁺Uᵀ(A x) is Vᵀx where Σ > 0 and 0 where Σ = 0."""
    assert isinstance(operator, O.Spectral)
    g = torch.Generator().manual_seed(10)
    x, x2 = (torch.randn(2, 3, 16, 16, generator=g, dtype=torch.float64) for _ in range(2))
    coeffs = operator.svd_vt(x)
    assert torch.allclose(operator.svd_v(coeffs), x, atol=1e-10), "V Vᵀ = I"
    assert coeffs.abs().pow(2).sum().item() == pytest.approx(x.pow(2).sum().item(), rel=1e-10), "‖Vᵀx‖ = ‖x‖"
    inner = (coeffs.conj() * operator.svd_vt(x2)).sum().real.item()
    assert inner == pytest.approx((x * x2).sum().item(), rel=1e-9, abs=1e-9)
    s = operator.singular_values(x.shape, x)
    assert (s >= 0).all()
    assert (s.expand(coeffs.shape) * coeffs).abs().pow(2).sum().item() == pytest.approx(
        operator.A(x).pow(2).sum().item(), rel=1e-9), "‖A x‖ = ‖Σ Vᵀx‖"
    y_bar = operator.svd_y_bar(operator.A(x), x.shape)
    observed = (s > 0).expand(coeffs.shape)
    assert torch.allclose(y_bar[observed], coeffs[observed], atol=1e-8)
    assert (y_bar[~observed] == 0).all()


def test_require_names_the_missing_capability():
    blur = O.Blur(O.gaussian_kernel(5, 1.0))
    assert O.require(blur, O.Spectral, "DDRM") is blur
    with pytest.raises(TypeError, match="Spectral") as info:
        O.require(O.SuperResolution(2), O.Spectral, "DDRM")
    assert "DDRM" in str(info.value) and "SuperResolution" in str(info.value)
    with pytest.raises(TypeError, match="LinearOperator"):
        O.require("blur", O.Spectral, "DDRM")


def dense(op, shape):
    """The matrix of ``op`` for images of ``shape`` (float64), column j = A e_j."""
    n = torch.Size(shape).numel()
    basis = torch.eye(n, dtype=torch.float64).view(n, *shape)
    return torch.stack([op.A(e[None]).flatten() for e in basis], 1)


@pytest.mark.parametrize("op", [O.Identity(), O.Blur(O.gaussian_kernel(3, 0.5)),
                                O.SuperResolution(2, O.gaussian_kernel(3, 0.7)), O.BlockAverageSR(2),
                                O.Inpainting(O.random_mask(8, 8, 0.5, seed=4))], ids=repr)
def test_pinv_is_the_dense_pseudo_inverse(op):
    """``pinv(y)`` is the Moore-Penrose solution A⁺y of the operator's matrix (an independent least squares)."""
    shape = (1, 8, 8)
    A = dense(op, shape)
    y = torch.randn(1, *op.output_shape(shape), generator=torch.Generator().manual_seed(11), dtype=torch.float64)
    expected = torch.linalg.pinv(A, rtol=1e-10) @ y.flatten()
    assert torch.allclose(op.pinv(y).flatten(), expected, atol=1e-8)


def test_restrict_and_measured_entries():
    """Only measured entries carry noise: ``restrict`` zeroes the holes of an inpainting mask, and counts them."""
    mask = O.random_mask(8, 8, 0.5, seed=5)
    op, y = O.Inpainting(mask), torch.rand(2, 3, 8, 8)
    assert torch.equal(op.restrict(y), y * mask) and op.measured_entries(y) == int(mask.sum()) * 3
    blur = O.Blur(O.gaussian_kernel(3, 0.5))
    assert torch.equal(blur.restrict(y), y) and blur.measured_entries(y) == 3 * 64
    with pytest.raises(TypeError, match="Twice"):
        Twice().pinv(y)
