"""The training corpus of natural photographs: the public-domain and CC0 photographs of the Debian package
``gcompris-qt-data`` (GCompris's Qt resource files, ``/usr/share/gcompris-qt/rcc/*.rcc``).

``catalogue()`` lists the kept photographs with their credits, ``photo_corpus(split)`` returns them as
images. A photograph is kept when (1) the README credits inside its archive give it a public-domain or
CC0 licence (``credits.licence_kind``; CC-BY, CC-BY-SA, GPL and unlisted files are skipped), (2) they name
its upstream source (a URL: this drops drawings and the pieces of a painting puzzle), and (3) it is an
opaque colour photograph at least ``MIN_SIDE`` pixels on its shorter side (no transparency: clip art).
A photograph the package holds at several sizes (same source) is kept once, at its largest.

The split is fixed by a rule, not a list: a photograph is held out when the SHA-256 of its lower-case file
stem falls in the lowest ``HELD_OUT_PERCENT`` of the hash range, so photographs that share a stem (shots of
one subject) fall on the same side, and a photograph shipped at two sizes (one source) is one entry.
``held_out`` ships a test set taken from the held-out split; nothing held out is ever trained on.

Record the credits (the file ``data/corpus/credits.csv`` of the repository)::

    python -m genir_mini.data --write-credits data/corpus/credits.csv
"""

import csv
import hashlib
import io
import os
import posixpath
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from .._checks import check_choice
from .credits import Credit, licence_kind, parse_credits
from .images import resize, to_tensor
from .rcc import read_rcc

RCC_DIR = "/usr/share/gcompris-qt/rcc"  # where Debian's gcompris-qt-data installs the archives
PACKAGE = "gcompris-qt-data"
INSTALL_HINT = (f"install the Debian package {PACKAGE}: `make corpus`, or as root "
                f"`apt-get install -y --no-install-recommends {PACKAGE}` (on Colab: `!apt-get install -y "
                f"--no-install-recommends {PACKAGE}`); or point GENIR_CORPUS_DIR at a folder of its .rcc files")
HELD_OUT_PERCENT = 15
MIN_SIDE = 150
DOWNSCALE = 0.5  # the package's photographs were re-encoded and many sharpened: halve them before use
CREDIT_FIELDS = ("name", "split", "width", "height", "author", "licence", "kind", "source", "archive", "path")


class CorpusNotInstalled(FileNotFoundError):
    """The corpus's archives are not on this machine; the message says how to install them."""


@dataclass(frozen=True)
class CorpusImage:
    name: str  # unique: the archive path less "gcompris/src/activities/" and "resource/"
    archive: str  # the .rcc file name
    path: str  # the path inside the archive
    width: int
    height: int
    credit: Credit
    kind: str  # "public-domain" or "cc0"
    split: str  # "train" or "held-out"


def corpus_dir(rcc_dir=None) -> Path:
    """The folder of the ``.rcc`` archives: ``rcc_dir``, else ``$GENIR_CORPUS_DIR``, else ``RCC_DIR``."""
    folder = Path(rcc_dir or os.environ.get("GENIR_CORPUS_DIR") or RCC_DIR)
    if not folder.is_dir() or not any(folder.glob("*.rcc")):
        raise CorpusNotInstalled(f"the photo corpus is not installed (no .rcc files in {folder}): {INSTALL_HINT}")
    return folder


def install() -> Path:
    """The corpus's folder, installing the package with apt first where this process can (root with apt-get:
    the project's machines, Colab); elsewhere ``CorpusNotInstalled`` says how to install it."""
    try:
        return corpus_dir()
    except CorpusNotInstalled:
        if os.name != "posix" or os.geteuid() != 0 or shutil.which("apt-get") is None:
            raise
    print(f"installing the photo corpus: apt-get install -y --no-install-recommends {PACKAGE}")
    subprocess.run(["apt-get", "update", "-qq"], check=False)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", PACKAGE], check=True)
    return corpus_dir()


def image_name(path: str) -> str:
    """``gcompris/src/activities/explore_world_animals/resource/animals/bison.webp`` ->
    ``explore_world_animals/animals/bison.webp``."""
    path = path.removeprefix("gcompris/src/activities/").removeprefix("gcompris/src/")
    return path.replace("/resource/", "/", 1)


def source_url(credit: Credit) -> str | None:
    """The first URL of the credit's ``Source`` (or, failing that, its ``Comment``)."""
    match = re.search(r"https?://\S+", f"{credit.source} {credit.comment}")
    return match.group(0).rstrip(".,;)") if match else None


