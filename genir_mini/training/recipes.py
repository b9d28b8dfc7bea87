"""The named, reproducible training runs (recipes) behind every shipped checkpoint, each with tiers ``smoke``
(seconds), ``cpu`` (a 2-core machine, well under an hour) and ``gpu`` (full scale, one GPU).

A recipe names its network (``nets.build(recipe.net, config["model"])``), draws its batches (``batches``),
defines its loss (``losses``) and evaluates the result (``evaluate``); ``run.run`` trains it with
``loop.train`` (resuming from a run folder), ``hub.publish`` ships it and ``cli`` is the command line::

    python -m genir_mini.training list
    python -m genir_mini.training train denoiser --tier cpu --run-dir runs/denoiser-cpu [--publish]
"""

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .. import nets
from ..flowmaps import meanflow, oftsr, splitmeanflow
from ..hub import TIERS
from . import adversarial
from .batches import (
    blur_batches,
    classifier_batches,
    denoiser_batches,
    generative_batches,
    realworld_pair_batches,
    sr_pair_batches,
)
from .evaluate import (
    evaluate_classifier,
    evaluate_denoiser,
    evaluate_generator,
    evaluate_oftsr,
    evaluate_restoration,
)
from .losses import (
    classifier_loss,
    denoiser_loss,
    generative_loss,
    mfsr_distillation_loss,
    oftsr_distillation_loss,
    oftsr_teacher_loss,
    restoration_loss,
    smfsr_loss,
    splitmeanflow_distillation_loss,
)
from .sampling import sample_images

__all__ = ["RECIPES", "Recipe", "TIERS", "get_recipe", "sample_images"]


@dataclass
class Recipe:
    name: str
    description: str
    net: str  # the network, by its name in ``nets.NETS``; built from config["model"]
    make_task: Callable[..., tuple]  # config -> (batch_fn, loss_fn); (config, teacher) with a teacher
    evaluate: Callable[[torch.nn.Module, dict], dict]  # (model, config) -> figures
    tiers: dict = field(default_factory=dict)
    # a distillation's teacher: the recipe (trained at the same tier) whose model the loss uses and whose
    # weights start this one; each tier's "model" must then be the teacher tier's
    teacher: str | None = None
    # how a student starts from its teacher: ``start(model, teacher)`` (default: the teacher's state dict;
    # MeanFlow's student widens the time input, ``flowmaps.meanflow.start_from_velocity``)
    start: Callable | None = None

    def config(self, tier: str) -> dict:
        if tier not in self.tiers:
            raise ValueError(f"unknown tier {tier!r} for recipe {self.name!r}; expected one of {list(self.tiers)}")
        return copy.deepcopy(self.tiers[tier])

    def build_model(self, model_config: dict) -> torch.nn.Module:
        """The untrained network of this recipe: ``nets.build(self.net, model_config)``."""
        return nets.build(self.net, model_config)


# The photo recipes' cpu and gpu tiers train on the corpus of natural photographs (``data.photo_corpus``,
# train split, halved) plus the package's 11 training photographs, each at five scales an half-octave
# apart, so that a whole 1024×768 scene resized to 128–256 px (as the chapters prepare their images) looks
# like a training patch. The smoke tiers use the package photographs only: they run where the corpus is
# not installed (CI).
CORPUS_DATA = {"source": "corpus", "package_photos": True, "scales": [1.0, 0.71, 0.5, 0.35, 0.25]}

# --------------------------------------------------------------------------------------------------
# denoiser: the DRUNet-style Gaussian denoiser of chapter 2

