"""Inpainting (chapter 1): ``A x = M ⊙ x`` with a binary mask ``M`` (1 = observed, 0 = missing)."""

import torch

from .._checks import check_image
from .base import LinearOperator, Spectral


def random_mask(height: int, width: int, missing: float = 0.5, generator: torch.Generator | None = None,
                seed: int | None = None) -> torch.Tensor:
    """``(1, 1, H, W)`` mask with a fraction ``missing`` of pixels set to 0 (same for every channel)."""
    if not 0 <= missing < 1:
        raise ValueError(f"missing must be a fraction in [0, 1), got {missing}")
    if generator is None:
        generator = torch.Generator().manual_seed(0 if seed is None else seed)
    return (torch.rand(1, 1, height, width, generator=generator) >= missing).float()


def box_mask(height: int, width: int, box: int | tuple | None = None, top: int | None = None,
             left: int | None = None, generator: torch.Generator | None = None, seed: int | None = None):
    """``(1, 1, H, W)`` mask with a ``box`` hole (default half the image side), random position unless given.

    As in DPS/DiffPIR the hole keeps a margin of 1/16 of the image side when placed at random.
    """
    bh, bw = (box, box) if isinstance(box, int) else (box or (height // 2, width // 2))
    if not (0 < bh <= height and 0 < bw <= width):
        raise ValueError(f"box must fit inside the {height}x{width} image, got {bh}x{bw}")
    if generator is None:
        generator = torch.Generator().manual_seed(0 if seed is None else seed)
    mh, mw = height // 16, width // 16
    if height - 2 * mh < bh or width - 2 * mw < bw:  # no room for the margin: place anywhere inside
        mh = mw = 0
    if top is None:
        top = int(torch.randint(mh, height - mh - bh + 1, (), generator=generator))
    if left is None:
        left = int(torch.randint(mw, width - mw - bw + 1, (), generator=generator))
    if not (0 <= top <= height - bh and 0 <= left <= width - bw):
        raise ValueError(f"a {bh}x{bw} box at top={top}, left={left} does not fit in a {height}x{width} image")
    mask = torch.ones(1, 1, height, width)
    mask[..., top : top + bh, left : left + bw] = 0
    return mask


class Inpainting(LinearOperator, Spectral):
    """``A x = M ⊙ x`` (self-adjoint). Prox: ``(M y + rho z) / (M + rho)`` elementwise.

    The measurement keeps the image's shape (zeros where pixels are missing): only the observed pixels are
    measured (``restrict``, ``measured_entries``). Spectral: U = V = I, Σ = the mask.
    """

    def __init__(self, mask: torch.Tensor):
        check_image(mask, "mask")
        if not torch.all((mask == 0) | (mask == 1)):
            raise ValueError("mask must be binary (1 = observed, 0 = missing)")
        self.mask = mask.float()

    def _check_measurement(self, y):
        self._mask_for(y)

    def _mask_for(self, x):
        if x.shape[-2:] != self.mask.shape[-2:]:
            raise ValueError(f"image of size {tuple(x.shape[-2:])} does not match the mask's "
                             f"{tuple(self.mask.shape[-2:])}")
        for dim, what in ((0, "batch size"), (1, "channel count")):
            if self.mask.shape[dim] not in (1, x.shape[dim]):
                raise ValueError(f"the mask's {what} ({self.mask.shape[dim]}) must be 1 or the image's "
                                 f"({x.shape[dim]})")
        return self.mask.to(x.device, x.dtype)

    def _A(self, x):
        return x * self._mask_for(x)

    def _At(self, y):
        return y * self._mask_for(y)

    def _prox(self, z, y, rho):
        mask = self._mask_for(z)
        return (mask * y + rho * z) / (mask + rho)

    def _init(self, y):
        """Missing pixels filled with the mean of the observed ones (per image and channel)."""
        mask = self._mask_for(y).expand_as(y)
        mean = (y * mask).sum((-2, -1), keepdim=True) / mask.sum((-2, -1), keepdim=True).clamp_min(1)
        return torch.where(mask > 0, y, mean)

    def pinv(self, y, eps=1e-12):
        return self.At(y)

    def restrict(self, y):
        return y * self._mask_for(y)

    def measured_entries(self, y):
        return int(self.mask.sum().item()) * y.shape[1]

    # Spectral (DDRM)
    def svd_vt(self, x):
        return x

    def svd_v(self, spectrum):
        return spectrum

    def singular_values(self, shape, like):
        return self.mask.to(like.device, like.dtype).expand(shape)

    def svd_y_bar(self, y, shape):
        return y * self.singular_values(shape, y)

    def _describe(self):
        return {"observed": f"{self.mask.mean().item():.0%}"}
