"""The time-conditioned UNet, the digit data and the distribution distances (chapters 3–4)."""

import gzip

import numpy as np
import pytest
import scipy.linalg
import torch

from genir_mini import data
from genir_mini.evaluation import distances
from genir_mini.nets import DigitClassifier, UNet


def test_unet_shapes_options_and_zero_init():
    net = UNet(1, channels=(8, 16, 16), time_dim=16)
    x = torch.rand(2, 1, 28, 28)
    out = net(x, torch.tensor([0.1, 0.9]))
    assert out.shape == x.shape and out.abs().max() == 0  # zero-initialised head
    conv = UNet(3, channels=(8, 16), time_dim=16)
    for size in (16, 32, 48):  # fully convolutional
        assert conv(torch.rand(1, 3, size, size), 0.5).shape == (1, 3, size, size)
    cond = UNet(1, out_channels=2, cond_channels=1, time_inputs=2, channels=(8, 16), time_dim=16)
    assert cond(x, 0.2, s=0.7, cond=x).shape == (2, 2, 28, 28)


def test_unet_depends_on_time():
    net = UNet(1, channels=(8, 16), time_dim=16)
    for module in net.modules():  # undo the zero initialisation of the residual branches and head
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.normal_(module.weight, std=0.1)
    x = torch.rand(1, 1, 8, 8)
    assert not torch.allclose(net(x, 0.1), net(x, 0.9))


def test_unet_bad_input():
    net = UNet(1, channels=(8, 16), time_dim=16)
    with pytest.raises(ValueError, match="divisible by 2"):
        net(torch.rand(1, 1, 7, 7), 0.5)
    with pytest.raises(ValueError, match="1 channel"):
        net(torch.rand(1, 3, 8, 8), 0.5)
    with pytest.raises(ValueError, match="t must be"):
        net(torch.rand(2, 1, 8, 8), torch.rand(3))
    with pytest.raises(ValueError, match="pass s exactly"):
        net(torch.rand(1, 1, 8, 8), 0.5, s=0.1)
    with pytest.raises(ValueError, match="cond"):
        net(torch.rand(1, 1, 8, 8), 0.5, cond=torch.rand(1, 1, 8, 8))
    with pytest.raises(ValueError, match="time_inputs"):
        UNet(1, time_inputs=3)


def test_offline_digits_split():
    train, ytrain = data.digits("train")
    test, ytest = data.digits("test")
    assert train.shape == (4000, 1, 28, 28) and test.shape == (1000, 1, 28, 28)
    assert torch.equal(ytrain.bincount(), torch.full((10,), 400)) and torch.equal(ytest.bincount(), torch.full((10,), 100))
    assert 0 <= train.min() and train.max() == 1
    flat_train = {tuple(v) for v in (train.view(4000, -1) * 255).round().to(torch.uint8).tolist()}
    assert not any(tuple(v) in flat_train for v in (test.view(1000, -1) * 255).round().to(torch.uint8).tolist()[:200])
    with pytest.raises(ValueError, match="split"):
        data.digits("valid")


def _write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_digits_from_idx_folder(tmp_path):
    """The loader the GPU notebooks use on the full MNIST / Fashion-MNIST files."""
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (5, 28, 28)), rng.integers(0, 10, 5)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels)
    x, y = data.digits("test", source=tmp_path)
    assert torch.allclose(x[:, 0] * 255, torch.from_numpy(images).float()) and y.tolist() == labels.tolist()
    with pytest.raises(FileNotFoundError, match="train-images"):
        data.digits("train", source=tmp_path)
    (tmp_path / "bad").write_bytes(b"\x01\x02")
    with pytest.raises(ValueError, match="not an unsigned-byte idx"):
        data.load_idx(tmp_path / "bad")


def test_frechet_distance_matches_scipy_and_is_zero_on_itself():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 6))
    b = rng.normal(size=(500, 6)) @ rng.normal(size=(6, 6)) + 0.5
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    ref = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(ca + cb - 2 * scipy.linalg.sqrtm(ca @ cb).real)
    assert distances.frechet_distance(a, b) == pytest.approx(ref, rel=1e-8)
    assert distances.frechet_distance(a, a) == pytest.approx(0, abs=1e-8)
    singular = np.c_[a, np.zeros(400)]  # a dead feature: still finite and real
    assert np.isfinite(distances.frechet_distance(singular, singular[::-1]))


def test_kernel_distance_unbiased():
    rng = np.random.default_rng(1)
    same = distances.kernel_distance(rng.normal(size=(500, 4)), rng.normal(size=(500, 4)))
    shifted = distances.kernel_distance(rng.normal(size=(500, 4)), rng.normal(size=(500, 4)) + 1)
    assert abs(same[0]) < 3 * same[1] + 1e-3 and shifted[0] > 10 * same[1]


def test_digit_distances_rank_corruptions():
    torch.manual_seed(0)
    classifier = DigitClassifier()  # untrained features still separate these
    real, _ = data.digits("test")
    train, _ = data.digits("train")
    good = distances.digit_distances(train[:300], real, classifier)
    noisy = distances.digit_distances(torch.rand(300, 1, 28, 28), real, classifier)
    assert good["fd"] < noisy["fd"] and good["n"] == 300 and good["n_reference"] == 1000
    with pytest.raises(ValueError, match="features_a must be"):
        distances.frechet_distance(np.zeros(5), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="images must have values in"):
        distances.digit_features(real * 255, classifier)


def test_digit_distances_need_a_classifier():
    real, _ = data.digits("test")
    for call in (lambda c: distances.digit_features(real[:4], c),
                 lambda c: distances.digit_distances(real[:4], real, c),
                 lambda c: distances.real_floor(10, c)):
        with pytest.raises(TypeError, match="classifier must be an nn.Module with .features and .head"):
            call(None)
        with pytest.raises(TypeError, match="got str"):
            call("digit-classifier")
        with pytest.raises(TypeError, match="got Linear"):
            call(torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match="classifier"):
        distances.real_floor(10)
