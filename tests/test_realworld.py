"""The real-world degradation pipeline (``operators.realworld``, chapters 7–8): the release's settings and kernel
laws, its sharpening, how much it degrades against what the release's own code gives, the centre-aligned grid it
shares with the SR conditions, seeded reproducibility, the training pairs, and bad input."""

import math
import statistics

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from genir_mini import data, operators
from genir_mini.evaluation import metrics, tasks
from genir_mini.operators import realworld
from genir_mini.training.batches import realworld_pair_batches

# Real-ESRGAN's options/train_realesrnet_x4plus.yml (Real-ESRGAN a4abfb2, identical to v0.3.0), typed from the
# release: datasets.train's kernel settings and the model's degradation settings.
RELEASED = {
    "kernel_list": ["iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso"],
    "kernel_prob": [0.45, 0.25, 0.12, 0.03, 0.12, 0.03], "sinc_prob": 0.1, "blur_sigma": [0.2, 3],
    "betag_range": [0.5, 4], "betap_range": [1, 2],
    "kernel_list2": ["iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso"],
    "kernel_prob2": [0.45, 0.25, 0.12, 0.03, 0.12, 0.03], "sinc_prob2": 0.1, "blur_sigma2": [0.2, 1.5],
    "betag_range2": [0.5, 4], "betap_range2": [1, 2], "final_sinc_prob": 0.8,
    "resize_prob": [0.2, 0.7, 0.1], "resize_range": [0.15, 1.5], "gaussian_noise_prob": 0.5,
    "noise_range": [1, 30], "poisson_scale_range": [0.05, 3], "gray_noise_prob": 0.4, "jpeg_range": [30, 95],
    "second_blur_prob": 0.8, "resize_prob2": [0.3, 0.4, 0.3], "resize_range2": [0.3, 1.2],
    "gaussian_noise_prob2": 0.5, "noise_range2": [1, 25], "poisson_scale_range2": [0.05, 2.5],
    "gray_noise_prob2": 0.4, "jpeg_range2": [30, 95],
}
# What the release's own code gives on test_photographs(128, "resize")[:1] over draws 0–39 (sharpened target,
# PSNR of the 32×32 result against the antialiased bicubic ×4 reduction): tools/realesrgan_reference.py, which
# runs RealESRGANDataset.__getitem__ and RealESRNetModel.feed_data of Real-ESRGAN a4abfb2 on BasicSR 8d56e3a.
RELEASE_PSNR = 22.73


@pytest.fixture(scope="module")
def photos():
    return data.test_photographs(64, "resize", data.TEST_SET[:4])


def test_settings_are_the_released_ones():
    assert set(realworld.REALESRGAN_SETTINGS) == set(RELEASED)
    for key, value in RELEASED.items():
        ours = realworld.REALESRGAN_SETTINGS[key]
        assert (list(ours) if isinstance(ours, tuple) else ours) == value, key


def test_shapes_range_and_seeds(photos):
    y = operators.realworld_degrade(photos, seed=3)
    assert y.shape == (4, 3, 16, 16) and y.min() >= 0 and y.max() <= 1
    assert torch.equal(y, (y * 255).round() / 255), "8-bit output"
    assert torch.equal(y, operators.realworld_degrade(photos, seed=3)), "a seed fixes the measurement"
    assert not torch.equal(y, operators.realworld_degrade(photos, seed=4))
    # image i with seed s is image 0 with seed s + i: one draw per image, whatever the batch
    assert torch.equal(y[2:3], operators.realworld_degrade(photos[2:3], seed=5))
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    assert torch.equal(operators.realworld_degrade(photos, generator=g1),
                       operators.realworld_degrade(photos, generator=g2))
    assert torch.equal(operators.held_out_degradations(photos),
                       operators.realworld_degrade(photos, seed=realworld.HELD_OUT_SEED))


def test_random_kernels_follow_the_released_laws():
    g = torch.Generator().manual_seed(0)
    kernels = torch.stack([realworld.random_blur_kernel(g, realworld.REALESRGAN_SETTINGS) for _ in range(600)])
    assert kernels.shape == (600, 21, 21)
    assert torch.allclose(kernels.sum((1, 2)), torch.ones(600), atol=1e-5)
    sinc = (kernels < -1e-6).flatten(1).any(1).float().mean().item()  # only the sinc filters have negative lobes
    assert 0.06 < sinc < 0.14, f"sinc share {sinc:.3f}, released 0.1"
    gauss = kernels[~(kernels < -1e-6).flatten(1).any(1)]
    rotated = (gauss - gauss.transpose(1, 2)).flatten(1).abs().amax(1) > 1e-4
    assert 0.15 < rotated.float().mean() < 0.4, "the anisotropic kinds (0.25 + 0.03 + 0.03), rotated"
    finals = [realworld.random_final_sinc(g, realworld.REALESRGAN_SETTINGS) for _ in range(400)]
    assert 0.74 < sum(k is not None for k in finals) / 400 < 0.86, "final sinc with probability 0.8"


