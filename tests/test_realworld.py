"""The real-world degradation pipeline (``operators.realworld``, chapters 7–8): shapes and range, seeded
reproducibility, its random kernels, that it degrades more than the bicubic task, the training pairs that mix
both, and bad input."""

import pytest
import torch

from genir_mini import data, operators
from genir_mini.evaluation import metrics, tasks
from genir_mini.operators import realworld
from genir_mini.training.batches import realworld_pair_batches


@pytest.fixture(scope="module")
def photos():
    return data.test_photographs(64, "resize", data.TEST_SET[:4])


def test_shapes_range_and_seeds(photos):
    y = operators.realworld_degrade(photos, seed=3)
    assert y.shape == (4, 3, 16, 16) and y.min() >= 0 and y.max() <= 1
    assert torch.equal(y, operators.realworld_degrade(photos, seed=3)), "a seed fixes the measurement"
    assert not torch.equal(y, operators.realworld_degrade(photos, seed=4))
    # image i with seed s is image 0 with seed s + i: one draw per image, whatever the batch
    assert torch.equal(y[2:3], operators.realworld_degrade(photos[2:3], seed=5))
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    assert torch.equal(operators.realworld_degrade(photos, generator=g1),
                       operators.realworld_degrade(photos, generator=g2))
    assert torch.equal(operators.held_out_degradations(photos),
                       operators.realworld_degrade(photos, seed=realworld.HELD_OUT_SEED))


def test_random_kernels_are_normalised_odd_and_sometimes_anisotropic():
    g = torch.Generator().manual_seed(0)
    kernels = [realworld.random_gaussian_kernel(g, (0.2, 3.0)) for _ in range(40)]
    assert all(k.shape[0] == k.shape[1] and k.shape[0] % 2 == 1 and 7 <= k.shape[0] <= 21 for k in kernels)
    assert all(abs(k.sum().item() - 1) < 1e-5 and (k >= 0).all() for k in kernels)
    asymmetric = [k for k in kernels if not torch.allclose(k, k.T, atol=1e-4)]
    assert 5 < len(asymmetric) < 35, "about half anisotropic (and rotated)"


def test_it_degrades_more_than_the_bicubic_task(photos):
    sr4 = tasks.make_task("sr4", 64)
    up = operators.SuperResolution(4).init
    bicubic = metrics.psnr(up(tasks.degrade(sr4, photos)).clamp(0, 1), photos).mean()
    real = metrics.psnr(up(operators.held_out_degradations(photos)).clamp(0, 1), photos).mean()
    assert real < bicubic - 1


def test_training_pairs_mix_both_degradations():
    config = {"data": {"source": "package-photos", "batch": 4, "patch": 32, "bicubic_fraction": 0.5,
                       "operator": "bicubic", "scale": 4, "sigma_n": 0.0}}
    x, y = realworld_pair_batches(config)(0, torch.Generator().manual_seed(0))
    assert x.shape == (4, 3, 32, 32) and y.shape == (4, 3, 8, 8)
    assert torch.allclose(y[2:], operators.SuperResolution(4).A(x[2:])), "the last half: the bicubic task"
    assert not torch.allclose(y[:2], operators.SuperResolution(4).A(x[:2]), atol=1e-3)


def test_bad_input_is_named(photos):
    with pytest.raises(ValueError, match="divisible by 4"):
        operators.realworld_degrade(photos[..., :30, :30], seed=0)
    with pytest.raises(ValueError, match="exactly one of generator and seed"):
        operators.realworld_degrade(photos)
    with pytest.raises(ValueError, match="unknown settings"):
        operators.realworld_degrade(photos, seed=0, settings={"blur": 1})
    with pytest.raises(ValueError):
        operators.realworld_degrade(photos[:, :1], seed=0)
