"""The fixed test set of held-out photographs, shipped in the repository (``data/photos/``).

Sixteen photographs that no recipe trains on: the four held-out package photographs (``HELD_OUT_IMAGES``)
and twelve public-domain/CC0 photographs of the corpus's held-out split, chosen for varied content
(animals, people indoors, monuments by day and by night, desert, water). The corpus photographs are stored
as PNG at half the package's resolution (the corpus's own preparation, ``corpus.DOWNSCALE``), so they load
where the corpus is not installed; ``data/photos/credits.csv`` gives each one's author, source and licence.

``test_photographs(size, preparation)`` prepares them two ways, ``(N, 3, size, size)``:

* ``"resize"``: the whole scene, shorter side resized to ``size`` and the centre square kept (as
  ``test_images`` and the chapters prepare their photographs);
* ``"crop"``: the centre ``size × size`` crop at the stored resolution (native scale).

Rebuild the files from the corpus (needs it installed)::

    python -m genir_mini.data --write-test-set data/photos
"""

import csv
import hashlib
from functools import cache
from pathlib import Path

import numpy as np
import torch

from .._checks import check_choice
from .images import resize, resize_and_crop, to_tensor
from .photos import HELD_OUT_IMAGES, PHOTOS, _load_array

PHOTOS_DIR = Path(__file__).resolve().parents[2] / "data" / "photos"
# test-set name -> the corpus photograph (corpus.catalogue() name); all in the held-out split
CORPUS_TEST_PHOTOS = {
    "cat": "explore_farm_animals/animals/cat.webp",
    "lemur": "explore_world_animals/animals/lemur.webp",
    "moose": "explore_world_animals/animals/moose.webp",
    "polar_bear": "explore_world_animals/animals/polar_bear.webp",
    "scarlet_macaw": "explore_world_animals/animals/scarlet_macaw.webp",
    "opera": "explore_world_music/music/italy.webp",
    "bent_pyramid": "explore_monuments/egypt/bentPyramid.webp",
    "berlin_cathedral": "explore_monuments/germany/berlinCathedral.webp",
    "neuschwanstein": "explore_monuments/germany/neuschwansteinCastle.webp",
    "gateway_of_india": "explore_monuments/india/gatewayofIndia.webp",
    "golden_temple": "explore_monuments/india/goldenTemple.webp",
    "fort_sumter": "explore_monuments/usa/fortSumter.webp",
}
TEST_SET = HELD_OUT_IMAGES + tuple(CORPUS_TEST_PHOTOS)
CREDIT_FIELDS = ("file", "name", "corpus_name", "width", "height", "author", "licence", "kind", "source",
                 "pixels_sha256")


def pixel_hash(array: np.ndarray) -> str:
    """SHA-256 of an ``(H, W, 3)`` uint8 array's shape and bytes (the disjointness checks compare these)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    return hashlib.sha256(str(array.shape).encode() + array.tobytes()).hexdigest()


def test_set_credits(folder=None) -> dict:
    """``{name: row}`` of ``data/photos/credits.csv`` (see ``CREDIT_FIELDS``; ``file`` is empty for a
    package photograph, whose ``source`` names the package)."""
    with open(Path(folder or PHOTOS_DIR) / "credits.csv", newline="", encoding="utf-8") as f:
        return {row["name"]: row for row in csv.DictReader(f)}


@cache
def test_photo_array(name: str) -> np.ndarray:
    """Test photograph ``name`` as the stored ``(H, W, 3)`` uint8 array."""
    check_choice(name, "name", TEST_SET)
    if name in PHOTOS:
        return _load_array(name)
    from PIL import Image

    path = PHOTOS_DIR / f"{name}.png"
    if not path.exists():
        raise FileNotFoundError(f"the test photograph {path} is missing from this copy of the repository")
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def test_photographs(size: int = 256, preparation: str = "resize", names=None) -> torch.Tensor:
    """The test photographs ``names`` (default all of ``TEST_SET``) as one ``(N, 3, size, size)`` batch in
    [0, 1]: whole scenes resized (``preparation="resize"``) or native-resolution centre crops (``"crop"``)."""
    check_choice(preparation, "preparation", ("resize", "crop"))
    names = TEST_SET if names is None else tuple(names)
    if not names:
        raise ValueError("names must name at least one test photograph")
    out = []
    for name in names:
        x = to_tensor(test_photo_array(name))
        if preparation == "resize":
            out.append(resize_and_crop(x, size))
            continue
        H, W = x.shape[-2:]
        if not isinstance(size, int) or not 8 <= size <= min(H, W):
            raise ValueError(f"size must be an integer in [8, {min(H, W)}] for a crop of {name!r} ({H}x{W}), "
                             f"got {size!r}")
        top, left = (H - size) // 2, (W - size) // 2
        out.append(x[..., top : top + size, left : left + size])
    return torch.cat(out).contiguous()


def write_test_set(folder=PHOTOS_DIR, rcc_dir=None):
    """Write the corpus's test photographs as PNG (halved, as ``photo_corpus`` prepares them) and
    ``credits.csv`` for all of ``TEST_SET`` to ``folder``. Needs the corpus installed."""
    from PIL import Image

    from .corpus import DOWNSCALE, corpus_arrays, source_url
    from .credits import licence_kind

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    held_out = {info.name: (info, array) for info, array in corpus_arrays("held-out", rcc_dir)}
    rows = []
    for name in HELD_OUT_IMAGES:
        array = _load_array(name)
        licence = PHOTOS[name].licence
        rows.append(["", name, "", array.shape[1], array.shape[0], "", licence,
                     licence_kind(licence.split(" (")[0]) or "other", PHOTOS[name].source, pixel_hash(array)])
    for name, corpus_name in CORPUS_TEST_PHOTOS.items():
        if corpus_name not in held_out:
            raise ValueError(f"{corpus_name!r} is not in the corpus's held-out split")
        info, array = held_out[corpus_name]
        x = to_tensor(array)
        x = resize(x, (round(x.shape[-2] * DOWNSCALE), round(x.shape[-1] * DOWNSCALE)))
        small = (x[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
        Image.fromarray(small).save(folder / f"{name}.png", optimize=True)
        rows.append([f"{name}.png", name, corpus_name, small.shape[1], small.shape[0], info.credit.author,
                     info.credit.licence, info.kind, source_url(info.credit), pixel_hash(small)])
    with open(folder / "credits.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(CREDIT_FIELDS)
        writer.writerows(rows)