def test_sinc_kernel_is_a_circular_low_pass():
    cutoff = math.pi / 3
    kernel = realworld.circular_lowpass_kernel(cutoff, 41).double()
    response = torch.fft.fft2(kernel, s=(256, 256)).abs()
    freq = torch.fft.fftfreq(256, dtype=torch.float64) * 2 * math.pi
    radius = torch.hypot(freq[:, None], freq[None, :])
    assert torch.isclose(kernel.sum(), torch.tensor(1.0, dtype=torch.float64))
    assert (response[radius < 0.6 * cutoff] - 1).abs().max() < 0.15  # truncated: Gibbs ripples of ~10 %
    assert response[radius > 1.4 * cutoff].max() < 0.15


def test_unsharp_mask_matches_an_independent_filter():
    """USMSharp's blur is cv2.getGaussianKernel(51, 0) (σ = 8) over reflect-101 borders: scipy's
    ``gaussian_filter`` with mode "mirror" and the same radius, which is an independent implementation."""
    from scipy.ndimage import gaussian_filter

    x = data.test_photographs(64, "resize", data.TEST_SET[:2]).double()
    blur = np.stack([[gaussian_filter(c, 8.0, mode="mirror", radius=25) for c in img] for img in x.numpy()])
    residual = x.numpy() - blur
    mask = np.stack([[gaussian_filter(c, 8.0, mode="mirror", radius=25) for c in img]
                     for img in (np.abs(residual) * 255 > 10).astype(np.float64)])
    sharp = np.clip(x.numpy() + 0.5 * residual, 0, 1)
    expected = mask * sharp + (1 - mask) * x.numpy()
    assert np.abs(operators.unsharp_mask(x).numpy() - expected).max() < 1e-6
    flat = torch.full((1, 3, 32, 32), 0.4, dtype=torch.float64)
    assert torch.allclose(operators.unsharp_mask(flat), flat)


def test_it_degrades_as_much_as_the_release():
    """Over 40 draws on one photograph, the degraded image's PSNR against the clean antialiased bicubic ×4
    reduction is within 0.5 dB of what the release's own pipeline gives (``RELEASE_PSNR``)."""
    x = data.test_photographs(128, "resize")[:1]
    clean = F.interpolate(x, scale_factor=0.25, mode="bicubic", antialias=True).clamp(0, 1)
    target = operators.unsharp_mask(x)  # the release degrades its sharpened ground truth
    psnrs = [metrics.psnr(operators.realworld_degrade(target, seed=i), clean).item() for i in range(40)]
    assert abs(statistics.mean(psnrs) - RELEASE_PSNR) < 0.5, statistics.mean(psnrs)


def _shift(images, dy, dx):
    """A band-limited (Fourier) shift by (dy, dx) pixels, circular."""
    fy = torch.fft.fftfreq(images.shape[-2], dtype=torch.float64)[:, None]
    fx = torch.fft.fftfreq(images.shape[-1], dtype=torch.float64)[None, :]
    phase = torch.exp(-2j * math.pi * (fy * dy + fx * dx))
    return torch.fft.ifft2(torch.fft.fft2(images.double()) * phase).real


def _best_shift(upsample, y, photos):
    """The sub-pixel shift (quarter pixels, −2…2, both axes alike) of ``upsample(y)`` that best matches
    ``photos`` (mean PSNR on the interior)."""
    up = upsample(y).double()
    shifts = [k / 4 for k in range(-8, 9)]
    scores = [metrics.psnr(_shift(up, d, d)[..., 8:-8, 8:-8].clamp(0, 1), photos[..., 8:-8, 8:-8].double()).mean()
              for d in shifts]
    return shifts[int(torch.stack(scores).argmax())]


def test_the_conditions_are_on_the_measurements_grid():
    """On held-out real-world measurements and on PIL-downscaled photographs, no sub-pixel shift of the
    centre-aligned bicubic upsampling (the SR condition) scores higher than the unshifted one; the upper-left
    decimation's upsampling is 1.5 px off (it needs a shift of +1.5 px)."""
    from PIL import Image

    photos = data.test_photographs(96, "resize")
    centred, upper_left = operators.CentredBicubicSR(4), operators.SuperResolution(4)
    real = operators.held_out_degradations(photos)
    assert _best_shift(centred.init, real, photos) == 0
    assert _best_shift(upper_left.init, real, photos) == 1.5
    pil = torch.cat([data.to_tensor(np.asarray(Image.fromarray((data.to_numpy(p) * 255).round().astype(np.uint8))
                                               .resize((24, 24), Image.BICUBIC))) for p in photos])
    assert _best_shift(centred.init, pil, photos) == 0


