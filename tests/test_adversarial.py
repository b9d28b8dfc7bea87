"""The adversarial refinement (``training.adversarial``, chapter 8): the GAN losses on hand-made logits, the
frozen call, and that the one summed loss gives each network exactly the gradient of its own loss."""

import math

import pytest
import torch

from genir_mini import nets
from genir_mini.flowmaps import meanflow
from genir_mini.training import adversarial
from genir_mini.training.recipes import get_recipe


def test_gan_losses_on_hand_made_logits():
    big = torch.full((4, 1, 2, 2), 30.0)
    assert adversarial.discriminator_loss(big, -big) < 1e-12  # a perfect discriminator
    zero = torch.zeros(4, 1, 2, 2)
    assert math.isclose(adversarial.discriminator_loss(zero, zero).item(), 2 * math.log(2), rel_tol=1e-6)
    assert math.isclose(adversarial.generator_adversarial_loss(zero).item(), math.log(2), rel_tol=1e-6)
    # fooled (generated images scored real): the generator's loss is small, the discriminator's large
    assert adversarial.generator_adversarial_loss(big) < 1e-12
    assert adversarial.discriminator_loss(-big, big) > 59
    # against the probabilities: −log σ(r) − log(1 − σ(f))
    r, f = torch.tensor([0.3, -1.2]), torch.tensor([0.5, 2.0])
    expected = (-torch.sigmoid(r).log()).mean() + (-(1 - torch.sigmoid(f)).log()).mean()
    assert torch.allclose(adversarial.discriminator_loss(r, f), expected)


def test_frozen_call_passes_gradients_to_the_input_only():
    torch.manual_seed(0)
    d = nets.PatchDiscriminator(3, (8, 16))
    x = torch.randn(2, 3, 16, 16, requires_grad=True)
    adversarial.frozen_call(d, x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in d.parameters())
    assert torch.allclose(adversarial.frozen_call(d, x), d(x))


def _pair_and_batch():
    config = get_recipe("smfsr-gan-photos").config("smoke")
    torch.manual_seed(0)
    model = nets.build("unet-gan", config["model"])
    with torch.no_grad():
        for p in model.generator.parameters():  # a zero-initialised head would make the output constant
            p.add_(0.02 * torch.randn_like(p))
    anchor = nets.build("unet", config["model"]["generator"])
    x = torch.rand(2, 3, 32, 32)
    y = torch.nn.functional.avg_pool2d(x, 4)
    return config, model, anchor, (x, y)


def test_the_summed_loss_keeps_the_two_gradients_apart():
    config, model, anchor, batch = _pair_and_batch()
    loss = adversarial.refinement_loss(config, anchor)
    loss(model, batch, torch.Generator().manual_seed(1)).backward()
    total = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()

    # the discriminator's gradient is that of L_D alone, the generator's that of L_G alone
    from genir_mini.training.batches import sr_operator
    from genir_mini.training.losses import _sr_source
    from genir_mini.units import to_signed

    x, y = batch
    cond, x0 = _sr_source(sr_operator(config["data"]), y, "cpu", config["sigma_p"],
                          torch.Generator().manual_seed(1))
    x_hat = meanflow.flow_map(model.generator, cond)(x0, 0.0, 1.0)
    d_loss = adversarial.discriminator_loss(model.discriminator(to_signed(x)), model.discriminator(x_hat.detach()))
    d_loss.backward()
    for n, p in model.discriminator.named_parameters():
        assert torch.allclose(total[f"discriminator.{n}"], p.grad, atol=1e-6), n
    assert all(p.grad is None or p.grad.abs().max() == 0 for p in model.generator.parameters())
    generator_grads = [total[f"generator.{n}"] for n, _ in model.generator.named_parameters()]
    assert any(g.abs().max() > 0 for g in generator_grads), "the generator learns from L_G"


def test_start_and_bad_weights():
    config, model, anchor, batch = _pair_and_batch()
    adversarial.start_generator(model, anchor)
    assert all(torch.equal(a, b) for a, b in zip(model.generator.state_dict().values(),
                                                   anchor.state_dict().values()))
    with pytest.raises(TypeError, match="perceptual"):
        adversarial.refinement_loss({**config, "adversarial": {"perceptual": 1.0}}, anchor)
