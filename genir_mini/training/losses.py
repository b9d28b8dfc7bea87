"""The training losses of the recipes: ``loss_fn(model, batch, generator)`` closures built from a config.

The denoiser's L1 loss and the classifier's cross-entropy live here; the DDPM ε-loss, the flow-matching
loss, the MeanFlow loss and OFTSR's teacher and distillation losses are those of ``priors.diffusion``,
``flowmaps.flow_matching``, ``flowmaps.meanflow`` and ``flowmaps.oftsr``.
"""

import torch
import torch.nn.functional as F


def denoiser_loss(config: dict):
    """L1 loss of D(x + σε, σ) against clean ``(N, C, H, W)`` x, σ ~ U[0, σ_max] per patch (as DRUNet's
    training), σ_max = ``config["data"]["sigma_max"]``."""
    d = config["data"]

    def loss_fn(model, clean, generator):
        device = next(model.parameters()).device
        sigma = torch.rand(clean.shape[0], generator=generator) * d["sigma_max"]
        noise = torch.randn(clean.shape, generator=generator)
        clean, sigma, noise = clean.to(device), sigma.to(device), noise.to(device)
        noisy = clean + sigma.view(-1, 1, 1, 1) * noise
        return F.l1_loss(model(noisy, sigma), clean)

    return loss_fn


def classifier_loss(config: dict):
    """Cross-entropy of the logits ``model(x)`` against the labels of a ``(x, y)`` batch."""

    def loss_fn(model, batch, generator):
        device = next(model.parameters()).device
        x, y = batch
        return F.cross_entropy(model(x.to(device)), y.to(device))

    return loss_fn


def generative_loss(config: dict):
    """The DDPM ε-loss with ``config["schedule"]`` (``objective: ddpm``), the MeanFlow loss with
    ``config["meanflow"]`` (``objective: meanflow``, overriding ``flowmaps.meanflow.DEFAULTS``), the SplitMeanFlow
    loss with ``config["splitmeanflow"]`` (``objective: splitmeanflow``) or the
    flow-matching loss with ``config["time_sampler"]`` (default ``uniform``)."""
    from ..flowmaps import flow_matching, meanflow, splitmeanflow
    from ..priors import diffusion

    if config["objective"] == "ddpm":
        schedule = diffusion.get_schedule(config["schedule"])

        def loss_fn(model, batch, generator):
            return diffusion.eps_loss(model, batch, schedule, generator)
    elif config["objective"] == "meanflow":
        def loss_fn(model, batch, generator):
            return meanflow.loss(model, batch, generator, **config.get("meanflow", {}))
    elif config["objective"] == "splitmeanflow":
        def loss_fn(model, batch, generator):
            return splitmeanflow.loss(model, batch, generator, **config.get("splitmeanflow", {}))
    else:
        def loss_fn(model, batch, generator):
            return flow_matching.fm_loss(model, batch, generator, config.get("time_sampler", "uniform"))

    return loss_fn


def _sr_condition(operator, y: torch.Tensor, device) -> torch.Tensor:
    """The upsampled low-resolution image ``to_signed(operator.init(y))`` that OFTSR's networks see."""
    from ..units import to_signed

    return to_signed(operator.init(y)).to(device)


def _sr_source(operator, y: torch.Tensor, device, sigma_p: float, generator):
    """``(cond, x0)``: the condition of ``_sr_condition`` and OFTSR's noise-augmented source (6.1) from it, the
    start of every path that chapters 6–8's students learn (σ_p = 1: pure noise, chapter 8's)."""
    from ..flowmaps import oftsr

    cond = _sr_condition(operator, y, device)
    return cond, oftsr.noisy_source(cond, sigma_p, generator)


def oftsr_teacher_loss(config: dict):
    """OFTSR's conditional rectified-flow loss (``flowmaps.oftsr.teacher_loss``, slide 18) on ``(x, y)``
    super-resolution pairs, with ``config["sigma_p"]``, ``config["cond_dropout"]`` (default 0) and
    ``config["teacher_norm"]`` (``"l2"``, the default, or OFTSR's released ``"l1"``)."""
    from ..flowmaps import oftsr
    from ..units import to_signed
    from .batches import sr_operator

    operator = sr_operator(config["data"])

    def loss_fn(model, batch, generator):
        device = next(model.parameters()).device
        x, y = batch
        return oftsr.teacher_loss(model, to_signed(x).to(device), _sr_condition(operator, y, device),
                                  config["sigma_p"], generator, config.get("cond_dropout", 0.0),
                                  config.get("teacher_norm", "l2"))

    return loss_fn