def test_it_degrades_more_than_the_bicubic_task(photos):
    centred = operators.CentredBicubicSR(4)
    clean = operators.add_noise(centred.A(photos), tasks.make_task("sr4", 64).sigma_n, seed=0)
    bicubic = metrics.psnr(centred.init(clean).clamp(0, 1), photos).mean()
    real = metrics.psnr(centred.init(operators.held_out_degradations(photos)).clamp(0, 1), photos).mean()
    assert real < bicubic - 1


def test_training_pairs_mix_both_degradations_on_one_grid():
    config = {"data": {"source": "package-photos", "batch": 4, "patch": 32, "bicubic_fraction": 0.5,
                       "operator": "bicubic-centred", "scale": 4, "sigma_n": 0.0}}
    x, y = realworld_pair_batches(config)(0, torch.Generator().manual_seed(0))
    assert x.shape == (4, 3, 32, 32) and y.shape == (4, 3, 8, 8)
    centred = operators.CentredBicubicSR(4)
    assert torch.allclose(y[2:], centred.A(x[2:])), "the last half: clean bicubic ×4 on the pipeline's grid"
    assert not torch.allclose(y[:2], centred.A(x[:2]), atol=1e-3)
    sharpened = {"data": {**config["data"], "sharpen_targets": True}}
    xs, _ = realworld_pair_batches(sharpened)(0, torch.Generator().manual_seed(0))
    assert torch.allclose(xs, operators.unsharp_mask(x)), "the release's gt_usm: sharpened targets"
    for fraction in (0.0, 1.0):  # all real-world, all bicubic
        only = {"data": {**config["data"], "bicubic_fraction": fraction}}
        assert realworld_pair_batches(only)(0, torch.Generator().manual_seed(0))[1].shape == (4, 3, 8, 8)
    with pytest.raises(ValueError, match="bicubic-centred"):
        realworld_pair_batches({"data": {**config["data"], "operator": "bicubic"}})


def test_bad_input_is_named(photos):
    with pytest.raises(ValueError, match="divisible by 4"):
        operators.realworld_degrade(photos[..., :30, :30], seed=0)
    with pytest.raises(ValueError, match="exactly one of generator and seed"):
        operators.realworld_degrade(photos)
    with pytest.raises(ValueError, match="unknown settings"):
        operators.realworld_degrade(photos, seed=0, settings={"blur": 1})
    with pytest.raises(ValueError):
        operators.realworld_degrade(photos[:, :1], seed=0)


def test_a_restored_library_downscaled_photograph_is_not_improved_by_any_shift():
    """The shipped real-world student, given photographs downscaled as PIL does, returns them on their own grid:
    no sub-pixel shift of its output scores higher than the unshifted one."""
    from PIL import Image

    from genir_mini import hub
    from genir_mini.flowmaps.meanflow import ConditionalMeanFlow
    from genir_mini.restore.mfsr import mfsr

    photos = data.test_photographs(96, "resize")
    pil = torch.cat([data.to_tensor(np.asarray(Image.fromarray((data.to_numpy(p) * 255).round().astype(np.uint8))
                                               .resize((24, 24), Image.BICUBIC))) for p in photos])
    sigma_p = hub.manifest()["mfsr-student-photos"]["config"]["sigma_p"]
    prior = ConditionalMeanFlow(hub.load("mfsr-student-photos"), sigma_p)

    def restore(y):
        return mfsr(y, operators.CentredBicubicSR(4), prior, generator=torch.Generator().manual_seed(0))

    assert _best_shift(restore, pil, photos) == 0


def test_the_real_world_evaluation_scores_niqe_at_192_px():
    """``evaluate_oftsr`` adds NIQE where the photographs are large enough (the real-world recipes' cpu tier
    evaluates at 192 px): the photographs score more natural than their bicubic upsampling."""
    from genir_mini.training import recipes
    from genir_mini.training.evaluate import evaluate_oftsr

    recipe = recipes.get_recipe("mfsr-teacher-photos")
    assert recipe.config("cpu")["eval"]["size"] >= 192
    config = recipe.config("smoke")
    config["eval"] = {**config["eval"], "size": 192, "names": ["camera", "cat"], "nfe": [1]}
    torch.manual_seed(0)
    figures = evaluate_oftsr(recipe.build_model(config["model"]).eval(), config)
    for name in ("photographs", "bicubic", "nfe1", "realworld_bicubic", "realworld_nfe1"):
        assert math.isfinite(figures[f"niqe_{name}"]) and figures[f"niqe_{name}_std"] >= 0
    assert figures["niqe_photographs"] < figures["niqe_bicubic"]
    config["eval"]["size"] = 96
    assert not any(k.startswith("niqe") for k in evaluate_oftsr(recipe.build_model(config["model"]), config))
