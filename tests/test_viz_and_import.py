"""Figures and the exploration helper render headless; the library imports quickly."""

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

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


def test_static_explorer_has_every_frame_and_sliders():
    calls = []

    def render(a, b):
        calls.append((a, b))
        return torch.full((1, 1, 8, 8), a * b)

    html = viz.static_explorer_html(render, {"a": [0.1, 0.5], "b": [1, 2, 3]}, label="demo")
    assert len(calls) == 6
    assert html.count('type="range"') == 2 and '"1_2"' in html and "data:image/png;base64," in html


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
