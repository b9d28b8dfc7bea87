"""The one training loop every recipe uses (chapters 2–8 and ``notebooks/``).

AdamW, an exponential moving average (EMA) of the weights, gradient clipping, optional bf16 autocast
on GPU, a progress bar, and periodic checkpoints with *exact* resume: the batch and noise of step ``k``
come from a generator seeded by ``(seed, k)``, and torch's global generator (dropout, random layers) is
reseeded from ``(seed, k)`` too, so a run interrupted at any point and resumed from its last checkpoint
ends with the same weights as an uninterrupted run.
"""

import copy
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

CHECKPOINT_NAME = "checkpoint.pt"


@dataclass
class TrainConfig:
    steps: int
    lr: float = 2e-4
    weight_decay: float = 0.0
    warmup_steps: int = 0
    cosine_decay: bool = True  # decay the learning rate to 1 % of ``lr`` along a half cosine
    ema_decay: float = 0.999
    grad_clip: float | None = 1.0
    checkpoint_every: int = 500
    seed: int = 0
    bf16: bool = False  # autocast on CUDA only
    compile: bool = False  # CUDA only: torch.compile(mode="reduce-overhead") (CUDA graphs) for the forward passes

    def __post_init__(self):
        if not isinstance(self.steps, int) or self.steps < 1:
            raise ValueError(f"steps must be a positive integer, got {self.steps!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if not self.weight_decay >= 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if not isinstance(self.warmup_steps, int) or not 0 <= self.warmup_steps < self.steps:
            raise ValueError(f"warmup_steps must be an integer in [0, steps), got {self.warmup_steps!r}")
        if not 0 <= self.ema_decay < 1:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(f"grad_clip must be None or positive, got {self.grad_clip}")
        if not isinstance(self.checkpoint_every, int) or self.checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be an integer >= 1, got {self.checkpoint_every!r}")


@dataclass
class TrainResult:
    model: torch.nn.Module
    ema: torch.nn.Module
    history: list = field(default_factory=list)  # (step, loss) pairs
    seconds: float = 0.0
    resumed_from: int = 0


def step_generator(seed: int, step: int, device="cpu") -> torch.Generator:
    """The generator for training step ``step``: independent of how the run was interrupted."""
    return torch.Generator(device=device).manual_seed(seed * 1_000_003 + step)


def learning_rate(config: TrainConfig, step: int) -> float:
    lr = config.lr
    if config.warmup_steps and step < config.warmup_steps:
        return lr * (step + 1) / config.warmup_steps
    if config.cosine_decay:
        progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
        return lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))
    return lr


def train_step(model, ema, optimizer, loss_fn, batch_fn, config: TrainConfig, step: int, use_bf16: bool,
               forward_model=None):
    """One optimisation step ``step`` (batch, loss, clipped AdamW update, EMA update); returns the loss.

    ``forward_model`` (default ``model``) is what the loss calls, e.g. a compiled wrapper sharing the weights.

    Everything random in it — the batch, the loss's noise, dropout — is a function of ``(config.seed, step)``.
    """
    generator = step_generator(config.seed, step)
    torch.manual_seed(config.seed * 1_000_003 + step)  # dropout and other users of the global generator
    batch = batch_fn(step, generator)
    for group in optimizer.param_groups:
        group["lr"] = learning_rate(config, step)
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_bf16):
        loss = loss_fn(forward_model or model, batch, generator)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if config.grad_clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
    optimizer.step()
    with torch.no_grad():
        decay = min(config.ema_decay, (1 + step) / (10 + step))  # short warm-up of the average
        for p_ema, p in zip(ema.parameters(), model.parameters()):
            p_ema.lerp_(p, 1 - decay)
        for b_ema, b in zip(ema.buffers(), model.buffers()):
            b_ema.copy_(b)
    return loss.detach()


def _progress_bar(total, initial, enabled):
    if not enabled:
        return None
    if os.environ.get("GENIR_BOOK_BUILD"):  # executed headless: plain text, rarely refreshed
        from tqdm import tqdm

        return tqdm(total=total, initial=initial, file=sys.stdout, mininterval=10, ascii=True)
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial)


def _save_atomic(obj, path: Path):
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def train(model: torch.nn.Module, loss_fn, batch_fn, config: TrainConfig, run_dir=None, device="cpu",
          progress: bool = True, log_every: int = 10) -> TrainResult:
    """Train ``model`` for ``config.steps`` steps; resume from ``run_dir/checkpoint.pt`` if present.

    ``batch_fn(step, generator) -> batch`` draws the training batch of a step;
    ``loss_fn(model, batch, generator) -> scalar loss`` (it may draw its own noise from ``generator``).
    Checkpoints (model, EMA, optimizer, history) go to ``run_dir`` every ``config.checkpoint_every``
    steps and at the end (written atomically), so an interruption — Ctrl-C, a Colab disconnect —
    loses at most the steps since the last one; calling ``train`` again with the same arguments resumes.
    """
    if not isinstance(log_every, int) or log_every < 1:
        raise ValueError(f"log_every must be an integer >= 1, got {log_every!r}")
    model = model.to(device)
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    history, start, elapsed = [], 0, 0.0
    ckpt_path = Path(run_dir) / CHECKPOINT_NAME if run_dir is not None else None
    if ckpt_path is not None and ckpt_path.exists():
        state = torch.load(ckpt_path, map_location=device, weights_only=False)
        changed = {k: (v, getattr(config, k)) for k, v in state["config"].items()
                   if k != "checkpoint_every" and v != getattr(config, k)}
        if changed:
            detail = ", ".join(f"{k}: {old} -> {new}" for k, (old, new) in changed.items())
            raise ValueError(f"the checkpoint in {run_dir} was made with another configuration ({detail}); "
                             "use another run_dir for a different run")
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
        history, start, elapsed = state["history"], state["step"], state.get("seconds", 0.0)

    def save(step):
        if ckpt_path is None:
            return
        ckpt_path.parent.mkdir(parents=True, exist_ok=True)
        _save_atomic({"model": model.state_dict(), "ema": ema.state_dict(), "optimizer": optimizer.state_dict(),
                      "history": history, "step": step, "config": asdict(config),
                      "seconds": elapsed + time.perf_counter() - t0}, ckpt_path)

    use_bf16 = config.bf16 and torch.device(device).type == "cuda"
    # small models are launch-bound on a GPU: CUDA graphs gave 3.8x (reference measurements); weights are shared
    forward_model = (torch.compile(model, mode="reduce-overhead")
                     if config.compile and torch.device(device).type == "cuda" else model)
    bar = _progress_bar(config.steps, start, progress and start < config.steps)
    t0 = time.perf_counter()
    model.train()
    # the per-step reseeding in train_step must leave the caller's global generator alone
    with torch.random.fork_rng():
        try:
            for step in range(start, config.steps):
                loss = train_step(model, ema, optimizer, loss_fn, batch_fn, config, step, use_bf16, forward_model)
                if step % log_every == 0 or step == config.steps - 1:
                    history.append((step, loss.item()))
                    if bar is not None:
                        bar.set_postfix(loss=f"{loss.item():.4g}", refresh=False)
                if bar is not None:
                    bar.update(1)
                if (step + 1) % config.checkpoint_every == 0 and step + 1 < config.steps:
                    save(step + 1)
            save(config.steps)
        finally:
            if bar is not None:
                bar.close()
    model.eval()
    return TrainResult(model, ema, history, elapsed + time.perf_counter() - t0, start)