DENOISER = Recipe(
    name="denoiser",
    description="DRUNet-style colour Gaussian denoiser with a noise-level map, sigma in [0, 55]/255",
    net="drunet",
    make_task=lambda config: (denoiser_batches(config), denoiser_loss(config)),
    evaluate=evaluate_denoiser,
    tiers={
        "smoke": {"model": {"in_channels": 3, "channels": [8, 16], "blocks": 1},
                  "data": {"source": "package-photos", "batch": 4, "patch": 32, "sigma_max": 55 / 255,
                           "dead_leaves_fraction": 0.25},
                  "eval": {"size": 64, "names": ["camera", "cat"], "sigmas": [25]},
                  "train": {"steps": 4, "lr": 1e-3, "checkpoint_every": 2, "ema_decay": 0.9}},
        # cpu: sized to about an hour on one thread of a 2-core machine (while another run takes the other)
        "cpu": {"model": {"in_channels": 3, "channels": [32, 64, 128], "blocks": 2},
                "data": {**CORPUS_DATA, "batch": 16, "patch": 64, "sigma_max": 55 / 255,
                         "dead_leaves_fraction": 0.25},
                "train": {"steps": 2500, "lr": 5e-4, "warmup_steps": 100, "checkpoint_every": 100,
                          "ema_decay": 0.995}},
        "gpu": {"model": {"in_channels": 3, "channels": [32, 64, 128, 256], "blocks": 2},
                "data": {**CORPUS_DATA, "batch": 64, "patch": 96, "sigma_max": 55 / 255,
                         "dead_leaves_fraction": 0.25},
                "train": {"steps": 40000, "lr": 5e-4, "warmup_steps": 500, "checkpoint_every": 2000,
                          "ema_decay": 0.999}},
    },
)

# --------------------------------------------------------------------------------------------------
# digit-classifier: the feature network of the distribution distances (chapter 3)

CLASSIFIER = Recipe(
    name="digit-classifier",
    description="LeNet-style digit classifier; its features define 'FD/KD in LeNet features'",
    net="digit-classifier",
    make_task=lambda config: (classifier_batches(config), classifier_loss(config)),
    evaluate=evaluate_classifier,
    tiers={
        "smoke": {"model": {}, "data": {"batch": 16},
                  "train": {"steps": 4, "lr": 1e-3, "checkpoint_every": 2, "ema_decay": 0.9}},
        "cpu": {"model": {}, "data": {"batch": 128},
                "train": {"steps": 1500, "lr": 2e-3, "weight_decay": 1e-4, "checkpoint_every": 500,
                          "ema_decay": 0.99}},
        "gpu": {"model": {}, "data": {"batch": 256},
                "train": {"steps": 3000, "lr": 2e-3, "weight_decay": 1e-4, "checkpoint_every": 1000,
                          "ema_decay": 0.99}},
    },
)


# --------------------------------------------------------------------------------------------------
# generative models: DDPM and flow matching on digits (chapters 3–4) and on photograph patches (chapter 5)

def _generative_task(config):
    """Batches of training digits or photograph patches, and the DDPM ε-loss or the flow-matching loss."""
    return generative_batches(config), generative_loss(config)


_DIGIT_SAMPLERS = {
    "ddpm": [["ddpm", 1000], ["ddpm", 100], ["ddim", 100], ["ddim", 20], ["ddim", 10]],
    "fm": [["euler", 100], ["euler", 20], ["euler", 10], ["euler", 4], ["euler", 1], ["heun", 20]],
    "meanflow": [["mean", 1], ["mean", 2], ["mean", 4], ["mean", 10]],
    "splitmeanflow": [["mean", 1], ["mean", 2], ["mean", 4], ["mean", 10]],
}
_AVERAGE_VELOCITY = {"meanflow": meanflow.DEFAULTS, "splitmeanflow": splitmeanflow.DISTILLATION}


def _digit_tiers(objective, train=None):
    """The smoke/cpu/gpu configs of a digit generator: one network, data and evaluation for every objective
    (MeanFlow's network takes a second time input), with ``train`` overriding each tier's training settings."""
    base = {"objective": objective, "schedule": "linear"} if objective == "ddpm" else {"objective": objective}
    if objective in _AVERAGE_VELOCITY:  # written out in the config (and so in the manifest)
        base[objective] = dict(_AVERAGE_VELOCITY[objective])
    samplers = _DIGIT_SAMPLERS[objective]
    times = {"time_inputs": 2, "time_scale": 1.0} if objective in _AVERAGE_VELOCITY else {}
    tiers = {
        "smoke": {**base, "model": {"in_channels": 1, "channels": [8, 16], "blocks": 1, "time_dim": 16, **times},
                  "data": {"source": "digits", "batch": 8},
                  "eval": {"samples": 16, "samplers": [[samplers[-1][0], 2]]},
                  "train": {"steps": 4, "lr": 1e-3, "checkpoint_every": 2, "ema_decay": 0.9}},
        "cpu": {**base, "model": {"in_channels": 1, "channels": [32, 64, 64], "blocks": 1, **times},
                "data": {"source": "digits", "batch": 64}, "eval": {"samples": 500, "samplers": samplers},
                "train": {"steps": 5000, "lr": 1e-3, "warmup_steps": 200, "checkpoint_every": 250,
                          "ema_decay": 0.999}},
        "gpu": {**base, "model": {"in_channels": 1, "channels": [64, 128, 128], "blocks": 2, **times},
                "data": {"source": "digits", "batch": 256}, "eval": {"samples": 1000, "samplers": samplers},
                "train": {"steps": 20000, "lr": 5e-4, "warmup_steps": 500, "checkpoint_every": 1000,
                          "ema_decay": 0.9995}},
    }
    for tier, settings in (train or {}).items():
        tiers[tier]["train"].update(settings)
    return tiers