def oftsr_distillation_loss(config: dict, teacher: torch.nn.Module):
    """OFTSR's trajectory-aligned distillation (``flowmaps.oftsr.distillation_loss``, slide 19) of ``teacher``
    on ``(x, y)`` pairs: x₀ from ``oftsr.noisy_source``, t from ``oftsr.sample_distillation_times``;
    ``config["distill"]`` overrides ``oftsr.DISTILL_DEFAULTS``. Only y is used: the student never sees a
    high-resolution image."""
    from ..flowmaps import oftsr
    from .batches import sr_operator

    settings = {**oftsr.DISTILL_DEFAULTS, **config.get("distill", {})}
    operator = sr_operator(config["data"])
    teacher.eval().requires_grad_(False)

    def loss_fn(model, batch, generator):
        device = next(model.parameters()).device
        teacher.to(device)
        _, y = batch
        cond, x0 = _sr_source(operator, y, device, config["sigma_p"], generator)
        t = oftsr.sample_distillation_times(len(y), generator, settings["t_min"], settings["t_max"],
                                            settings["dt"]).to(device)
        loss, _ = oftsr.distillation_loss(model, teacher, x0, cond, t, settings["dt"],
                                          settings["boundary_weight"], settings["teacher_step"])
        return loss

    return loss_fn


def splitmeanflow_distillation_loss(config: dict, teacher: torch.nn.Module):
    """SplitMeanFlow distillation of a flow-matching ``teacher`` (``flowmaps.splitmeanflow.distillation_loss``,
    chapter 8) on batches of data, with ``config["splitmeanflow"]`` over ``splitmeanflow.DISTILLATION``."""
    from ..flowmaps import splitmeanflow

    teacher.eval().requires_grad_(False)

    def loss_fn(model, batch, generator):
        teacher.to(next(model.parameters()).device)
        return splitmeanflow.distillation_loss(model, teacher, batch, generator, **config.get("splitmeanflow", {}))

    return loss_fn


def mfsr_distillation_loss(config: dict, teacher: torch.nn.Module):
    """MeanFlow distillation of a conditional-flow ``teacher`` (``flowmaps.meanflow.distillation_loss``,
    chapter 7's MFSR) on ``(x, y)`` pairs: the path from OFTSR's source x₀ (σ_p = ``config["sigma_p"]``) to x,
    the teacher's velocity guided with w = ``config["guidance"]`` (1: none), the MeanFlow settings
    ``config["meanflow"]``."""
    from ..flowmaps import meanflow
    from ..units import to_signed
    from .batches import sr_operator

    operator = sr_operator(config["data"])
    teacher.eval().requires_grad_(False)

    def loss_fn(model, batch, generator):
        device = next(model.parameters()).device
        teacher.to(device)
        x, y = batch
        cond, x0 = _sr_source(operator, y, device, config["sigma_p"], generator)
        velocity = meanflow.guided_velocity(teacher, cond, config.get("guidance", 1.0))
        return meanflow.distillation_loss(model, velocity, x0, to_signed(x).to(device), cond, generator,
                                          **config.get("meanflow", {}))

    return loss_fn


def smfsr_loss(config: dict):
    """SplitMeanFlow on the conditional path of a noise-started SR student (chapter 8's SMFSR,
    ``flowmaps.splitmeanflow.conditional_loss``) on ``(x, y)`` pairs: from x₀ = (6.1) with σ_p =
    ``config["sigma_p"]`` (1: pure noise) to x, conditioned on the upsampled y, with the boundary velocity
    x − x₀; ``config["splitmeanflow"]`` overrides ``splitmeanflow.DEFAULTS``. No teacher in the loss."""
    from ..flowmaps import splitmeanflow
    from ..units import to_signed
    from .batches import sr_operator

    operator = sr_operator(config["data"])

    def loss_fn(model, batch, generator):
        device = next(model.parameters()).device
        x, y = batch
        cond, x0 = _sr_source(operator, y, device, config["sigma_p"], generator)
        return splitmeanflow.conditional_loss(model, x0, to_signed(x).to(device), cond, generator,
                                              **config.get("splitmeanflow", {}))

    return loss_fn


def restoration_loss(config: dict):
    """L1 loss of a restoration network (chapter 9) against the clean patches, per ``config["task"]``:
    ``"denoise"`` (``model(x + σε)``, σ = ``data.sigma`` in image units, on a batch of patches), ``"sr"``
    (``model(y)`` on ``(x, y)`` pairs) or ``"deblur"`` (``model(y, kernels)`` on ``(x, y, kernels)``)."""
    task = config["task"]
    if task not in ("denoise", "sr", "deblur"):
        raise ValueError(f"task must be 'denoise', 'sr' or 'deblur', got {task!r}")

    def loss_fn(model, batch, generator):
        device = next(model.parameters()).device
        if task == "denoise":
            x = batch
            noisy = x + config["data"]["sigma"] * torch.randn(x.shape, generator=generator)
            return F.l1_loss(model(noisy.to(device)), x.to(device))
        if task == "sr":
            x, y = batch
            return F.l1_loss(model(y.to(device)), x.to(device))
        x, y, kernels = batch
        return F.l1_loss(model(y.to(device), kernels.to(device)), x.to(device))

    return loss_fn
