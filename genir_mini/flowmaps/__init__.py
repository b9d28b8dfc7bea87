"""Flow maps f(x_t, t, s) = x_s, the talk's unifying object (chapters 4, 6-10): flow matching and the
one-step methods built on it. Each file holds one method's loss and its map."""

from . import flow_matching

__all__ = ["flow_matching"]