DDPM_DIGITS = Recipe(
    name="ddpm-digits",
    description="DDPM (ε-prediction, linear schedule, T = 1000) on 28×28 handwritten digits",
    net="unet", make_task=_generative_task, evaluate=evaluate_generator,
    tiers=_digit_tiers("ddpm"),
)

FM_DIGITS = Recipe(
    name="fm-digits",
    description="flow matching / rectified flow (noise at t = 0, data at t = 1) on 28×28 handwritten digits",
    net="unet", make_task=_generative_task, evaluate=evaluate_generator,
    tiers=_digit_tiers("fm"),
)

# MeanFlow (chapter 7) on the same digits with the same network as fm-digits, plus the jump's time input and
# a slow time embedding (time_scale 1: with DDPM's ×1000 the JVP's ∂u/∂t grows without bound; see
# flowmaps.meanflow), for half the steps: a MeanFlow step costs about two flow-matching steps.
MEANFLOW_DIGITS = Recipe(
    name="meanflow-digits",
    description="MeanFlow (average velocity u(x_t, t, s), one-step generation) on 28×28 digits, from scratch",
    net="unet", make_task=_generative_task, evaluate=evaluate_generator,
    tiers=_digit_tiers("meanflow", {"cpu": {"steps": 2500}, "gpu": {"steps": 10000}}),
)

# Flow matching for MeanFlow's number of steps: chapter 7 compares the two at equal steps (this one) and at equal
# training time (fm-digits, whose steps cost about half of MeanFlow's).
FM_DIGITS_HALF = Recipe(
    name="fm-digits-half",
    description="flow matching on 28×28 digits for half of fm-digits' steps (MeanFlow's step count)",
    net="unet", make_task=_generative_task, evaluate=evaluate_generator,
    tiers=_digit_tiers("fm", {"cpu": {"steps": 2500}, "gpu": {"steps": 10000}}),
)

def _splitmeanflow_task(config, teacher):
    return generative_batches(config), splitmeanflow_distillation_loss(config, teacher)


# SplitMeanFlow (chapter 8) as the paper uses it, distillation: MeanFlow's network and data, started from
# fm-digits' weights, with the interval-splitting target (flowmaps.splitmeanflow) in place of the JVP's and
# fm-digits' velocity on the boundary half of the samples (the re-implementations' settings,
# splitmeanflow.DISTILLATION); a fine-tuning learning rate, as MFSR's student, for 1,000 steps at the cpu tier
# (40 % of MeanFlow's 2,500 from scratch; about an hour on a shared 2-core machine).
SPLITMEANFLOW_DIGITS = Recipe(
    name="splitmeanflow-digits",
    description="SplitMeanFlow (average velocity from interval splitting, no JVP) on 28×28 digits, distilled "
                "from fm-digits (its weights to start, its velocity on the boundary)",
    net="unet", make_task=_splitmeanflow_task, evaluate=evaluate_generator, teacher="fm-digits",
    start=meanflow.start_from_velocity,
    tiers=_digit_tiers("splitmeanflow", {"cpu": {"steps": 1000, "lr": 2e-4, "warmup_steps": 100},
                                         "gpu": {"steps": 10000, "lr": 1e-4}}),
)

