"""The networks by name, so that a checkpoint's manifest entry (``net`` and ``config["model"]``) says how to
rebuild its model: ``build("unet", {"in_channels": 1, "channels": [32, 64, 64]})`` → ``UNet(**config)``.

Adding a network is one line: an entry of ``NETS`` below, or ``register("name", Class)`` (also usable as a
class decorator, ``@register("name")``) where the class is defined.
"""

import inspect

import torch
import torch.nn as nn

from .classifier import DigitClassifier
from .converse_nets import ConverseDeblur, ConverseDenoiser, ConverseSR
from .discriminator import GeneratorCritic, PatchDiscriminator
from .drunet import DRUNet
from .unet import UNet

NETS: dict = {
    "unet": UNet,
    "drunet": DRUNet,
    "digit-classifier": DigitClassifier,
    "converse-denoiser": ConverseDenoiser,
    "converse-sr": ConverseSR,
    "converse-deblur": ConverseDeblur,
    "patch-discriminator": PatchDiscriminator,
    "unet-gan": GeneratorCritic,
}


def register(name: str, cls=None):
    """Add network class ``cls`` under ``name`` (refusing to rebind a name); returns ``cls``.

    Without ``cls`` it returns a decorator: ``@register("converse") class Converse(nn.Module): ...``.
    """
    if cls is None:
        return lambda c: register(name, c)
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise TypeError(f"cls must be an nn.Module subclass, got {cls!r}")
    if name in NETS and NETS[name] is not cls:
        raise ValueError(f"a network named {name!r} is already registered ({NETS[name].__name__})")
    NETS[name] = cls
    return cls


def build(name: str, config: dict) -> nn.Module:
    """The network ``name`` built from the keyword arguments ``config`` (a manifest's ``config["model"]``).

    An unknown ``name`` raises ``ValueError`` listing the known ones; a key of ``config`` that the network's
    constructor does not take raises ``TypeError`` naming the key and the accepted ones.
    """
    if name not in NETS:
        raise ValueError(f"unknown network {name!r}; known networks: {sorted(NETS)}")
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict of {name!r}'s constructor arguments, got {type(config).__name__}")
    cls = NETS[name]
    params = inspect.signature(cls.__init__).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        accepted = [k for k, p in params.items() if k != "self"
                    and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)]
        unknown = sorted(set(config) - set(accepted))
        if unknown:
            raise TypeError(f"config for network {name!r} ({cls.__name__}) has unknown key(s) {unknown}; "
                            f"accepted: {accepted}")
    return cls(**config)


def device_of(net) -> torch.device:
    """Where a network's weights are (the CPU for a parameter-free callable)."""
    weight = next(iter(getattr(net, "parameters", lambda: [])()), None)
    return torch.device("cpu") if weight is None else weight.device
