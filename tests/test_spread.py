"""Spread over images: per-image PSNR from a benchmark's outputs, paired gains, mean ± std and the clear-gain
rule."""

import statistics

import numpy as np
import pytest
import torch

from genir_mini.evaluation import metrics, spread, tasks


def photos(n=3, size=32):
    g = torch.Generator().manual_seed(0)
    base = torch.rand(n, 3, size // 4, size // 4, generator=g)
    return torch.nn.functional.interpolate(base, size=size, mode="bilinear", align_corners=False).clamp(0, 1)


def test_per_image_psnr_and_paired_gain_follow_the_benchmark():
    x = photos()
    outputs = {}
    rows = tasks.benchmark({"init": lambda y, t: t.operator.init(y), "closed form": tasks.closed_form},
                           ["deblur-gaussian", "inpaint-random"], x, outputs=outputs)
    scores = spread.per_image_psnr(outputs, x)
    assert set(scores) == {"deblur-gaussian", "inpaint-random"} and set(scores["deblur-gaussian"]) == {
        "init", "closed form"}
    for r in rows:
        per_image = scores[r["task"]][r["method"]]
        assert per_image.shape == (3,)
        assert per_image.mean().item() == pytest.approx(r["PSNR (dB)"])
        assert per_image.std().item() == pytest.approx(r["PSNR std (dB)"])
    gain = spread.paired_gain(scores, "closed form", "init")
    expected = (metrics.psnr(outputs["inpaint-random"]["closed form"], x)
                - metrics.psnr(outputs["inpaint-random"]["init"].clamp(0, 1), x))
    assert torch.allclose(gain["inpaint-random"], expected)
    with pytest.raises(ValueError, match="baseline 'bicubic'"):
        spread.paired_gain(scores, "closed form", "bicubic")
    with pytest.raises(ValueError, match="outputs"):
        spread.per_image_psnr({}, x)
    with pytest.raises(ValueError, match=r"outputs\['deblur-gaussian'\]\['init'\]"):
        spread.per_image_psnr({"deblur-gaussian": {"init": x[:2]}}, x)


def test_mean_std_matches_the_statistics_module():
    values = [1.5, -0.25, 3.0, 0.75]
    mean, std = spread.mean_std(torch.tensor(values))
    assert mean == pytest.approx(statistics.mean(values)) and std == pytest.approx(statistics.stdev(values))
    assert spread.mean_std(np.array([2.0])) == (2.0, 0.0)
    assert spread.mean_pm_std(values) == f"+{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"
    assert spread.mean_pm_std([30.0, 32.0], digits=1, signed=False) == "31.0 ± 1.4"
    with pytest.raises(ValueError, match="values"):
        spread.mean_std([])


def test_a_clear_gain_is_larger_than_its_spread():
    assert spread.is_clear_gain([1.0, 1.2, 0.9])  # every image gains about the same
    assert not spread.is_clear_gain([3.0, -0.5, -0.4, -0.6])  # one image carries the mean
    assert not spread.is_clear_gain([-1.0, -1.1])  # a loss
    with pytest.raises(ValueError, match="at least two"):
        spread.is_clear_gain([2.0])


def test_seed_scores_sum_up_a_sampler_over_seeds():
    truth = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    same = truth.expand(4, -1, -1, -1, -1)  # four seeds that all give the truth
    row = spread.seed_scores(same, truth)
    assert row["spread over seeds (/255)"] == 0 and row["SSIM"] > 0.999
    noisy = (same + 0.05 * torch.randn(same.shape, generator=torch.Generator().manual_seed(1))).clamp(0, 1)
    row = spread.seed_scores(noisy, truth)
    assert 255 * 0.03 < row["spread over seeds (/255)"] < 255 * 0.07
    assert row["PSNR (dB)"].split(" ± ")[0].replace(".", "").isdigit()
    with pytest.raises(ValueError, match="outputs must be"):
        spread.seed_scores(truth, truth)