DDPM_PHOTOS = Recipe(
    name="ddpm-photos",
    description="fully convolutional DDPM on 32×32 colour patches of natural photographs (chapter 5's prior)",
    net="unet", make_task=_generative_task, evaluate=evaluate_generator,
    tiers={
        "smoke": {"objective": "ddpm", "schedule": "linear",
                  "model": {"in_channels": 3, "channels": [8, 16], "blocks": 1, "time_dim": 16},
                  "data": {"source": "package-photos", "batch": 4, "patch": 16},
                  "eval": {"size": 32, "sigmas": [25], "names": ["camera", "cat"]},
                  "train": {"steps": 4, "lr": 1e-3, "checkpoint_every": 2, "ema_decay": 0.9}},
        "cpu": {"objective": "ddpm", "schedule": "linear",
                "model": {"in_channels": 3, "channels": [32, 64, 128], "blocks": 1},
                "data": {**CORPUS_DATA, "batch": 24, "patch": 32},
                "eval": {"size": 256, "sigmas": [15, 25, 50]},
                "train": {"steps": 2500, "lr": 5e-4, "warmup_steps": 100, "checkpoint_every": 100,
                          "ema_decay": 0.998}},
        "gpu": {"objective": "ddpm", "schedule": "linear",
                "model": {"in_channels": 3, "channels": [64, 128, 256], "blocks": 2},
                "data": {**CORPUS_DATA, "batch": 64, "patch": 64},
                "eval": {"size": 256, "sigmas": [15, 25, 50]},
                "train": {"steps": 40000, "lr": 2e-4, "warmup_steps": 1000, "checkpoint_every": 2000,
                          "ema_decay": 0.9995}},
    },
)

# --------------------------------------------------------------------------------------------------
# OFTSR (chapter 6): the noise-augmented conditional flow teacher for ×4 SR and its one-step student, on
# digits (32×32 from 8×8) and photographs, with chapter 5's sr4 degradation (bicubic kernel, decimation,
# σ_n = 2.55/255). σ_p = 0.2: OFTSR's DIV2K/ImageNet setting. The distillation settings are OFTSR's released
# configuration values (flowmaps.oftsr.DISTILL_DEFAULTS), with slide 19's Euler teacher step.

SR4_DATA = {"operator": "bicubic", "scale": 4, "sigma_n": 2.55 / 255}
DISTILL = dict(oftsr.DISTILL_DEFAULTS)  # written out in each student's config (and so in its manifest)


def _oftsr_teacher_task(config):
    return sr_pair_batches(config), oftsr_teacher_loss(config)


def _oftsr_student_task(config, teacher):
    return sr_pair_batches(config), oftsr_distillation_loss(config, teacher)


_SMOKE_TRAIN = {"steps": 4, "checkpoint_every": 2, "ema_decay": 0.9}
# per tier, what a teacher and its student share: the network, the data and the evaluation
_OFTSR_SETUPS = {
    "digits": {
        "model": {"smoke": {"channels": [8, 16], "blocks": 1, "time_dim": 16},
                  "cpu": {"channels": [32, 64, 64], "blocks": 1},
                  "gpu": {"channels": [64, 128, 128], "blocks": 2}},
        "data": {"smoke": {"source": "digits", "batch": 8}, "cpu": {"source": "digits", "batch": 32},
                 "gpu": {"source": "digits", "batch": 256}},
        "eval": {"smoke": {"digits": 8, "nfe": [1, 2], "t_in": [0.0, 1.0]},
                 "cpu": {"digits": 256, "nfe": [1, 2, 4, 8, 16], "t_in": [0.0, 0.25, 0.5, 0.75, 1.0]},
                 "gpu": {"digits": 1000, "nfe": [1, 2, 4, 8, 16, 32], "t_in": [0.0, 0.25, 0.5, 0.75, 1.0]}},
    },
    "photos": {
        "model": {"smoke": {"channels": [8, 16], "blocks": 1, "time_dim": 16},
                  "cpu": {"channels": [32, 64, 128], "blocks": 1},
                  "gpu": {"channels": [64, 128, 256], "blocks": 2}},
        "data": {"smoke": {"source": "package-photos", "batch": 4, "patch": 32},
                 "cpu": {**CORPUS_DATA, "batch": 24, "patch": 32},
                 "gpu": {**CORPUS_DATA, "batch": 64, "patch": 64}},
        "eval": {"smoke": {"size": 32, "names": ["camera", "cat"], "nfe": [1, 2], "t_in": [0.0, 1.0]},
                 "cpu": {"size": 128, "nfe": [1, 2, 4, 8, 16], "t_in": [0.0, 0.25, 0.5, 0.75, 1.0]},
                 "gpu": {"size": 256, "nfe": [1, 2, 4, 8, 16, 32], "t_in": [0.0, 0.25, 0.5, 0.75, 1.0]}},
    },
}


