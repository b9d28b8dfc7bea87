"""genir_mini — the compact library behind *Generative Image Restoration* (the book in ``book/``).

Conventions used everywhere (see the book's notation page):

* images are ``torch.float32`` tensors of shape ``(N, C, H, W)`` with values in ``[0, 1]``;
  noise levels ``sigma`` are in the same units (``25/255`` is "sigma 25");
* every random function takes a ``generator`` (``torch.Generator``) or a ``seed``;
* bad input raises ``ValueError``/``TypeError`` naming the argument.

Submodules are imported on first use, so ``import genir_mini`` is cheap.
"""

import importlib

__version__ = "0.1.0"

_SUBMODULES = ("units", "data", "operators", "nets", "hub", "priors", "flowmaps", "restore", "evaluation",
               "training", "viz", "chapter")


def __getattr__(name):
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'genir_mini' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))


def source_fingerprint() -> str:
    """A short hash of the library's source files.

    Chapters print it in their first cell so that a notebook cache keyed on cell text (jupyter-cache)
    is invalidated when the library changes.
    """
    import hashlib
    from pathlib import Path

    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
