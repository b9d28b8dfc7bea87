"""Flow maps f(x_t, t, s) = x_s, the talk's unifying object (chapters 4, 6-10): the protocol, the maps of a
velocity or average-velocity model and the one sampler over any time grid (``base``), and the methods built on
them, each file one method's loss and its map (``flow_matching``, ch. 4; ``oftsr``, ch. 6; ``meanflow``,
ch. 7; ``splitmeanflow``, ch. 8)."""

from . import flow_matching, meanflow, oftsr, splitmeanflow
from .base import (
                   AverageVelocityMap,
                   EulerMap,
                   FlowMap,
                   HeunMap,
                   MidpointMap,
                   ODEMap,
                   nfe,
                   sample,
                   time_batch,
                   trajectory,
                   uniform_grid,
)

__all__ = [
    "FlowMap", "EulerMap", "HeunMap", "MidpointMap", "ODEMap", "AverageVelocityMap", "sample", "trajectory",
    "nfe", "uniform_grid", "time_batch", "flow_matching", "oftsr", "meanflow",
    "splitmeanflow",
]