def _oftsr_tiers(kind: str, train: dict, student: bool = False) -> dict:
    """The smoke/cpu/gpu configs of an OFTSR teacher or student on ``kind`` (digits or photos): the shared
    network (one channel per image channel, the condition concatenated), data and evaluation, ``train[tier]``,
    and for a student the distillation settings."""
    setup, channels = _OFTSR_SETUPS[kind], 1 if kind == "digits" else 3
    return {tier: {"sigma_p": 0.2, **({"distill": DISTILL} if student else {}),
                   "model": {"in_channels": channels, "cond_channels": channels, **setup["model"][tier]},
                   "data": {**setup["data"][tier], **SR4_DATA}, "eval": dict(setup["eval"][tier]),
                   "train": train[tier]}
            for tier in TIERS}


OFTSR_TEACHER_DIGITS = Recipe(
    name="oftsr-teacher-digits",
    description="OFTSR teacher: conditional rectified flow from noise-augmented bicubic-upsampled 8×8 digits "
                "(σ_p = 0.2) to 32×32",
    net="unet", make_task=_oftsr_teacher_task, evaluate=evaluate_oftsr,
    tiers=_oftsr_tiers("digits", {
        "smoke": {**_SMOKE_TRAIN, "lr": 1e-3},
        "cpu": {"steps": 2500, "lr": 1e-3, "warmup_steps": 200, "checkpoint_every": 250, "ema_decay": 0.999},
        "gpu": {"steps": 20000, "lr": 5e-4, "warmup_steps": 500, "checkpoint_every": 1000, "ema_decay": 0.9995}}),
)

OFTSR_STUDENT_DIGITS = Recipe(
    name="oftsr-student-digits",
    description="OFTSR one-step student of oftsr-teacher-digits (trajectory-aligned distillation, slide 19)",
    net="unet", make_task=_oftsr_student_task, evaluate=evaluate_oftsr, teacher="oftsr-teacher-digits",
    tiers=_oftsr_tiers("digits", {
        "smoke": {**_SMOKE_TRAIN, "lr": 1e-4},
        "cpu": {"steps": 1000, "lr": 1e-4, "warmup_steps": 50, "checkpoint_every": 50, "ema_decay": 0.998},
        "gpu": {"steps": 10000, "lr": 5e-5, "warmup_steps": 500, "checkpoint_every": 1000, "ema_decay": 0.9995}},
        student=True),
)

OFTSR_TEACHER_PHOTOS = Recipe(
    name="oftsr-teacher-photos",
    description="OFTSR teacher: fully convolutional conditional rectified flow for ×4 SR of photographs "
                "(σ_p = 0.2), on corpus patches",
    net="unet", make_task=_oftsr_teacher_task, evaluate=evaluate_oftsr,
    tiers=_oftsr_tiers("photos", {
        "smoke": {**_SMOKE_TRAIN, "lr": 1e-3},
        "cpu": {"steps": 2000, "lr": 5e-4, "warmup_steps": 100, "checkpoint_every": 100, "ema_decay": 0.998},
        "gpu": {"steps": 40000, "lr": 2e-4, "warmup_steps": 1000, "checkpoint_every": 2000, "ema_decay": 0.9995}}),
)

