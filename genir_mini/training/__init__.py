"""The one training loop and the named recipes that produce every shipped checkpoint
(``python -m genir_mini.training list|train ...``), by job: ``recipes`` (the recipes and their tiers),
``batches``, ``losses``, ``evaluate``, ``sampling``, ``compare`` (trained recipes side by side), ``run``
(training a recipe; ``load_or_train``), ``cli`` (the command line) and ``loop`` (the training loop)."""

from . import batches, compare, evaluate, loop, losses, recipes, run, sampling
from .run import load_or_train

__all__ = ["batches", "compare", "evaluate", "load_or_train", "loop", "losses", "recipes", "run", "sampling"]
