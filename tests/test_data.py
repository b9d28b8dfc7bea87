"""Shipped photographs, patch sampling, dead leaves, folder loading."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from genir_mini import data


def test_every_photo_loads_in_range():
    for name in data.PHOTOS:
        x = data.load_image(name, 64)
        assert x.shape == (1, 3, 64, 64) and x.dtype == torch.float32
        assert 0 <= x.min() and x.max() <= 1 and x.std() > 0.02, name


def test_split_is_disjoint_and_licences_recorded():
    assert set(data.TRAIN_IMAGES).isdisjoint(data.HELD_OUT_IMAGES)
    assert all(info.licence for info in data.PHOTOS.values())
    text = (Path(__file__).resolve().parents[1] / "data" / "IMAGES.md").read_text()
    for name in data.PHOTOS:
        assert f"`{name}`" in text, f"data/IMAGES.md does not record {name}"


def test_test_images_batch_and_gray():
    x = data.test_images(32)
    assert x.shape == (len(data.HELD_OUT_IMAGES), 3, 32, 32)
    assert data.test_images(32, gray=True).shape[1] == 1


def test_random_patches_seeded_and_augmented():
    photos = [data.load_image("astronaut", 64)]
    a = data.random_patches(photos, 8, 16, torch.Generator().manual_seed(0))
    b = data.random_patches(photos, 8, 16, torch.Generator().manual_seed(0))
    c = data.random_patches(photos, 8, 16, torch.Generator().manual_seed(1))
    assert a.shape == (8, 3, 16, 16) and torch.equal(a, b) and not torch.equal(a, c)
    # with a single 16x16 "photo" every crop is the whole image: only augmentation can vary it
    tile = [torch.arange(3 * 16 * 16.0).view(1, 3, 16, 16)]
    crops = data.random_patches(tile, 32, 16, torch.Generator().manual_seed(0))
    assert len({tuple(p.flatten().tolist()) for p in crops}) > 4
    plain = data.random_patches(tile, 4, 16, torch.Generator().manual_seed(0), augment=False)
    assert all(torch.equal(p, tile[0][0]) for p in plain)


def test_dihedral_group():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    outs = {tuple(data.dihedral(x, m).flatten().tolist()) for m in range(8)}
    assert len(outs) == 8


def test_dead_leaves_statistics():
    g = torch.Generator().manual_seed(0)
    x = data.dead_leaves(4, 64, g)
    assert x.shape == (4, 3, 64, 64) and 0 <= x.min() and x.max() <= 1
    # piecewise constant: most horizontal neighbours are (nearly) equal, but not all
    same = ((x[..., 1:] - x[..., :-1]).abs() < 0.02).float().mean()
    assert 0.5 < same < 0.99


def test_load_image_folder(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (40, 50, 3), dtype=np.uint8)).save(tmp_path / f"im{i}.png")
    (tmp_path / "notes.txt").write_text("not an image")
    images = data.load_image_folder(tmp_path, size=32)
    assert len(images) == 3 and all(x.shape == (1, 3, 32, 32) for x in images)


def test_bad_input():
    with pytest.raises(ValueError, match="unknown image name"):
        data.load_image("lena")
    with pytest.raises(ValueError, match="size"):
        data.load_image("china", 3)
    with pytest.raises(ValueError, match="does not exist"):
        data.load_image_folder("no/such/folder")
    with pytest.raises(ValueError, match="n must"):
        data.random_patches([torch.rand(1, 3, 8, 8)], 0, 4, torch.Generator())
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        data.to_tensor(np.full((4, 4), 200.0))
    assert data.to_tensor(np.full((4, 4), 65535, dtype=np.uint16)).max() == 1
    with pytest.raises(ValueError, match="larger than"):
        data.random_patches([torch.rand(1, 3, 8, 8)], 1, 16, torch.Generator())
