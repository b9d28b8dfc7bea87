"""The photo corpus: the .rcc reader, the credits parser and licence filter, the missing-corpus error, the
shipped test set, the disjointness of test set and training corpus, multi-scale patches and SR pairs.

Synthetic archives test the reader and the filter everywhere (CI has no corpus); the checks against the real
corpus run where it is installed.
"""

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from genir_mini import data
from genir_mini.data import corpus, credits, held_out, rcc

REPO = Path(__file__).resolve().parents[1]
try:
    corpus.corpus_dir()
    HAVE_CORPUS = True
except corpus.CorpusNotInstalled:
    HAVE_CORPUS = False
needs_corpus = pytest.mark.skipif(not HAVE_CORPUS, reason="the photo corpus (gcompris-qt-data) is not installed")


# --------------------------------------------------------------------------------------------------
# a writer of Qt's .rcc format (the reader's docstring gives the layout), for synthetic archives

def qt_hash(name: str) -> int:
    h = 0
    for unit in struct.unpack(f">{len(name)}H", name.encode("utf-16-be")):
        h = ((h << 4) + unit) & 0xFFFFFFFF
        h = (h ^ ((h & 0xF0000000) >> 23)) & 0x0FFFFFFF
    return h


def write_rcc(path, files: dict, compress=(), version=3):
    """``{"folder/name": bytes}`` -> an .rcc file; paths in ``compress`` are stored zlib-compressed."""
    root = {}
    for key, blob in files.items():
        node = root
        *folders, leaf = key.split("/")
        for part in folders:
            node = node.setdefault(part, {})
        node[leaf] = blob
    names, offsets, payload, nodes = bytearray(), {}, bytearray(), [None]

    def name_offset(name):
        if name not in offsets:
            offsets[name] = len(names)
            names.extend(struct.pack(">HI", len(name), qt_hash(name)) + name.encode("utf-16-be"))
        return offsets[name]

    def folder(children, prefix):
        first, order = len(nodes), sorted(children, key=qt_hash)
        nodes.extend([None] * len(order))
        for i, name in enumerate(order):
            child, key = children[name], prefix + name
            if isinstance(child, dict):
                nodes[first + i] = (name_offset(name), rcc.DIRECTORY, *folder(child, key + "/"))
            else:
                flags = rcc.COMPRESSED if key in compress else 0
                blob = struct.pack(">I", len(child)) + zlib.compress(child) if flags else child
                nodes[first + i] = (name_offset(name), flags, 0, len(payload))
                payload.extend(struct.pack(">I", len(blob)) + blob)
        return len(order), first

    nodes[0] = (0, rcc.DIRECTORY, *folder(root, ""))
    tree = bytearray()
    for name_off, flags, a, b in nodes:
        tree += struct.pack(">IH", name_off, flags)
        tree += struct.pack(">II", a, b) if flags & rcc.DIRECTORY else struct.pack(">HHI", 0, 0, b)
        tree += struct.pack(">Q", 0) if version >= 2 else b""
    header = 24 if version == 3 else 20
    head = b"qres" + struct.pack(">IIII", version, header, header + len(tree), header + len(tree) + len(payload))
    Path(path).write_bytes(head + (struct.pack(">I", 0) if version == 3 else b"") + tree + payload + names)


def webp(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "WEBP", lossless=True)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------------
# the reader

@pytest.mark.parametrize("version", [1, 2, 3])
def test_rcc_reader_reads_compressed_and_plain_entries(tmp_path, version):
    files = {"a/b/readme.txt": b"hello " * 50, "a/plain.bin": bytes(range(256)), "top.txt": "é ü ñ".encode(),
             "a/b/c/deep.dat": b"\x00\x01" * 1000}
    path = tmp_path / "x.rcc"
    write_rcc(path, files, compress={"a/b/readme.txt", "a/b/c/deep.dat"}, version=version)
    assert rcc.read_rcc(path) == dict(sorted(files.items()))


def test_rcc_reader_rejects_other_files(tmp_path):
    (tmp_path / "bad.rcc").write_bytes(b"PK\x03\x04 not a qt resource")
    with pytest.raises(ValueError, match="qres"):
        rcc.read_rcc(tmp_path / "bad.rcc")


@needs_corpus
def test_rcc_reader_on_the_real_package():
    files = rcc.read_rcc(corpus.corpus_dir() / "explore_world_animals.rcc")
    folder = "gcompris/src/activities/explore_world_animals/resource/animals/"
    assert "bison.webp" in files[folder + "README"].decode()
    with Image.open(io.BytesIO(files[folder + "bison.webp"])) as im:
        assert im.format == "WEBP" and min(im.size) > 300


