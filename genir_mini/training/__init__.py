"""The one training loop and the named recipes that produce every shipped checkpoint
(``python -m genir_mini.training list|train ...``)."""

from . import loop, recipes

__all__ = ["loop", "recipes"]
