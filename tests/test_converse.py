"""Reverse convolution (ch. 9): ``converse2d`` against a dense least-squares solve, against the operators' prox,
its gradients against finite differences, and the layer's conventions and errors."""

import math

import pytest
import torch
import torch.nn.functional as F

from genir_mini.nets.converse import LAMBDA_AT_INIT, Converse2D, converse2d
from genir_mini.operators import Blur, SuperResolution, bicubic_kernel, gaussian_kernel, p2o


def blur_matrix(kernel, H, W):
    """The (HW, HW) matrix of circular convolution with ``kernel`` as p2o defines it (built column by column)."""
    K = p2o(kernel, (H, W))
    basis = torch.eye(H * W, dtype=torch.float64).view(H * W, H, W)
    return torch.fft.ifft2(torch.fft.fft2(basis) * K).real.reshape(H * W, H * W).T


def dense_solution(y, kernel, lam, scale):
    """argmin ‖y − D B x‖² + λ‖x − x₀‖² for one channel, by solving the normal equations densely."""
    h, w = y.shape
    H, W = h * scale, w * scale
    keep = torch.zeros(H, W, dtype=torch.bool)
    keep[::scale, ::scale] = True
    A = blur_matrix(kernel, H, W)[keep.flatten()]
    x0 = F.interpolate(y[None, None], scale_factor=scale, mode="nearest").flatten() if scale > 1 else y.flatten()
    lhs = A.T @ A + lam * torch.eye(H * W, dtype=torch.float64)
    return torch.linalg.solve(lhs, A.T @ y.flatten() + lam * x0).view(H, W)


@pytest.mark.parametrize("scale", [1, 2, 3])
def test_converse2d_is_the_least_squares_inverse(scale):
    g = torch.Generator().manual_seed(scale)
    y = torch.rand(2, 2, 5, 4, generator=g, dtype=torch.float64)
    kernels = torch.rand(2, 3, 3, generator=g, dtype=torch.float64)
    kernels = kernels / kernels.sum(dim=(-2, -1), keepdim=True)
    lam = torch.tensor([0.05, 0.3], dtype=torch.float64)
    out = converse2d(y, kernels, lam, scale=scale, padding=0)
    assert out.shape == (2, 2, 5 * scale, 4 * scale)
    for n in range(2):
        for c in range(2):
            expected = dense_solution(y[n, c], kernels[c], lam[c].item(), scale)
            assert torch.allclose(out[n, c], expected, atol=1e-10), (n, c)


def test_with_the_true_kernel_it_is_the_operators_prox():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 32, 32, generator=g, dtype=torch.float64)
    k = gaussian_kernel(5, 1.0).double()
    y = Blur(k).A(x)
    assert torch.allclose(converse2d(y, k, 1e-3, scale=1, padding=0), Blur(k).prox(y, y, 1e-3), atol=1e-10)
    sr = SuperResolution(4, bicubic_kernel(4).double())
    y = sr.A(x)
    z = F.interpolate(y, scale_factor=4, mode="nearest")
    assert torch.allclose(converse2d(y, sr.kernel, 0.01, scale=4, padding=0), sr.prox(z, y, 0.01), atol=1e-10)
    # and with a small λ it undoes the blur it knows, on an image whose frequencies the blur keeps
    smooth = F.avg_pool2d(torch.rand(1, 3, 36, 36, generator=g, dtype=torch.float64), 5, 1)
    blurred = Blur(k).A(smooth)
    sharp = converse2d(blurred, k, 1e-8, scale=1, padding=0)
    assert (sharp - smooth).pow(2).mean().sqrt() < 0.01 * (blurred - smooth).pow(2).mean().sqrt()


def test_gradients_match_finite_differences():
    g = torch.Generator().manual_seed(1)
    y = torch.rand(1, 2, 4, 4, generator=g, dtype=torch.float64)
    kernel = torch.rand(2, 2, 2, generator=g, dtype=torch.float64, requires_grad=True)  # even, as the upsamplers
    lam = torch.tensor([0.2, 0.5], dtype=torch.float64, requires_grad=True)
    def layer(k, weight):
        return converse2d(y, k, weight, scale=2, padding=1, padding_mode="replicate")

    assert torch.autograd.gradcheck(layer, (kernel, lam))
    x = y.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda v: converse2d(v, kernel.detach(), 0.3, scale=1, padding=2), (x,))


def test_the_layer_conventions():
    torch.manual_seed(0)
    layer = Converse2D(4, kernel_size=3, scale=2, padding=2, padding_mode="replicate", eps=1e-3)
    assert torch.allclose(layer.weight.sum(dim=(-2, -1)), torch.ones(4)) and (layer.weight > 0).all()
    assert torch.allclose(layer.lam, torch.full((1, 4, 1, 1), LAMBDA_AT_INIT + 1e-3))
    assert math.isclose(LAMBDA_AT_INIT, 1.234e-4, rel_tol=1e-3)
    out = layer(torch.rand(2, 4, 6, 5))
    assert out.shape == (2, 4, 12, 10)
    out.square().mean().backward()
    assert layer.weight.grad is not None and layer.bias.grad.abs().sum() > 0
    with torch.no_grad():
        layer.bias.fill_(-50.0)
    assert (layer.lam > 0).all()  # positive whatever b is
    assert Converse2D(3, 5)(torch.rand(1, 3, 8, 8)).shape == (1, 3, 8, 8)


def test_bad_arguments_are_named():
    x = torch.rand(1, 3, 8, 8)
    with pytest.raises(ValueError, match="channels"):
        converse2d(x, torch.rand(2, 3, 3), 0.1)
    with pytest.raises(ValueError, match="scale"):
        converse2d(x, torch.rand(3, 3, 3), 0.1, scale=1.5)
    with pytest.raises(ValueError, match="lam"):
        converse2d(x, torch.rand(3, 3, 3), 0.0)
    with pytest.raises(ValueError, match="padding_mode"):
        converse2d(x, torch.rand(3, 3, 3), 0.1, padding_mode="wrap")
    with pytest.raises(ValueError, match="padding"):
        converse2d(x, torch.rand(3, 3, 3), 0.1, padding=-1)
    with pytest.raises(ValueError, match=r"x must have shape \(N, C, H, W\)"):
        converse2d(x[0], torch.rand(3, 3, 3), 0.1)
    with pytest.raises(ValueError, match="larger than the image"):
        converse2d(x, torch.rand(3, 11, 11), 0.1, padding=0)
    with pytest.raises(ValueError, match="channels"):
        Converse2D(0)
    with pytest.raises(ValueError, match="scale"):
        Converse2D(3, scale=0)
    with pytest.raises(ValueError, match=r"x must be \(N, 3, H, W\)"):
        Converse2D(3)(x[:, :2])
