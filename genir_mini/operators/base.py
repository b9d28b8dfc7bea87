"""The interface every degradation operator implements (chapter 1, "forward models").

A linear operator ``A`` maps an image ``x`` of shape ``(N, C, H, W)`` to a measurement ``y = A x``;
``At`` is its true adjoint (``<A x, y> = <x, At y>``), and ``prox`` solves the data sub-problem of
HQS / DPIR / DiffPIR (book, ch. 1, eq. 1.6):

    prox(z, y, rho) = argmin_x ||y - A x||^2 + rho * ||x - z||^2   <=>   (AᵀA + rho I) x = Aᵀy + rho z.

Note the weights: the data term has weight 1 and ``rho`` multiplies ``||x - z||^2``. (deepinv's
``prox_{gamma f}`` with ``f = ½||Ax - y||²`` is this with ``rho = 1 / gamma``; its DiffPIR port calls it
with ``gamma = 1 / (2 rho_t)``, i.e. twice DiffPIR's ``rho_t``.)

A new operator implements ``_A`` and ``_At``; ``prox`` then works by conjugate gradients, and a closed form
``_prox`` (or ``pinv``) makes it exact and fast. What an algorithm needs beyond ``A``, ``At`` and ``prox`` is
a *capability* the operator declares by inheriting it (``Spectral``: the SVD that DDRM works in), so
algorithms test ``isinstance(operator, Spectral)`` instead of listing operator classes.

The public methods validate their arguments; a solver validates once at its entry point and then calls
``operator.unchecked()``, whose methods skip the checks (some, such as ``isfinite``, would synchronise a GPU
on every iteration).
"""

import torch

from .._checks import check_image, check_positive
from .cg import as_rho, conjugate_gradient

PROX_CG_ITERS = 100  # conjugate-gradient iterations of the default prox (operators without a closed form)


class LinearOperator:
    """Base class: subclasses implement ``_A`` and ``_At``, and may override ``_prox``, ``_init``, ``pinv``."""

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
        """``argmin_x ||y - A x||² + rho ||x - z||²``; ``rho`` > 0: a number, ``(N,)`` or ``(N, 1, 1, 1)``."""
        check_image(z, "z")
        check_image(y, "y")
        self._check_measurement(y)
        check_positive(rho, "rho")
        if self.output_shape(z.shape) != tuple(y.shape):
            raise ValueError(
                f"z of shape {tuple(z.shape)} maps to a measurement of shape {self.output_shape(z.shape)}, "
                f"but y has shape {tuple(y.shape)}"
            )
        return self._prox(z, y, as_rho(rho, z))

    def init(self, y: torch.Tensor) -> torch.Tensor:
        """A sensible starting image of shape ``(N, C, H, W)`` for an iterative solver (default: ``Aᵀy``)."""
        check_image(y, "y")
        self._check_measurement(y)
        return self._init(y)

    def pinv(self, y: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
        """The minimum-norm least-squares solution ``A⁺ y`` in closed form (ch. 1, eq. 1.2).

        Operators whose ``A Aᵀ`` they can invert in closed form override this; the others have no such
        capability and raise ``TypeError`` (``cg_solve`` with a small ``rho`` approximates it for any operator).
        """
        raise TypeError(f"{type(self).__name__} has no closed-form pseudo-inverse; "
                        "use cg_solve(operator, y, rho, iters=...) with a small rho")

    def restrict(self, y: torch.Tensor) -> torch.Tensor:
        """``y`` with the entries the operator does not measure set to 0 (all entries are measured by default).

        The noise of a measurement lives on the measured entries only: ``y = restrict(A x + n)``.
        """
        return y

    def measured_entries(self, y: torch.Tensor) -> int:
        """How many entries of one measurement ``y[0]`` carry data (and noise)."""
        return y[0].numel()

    def unchecked(self) -> "LinearOperator":
        """The same operator whose ``A``, ``At``, ``prox`` and ``init`` skip validation (for solver loops)."""
        return _Unchecked(self)

    def __call__(self, x):
        return self.A(x)

    def output_shape(self, shape) -> tuple:
        """Shape of ``A x`` for an image of the given shape."""
        return tuple(shape)

    # hooks for subclasses
    def _check_measurement(self, y):
        pass

    def _prox(self, z, y, rho):
        """Default: conjugate gradients on the normal equations (exact up to ``PROX_CG_ITERS`` iterations)."""
        return conjugate_gradient(self._A, self._At, y, rho, z, z.clone(), PROX_CG_ITERS)

    def _init(self, y):
        return self._At(y)

    def __repr__(self):
        fields = ", ".join(f"{k}={v}" for k, v in self._describe().items())
        return f"{type(self).__name__}({fields})"

    def _describe(self):
        return {}


class _Unchecked:
    """An operator's methods without argument validation (``LinearOperator.unchecked``)."""

    def __init__(self, operator: LinearOperator):
        self.operator = operator

    def A(self, x):
        return self.operator._A(x)

    def At(self, y):
        return self.operator._At(y)

    def prox(self, z, y, rho):
        return self.operator._prox(z, y, as_rho(rho, z))

    def init(self, y):
        return self.operator._init(y)

    def unchecked(self):
        return self

    def __getattr__(self, name):  # capabilities and attributes of the wrapped operator
        return getattr(self.operator, name)


class Spectral:
    """Capability: the singular value decomposition ``A = U Σ Vᵀ`` in closed form (what DDRM needs, ch. 5).

    Subclasses implement, for images of shape ``shape`` (N, C, H, W) and spectra ``Vᵀx``:
    ``svd_vt(x)`` (image → spectral coordinates), ``svd_v(spectrum)`` (back, the inverse of ``svd_vt``),
    ``singular_values(shape, like)`` (Σ, broadcastable against ``svd_vt(x)``, 0 where unobserved) and
    ``svd_y_bar(y, shape)`` = Σ⁺Uᵀy (0 where Σ = 0).
    """

    def svd_vt(self, x):
        raise NotImplementedError

    def svd_v(self, spectrum):
        raise NotImplementedError

    def singular_values(self, shape, like):
        raise NotImplementedError

    def svd_y_bar(self, y, shape):
        raise NotImplementedError


def require(operator, capability: type, purpose: str):
    """Raise ``TypeError`` naming the missing capability unless ``operator`` has it (e.g. ``Spectral``)."""
    if not isinstance(operator, LinearOperator):
        raise TypeError(f"operator must be a genir_mini.operators.LinearOperator, got {type(operator).__name__}")
    if not isinstance(operator, capability):
        raise TypeError(f"{purpose} needs an operator with the {capability.__name__} capability "
                        f"({capability.__doc__.splitlines()[0].split(': ', 1)[-1]}); "
                        f"{type(operator).__name__} does not have it")
    return operator


class Identity(LinearOperator, Spectral):
    """Denoising: ``A = I``. Prox: ``(y + rho z) / (1 + rho)``."""

    def _A(self, x):
        return x

    def _At(self, y):
        return y

    def _prox(self, z, y, rho):
        return (y + rho * z) / (1 + rho)

    def _init(self, y):
        return y.clone()

    def pinv(self, y, eps=1e-12):
        return check_image(y, "y").clone()

    def svd_vt(self, x):
        return x

    def svd_v(self, spectrum):
        return spectrum

    def singular_values(self, shape, like):
        return torch.ones(shape, dtype=like.dtype, device=like.device)

    def svd_y_bar(self, y, shape):
        return y
