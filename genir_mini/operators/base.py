"""The interface every degradation operator implements (chapter 1, "forward models").

A linear operator ``A`` maps an image ``x`` of shape ``(N, C, H, W)`` to a measurement ``y = A x``;
``At`` is its true adjoint (``<A x, y> = <x, At y>``), and ``prox`` solves the data sub-problem of
HQS / DPIR / DiffPIR in closed form (book, ch. 1, eq. 1.6):

    prox(z, y, rho) = argmin_x ||y - A x||^2 + rho * ||x - z||^2   <=>   (AᵀA + rho I) x = Aᵀy + rho z.

Note the weights: the data term has weight 1 and ``rho`` multiplies ``||x - z||^2``. (deepinv's
``prox_{gamma f}`` with ``f = ½||Ax - y||²`` is this with ``rho = 1 / gamma``; its DiffPIR port calls it
with ``gamma = 1 / (2 rho_t)``, i.e. twice DiffPIR's ``rho_t``.)
"""

import torch

from .._checks import check_image, check_positive


class LinearOperator:
    """Base class: subclasses implement ``_A``, ``_At``, ``_prox`` and may override ``init``."""

    def A(self, x: torch.Tensor) -> torch.Tensor:
        """Forward model ``(N, C, H, W) -> measurement shape``."""
        check_image(x, "x")
        return self._A(x)

    def At(self, y: torch.Tensor) -> torch.Tensor:
        """Adjoint ``measurement shape -> (N, C, H, W)``."""
        check_image(y, "y")
        self._check_measurement(y)
        return self._At(y)

    def prox(self, z: torch.Tensor, y: torch.Tensor, rho) -> torch.Tensor:
        """``argmin_x ||y - A x||² + rho ||x - z||²``; ``rho`` > 0, a number or a ``(N, 1, 1, 1)`` tensor."""
        check_image(z, "z")
        check_image(y, "y")
        self._check_measurement(y)
        check_positive(rho, "rho")
        if self.output_shape(z.shape) != tuple(y.shape):
            raise ValueError(
                f"z of shape {tuple(z.shape)} maps to a measurement of shape {self.output_shape(z.shape)}, "
                f"but y has shape {tuple(y.shape)}"
            )
        rho = torch.as_tensor(rho, dtype=z.dtype, device=z.device)
        if rho.ndim == 1:
            rho = rho.view(-1, 1, 1, 1)
        return self._prox(z, y, rho)

    def init(self, y: torch.Tensor) -> torch.Tensor:
        """A sensible starting image of shape ``(N, C, H, W)`` for an iterative solver (default: ``Aᵀy``)."""
        check_image(y, "y")
        self._check_measurement(y)
        return self._init(y)

    def __call__(self, x):
        return self.A(x)

    def output_shape(self, shape) -> tuple:
        """Shape of ``A x`` for an image of the given shape."""
        return tuple(shape)

    # hooks for subclasses
    def _check_measurement(self, y):
        pass

    def _init(self, y):
        return self._At(y)

    def __repr__(self):
        fields = ", ".join(f"{k}={v}" for k, v in self._describe().items())
        return f"{type(self).__name__}({fields})"

    def _describe(self):
        return {}


class Identity(LinearOperator):
    """Denoising: ``A = I``. Prox: ``(y + rho z) / (1 + rho)``."""

    def _A(self, x):
        return x

    def _At(self, y):
        return y

    def _prox(self, z, y, rho):
        return (y + rho * z) / (1 + rho)

    def _init(self, y):
        return y.clone()
