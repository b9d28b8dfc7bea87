"""The one training loop every recipe uses (chapters 2–8 and ``notebooks/``).

AdamW, an exponential moving average (EMA) of the weights, gradient clipping, optional bf16 autocast
(GPU, or a CPU with bf16 matrix units), optional ``torch.compile``, a progress bar, and periodic checkpoints
with *exact* resume: the batch and noise of step ``k`` come from a generator seeded by ``(seed, k)``, and
torch's global generator (dropout, random layers) is reseeded from ``(seed, k)`` too, so a run interrupted
at any point and resumed from its last checkpoint ends with the same weights as an uninterrupted run.

The same loop runs data-parallel under ``torchrun`` (``torch.distributed``, DDP): see ``train``.
"""

import atexit
import contextlib
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
    bf16: bool = False  # bf16 autocast where the device computes it fast (see bf16_supported), else fp32
    compile: bool = False  # torch.compile the forward passes (on CUDA with mode="reduce-overhead": CUDA graphs)
    micro_batches: int | None = None  # chunks of the global batch, each with its own noise; None: one per process

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
        for name in ("bf16", "compile", "cosine_decay"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.micro_batches is not None and (not isinstance(self.micro_batches, int) or self.micro_batches < 1):
            raise ValueError(f"micro_batches must be None or an integer >= 1, got {self.micro_batches!r}")


@dataclass
class TrainResult:
    model: torch.nn.Module
    ema: torch.nn.Module
    history: list = field(default_factory=list)  # (step, loss) pairs
    seconds: float = 0.0
    resumed_from: int = 0
    settings: dict = field(default_factory=dict)  # used: precision, compiled, processes, micro_batches


def step_generator(seed: int, step: int, device="cpu") -> torch.Generator:
    """The generator for training step ``step``: independent of how the run was interrupted."""
    return torch.Generator(device=device).manual_seed(seed * 1_000_003 + step)


def _chunk_seed(seed: int, step: int, chunk: int) -> int:
    return ((seed * 1_000_003 + step) << 20) + 1 + chunk


def bf16_supported(device="cpu") -> bool:
    """Whether bf16 autocast pays on ``device``: a CUDA GPU with bf16, or a CPU with AMX tiles or AVX-512 BF16
    (bf16 matrix units; elsewhere oneDNN emulates bf16, slower than fp32)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported()
    return False


def distributed_setup(device="cpu"):
    """``(rank, world_size, device)`` of this process.

    Inside an initialised ``torch.distributed`` process group, or under ``torchrun`` (``WORLD_SIZE`` > 1,
    in which case the group is initialised here: nccl on CUDA, gloo on CPU), a CUDA ``device`` becomes
    ``cuda:LOCAL_RANK``; otherwise ``(0, 1, device)``.
    """
    import torch.distributed as dist

    in_torchrun = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if not dist.is_available() or not (dist.is_initialized() or in_torchrun):
        return 0, 1, device
    if torch.device(device).type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.device(device).type == "cuda" else "gloo")
        atexit.register(dist.destroy_process_group)
    return dist.get_rank(), dist.get_world_size(), device


def is_main_process() -> bool:
    """True outside ``torch.distributed`` and on rank 0: the process that logs, checkpoints and publishes."""
    import torch.distributed as dist

    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def _chunk(batch, index: int, count: int):
    """Chunk ``index`` of ``count`` equal contiguous chunks (dim 0) of a tensor or a tuple, list, dict of them."""
    if isinstance(batch, torch.Tensor):
        if batch.shape[0] % count:
            raise ValueError(f"the batch size {batch.shape[0]} is not divisible by micro_batches = {count}")
        size = batch.shape[0] // count
        return batch[index * size:(index + 1) * size]
    if isinstance(batch, (tuple, list)):
        return type(batch)(_chunk(b, index, count) for b in batch)
    if isinstance(batch, dict):
        return {k: _chunk(v, index, count) for k, v in batch.items()}
    raise TypeError(f"to be split into micro-batches, batch_fn must return a tensor or a tuple, list or dict of "
                    f"tensors, got {type(batch).__name__}")


def learning_rate(config: TrainConfig, step: int) -> float:
    lr = config.lr
    if config.warmup_steps and step < config.warmup_steps:
        return lr * (step + 1) / config.warmup_steps
    if config.cosine_decay:
        progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
        return lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))
    return lr


def train_step(model, ema, optimizer, loss_fn, batch_fn, config: TrainConfig, step: int, autocast=None,
               forward_model=None, chunks=range(1), micro_batches: int = 1):
    """One optimisation step ``step`` (batch, loss, clipped AdamW update, EMA update); returns the mean loss
    of this process's chunks.

    ``autocast`` is the device type (``"cpu"``, ``"cuda"``) of a bf16 autocast, or None (fp32).
    ``forward_model`` (default ``model``) is what the loss calls: a compiled or DDP wrapper sharing the weights.
    The global batch of ``batch_fn`` is split into ``micro_batches`` equal chunks; this process computes the
    loss of chunks ``chunks`` (all of them in one process) and accumulates their gradients, each weighted by
    ``1 / len(chunks)`` (DDP averages over the processes: the gradient of the global mean loss).

    Everything random in it — the batch, the loss's noise, dropout — is a function of ``(config.seed, step)``
    (and of the chunk), not of which process computes a chunk.
    """
    generator = step_generator(config.seed, step)
    torch.manual_seed(config.seed * 1_000_003 + step)  # dropout and other users of the global generator
    batch = batch_fn(step, generator)
    for group in optimizer.param_groups:
        group["lr"] = learning_rate(config, step)
    forward_model = forward_model or model
    optimizer.zero_grad(set_to_none=True)
    total = 0.0
    for i, chunk in enumerate(chunks):
        if micro_batches > 1:  # each chunk its own noise and dropout, whichever process computes it
            generator = torch.Generator().manual_seed(_chunk_seed(config.seed, step, chunk))
            torch.manual_seed(_chunk_seed(config.seed, step, chunk))
        part = _chunk(batch, chunk, micro_batches) if micro_batches > 1 else batch
        last = i == len(chunks) - 1
        no_sync = getattr(forward_model, "no_sync", None)  # DDP: all-reduce the gradients once, after the last
        with (contextlib.nullcontext() if last or no_sync is None else no_sync()):
            with torch.autocast(autocast or "cpu", dtype=torch.bfloat16, enabled=autocast is not None):
                loss = loss_fn(forward_model, part, generator).float()
            (loss / len(chunks) if len(chunks) > 1 else loss).backward()
        total = total + loss.detach() / len(chunks)
    if config.grad_clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
    optimizer.step()
    with torch.no_grad():
        decay = min(config.ema_decay, (1 + step) / (10 + step))  # short warm-up of the average
        for p_ema, p in zip(ema.parameters(), model.parameters()):
            p_ema.lerp_(p, 1 - decay)
        for b_ema, b in zip(ema.buffers(), model.buffers()):
            b_ema.copy_(b)
    return total


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

    ``batch_fn(step, generator) -> batch`` draws the training batch of a step (a tensor, or a tuple, list or
    dict of tensors with the batch along dim 0); ``loss_fn(model, batch, generator) -> scalar mean loss``
    (it may draw its own noise from ``generator``).
    Checkpoints (model, EMA, optimizer, history) go to ``run_dir`` every ``config.checkpoint_every``
    steps and at the end (written atomically), so an interruption — Ctrl-C, a Colab disconnect —
    loses at most the steps since the last one; calling ``train`` again with the same arguments resumes.

    Data-parallel: launched by ``torchrun --nproc-per-node W`` (or in an initialised process group), the
    model is wrapped in ``DistributedDataParallel``. Every process draws the same global batch from the same
    seeded stream and computes ``micro_batches / W`` of its ``micro_batches`` chunks (default: one each);
    chunk ``c`` has its own generator and dropout seed from ``(seed, step, c)``, so the result depends on
    ``micro_batches`` but not on how many processes share them: W processes give the weights of one process
    with ``micro_batches=W`` (up to float rounding of the gradient sums). DDP averages the gradients, so
    clipping, AdamW and the EMA are identical everywhere; only rank 0 shows progress and writes checkpoints,
    and every rank resumes from the same file. With ``micro_batches`` = 1 (the one-process default) the
    loss sees the whole batch and the step generator, exactly as the shipped checkpoints were trained.
    """
    if not isinstance(log_every, int) or log_every < 1:
        raise ValueError(f"log_every must be an integer >= 1, got {log_every!r}")
    rank, world, device = distributed_setup(device)
    micro_batches = config.micro_batches or world
    if micro_batches % world:
        raise ValueError(f"micro_batches = {micro_batches} must be a multiple of the {world} processes")
    device_type = torch.device(device).type
    precision = "bf16" if config.bf16 and bf16_supported(device) else "fp32"
    if config.bf16 and precision == "fp32" and rank == 0:
        print(f"bf16 requested, but this {device_type} has no fast bf16: training in fp32", file=sys.stderr)
    settings = {"precision": precision, "compiled": config.compile, "processes": world,
                "micro_batches": micro_batches}
    model = model.to(device)
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    history, start, elapsed = [], 0, 0.0
    ckpt_path = Path(run_dir) / CHECKPOINT_NAME if run_dir is not None else None
    if ckpt_path is not None and ckpt_path.exists():
        state = torch.load(ckpt_path, map_location=device, weights_only=False)
        changed = {k: (v, getattr(config, k)) for k, v in state["config"].items()
                   if k != "checkpoint_every" and v != getattr(config, k)}
        changed.update({k: (v, settings[k]) for k, v in state.get("settings", {}).items()
                        if k in ("precision", "micro_batches") and v != settings[k]})
        if changed:
            detail = ", ".join(f"{k}: {old} -> {new}" for k, (old, new) in changed.items())
            raise ValueError(f"the checkpoint in {run_dir} was made with another configuration ({detail}); "
                             "use another run_dir for a different run")
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
        history, start, elapsed = state["history"], state["step"], state.get("seconds", 0.0)

    def save(step):
        if ckpt_path is None or rank != 0:
            return
        ckpt_path.parent.mkdir(parents=True, exist_ok=True)
        _save_atomic({"model": model.state_dict(), "ema": ema.state_dict(), "optimizer": optimizer.state_dict(),
                      "history": history, "step": step, "config": asdict(config), "settings": settings,
                      "seconds": elapsed + time.perf_counter() - t0}, ckpt_path)

    forward_model = model
    if world > 1:
        forward_model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device_type == "cuda" else None)
    if config.compile:  # weights are shared; on CUDA, small models are launch-bound: CUDA graphs gave 3.8x
        forward_model = torch.compile(forward_model, mode="reduce-overhead" if device_type == "cuda" else None)
    chunks = range(rank * micro_batches // world, (rank + 1) * micro_batches // world)
    autocast = device_type if precision == "bf16" else None
    bar = _progress_bar(config.steps, start, progress and rank == 0 and start < config.steps)
    t0 = time.perf_counter()
    model.train()
    # the per-step reseeding in train_step must leave the caller's global generator alone
    with torch.random.fork_rng():
        try:
            for step in range(start, config.steps):
                loss = train_step(model, ema, optimizer, loss_fn, batch_fn, config, step, autocast, forward_model,
                                  chunks, micro_batches)
                if step % log_every == 0 or step == config.steps - 1:
                    if world > 1:  # the log shows the global batch's loss
                        torch.distributed.all_reduce(loss)
                        loss = loss / world
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
    return TrainResult(model, ema, history, elapsed + time.perf_counter() - t0, start, settings)
