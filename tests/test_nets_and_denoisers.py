"""DRUNet shapes and conditioning; classical denoisers reduce noise; bad inputs."""

import pytest
import torch

from genir_mini.priors import denoisers
from genir_mini.evaluation import metrics
from genir_mini.nets import DRUNet, noise_level_map


def test_drunet_any_size_and_batch_sigma():
    net = DRUNet(channels=(8, 16, 32), blocks=1)
    y = torch.rand(2, 3, 37, 50)
    out = net(y, torch.tensor([0.1, 0.2]))
    assert out.shape == y.shape
    assert not torch.allclose(net(y, 0.0), net(y, 0.3)), "output must depend on the noise level"


def test_noise_level_map():
    m = noise_level_map(torch.zeros(2, 3, 4, 5), torch.tensor([0.1, 0.2]))
    assert m.shape == (2, 1, 4, 5) and m[1].unique().item() == pytest.approx(0.2)
    with pytest.raises(ValueError, match="sigma"):
        noise_level_map(torch.zeros(2, 3, 4, 5), torch.tensor([0.1, 0.2, 0.3]))


def test_drunet_bad_channels():
    with pytest.raises(ValueError, match="channel"):
        DRUNet(in_channels=3, channels=(8, 16), blocks=1)(torch.rand(1, 1, 16, 16), 0.1)


@pytest.mark.parametrize("name", ["TV", "wavelet", "NL-means"])
def test_classical_denoisers_reduce_noise(name):
    from genir_mini.data import load_image
    from genir_mini.operators import add_noise

    x = load_image("china", 64)
    y = add_noise(x, 25 / 255, seed=0)
    d = denoisers.classical_denoisers()[name]
    assert (metrics.psnr(d(y, 25 / 255), x) - metrics.psnr(y, x)).item() > 3
    assert torch.equal(d(y, 0.0), y)


@pytest.mark.parametrize("sigma", [25.0, float("nan"), -0.1])
def test_noise_levels_must_be_in_image_units(sigma):
    net = DRUNet(channels=(8, 16), blocks=1)
    with pytest.raises(ValueError, match="sigma"):
        net(torch.rand(1, 3, 16, 16), sigma)
    with pytest.raises(ValueError, match="sigma"):
        denoisers.TVDenoiser()(torch.rand(1, 3, 16, 16), sigma)


def test_learned_denoiser_accepts_float64():
    d = denoisers.LearnedDenoiser(DRUNet(channels=(8, 16), blocks=1))
    out = d(torch.rand(1, 3, 16, 16, dtype=torch.float64), torch.tensor([0.1]))
    assert out.dtype == torch.float64 and out.shape == (1, 3, 16, 16)