# --------------------------------------------------------------------------------------------------
# credits and the licence filter

SAMPLE_README = """Copyright: Timothee Giet, 2018
License: CC-BY-SA 4.0
Files:
question.svg

Copyright: Kurt Kaiser
License: CC0-1.0
Source: https://commons.wikimedia.org/wiki/File:American_Bison_9.jpg
Files:
bison.webp

Copyright: Markus Mark
Source: https://commons.wikimedia.org/wiki/File:Arc_de_Triomphe.jpg
License: Public Domain
Files:
wonders/arc.webp
tower.webp

Copyright:
  Copyright 2011 NASA
License: Public Domain
Comment: original source at https://en.wikipedia.org/wiki/File:Mercury_Globe.jpg
Files:
  mercury.webp

Copyright: aussiegall
Source: https://commons.wikimedia.org/wiki/File:Pollinationn.jpg
License: CC-BY-2.0
Comments: cropping, sharpening
Files: bee.webp

Copyright: 2000, 2008 Bruno Coudoin and others
License: CC-BY 4.0
castle_0.webp
castle_1.webp
"""


def test_credits_parser_reads_every_block_style():
    c = credits.parse_credits(SAMPLE_README)
    assert set(c) == {"question.svg", "bison.webp", "wonders/arc.webp", "tower.webp", "mercury.webp", "bee.webp",
                      "castle_0.webp", "castle_1.webp"}
    assert c["bison.webp"] == credits.Credit("bison.webp", "Kurt Kaiser", "CC0-1.0",
                                             "https://commons.wikimedia.org/wiki/File:American_Bison_9.jpg")
    assert c["tower.webp"].licence == "Public Domain" and c["tower.webp"].author == "Markus Mark"
    assert c["mercury.webp"].author == "Copyright 2011 NASA"
    assert corpus.source_url(c["mercury.webp"]) == "https://en.wikipedia.org/wiki/File:Mercury_Globe.jpg"
    assert c["bee.webp"].licence == "CC-BY-2.0" and c["bee.webp"].comment == "cropping, sharpening"
    assert c["castle_1.webp"].licence == "CC-BY 4.0"


@pytest.mark.parametrize("licence, kind", [
    ("CC0-1.0", "cc0"), ("CC0", "cc0"), ("cc0 1.0 universal", "cc0"), ("Public Domain", "public-domain"),
    ("Public domain", "public-domain"), ("PD", "public-domain"), ("CC-BY-SA 4.0", None), ("CC-BY-SA-4.0", None),
    ("CC-BY 2.0", None), ("GPLv3 or later", None), ("", None), ("Public domain in the US only?", None)])
def test_licence_filter_keeps_only_public_domain_and_cc0(licence, kind):
    assert credits.licence_kind(licence) == kind


