"""Validation shared by the solvers' entry points."""

from .._checks import check_image


def check_start(x_init, operator, y):
    """``x_init`` as a starting image for ``y``: an image that the operator maps to ``y``'s shape."""
    check_image(x_init, "x_init")
    if tuple(operator.output_shape(x_init.shape)) != tuple(y.shape):
        raise ValueError(f"x_init of shape {tuple(x_init.shape)} maps to a measurement of shape "
                         f"{tuple(operator.output_shape(x_init.shape))}, but y has shape {tuple(y.shape)}")
    return x_init