OFTSR_STUDENT_PHOTOS = Recipe(
    name="oftsr-student-photos",
    description="OFTSR one-step student of oftsr-teacher-photos (trajectory-aligned distillation, slide 19)",
    net="unet", make_task=_oftsr_student_task, evaluate=evaluate_oftsr, teacher="oftsr-teacher-photos",
    tiers=_oftsr_tiers("photos", {
        "smoke": {**_SMOKE_TRAIN, "lr": 1e-4},
        "cpu": {"steps": 700, "lr": 1e-4, "warmup_steps": 50, "checkpoint_every": 50, "ema_decay": 0.995},
        "gpu": {"steps": 10000, "lr": 5e-5, "warmup_steps": 500, "checkpoint_every": 1000, "ema_decay": 0.9995}},
        student=True),
)

# --------------------------------------------------------------------------------------------------
# MFSR (chapter 7): MeanFlow distillation for real-world ×4 SR. The teacher is chapter 6's conditional flow
# (OFTSR's source and loss, σ_p = 0.2) trained on the real-world pipeline (operators.realworld) with a
# quarter of clean bicubic ×4 (σ_n = 2.55/255), both on the centre-aligned grid of the pipeline, PIL and
# every SR benchmark (operators.CentredBicubicSR), the condition dropped for 10 % of the samples (for guidance), and the
# slow time embedding that the MeanFlow student needs to start from it (u = v at step 0).

def _mfsr_teacher_task(config):
    return realworld_pair_batches(config), oftsr_teacher_loss(config)


def _mfsr_tiers(train: dict) -> dict:
    tiers = _oftsr_tiers("photos", train)
    for tier, config in tiers.items():
        config["model"]["time_scale"] = 1.0
        config["cond_dropout"] = 0.1
        config["data"].update({"operator": "bicubic-centred", "bicubic_fraction": 0.25})
        config["eval"]["realworld"] = True
        if tier == "cpu":  # NIQE needs 192 px (realism.NIQE_MIN_SIZE)
            config["eval"]["size"] = 192
        if tier != "smoke":
            config["data"].update({"batch": 8 if tier == "cpu" else 32, "patch": 64 if tier == "cpu" else 128})
    return tiers


MFSR_TEACHER_PHOTOS = Recipe(
    name="mfsr-teacher-photos",
    description="MFSR's teacher: chapter 6's conditional flow for ×4 SR trained on real-world degradations "
                "(and a quarter bicubic), with condition dropout for guidance",
    net="unet", make_task=_mfsr_teacher_task, evaluate=evaluate_oftsr,
    tiers=_mfsr_tiers({
        "smoke": {**_SMOKE_TRAIN, "lr": 1e-3},
        "cpu": {"steps": 2000, "lr": 5e-4, "warmup_steps": 100, "checkpoint_every": 100, "ema_decay": 0.998},
        "gpu": {"steps": 40000, "lr": 2e-4, "warmup_steps": 1000, "checkpoint_every": 2000, "ema_decay": 0.9995}}),
)


def _mfsr_student_task(config, teacher):
    return realworld_pair_batches(config), mfsr_distillation_loss(config, teacher)


def _mfsr_student_tiers(train: dict, guidance: float) -> dict:
    """The teacher's tiers, with the average-velocity network (a second time input), MeanFlow's settings, the
    teacher's guidance and the evaluation over 1, 2 and 4 jumps."""
    tiers = _mfsr_tiers(train)
    for config in tiers.values():
        config.pop("cond_dropout")
        config["model"]["time_inputs"] = 2
        config["meanflow"], config["guidance"] = dict(meanflow.DEFAULTS), guidance
        config["eval"] = {**{k: v for k, v in config["eval"].items() if k != "nfe"}, "steps": [1, 2, 4]}
    return tiers


MFSR_STUDENT_PHOTOS = Recipe(
    name="mfsr-student-photos",
    description="MFSR: MeanFlow distillation of mfsr-teacher-photos (its guided velocity), one-step real-world "
                "×4 SR with optional refinement steps",
    net="unet", make_task=_mfsr_student_task, evaluate=evaluate_oftsr, teacher="mfsr-teacher-photos",
    start=meanflow.start_from_velocity,
    tiers=_mfsr_student_tiers({
        "smoke": {**_SMOKE_TRAIN, "lr": 1e-4},
        "cpu": {"steps": 800, "lr": 1e-4, "warmup_steps": 50, "checkpoint_every": 50, "ema_decay": 0.995},
        "gpu": {"steps": 10000, "lr": 5e-5, "warmup_steps": 500, "checkpoint_every": 1000, "ema_decay": 0.9995}},
        guidance=1.0),
)