def is_held_out(key: str) -> bool:
    """The split rule: a photograph whose lower-case file stem is ``key`` is held out when the SHA-256 of
    ``key`` lands in the lowest ``HELD_OUT_PERCENT`` of the range."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 100 < HELD_OUT_PERCENT


def _credit_for(path: str, readmes: dict):
    """The credit of ``path`` in the nearest README of its folder or a parent folder that names it."""
    folder = posixpath.dirname(path)
    while True:
        relative = path[len(folder) + 1:] if folder else path
        if relative in readmes.get(folder, {}):
            return readmes[folder][relative]
        if not folder:
            return None
        folder = posixpath.dirname(folder)


def _decode(blob: bytes):
    """A WebP/PNG/JPEG blob -> ``(H, W, 3)`` uint8 array, or None when it has transparency."""
    from PIL import Image

    with Image.open(io.BytesIO(blob)) as im:
        if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
            alpha = np.asarray(im.convert("RGBA"))[..., 3]
            if (alpha < 250).mean() > 0.01:
                return None
        return np.asarray(im.convert("RGB"))


@cache
def _scan(folder: str) -> tuple:
    """Every credited photograph of the archives in ``folder``: ``(CorpusImage, array)`` pairs and the skip
    counts by reason. Reads each archive once (a few seconds)."""
    found, skipped = {}, {}
    for archive in sorted(Path(folder).glob("*.rcc")):
        files = read_rcc(archive)
        readmes = {posixpath.dirname(k): parse_credits(v.decode("utf-8", "replace"))
                   for k, v in files.items() if posixpath.basename(k) == "README"}
        for path, blob in files.items():
            if not path.lower().endswith((".webp", ".jpg", ".jpeg", ".png")):
                continue
            credit = _credit_for(path, readmes)
            kind = licence_kind(credit.licence) if credit else None
            reason = ("no credit entry" if credit is None else f"licence {credit.licence}" if kind is None
                      else "no upstream source" if source_url(credit) is None else None)
            array = _decode(blob) if reason is None else None
            if reason is None and array is None:
                reason = "transparent (clip art)"
            if reason is None and min(array.shape[:2]) < MIN_SIDE:
                reason = f"shorter side under {MIN_SIDE} px"
            if reason:
                skipped[reason] = skipped.get(reason, 0) + 1
                continue
            url = source_url(credit)
            if url in found and found[url][1].size >= array.size:
                continue  # the same photograph at a smaller size
            found[url] = (dict(name=image_name(path), archive=archive.name, path=path, width=array.shape[1],
                               height=array.shape[0], credit=credit, kind=kind), array)
    return _split(list(found.values())), skipped


def _split(entries: list) -> list:
    """Sort by name and give each photograph its split by the hash of its lower-case file stem: shots of one
    subject with the same stem (two giraffes, two Eiffel towers) fall on the same side."""
    out = []
    for info, array in sorted(entries, key=lambda e: e[0]["name"]):
        stem = posixpath.splitext(posixpath.basename(info["name"]))[0].lower()
        out.append((CorpusImage(**info, split="held-out" if is_held_out(stem) else "train"), array))
    return out


def catalogue(split: str | None = None, rcc_dir=None) -> list:
    """The kept photographs as ``CorpusImage`` records (sorted by name), all or one ``split``."""
    if split is not None:
        check_choice(split, "split", ("train", "held-out"))
    entries, _ = _scan(str(corpus_dir(rcc_dir)))
    return [info for info, _ in entries if split in (None, info.split)]


def skipped_counts(rcc_dir=None) -> dict:
    """``{reason: number of image files}`` for the files the filter left out."""
    return dict(_scan(str(corpus_dir(rcc_dir)))[1])


def corpus_arrays(split: str = "train", rcc_dir=None) -> list:
    """``(CorpusImage, (H, W, 3) uint8 array)`` pairs of ``split`` at the package's resolution."""
    check_choice(split, "split", ("train", "held-out"))
    entries, _ = _scan(str(corpus_dir(rcc_dir)))
    return [(info, array) for info, array in entries if info.split == split]


def photo_corpus(split: str = "train", scale: float = DOWNSCALE, rcc_dir=None) -> list:
    """The corpus photographs of ``split`` (``"train"`` or ``"held-out"``) as a list of ``(1, 3, H, W)``
    float tensors in [0, 1], resized by ``scale`` (antialiased; default ``DOWNSCALE`` = 0.5).

    Raises ``CorpusNotInstalled`` (a ``FileNotFoundError``) saying how to install the package when the
    archives are missing.
    """
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1], got {scale!r}")
    images = []
    for _, array in corpus_arrays(split, rcc_dir):
        x = to_tensor(array)
        if scale != 1:
            x = resize(x, (max(1, round(x.shape[-2] * scale)), max(1, round(x.shape[-1] * scale))))
        images.append(x)
    return images


def write_credits(path, rcc_dir=None):
    """Write every kept photograph's name, split, size, author, licence and source as CSV to ``path``."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(CREDIT_FIELDS)
        for info in catalogue(rcc_dir=rcc_dir):
            writer.writerow([info.name, info.split, info.width, info.height, info.credit.author,
                             info.credit.licence, info.kind, source_url(info.credit), info.archive, info.path])
