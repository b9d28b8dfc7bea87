"""Conjugate gradients for ``(AᵀA + rho R) x = Aᵀy + rho R z`` with any linear operator (ch. 1).

Only ``A`` and ``At`` are used, so this is the ``prox`` of every operator that has none in closed form
(``LinearOperator._prox``), the check of every closed form, and the solver of chapter 1's Wiener filter for
operators without a Fourier closed form.
"""

import torch

from .._checks import broadcast_image, check_image, check_int, check_positive


def as_rho(rho, like: torch.Tensor) -> torch.Tensor:
    """``rho`` as a tensor that broadcasts against ``like`` (N, C, H, W): a scalar or ``(N, 1, 1, 1)``."""
    rho = torch.as_tensor(rho, dtype=like.dtype, device=like.device)
    return rho.view(-1, 1, 1, 1) if rho.ndim == 1 else rho



def cg_solve(operator, y: torch.Tensor, rho, z=None, iters: int = 100, x0=None,
             regularizer=None, tol: float = 0.0) -> torch.Tensor:
    """Solve ``(AᵀA + rho R) x = Aᵀy + rho R z`` by conjugate gradients, for ANY linear operator.

    Only ``operator.A`` and ``operator.At`` are used, so this checks the closed-form ``prox`` of every
    operator (``R = I``) and solves problems that have no closed form (ch. 1, eq. 1.7).
    ``y``: measurement; ``rho > 0``: a number or ``(N,)`` tensor; ``z``: prior image (``None`` = 0,
    a number, or a tensor broadcastable to ``(N, C, H, W)``); ``iters``: the number of CG iterations;
    ``x0``: starting image (default ``z``); ``regularizer``: a callable ``R(v)`` for a symmetric positive
    definite ``R`` (default the identity); ``tol``: an image stops iterating once its residual norm is below
    ``max(tol, 10 · machine epsilon)`` times the norm of its right-hand side (beyond rounding level more
    iterations cannot help, and they would compute with denormal numbers, which is very slow); the loop ends
    when every image has stopped. Each image of the batch is its own system.
    Returns ``x`` of shape ``(N, C, H, W)`` in ``y``'s dtype (use float64 for tight checks).
    """
    if not all(callable(getattr(operator, name, None)) for name in ("A", "At", "unchecked")):
        raise TypeError(f"operator must be a genir_mini.operators.LinearOperator, got {type(operator).__name__}")
    check_image(y, "y")
    check_int(iters, "iters")
    check_positive(tol, "tol", allow_zero=True)
    check_positive(rho, "rho")
    if regularizer is not None and not callable(regularizer):
        raise TypeError(f"regularizer must be a callable R(v) or None, got {type(regularizer).__name__}")
    Aty = operator.At(y)  # validates y against the operator
    rho = as_rho(rho, y)
    z = broadcast_image(z, Aty)
    x = z.clone() if x0 is None else broadcast_image(check_image(x0, "x0"), Aty, "x0")
    fast = operator.unchecked()
    return conjugate_gradient(fast.A, fast.At, y, rho, z, x, iters, regularizer, tol)


def conjugate_gradient(A, At, y, rho, z, x, iters: int, regularizer=None, tol: float = 0.0):
    """The iteration of ``cg_solve`` without any validation: ``A``, ``At`` callables, ``rho`` a number or
    ``(N, 1, 1, 1)`` tensor, ``z`` and the start ``x`` images of the solution's shape."""
    R = regularizer or (lambda v: v)
    Aty = At(y)

    def normal(v):
        return At(A(v)) + rho * R(v)

    def dot(a, b):  # one inner product per image, shaped to broadcast
        return (a * b).sum(dim=(1, 2, 3), keepdim=True)

    b = Aty + rho * R(z)
    r = b - normal(x)
    p = r.clone()
    rr = dot(r, r)
    finfo = torch.finfo(y.dtype)
    stop = (max(tol, 10 * finfo.eps) ** 2) * dot(b, b)
    for _ in range(iters):
        active = rr > stop  # (N, 1, 1, 1): images still iterating; the others are frozen
        if not bool(active.any()):
            break
        Ap = normal(p)
        alpha = torch.where(active, rr / dot(p, Ap).clamp_min(finfo.tiny), 0.0)
        x = x + alpha * p
        r = r - alpha * Ap
        rr_new = dot(r, r)
        p = r + torch.where(active, rr_new / rr.clamp_min(finfo.tiny), 0.0) * p
        rr = rr_new
    return x