def _smfsr_task(config, init):
    """SMFSR's student starts from the weights of ``init`` (the MFSR teacher) but its loss has no teacher."""
    return realworld_pair_batches(config), smfsr_loss(config)


def _smfsr_tiers(train: dict) -> dict:
    """MFSR's student tiers with a pure-noise source (σ_p = 1) and SplitMeanFlow's settings in place of
    MeanFlow's; the same evaluation (1, 2 and 4 jumps)."""
    tiers = _mfsr_student_tiers(train, guidance=1.0)
    for config in tiers.values():
        config.pop("meanflow"), config.pop("guidance")
        config["sigma_p"], config["splitmeanflow"] = 1.0, dict(splitmeanflow.DEFAULTS)
    return tiers


# SMFSR (chapter 8): noise-started one-step real-world ×4 SR, trained with SplitMeanFlow on the path from pure
# noise to the photograph, conditioned on the upsampled measurement; started from the MFSR teacher's weights.
SMFSR_STUDENT_PHOTOS = Recipe(
    name="smfsr-student-photos",
    description="SMFSR: noise-started one-step real-world ×4 SR, SplitMeanFlow conditioned on the upsampled "
                "measurement (started from mfsr-teacher-photos' weights)",
    net="unet", make_task=_smfsr_task, evaluate=evaluate_oftsr, teacher="mfsr-teacher-photos",
    start=meanflow.start_from_velocity,
    tiers=_smfsr_tiers({
        "smoke": {**_SMOKE_TRAIN, "lr": 1e-4},
        # 1,500 steps (about 50 minutes on a shared 2-core machine): the cpu tier's hour, with the GAN stage after
        "cpu": {"steps": 1500, "lr": 2e-4, "warmup_steps": 50, "checkpoint_every": 100, "ema_decay": 0.995},
        "gpu": {"steps": 20000, "lr": 1e-4, "warmup_steps": 500, "checkpoint_every": 1000, "ema_decay": 0.9995}}),
)


def _smfsr_gan_task(config, anchor):
    return realworld_pair_batches(config), adversarial.refinement_loss(config, anchor)


def _smfsr_gan_tiers(train: dict) -> dict:
    """SMFSR's tiers with the generator–critic pair (the student's network and a patch discriminator), the
    stated loss weights, and one jump in the evaluation (the refinement trains the one-step output only)."""
    tiers = _smfsr_tiers(train)
    for tier, config in tiers.items():
        widths = [16, 32] if tier == "smoke" else [32, 64, 128] if tier == "cpu" else [64, 128, 256]
        config["model"] = {"generator": config["model"], "discriminator": {"in_channels": 3, "channels": widths}}
        config["adversarial"] = dict(adversarial.DEFAULTS)
        config["eval"]["steps"] = [1]
    return tiers


# SMFSR's second stage (chapter 8): adversarial refinement of the one-step generator, anchored to the
# photograph and to its own pre-refinement output (training.adversarial).
SMFSR_GAN_PHOTOS = Recipe(
    name="smfsr-gan-photos",
    description="SMFSR after adversarial refinement: the one-step generator of smfsr-student-photos fine-tuned "
                "against a patch discriminator, with L1 anchors to the photograph and to its own output",
    net="unet-gan", make_task=_smfsr_gan_task, evaluate=evaluate_oftsr, teacher="smfsr-student-photos",
    start=adversarial.start_generator,
    tiers=_smfsr_gan_tiers({
        "smoke": {**_SMOKE_TRAIN, "lr": 1e-4},
        "cpu": {"steps": 300, "lr": 5e-5, "warmup_steps": 20, "checkpoint_every": 50, "ema_decay": 0.99},
        "gpu": {"steps": 5000, "lr": 2e-5, "warmup_steps": 200, "checkpoint_every": 500, "ema_decay": 0.999}}),
)

# --------------------------------------------------------------------------------------------------
# reverse convolution (chapter 9): three networks, each in three variants of equal size that differ only in
# the spatial layer (nets.converse_nets), trained alike on the photo corpus for the book's tasks: Gaussian
# denoising at σ = 25/255, sr4 (bicubic ×4, σ_n = 2.55/255) and non-blind deblurring (random Gaussian and
# camera-shake kernels, σ_n = 7.65/255, as deblur-gaussian and deblur-motion).

