"""Input validation shared by the public functions: clear errors that name the argument."""

import torch


def check_image(x, name="x", channels=None, value_range=False):
    """Check that ``x`` is a float tensor of shape ``(N, C, H, W)``; return it.

    ``value_range=True`` also requires values in ``[0, 1]`` (clean images, not noisy measurements).
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (N, C, H, W), got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W), got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor (float32 in [0, 1]), got {x.dtype}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{name} must have {channels} channel(s), got {x.shape[1]} (shape {tuple(x.shape)})")
    if value_range and (x.min() < -1e-6 or x.max() > 1 + 1e-6):
        raise ValueError(
            f"{name} must have values in [0, 1], got range [{x.min().item():.3g}, {x.max().item():.3g}]"
            " (images in [0, 255] should be divided by 255)"
        )
    return x


def check_positive(value, name, allow_zero=False):
    """Check a positive number (or a tensor of them); return it."""
    tensor = torch.as_tensor(value)
    bad = (tensor < 0).any() if allow_zero else (tensor <= 0).any()
    if bad or not torch.isfinite(tensor).all():
        need = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be {need} and finite, got {value}")
    return value


def check_int(value, name, minimum=1):
    """Check an integer ``>= minimum`` (not a bool); return it."""
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        need = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {need}, got {value!r}")
    return value


def check_choice(value, name, choices):
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; expected one of {sorted(choices)}")
    return value


def check_same_shape(a, b, name_a, name_b):
    if a.shape != b.shape:
        raise ValueError(f"{name_a} and {name_b} must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")


def broadcast_image(z, like: torch.Tensor, name="z"):
    """``z`` (None, a number or a tensor broadcastable to ``like``) as a tensor of ``like``'s shape."""
    if z is None:
        return torch.zeros_like(like)
    if isinstance(z, (int, float)):
        return torch.full_like(like, float(z))
    if not isinstance(z, torch.Tensor):
        raise TypeError(f"{name} must be None, a number or a tensor, got {type(z).__name__}")
    try:
        return torch.broadcast_to(z.to(like.dtype), like.shape).clone()
    except RuntimeError:
        raise ValueError(f"{name} of shape {tuple(z.shape)} does not broadcast to the image shape "
                         f"{tuple(like.shape)}") from None
