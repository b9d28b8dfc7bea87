"""Data: the photographs that ship offline, the corpus of natural photographs, the test set, patches,
dead leaves, digits.

One idea per module: ``images`` (tensor conversion, resizing), ``photos`` (the package photographs),
``rcc`` (Qt resource files), ``credits`` (their README credits and the licence filter), ``corpus`` (the
training corpus of natural photographs), ``held_out`` (the shipped test set), ``patches`` (random and
multi-scale training patches, super-resolution pairs), ``dead_leaves`` (a procedural image source),
``digits`` (handwritten digits). ``data/IMAGES.md`` records every source and licence.
"""

from .corpus import CorpusNotInstalled, catalogue, photo_corpus
from .dead_leaves import dead_leaves
from .digits import DIGITS_TEST_PER_CLASS, digits, load_idx
from .held_out import CORPUS_TEST_PHOTOS, TEST_SET, test_photographs
from .images import load_image_folder, resize, resize_and_crop, rgb_to_gray, to_numpy, to_tensor
from .patches import dihedral, pyramid, random_patches
from .photos import HELD_OUT_IMAGES, PHOTOS, TRAIN_IMAGES, PhotoInfo, load_image, test_images, training_photos

__all__ = [
    "CORPUS_TEST_PHOTOS", "CorpusNotInstalled", "DIGITS_TEST_PER_CLASS", "HELD_OUT_IMAGES", "PHOTOS", "PhotoInfo",
    "TEST_SET", "TRAIN_IMAGES", "catalogue", "dead_leaves", "digits", "dihedral", "load_idx", "load_image",
    "load_image_folder", "photo_corpus", "pyramid", "random_patches", "resize", "resize_and_crop", "rgb_to_gray",
    "test_images", "test_photographs", "to_numpy", "to_tensor", "training_photos",
]
