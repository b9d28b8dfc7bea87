"""The networks by name: ``nets.build`` builds each registered net from its config and refuses unknown
names and config keys clearly; ``nets.register`` adds one."""

import pytest
import torch

from genir_mini import nets


@pytest.mark.parametrize(("name", "config", "cls", "shape"), [
    ("unet", {"in_channels": 1, "channels": [8, 16], "blocks": 1, "time_dim": 16}, nets.UNet, (2, 1, 28, 28)),
    ("drunet", {"in_channels": 3, "channels": [8, 16], "blocks": 1}, nets.DRUNet, (2, 3, 32, 32)),
    ("digit-classifier", {}, nets.DigitClassifier, (2, 10)),
])
def test_build_each_network(name, config, cls, shape):
    torch.manual_seed(0)
    net = nets.build(name, config)
    torch.manual_seed(0)
    same = cls(**config)  # the registry calls the constructor, nothing else (same weights for the same seed)
    assert type(net) is cls
    assert all(torch.equal(p, q) for p, q in zip(net.parameters(), same.parameters(), strict=True))
    x = torch.rand(2, 1, 28, 28) if name != "drunet" else torch.rand(2, 3, 32, 32)
    out = net(x, torch.tensor([0.1, 0.5])) if name != "digit-classifier" else net(x)
    assert out.shape == shape


def test_unknown_network_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown network 'converse'; known networks: \[.*'unet'"):
        nets.build("converse", {})


def test_bad_config_key_is_named():
    with pytest.raises(TypeError, match=r"unknown key\(s\) \['chanels'\].*accepted: \[.*'channels'"):
        nets.build("unet", {"in_channels": 1, "chanels": [8, 16]})
    with pytest.raises(TypeError, match="config must be a dict"):
        nets.build("drunet", [3])


def test_register_adds_a_network_in_one_line():
    class Tiny(torch.nn.Module):
        def __init__(self, width: int = 2):
            super().__init__()
            self.conv = torch.nn.Conv2d(1, width, 1)

    try:
        assert nets.register("tiny-test-net", Tiny) is Tiny
        assert nets.build("tiny-test-net", {"width": 3}).conv.out_channels == 3
        with pytest.raises(ValueError, match="already registered"):
            nets.register("unet", Tiny)
        with pytest.raises(TypeError, match="nn.Module subclass"):
            nets.register("not-a-net", object)
        decorated = nets.register("tiny-test-net-2")(Tiny)
        assert decorated is Tiny and nets.NETS["tiny-test-net-2"] is Tiny
    finally:
        nets.NETS.pop("tiny-test-net", None)
        nets.NETS.pop("tiny-test-net-2", None)
