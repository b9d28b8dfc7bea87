"""Figures and the exploration helper render headless; the library imports quickly."""

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from genir_mini import viz  # noqa: E402


def test_show_and_compare():
    ref = torch.rand(1, 3, 32, 32)
    fig = viz.show_images({"a": ref, "b": ref[:, :1]})
    assert len(fig.axes) == 2
    fig = viz.compare(ref, {"noisy": (ref + 0.1).clamp(0, 1)}, zoom=(4, 4, 8))
    titles = [ax.get_title() for ax in fig.axes]
    assert any("dB" in t for t in titles)


def test_strip_plot_draws_every_image_and_the_spread():
    gains = {"deblur": torch.tensor([1.0, 2.0, 3.0]), "sr4": [0.5, -0.5, 0.0]}
    fig = viz.strip_plot(gains, "gain (dB)", point_labels=["a", "b", "c"])
    ax = fig.axes[0]
    dots = [line for line in ax.lines if line.get_marker() == "o"]
    assert len(dots) == 6
    assert sorted(d.get_xdata()[0] for d in dots) == [-0.5, 0.0, 0.5, 1.0, 2.0, 3.0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["sr4", "deblur"]  # first group on top
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b", "c"]
    bars = [c for c in ax.containers if hasattr(c, "lines")]
    assert len(bars) == 2 and bars[0].lines[0].get_xdata()[0] == pytest.approx(2.0)
    matplotlib.pyplot.close(fig)
    fig, axes = matplotlib.pyplot.subplots(1, 2)  # two strip plots in one figure, no legend
    assert viz.strip_plot(gains, "gain", ax=axes[1], point_labels="abc", legend=False) is fig
    assert axes[1].get_legend() is None and len(axes[1].lines) > 6 and not axes[0].lines
    matplotlib.pyplot.close(fig)
    with pytest.raises(ValueError, match="point_labels"):
        viz.strip_plot(gains, "gain", point_labels=["a", "b"])
    with pytest.raises(ValueError, match="groups"):
        viz.strip_plot({}, "gain")


def test_static_explorer_has_every_frame_and_sliders():
    calls = []

    def render(a, b):
        calls.append((a, b))
        return torch.full((1, 1, 8, 8), a * b)

    html = viz.static_explorer_html(render, {"a": [0.1, 0.5], "b": [1, 2, 3]}, label="demo")
    assert len(calls) == 6
    assert html.count('type="range"') == 2 and '"1_2"' in html and "data:image/" in html


def test_explore_is_static_when_building(monkeypatch):
    monkeypatch.setenv("GENIR_BOOK_BUILD", "1")
    assert not viz._interactive()
    viz.explore(lambda a: torch.zeros(1, 1, 4, 4), {"a": [1]})
    with pytest.raises(ValueError, match="grid"):
        viz.explore(lambda a: None, {"a": []})


def test_table_formats_rows():
    md = viz.table([{"method": "x", "PSNR": 30.123456}], digits=2).data
    assert "| method | PSNR |" in md and "30.12" in md
    with pytest.raises(ValueError, match="rows"):
        viz.table([])


def test_table_escapes_what_markdown_would_read():
    md = viz.table([{"max |prox - CG|": 1.0, "E[x₀|x_k]": "a_b*c", "at $\\rho_k$": "`x`"}]).data
    header, _, row = md.split("\n")
    assert header == "| max \\|prox - CG\\| | E\\[x₀\\|x\\_k\\] | at $\\rho_k$ |"  # math kept as math
    assert row == "| 1.00 | a\\_b\\*c | \\`x\\` |"
    assert header.count(" | ") == 2, "escaped pipes must not split a cell"


def test_show_images_fits_the_page_without_blank_bands():
    strip = torch.rand(1, 1, 28, 6 * 28)                # a wide strip, as viz.tile makes them
    fig = viz.show_images([strip, strip, strip], ncols=1)
    width, height = fig.get_size_inches()
    assert width <= viz.PAGE_WIDTH + 1e-9
    fig.canvas.draw()
    shown = sum(ax.get_window_extent().height for ax in fig.axes) / fig.dpi
    assert shown > 0.85 * height, f"images fill {shown:.2f} of {height:.2f} inches: blank bands"
    many = viz.show_images([torch.rand(1, 3, 16, 16)] * 12, titles=[f"{i}" for i in range(12)])
    assert many.get_size_inches()[0] <= viz.PAGE_WIDTH + 1e-9, "a long row shrinks its panels to the page"
    with pytest.raises(ValueError, match="titles"):
        viz.show_images([strip], titles=["a", "b"])


def test_explorer_frames_are_sharp_and_shown_at_their_size():
    import matplotlib.pyplot as plt

    def render(a):
        fig, ax = plt.subplots(figsize=(6.4, 2.0))
        ax.plot([0, a])
        return fig

    import base64
    import io
    import re

    from PIL import Image

    html = viz.static_explorer_html(render, {"a": [1, 2]})
    shown = int(re.search(r'style="width:(\d+)px;max-width:100%"', html)[1])
    assert 550 < shown <= 640  # 6.4 in at 100 px per inch on the page, less the trimmed margins ...
    png = base64.b64decode(re.search(r'base64,([^"]+)"', html)[1])
    assert abs(Image.open(io.BytesIO(png)).width - 2 * shown) <= 2  # ... from a PNG with twice the pixels


def test_import_is_fast_and_lazy():
    code = ("import time, sys; t = time.perf_counter(); import genir_mini; "
            "print(time.perf_counter() - t, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert float(out[0]) < 1.5 and out[1] == "False"
    # the solvers cost torch's import and little more: no plotting or scikit-image behind them (their time is a
    # benchmark on a shared machine, so the test checks what is imported, not how long it takes)
    code = ("import sys; import genir_mini.operators, genir_mini.restore; "
            "print(*[m for m in ('matplotlib', 'skimage', 'sklearn', 'pywt') if m in sys.modules])")
    heavy = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert not heavy, f"importing the operators and the solvers loaded {heavy}"


def test_chapter_start_checks_the_tier_and_picks_the_device(capsys):
    from genir_mini import chapter

    ch = chapter.start("gpu", device="cpu")
    assert ch.gpu and not ch.smoke and ch.device == "cpu"
    out = capsys.readouterr().out
    assert "tier 'gpu'" in out and "sources " in out and "runs on the CPU" in out
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert chapter.start("smoke", verbose=False).device == expected
    with pytest.raises(ValueError, match="TIER must be one of 'smoke', 'cpu', 'gpu'"):
        chapter.start("GPU")
    with pytest.raises(ValueError, match="device"):
        chapter.start("cpu", device="tpu")


def test_colour_panels_keep_the_floor_and_wrap_onto_rows():
    photo = torch.rand(1, 3, 96, 96)
    fig = viz.show_images([photo] * 6)  # six photographs: two rows of three, not one row of six
    assert len(fig.axes) == 6 and fig.get_size_inches()[0] <= viz.PAGE_WIDTH + 1e-9
    assert min(ax.get_position().width for ax in fig.axes) * fig.get_size_inches()[0] >= viz.MIN_PANEL - 0.1
    with pytest.raises(ValueError, match="ncols <= 4"):
        viz.show_images([photo] * 6, ncols=6)
    viz.show_images([torch.rand(1, 1, 28, 28)] * 11, ncols=11)  # grey digits may be small
    estimates = {f"method {k}": photo for k in range(5)}
    fig = viz.compare(photo, estimates, zoom=(10, 10, 20))
    width = fig.get_size_inches()[0]
    panels = [ax for ax in fig.axes if ax.get_images() and ax.get_position().width * width > 1]
    assert width <= viz.PAGE_WIDTH + 1e-9
    assert min(ax.get_position().width * width for ax in panels) >= viz.MIN_PANEL - 1e-6


def test_titles_are_wrapped_to_their_panels_and_never_overlap():
    import matplotlib.pyplot as plt

    long_titles = ["MFSR, 4 jumps", "teacher, 8 NFE", "OFTSR student, t_in = 0 (bicubic-trained)",
                   "SMFSR + GAN, noise-started, after refinement"]
    photo = torch.rand(1, 3, 64, 64)
    fig = viz.show_images([photo] * 4, titles=long_titles, size=1.6)
    assert viz.text_overlaps(fig) == []
    fig = viz.compare(photo, dict(zip(long_titles, [photo] * 4)))
    assert viz.text_overlaps(fig) == []
    fig, axes = plt.subplots(1, 2, figsize=(2, 1))  # the check sees what the helpers avoid
    axes[0].set_title("a title far too long for its panel")
    axes[1].set_title("another title too long for it")
    assert viz.text_overlaps(fig)
    assert viz.wrap_title("a b c d e f g h i j k l m n o p", 0.5).count("\n") >= 1


def test_table_prints_huge_values_in_scientific_notation():
    md = viz.table([{"miss": 3514370.25, "small": 0.125}], digits=3).data
    assert "3.51e+06" in md and "0.125" in md
