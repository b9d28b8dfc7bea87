"""The Fourier closed forms behind the blur and super-resolution operators and the reverse-convolution layer:
the kernel's transfer function (``p2o``), zero-insertion upsampling and its spectral aliasing
(``zero_upsample``, ``block_mean``), and the closed-form prox of circular blur plus decimation (``fft_prox``)."""

import torch


def p2o(kernel: torch.Tensor, shape) -> torch.Tensor:
    """Point-spread function -> optical transfer function ``(..., H, W)`` (complex).

    Zero-pads the ``(..., h, w)`` kernel(s) to ``shape``, rolls the centre tap ``(h // 2, w // 2)`` to index
    ``(0, 0)`` and takes the 2-D FFT, so that ``ifft2(fft2(x) * p2o(k))`` is the circular *convolution*
    ``k ⊛ x`` (not the correlation that ``F.conv2d`` computes). Leading dimensions (one kernel per channel,
    as in ``nets.converse``) carry through; differentiable in ``kernel``.
    """
    *lead, h, w = kernel.shape
    H, W = shape
    if h > H or w > W:
        raise ValueError(f"kernel of size {h}x{w} is larger than the image {H}x{W}")
    padded = torch.nn.functional.pad(kernel, (0, W - w, 0, H - h))
    padded = torch.roll(padded, shifts=(-(h // 2), -(w // 2)), dims=(-2, -1))
    return torch.fft.fft2(padded)


def zero_upsample(y: torch.Tensor, scale: int) -> torch.Tensor:
    """``(N, C, h, w) -> (N, C, s·h, s·w)``, ``y`` at the upper-left pixel of each block, zeros elsewhere.

    The adjoint of upper-left decimation ``x[..., ::s, ::s]``.
    """
    N, C, h, w = y.shape
    out = y.new_zeros(N, C, h * scale, w * scale)
    out[..., ::scale, ::scale] = y
    return out


def block_mean(spectrum: torch.Tensor, scale: int) -> torch.Tensor:
    """Average the s×s grid of ``(H/s, W/s)`` blocks of an ``(…, H, W)`` spectrum (aliasing of ↓s)."""
    *lead, H, W = spectrum.shape
    s = scale
    blocks = spectrum.reshape(*lead, s, H // s, s, W // s)
    return torch.complex(blocks.real.mean(dim=(-4, -2)), blocks.imag.mean(dim=(-4, -2)))


def fft_prox(FB: torch.Tensor, y: torch.Tensor, z: torch.Tensor, rho, scale: int) -> torch.Tensor:
    """argmin_x ‖y − (k ⊛ x)↓s‖² + ρ‖x − z‖² in closed form (circular blur, upper-left decimation): for s > 1
    the formula of Zhao et al. (2016), eq. (1.3) of the reference notes; for s = 1 the Wiener-like quotient
    F⁻¹[(conj(K)F(y) + ρF(z)) / (|K|² + ρ)].

    ``FB``: the OTF ``p2o(k, (sH, sW))``, ``(sH, sW)`` or one per channel ``(C, sH, sW)``; ``y``: ``(N, C, H, W)``;
    ``z``: ``(N, C, sH, sW)``; ``rho``: a positive number or a tensor broadcastable to ``z`` (one per image or
    per channel). Differentiable in every argument (``nets.converse`` learns k and ρ through it).
    """
    s = scale
    FBC = FB.conj()
    if s == 1:
        return torch.fft.ifft2((FBC * torch.fft.fft2(y) + rho * torch.fft.fft2(z)) / (FB.abs() ** 2 + rho)).real
    FR = FBC * torch.fft.fft2(zero_upsample(y, s)) + torch.fft.fft2(rho * z)
    FBR = block_mean(FB * FR, s)
    invW = block_mean((FB.abs() ** 2).to(FB.dtype), s)
    correction = FBC * (FBR / (invW + rho)).repeat(1, 1, s, s)
    return torch.fft.ifft2((FR - correction) / rho).real
