"""The photographs that ship inside Python packages (scikit-image, scikit-learn, matplotlib, PyWavelets).

Nothing is downloaded; ``data/IMAGES.md`` records each one's source and licence. The photographs are split
once: ``TRAIN_IMAGES`` are a second training source of the photo recipes, ``HELD_OUT_IMAGES`` are only
ever used for evaluation and the chapters' experiments (they open the test set of ``held_out``).
"""

from dataclasses import dataclass
from functools import cache

import numpy as np
import torch

from .images import resize, resize_and_crop, rgb_to_gray, to_tensor


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


def test_images(size: int = 128, names=HELD_OUT_IMAGES, gray: bool = False) -> torch.Tensor:
    """The held-out photographs as one ``(len(names), C, size, size)`` batch."""
    return torch.cat([load_image(n, size, gray) for n in names])


def training_photos(scales=(1.0, 0.5)) -> list:
    """The training photographs at several scales (downscaling also averages away sensor noise/JPEG)."""
    images = []
    for name in TRAIN_IMAGES:
        x = to_tensor(_load_array(name))
        for s in scales:
            H, W = x.shape[-2:]
            images.append(x if s == 1 else resize(x, (round(H * s), round(W * s))))
    return images
