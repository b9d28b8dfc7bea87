"""PSNR and SSIM agree with scikit-image's (the convention documented in genir_mini.evaluation.metrics)."""

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from genir_mini.evaluation import metrics


def pairs():
    g = torch.Generator().manual_seed(0)
    ref = torch.rand(3, 3, 48, 40, generator=g)
    yield "noise", ref, (ref + 0.05 * torch.randn(ref.shape, generator=g)).clamp(0, 1)
    yield "blur", ref, torch.nn.functional.avg_pool2d(ref, 3, 1, 1)
    gray = torch.rand(2, 1, 32, 32, generator=g)
    yield "gray", gray, (gray * 0.8 + 0.1)


@pytest.mark.parametrize("name,ref,x", list(pairs()))
def test_psnr_matches_skimage(name, ref, x):
    ours = metrics.psnr(x, ref)
    for i in range(ref.shape[0]):
        theirs = peak_signal_noise_ratio(ref[i].double().numpy(), x[i].double().numpy(), data_range=1)
        assert abs(ours[i].item() - theirs) < 1e-6, name


@pytest.mark.parametrize("name,ref,x", list(pairs()))
def test_ssim_matches_skimage(name, ref, x):
    ours = metrics.ssim(x, ref)
    for i in range(ref.shape[0]):
        theirs = structural_similarity(ref[i].double().numpy(), x[i].double().numpy(), data_range=1,
                                       channel_axis=0, gaussian_weights=True, sigma=1.5,
                                       use_sample_covariance=False)
        assert abs(ours[i].item() - theirs) < 1e-4, name


def test_identical_images():
    x = torch.rand(1, 3, 16, 16)
    assert metrics.ssim(x, x).item() == pytest.approx(1.0, abs=1e-9)
    assert metrics.psnr(x, x).item() > 150


def test_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        metrics.psnr(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 9))
    with pytest.raises(ValueError, match="at least 11x11"):
        metrics.ssim(torch.rand(1, 1, 8, 8), torch.rand(1, 1, 8, 8))
    with pytest.raises(TypeError, match="torch.Tensor"):
        metrics.psnr(np.zeros((1, 1, 8, 8)), torch.rand(1, 1, 8, 8))


def test_range_and_data_range_errors():
    ref = torch.rand(1, 3, 16, 16)
    with pytest.raises(ValueError, match="divide by 255"):
        metrics.psnr(ref * 255, ref * 255 + 1)
    with pytest.raises(ValueError, match="data_range"):
        metrics.psnr(ref, ref, data_range=0)
    assert metrics.psnr(ref * 255, (ref * 255 + 1).clamp(0, 255), data_range=255).item() > 40


def test_detail_ratio_tells_blur_from_noise():
    from genir_mini import data
    from genir_mini.operators import Blur, add_noise, gaussian_kernel

    ref = data.test_images(64)[:2]
    assert torch.allclose(metrics.detail_ratio(ref, ref), torch.ones(2, dtype=torch.float64))
    blurred = Blur(gaussian_kernel(9, 1.5)).A(ref)
    noisy = add_noise(ref, 0.1, seed=0)
    assert (metrics.detail_ratio(blurred, ref) < 0.3).all()
    assert (metrics.detail_ratio(noisy, ref) > 1.5).all()
    # a flat image has no energy away from DC: two scaled copies of one noise differ by the squared scale
    white = torch.randn(1, 1, 64, 64, generator=torch.Generator().manual_seed(0))
    flat = torch.full((1, 1, 64, 64), 0.5)
    assert metrics.detail_ratio(flat + 0.1 * white, flat + 0.001 * white).item() == pytest.approx(1e4, rel=1e-6)
    with pytest.raises(ValueError, match="f_min"):
        metrics.detail_ratio(ref, ref, f_min=0.6)
