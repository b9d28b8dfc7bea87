"""The ConverseBlock and chapter 9's three networks: shapes, equal parameter counts across the three variants,
the deblurring network's data step, gradients, bad arguments."""

import pytest
import torch

from genir_mini.nets.converse_nets import (
    VARIANTS,
    ConverseBlock,
    ConverseDeblur,
    ConverseDenoiser,
    ConverseSR,
    parameter_count,
    spatial_layer,
    upsampling_layer,
)
from genir_mini.operators import Blur, gaussian_kernel


@pytest.mark.parametrize("make", [lambda v: ConverseDenoiser(variant=v), lambda v: ConverseSR(variant=v),
                                  lambda v: ConverseDeblur(variant=v)], ids=["denoiser", "sr", "deblur"])
def test_the_three_variants_have_equal_parameter_counts(make):
    counts = {v: parameter_count(make(v)) for v in VARIANTS}
    assert max(counts.values()) <= 1.02 * min(counts.values()), counts


def test_layers_preserve_size_and_upsamplers_double_it():
    x = torch.rand(2, 6, 10, 12)
    for variant in VARIANTS:
        layer = spatial_layer(variant, 6, 5)
        assert layer(x).shape == x.shape, variant
        assert sum(p.numel() for p in layer.parameters()) == 6 * 25 + 6, variant
        up = upsampling_layer(variant, 6)
        assert up(x).shape == (2, 6, 20, 24), variant
        assert sum(p.numel() for p in up.parameters()) == 6 * 4 + 6, variant
        assert ConverseBlock(6, 3, variant)(x).shape == x.shape


def test_a_centred_layer_does_not_shift_the_image():
    """With a delta kernel every variant is the identity (up to its bias), so none shifts the image."""
    x = torch.rand(1, 2, 9, 9)
    for variant in ("conv", "convt"):
        layer = spatial_layer(variant, 2, 3)
        with torch.no_grad():
            weight = layer.weight if variant == "conv" else layer.layer.weight
            weight.zero_()
            weight[..., 1, 1] = 1
            (layer.bias if variant == "conv" else layer.layer.bias).zero_()
        assert torch.allclose(layer(x), x, atol=1e-6), variant


def test_networks_shapes_and_gradients():
    torch.manual_seed(0)
    assert ConverseDenoiser(channels=8, blocks=1)(torch.rand(2, 3, 16, 16)).shape == (2, 3, 16, 16)
    sr = ConverseSR(channels=8, blocks=1)
    out = sr(torch.rand(2, 3, 8, 8))
    assert out.shape == (2, 3, 32, 32)
    out.mean().backward()
    assert all(p.grad is not None for p in sr.parameters())
    deblur = ConverseDeblur(channels=8, blocks=1, stages=2)
    y = torch.rand(2, 3, 16, 16)
    assert deblur(y, gaussian_kernel(5, 1.0)).shape == y.shape
    assert deblur(y, torch.stack([gaussian_kernel(5, 1.0)] * 2)).shape == y.shape


def test_deblur_data_step_is_the_blur_prox():
    """With its prior switched off (zero output), the network is the closed-form data step, iterated."""
    net = ConverseDeblur(channels=4, blocks=1, stages=1)
    with torch.no_grad():
        net.prior[-1].weight.zero_()
        net.prior[-1].bias.zero_()
    k = gaussian_kernel(5, 1.0)
    y = Blur(k).A(torch.rand(1, 3, 16, 16))
    lam = net.lam()[0].item()
    assert torch.allclose(net(y, k), Blur(k).prox(y, y, lam), atol=1e-5)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="variant"):
        ConverseDenoiser(variant="deconv")
    with pytest.raises(ValueError, match="kernel_size"):
        spatial_layer("conv", 4, 4)
    with pytest.raises(ValueError, match=r"y must have 3 channel"):
        ConverseSR()(torch.rand(1, 1, 8, 8))
    with pytest.raises(ValueError, match="kernel"):
        ConverseDeblur()(torch.rand(2, 3, 8, 8), torch.rand(3, 3, 3))