def photo(seed, h=200, w=240):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (h // 8, w // 8, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(base).resize((w, h), Image.BILINEAR))


def test_the_filter_keeps_credited_public_domain_and_cc0_photographs(tmp_path):
    clip_art = np.zeros((200, 200, 4), dtype=np.uint8)
    clip_art[50:150, 50:150] = 255
    folder = "gcompris/src/activities/zoo/resource/animals/"
    files = {folder + "README": SAMPLE_README.encode(), folder + "bison.webp": webp(photo(0)),
             folder + "tower.webp": webp(photo(1)), folder + "wonders/arc.webp": webp(photo(2, 240, 320)),
             folder + "bee.webp": webp(photo(3)), folder + "unlisted.webp": webp(photo(4)),
             folder + "mercury.webp": webp(clip_art), folder + "castle_0.webp": webp(photo(5))}
    write_rcc(tmp_path / "zoo.rcc", files, compress={folder + "README"})
    kept = corpus.catalogue(rcc_dir=tmp_path)
    # tower.webp and wonders/arc.webp share a source: one photograph, kept once at its larger size
    assert [i.name for i in kept] == ["zoo/animals/bison.webp", "zoo/animals/wonders/arc.webp"]
    assert {i.kind for i in kept} == {"cc0", "public-domain"}
    assert kept[0].credit.author == "Kurt Kaiser" and (kept[0].width, kept[0].height) == (240, 200)
    skipped = corpus.skipped_counts(tmp_path)
    assert skipped["licence CC-BY-2.0"] == 1 and skipped["licence CC-BY 4.0"] == 1
    assert skipped["no credit entry"] == 1 and skipped["transparent (clip art)"] == 1
    splits = {i.name: i.split for i in kept}
    images = corpus.photo_corpus("train", rcc_dir=tmp_path) + corpus.photo_corpus("held-out", rcc_dir=tmp_path)
    assert sorted(tuple(x.shape) for x in images) == [(1, 3, 100, 120), (1, 3, 120, 160)]
    assert all(corpus.is_held_out(Path(n).stem.lower()) == (s == "held-out") for n, s in splits.items())
    out = tmp_path / "credits.csv"
    corpus.write_credits(out, rcc_dir=tmp_path)
    assert out.read_text().splitlines()[1].startswith("zoo/animals/bison.webp,")


def test_a_missing_corpus_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("GENIR_CORPUS_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(data.CorpusNotInstalled, match="make corpus.*apt-get install -y --no-install-recommends "
                                                     "gcompris-qt-data"):
        data.photo_corpus()
    with pytest.raises(FileNotFoundError):  # CorpusNotInstalled is a FileNotFoundError
        data.photo_corpus(rcc_dir=tmp_path)
    monkeypatch.setattr(corpus.os, "geteuid", lambda: 1000)  # not root: install() explains instead of apt
    with pytest.raises(data.CorpusNotInstalled, match="make corpus"):
        corpus.install()


# --------------------------------------------------------------------------------------------------
# the shipped test set

def test_the_test_set_loads_from_the_repository():
    assert len(data.TEST_SET) >= 12 and set(data.HELD_OUT_IMAGES) <= set(data.TEST_SET)
    x = data.test_photographs(64)
    assert x.shape == (len(data.TEST_SET), 3, 64, 64) and x.dtype == torch.float32
    assert 0 <= x.min() and x.max() <= 1 and (x.flatten(1).std(1) > 0.02).all()
    crops = data.test_photographs(256, "crop", names=["cat", "china"])
    assert crops.shape == (2, 3, 256, 256)
    # a whole-scene resize of a package photograph is exactly today's test_images
    assert torch.equal(data.test_photographs(128, names=["flower"]), data.test_images(128, names=("flower",)))
    with pytest.raises(ValueError, match="preparation"):
        data.test_photographs(64, "zoom")
    with pytest.raises(ValueError, match="size"):
        data.test_photographs(400, "crop", names=["cat"])
    with pytest.raises(ValueError, match="name"):
        data.test_photographs(64, names=["lena"])


def test_every_test_photograph_has_its_credit_and_a_free_licence():
    rows = held_out.test_set_credits()
    assert set(rows) == set(data.TEST_SET)
    for name in data.CORPUS_TEST_PHOTOS:
        row = rows[name]
        assert row["kind"] in ("public-domain", "cc0") and row["author"] and row["source"].startswith("https://")
        assert (REPO / "data" / "photos" / row["file"]).exists()
        assert held_out.pixel_hash(held_out.test_photo_array(name)) == row["pixels_sha256"]
    text = (REPO / "data" / "IMAGES.md").read_text()
    assert all(f"`{name}`" in text for name in data.TEST_SET)


def test_the_test_set_is_held_out_of_the_training_corpus_by_name():
    """By the split rule and by the shipped credits file (checked without the corpus)."""
    corpus_rows = {}
    with open(REPO / "data" / "corpus" / "credits.csv", encoding="utf-8") as f:
        import csv

        corpus_rows = {row["name"]: row for row in csv.DictReader(f)}
    train = {name for name, row in corpus_rows.items() if row["split"] == "train"}
    train_stems = {Path(n).stem.lower() for n in train}
    train_sources = {corpus_rows[n]["source"] for n in train}
    for name, corpus_name in data.CORPUS_TEST_PHOTOS.items():
        assert corpus_rows[corpus_name]["split"] == "held-out"
        assert corpus.is_held_out(Path(corpus_name).stem.lower())
        assert Path(corpus_name).stem.lower() not in train_stems
        assert held_out.test_set_credits()[name]["source"] not in train_sources
    assert set(data.HELD_OUT_IMAGES).isdisjoint(data.TRAIN_IMAGES)


def _thumbnail(array: np.ndarray) -> np.ndarray:
    gray = np.asarray(Image.fromarray(array).convert("L").resize((24, 24), Image.BILINEAR), dtype=np.float64)
    gray -= gray.mean()
    return gray.ravel() / (np.linalg.norm(gray) + 1e-9)


@needs_corpus
def test_the_test_set_is_disjoint_from_the_training_corpus_by_pixels():
    """No training photograph equals a test photograph (pixel hashes at the package's resolution and after
    the corpus's halving) or looks like one (24×24 thumbnails correlated above 0.95)."""
    train = corpus.corpus_arrays("train")
    names = {info.name for info, _ in train}
    assert names.isdisjoint(data.CORPUS_TEST_PHOTOS.values())
    train_hashes = {held_out.pixel_hash(a) for _, a in train}
    train_hashes |= {held_out.pixel_hash((x[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8))
                     for x in corpus.photo_corpus("train")}
    train_thumbs = np.stack([_thumbnail(a) for _, a in train])
    for name in data.TEST_SET:
        array = held_out.test_photo_array(name)
        assert held_out.pixel_hash(array) not in train_hashes, name
        assert (train_thumbs @ _thumbnail(array)).max() < 0.95, name
    package = {held_out.pixel_hash(data.photos._load_array(n)) for n in data.TRAIN_IMAGES}
    assert package.isdisjoint(held_out.pixel_hash(held_out.test_photo_array(n)) for n in data.TEST_SET)


@needs_corpus
def test_the_corpus_is_large_and_licensed():
    kept = corpus.catalogue()
    assert len(kept) >= 200 and {i.kind for i in kept} == {"public-domain", "cc0"}
    held = [i for i in kept if i.split == "held-out"]
    assert 0.08 < len(held) / len(kept) < 0.25
    rows = (REPO / "data" / "corpus" / "credits.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == len(kept) + 1, "stale data/corpus/credits.csv: python -m genir_mini.data --write-credits"


# --------------------------------------------------------------------------------------------------
# multi-scale patches and super-resolution pairs

def test_pyramid_levels_and_minimum_side():
    images = [torch.rand(1, 3, 384, 512), torch.rand(1, 3, 120, 160)]
    levels = data.pyramid(images, scales=(1.0, 0.5, 0.25), min_side=64)
    assert [tuple(x.shape[-2:]) for x in levels] == [(384, 512), (192, 256), (96, 128), (120, 160)]
    with pytest.raises(ValueError, match="scales"):
        data.pyramid(images, scales=(2.0,))


def test_sr_pair_batches_are_seeded_pairs_of_hr_patches_and_their_observations():
    from genir_mini import operators
    from genir_mini.training import batches

    config = {"data": {"source": "package-photos", "batch": 3, "patch": 32, "scale": 4, "sigma_n": 0.0}}
    fn = batches.sr_pair_batches(config)
    x, y = fn(0, torch.Generator().manual_seed(0))
    assert x.shape == (3, 3, 32, 32) and y.shape == (3, 3, 8, 8)
    assert torch.allclose(y, operators.BlockAverageSR(4).A(x))
    x2, y2 = fn(0, torch.Generator().manual_seed(0))
    assert torch.equal(x, x2) and torch.equal(y, y2)
    noisy = batches.sr_pair_batches({"data": {**config["data"], "sigma_n": 0.05, "operator": "bicubic"}})
    xn, yn = noisy(0, torch.Generator().manual_seed(0))
    residual = yn - operators.SuperResolution(4).A(xn)
    assert 0.03 < residual.std() < 0.07
    with pytest.raises(ValueError, match="divisible"):
        batches.sr_pair_batches({"data": {**config["data"], "patch": 30}})
    with pytest.raises(ValueError, match="operator"):
        batches.sr_pair_batches({"data": {**config["data"], "operator": "nearest"}})


def test_photo_recipes_train_on_the_corpus_and_smoke_on_the_package_photos():
    from genir_mini.training import recipes

    for name in ("denoiser", "ddpm-photos"):
        r = recipes.get_recipe(name)
        assert r.config("smoke")["data"]["source"] == "package-photos"
        for tier in ("cpu", "gpu"):
            d = r.config(tier)["data"]
            assert d["source"] == "corpus" and min(d["scales"]) <= 0.25 and max(d["scales"]) == 1.0


def test_denoising_on_test_set_reports_mean_spread_and_count():
    from genir_mini.training import evaluate

    identity = lambda x, sigma: x  # noqa: E731
    names = ["camera", "cat", "moose"]
    table = evaluate.denoising_on_test_set({"noisy": identity}, sigmas=(25,), size=32, names=names)
    row = table["crop"][25]["noisy"]
    assert table["names"] == ["camera", "cat", "moose"] and row["n"] == 3 and len(row["psnr"]) == 3
    assert 20 < row["mean"] < 22.5 and row["std"] < 1.5  # σ = 25 noise (20.2 dB), clipped to [0, 1]
    assert evaluate.best_of(table, ["noisy"]) == {"resize": {25: "noisy"}, "crop": {25: "noisy"}}
    assert "n=3" in evaluate.format_denoising_table(table)