def _restoration_task(config):
    batches = {"denoise": generative_batches, "sr": sr_pair_batches, "deblur": blur_batches}[config["task"]]
    return batches(config), restoration_loss(config)


_CONVERSE_NETS = {"denoise": "converse-denoiser", "sr": "converse-sr", "deblur": "converse-deblur"}
_CONVERSE_MODELS = {
    "denoise": {"smoke": {"channels": 8, "blocks": 1},
                "cpu": {"channels": 32, "blocks": 4, "kernel_size": 5},
                "gpu": {"channels": 64, "blocks": 12, "kernel_size": 7}},
    "sr": {"smoke": {"channels": 8, "blocks": 1}, "cpu": {"channels": 32, "blocks": 2, "kernel_size": 5},
           "gpu": {"channels": 64, "blocks": 8, "kernel_size": 5}},
    "deblur": {"smoke": {"channels": 8, "blocks": 1, "stages": 2},
               "cpu": {"channels": 32, "blocks": 2, "stages": 3},
               "gpu": {"channels": 64, "blocks": 4, "stages": 5}},
}
_CONVERSE_DATA = {"denoise": {"sigma": 25 / 255}, "sr": {**SR4_DATA}, "deblur": {"sigma_n": 7.65 / 255}}
_CONVERSE_PATCH = {"denoise": 48, "sr": 64, "deblur": 48}  # sr: 64-px targets of 16-px inputs


def _converse_recipe(task: str, variant: str) -> Recipe:
    d = _CONVERSE_DATA[task]
    smoke_data = {"source": "package-photos", "batch": 2, "patch": 32, **d}
    tiers = {
        "smoke": {"task": task, "model": {**_CONVERSE_MODELS[task]["smoke"], "variant": variant},
                  "data": smoke_data, "eval": {"size": 32, "names": ["camera", "cat"]},
                  "train": {**_SMOKE_TRAIN, "lr": 1e-3}},
        "cpu": {"task": task, "model": {**_CONVERSE_MODELS[task]["cpu"], "variant": variant},
                "data": {**CORPUS_DATA, "batch": 8, "patch": _CONVERSE_PATCH[task], **d}, "eval": {"size": 128},
                "train": {"steps": 1500, "lr": 1e-3, "warmup_steps": 100, "checkpoint_every": 100,
                          "ema_decay": 0.998}},
        "gpu": {"task": task, "model": {**_CONVERSE_MODELS[task]["gpu"], "variant": variant},
                "data": {**CORPUS_DATA, "batch": 32, "patch": 2 * _CONVERSE_PATCH[task], **d},
                "eval": {"size": 256},
                "train": {"steps": 40000, "lr": 5e-4, "warmup_steps": 1000, "checkpoint_every": 2000,
                          "ema_decay": 0.999}},
    }
    return Recipe(name=f"converse-{task}-{variant}",
                  description=f"chapter 9's {task} network with the {variant} spatial layer",
                  net=_CONVERSE_NETS[task], make_task=_restoration_task, evaluate=evaluate_restoration,
                  tiers=tiers)


CONVERSE_RECIPES = [_converse_recipe(task, variant) for task in _CONVERSE_NETS
                    for variant in ("converse", "conv", "convt")]

RECIPES = {r.name: r for r in (DENOISER, CLASSIFIER, DDPM_DIGITS, FM_DIGITS, MEANFLOW_DIGITS, FM_DIGITS_HALF,
                               SPLITMEANFLOW_DIGITS, DDPM_PHOTOS,
                               OFTSR_TEACHER_DIGITS, OFTSR_STUDENT_DIGITS, OFTSR_TEACHER_PHOTOS,
                               OFTSR_STUDENT_PHOTOS, MFSR_TEACHER_PHOTOS, MFSR_STUDENT_PHOTOS,
                               SMFSR_STUDENT_PHOTOS, SMFSR_GAN_PHOTOS, *CONVERSE_RECIPES)}


def get_recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; expected one of {sorted(RECIPES)}")
    return RECIPES[name]
