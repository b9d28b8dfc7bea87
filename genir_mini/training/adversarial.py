"""Adversarial refinement of a one-step SR generator (chapter 8; the talk's slide 29, SMFSR's second stage): a
patch discriminator learns to tell photographs from the generator's one-step outputs, and the generator learns
to fool it while two anchors keep it honest, an L1 reconstruction of the photograph and an L1 distance to the
frozen pre-refinement generator's output from the same noise (its SplitMeanFlow solution).

With D the discriminator's logits and the non-saturating losses of Goodfellow et al. (2014),

* discriminator: L_D = E[softplus(−D(x))] + E[softplus(D(x̂))]   (−log σ(D(x)) − log(1 − σ(D(x̂))));
* generator: L_G = w_rec·|x̂ − x|₁ + w_anchor·|x̂ − x̂_anchor|₁ + w_adv·E[softplus(−D(x̂))].

Both nets sit in one ``nets.GeneratorCritic`` and the loss returns L_G + L_D, so the book's one training loop
(one optimizer, one EMA, exact resume) runs the stage; the gradients stay apart because L_G reads the
discriminator through detached parameters and L_D reads x̂ detached. SMFSR's training code is not public: the
weights below are the book's choice, stated, not the paper's.
"""

import torch
import torch.nn.functional as F

DEFAULTS = {"reconstruction": 1.0, "anchor": 1.0, "adversarial": 0.1}


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """L_D = mean softplus(−real) + mean softplus(fake): the cross-entropy of calling photographs real and
    generated images fake (any shapes; logits, not probabilities)."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_adversarial_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss mean softplus(−fake) = −log σ(D(x̂)) (logits of generated images)."""
    return F.softplus(-fake_logits).mean()


def frozen_call(module: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``module(x)`` with its parameters detached: gradients reach ``x`` but not the module."""
    params = {name: p.detach() for name, p in module.named_parameters()}
    return torch.func.functional_call(module, params, (x,))


def start_generator(model, generator: torch.nn.Module):
    """``Recipe.start``: the refinement's generator starts as the trained one-step ``generator``; the
    discriminator keeps its fresh initialisation. Returns ``model``."""
    model.generator.load_state_dict(generator.state_dict())
    return model


def refinement_loss(config: dict, anchor: torch.nn.Module):
    """The stage's loss on ``(x, y)`` SR pairs: x̂ = one jump of ``model.generator``'s flow map from (6.1) with
    σ_p = ``config["sigma_p"]`` (1: pure noise), conditioned on the upsampled y; x̂_anchor the frozen
    ``anchor``'s jump from the same source; weights ``config["adversarial"]`` over ``DEFAULTS``. Returns
    L_G + L_D."""
    from ..flowmaps import meanflow
    from ..units import to_signed
    from .batches import sr_operator
    from .losses import _sr_source

    weights = {**DEFAULTS, **config.get("adversarial", {})}
    unknown = set(weights) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown adversarial weight(s) {sorted(unknown)}; expected some of {sorted(DEFAULTS)}")
    operator = sr_operator(config["data"])
    anchor.eval().requires_grad_(False)

    def loss_fn(model, batch, generator):
        device = next(model.parameters()).device
        anchor.to(device)
        x, y = batch
        x = to_signed(x).to(device)
        cond, x0 = _sr_source(operator, y, device, config["sigma_p"], generator)
        x_hat = meanflow.flow_map(model.generator, cond)(x0, 0.0, 1.0)
        with torch.no_grad():
            x_anchor = meanflow.flow_map(anchor, cond)(x0, 0.0, 1.0)
        loss_g = (weights["reconstruction"] * (x_hat - x).abs().mean()
                  + weights["anchor"] * (x_hat - x_anchor).abs().mean()
                  + weights["adversarial"] * generator_adversarial_loss(frozen_call(model.discriminator, x_hat)))
        loss_d = discriminator_loss(model.discriminator(x), model.discriminator(x_hat.detach()))
        return loss_g + loss_d

    return loss_fn


__all__ = ["DEFAULTS", "discriminator_loss", "generator_adversarial_loss", "frozen_call", "start_generator",
           "refinement_loss"]
