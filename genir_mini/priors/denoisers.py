"""Gaussian denoisers ``D(x, σ)`` usable as plug-and-play priors (chapter 2: "any denoiser is a prior").

A denoiser is any callable ``D(x, sigma) -> x̂`` on ``(N, C, H, W)`` tensors, ``sigma`` in image units.
Classical ones wrap scikit-image (Rudin–Osher–Fatemi total variation via Chambolle's algorithm,
BayesShrink wavelet thresholding, non-local means) with their strength tied to ``sigma``; a trained
network (``nets.DRUNet``) is wrapped by ``LearnedDenoiser``.
"""

import numpy as np
import torch

from .._checks import check_image, check_positive


class ClassicalDenoiser:
    """Applies a scikit-image denoiser image by image (channels last, float64)."""

    name = "classical"

    def __call__(self, x: torch.Tensor, sigma: float) -> torch.Tensor:
        check_image(x, "x")
        if isinstance(sigma, torch.Tensor) and sigma.numel() != 1:
            raise ValueError(f"sigma must be one number for a classical denoiser, got shape {tuple(sigma.shape)}")
        sigma = float(sigma)
        check_positive(sigma, "sigma", allow_zero=True)
        if sigma > 1:
            raise ValueError(f"sigma must be in image units (25/255 for 'sigma 25'), got {sigma}")
        if sigma == 0:
            return x.clone()
        out = []
        for img in x.detach().cpu().double().permute(0, 2, 3, 1).numpy():
            out.append(self.denoise(np.clip(img, -0.5, 1.5), float(sigma)))
        return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).to(x.dtype).to(x.device).contiguous()

    def denoise(self, img: np.ndarray, sigma: float) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"


class TVDenoiser(ClassicalDenoiser):
    """Total-variation denoising (Chambolle 2004), ``weight = factor · σ`` (factor tuned on training photos)."""

    name = "TV"

    def __init__(self, factor: float = 0.8):
        self.factor = factor

    def denoise(self, img, sigma):
        from skimage.restoration import denoise_tv_chambolle

        return denoise_tv_chambolle(img, weight=self.factor * sigma, channel_axis=-1)


class WaveletDenoiser(ClassicalDenoiser):
    """BayesShrink soft thresholding of wavelet coefficients, in YCbCr for colour images."""

    name = "wavelet"

    def denoise(self, img, sigma):
        from skimage.restoration import denoise_wavelet

        color = img.shape[-1] == 3
        out = denoise_wavelet(np.clip(img, 0, 1), sigma=sigma, method="BayesShrink", mode="soft",
                              channel_axis=-1, convert2ycbcr=color, rescale_sigma=True)
        return out


class NLMeansDenoiser(ClassicalDenoiser):
    """Non-local means (Buades et al. 2005), filter strength ``h = factor · σ`` (tuned on training photos), 5×5 patches."""

    name = "NL-means"

    def __init__(self, factor: float = 0.6, patch_size: int = 5, patch_distance: int = 6):
        self.factor, self.patch_size, self.patch_distance = factor, patch_size, patch_distance

    def denoise(self, img, sigma):
        from skimage.restoration import denoise_nl_means

        return denoise_nl_means(img, h=self.factor * sigma, sigma=sigma, patch_size=self.patch_size,
                                patch_distance=self.patch_distance, fast_mode=True, channel_axis=-1)


class LearnedDenoiser:
    """Wraps a network ``net(x, sigma)`` (e.g. ``DRUNet``) as an inference-only denoiser."""

    name = "learned"

    def __init__(self, net: torch.nn.Module, name: str = "learned (DRUNet)"):
        self.net = net.eval()
        self.name = name

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, sigma) -> torch.Tensor:
        check_image(x, "x")
        weight = next(self.net.parameters())
        if isinstance(sigma, torch.Tensor):
            sigma = sigma.to(weight.device, weight.dtype)
        return self.net(x.to(weight.device, weight.dtype), sigma).to(x.device, x.dtype)

    def __repr__(self):
        return f"LearnedDenoiser({type(self.net).__name__})"


def classical_denoisers() -> dict:
    """The three classical denoisers of chapter 2, by display name."""
    return {d.name: d for d in (TVDenoiser(), WaveletDenoiser(), NLMeansDenoiser())}
