"""What one training step costs (chapters 7–8: MeanFlow's JVP against flow matching's and SplitMeanFlow's
forward passes): its time and the memory it keeps for the backward pass."""

import time

import torch


def _saved_bytes():
    """A ``saved_tensors_hooks`` pair that adds up the distinct storages autograd keeps for the backward pass."""
    seen, total = set(), [0]

    def pack(tensor):
        try:
            storage = tensor.untyped_storage()
            key = (storage.data_ptr(), storage.nbytes())
        except (NotImplementedError, RuntimeError):  # a tensor without a plain storage (e.g. a functorch wrapper)
            key = (id(tensor), tensor.numel() * tensor.element_size())
        if key not in seen:
            seen.add(key)
            total[0] += key[1]
        return tensor

    return torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor), total


def step_cost(loss_fn, model: torch.nn.Module, batch, repeats: int = 3, seed: int = 0) -> dict:
    """The cost of one step ``loss_fn(model, batch, generator).backward()``: ``seconds`` (the fastest of
    ``repeats``, after one warm-up), ``saved_mib`` (the tensors autograd keeps between the forward and the
    backward pass, the activation memory that grows with the batch; counted on any device) and, on a GPU,
    ``peak_mib`` (``torch.cuda.max_memory_allocated`` during the step). Gradients are zeroed afterwards."""
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer, got {repeats!r}")
    device = next(model.parameters()).device
    cuda = device.type == "cuda"
    times, saved = [], 0
    for k in range(repeats + 1):
        generator = torch.Generator().manual_seed(seed + k)
        if cuda:
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
        start = time.perf_counter()
        hooks, total = _saved_bytes()
        with hooks:
            loss = loss_fn(model, batch, generator)
        loss.backward()
        if cuda:
            torch.cuda.synchronize(device)
        if k:  # the first is a warm-up
            times.append(time.perf_counter() - start)
        saved = max(saved, total[0])
        model.zero_grad(set_to_none=True)
    cost = {"seconds": min(times), "saved_mib": saved / 2**20}
    if cuda:
        cost["peak_mib"] = torch.cuda.max_memory_allocated(device) / 2**20
    return cost


__all__ = ["step_cost"]
