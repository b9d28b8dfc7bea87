"""Figures: image grids, comparisons with zoom insets and error maps, and the exploration helper.

``explore(render, grid)`` shows an exploration two ways at once: pre-rendered over the small ``grid``
of settings with JavaScript sliders (works in the static HTML book, no kernel needed), and — when a
live kernel runs interactively — as an ipywidgets ``interact`` over the same settings.
"""

import base64
import html
import io
import itertools
import json
import os
import re
import uuid

import matplotlib.pyplot as plt
import numpy as np
import torch

from .data import to_numpy


def _as_numpy(img):
    if isinstance(img, torch.Tensor):
        arr = to_numpy(img)
        return arr[..., 0] if arr.shape[-1] == 1 else arr
    return np.asarray(img)


def tile(images: torch.Tensor, ncols: int = 8, pad: int = 1, value: float = 1.0) -> torch.Tensor:
    """Tile ``(N, C, H, W)`` images into one ``(1, C, H', W')`` grid image, ``ncols`` per row, ``pad`` pixels of
    ``value`` between them (a torchvision-free ``make_grid``)."""
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        raise ValueError(f"images must be an (N, C, H, W) tensor, got {getattr(images, 'shape', type(images))}")
    if not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive integer, got {ncols!r}")
    n, c, h, w = images.shape
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    out = images.new_full((1, c, nrows * (h + pad) + pad, ncols * (w + pad) + pad), value)
    for i in range(n):
        r, q = divmod(i, ncols)
        top, left = pad + r * (h + pad), pad + q * (w + pad)
        out[0, :, top: top + h, left: left + w] = images[i]
    return out


PAGE_WIDTH = 7.0  # inches: the width of the book's text column at ``FIGURE_DPI`` (about 700 px)
FIGURE_DPI = 100  # the size on the page; "retina" PNGs (``style``) carry twice the pixels
TITLE_HEIGHT = 0.32  # inches above a panel for a one-line title


def style():
    """The book's figure style: figures sized for the text column and rendered as 2× ("retina") PNGs, so
    that they are sharp on high-resolution screens; labels of 9 pt. Every chapter calls it once."""
    plt.rcParams.update({"figure.dpi": FIGURE_DPI, "savefig.dpi": 2 * FIGURE_DPI, "font.size": 9,
                         "axes.titlesize": 9, "axes.labelsize": 9, "legend.fontsize": 8,
                         "xtick.labelsize": 8, "ytick.labelsize": 8})
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")
    except ImportError:  # pragma: no cover - outside IPython
        pass


def _aspect(img) -> float:
    """height / width of an image: a tensor (..., H, W) or an array (H, W[, C])."""
    h, w = img.shape[-2:] if isinstance(img, torch.Tensor) else np.asarray(img).shape[:2]
    return h / w


def show_images(images, titles=None, ncols=None, size=2.6, cmap="gray", width=PAGE_WIDTH):
    """A row/grid of images (tensors ``(1, C, H, W)`` or ``(C, H, W)``, or arrays); returns the figure.

    ``images``: a list, or a dict title -> image. Each panel is ``size`` inches wide, less where ``ncols``
    panels would be wider than ``width`` (the text column); its height follows the images' aspect ratio,
    so wide strips (e.g. a trajectory tiled with ``tile``) leave no blank bands.
    """
    if isinstance(images, dict):
        titles, images = list(images), list(images.values())
    images = list(images)
    if not images:
        raise ValueError("images must hold at least one image")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"titles has {len(titles)} entries for {len(images)} images")
    n = len(images)
    ncols = ncols or n
    nrows = -(-n // ncols)
    panel = min(size, width / ncols)
    aspect = max(_aspect(img) for img in images)
    title_h = TITLE_HEIGHT * max(str(t).count("\n") + 1 for t in titles) if titles is not None else 0.0
    row_h = panel * aspect + title_h
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel * ncols, row_h * nrows), squeeze=False)
    fig.subplots_adjust(left=0, right=1, bottom=0, top=1 - title_h / (row_h * nrows),
                        wspace=0.04, hspace=title_h / (panel * aspect) if title_h else 0.02)
    for ax in axes.flat:
        ax.axis("off")
    for i, img in enumerate(images):
        ax = axes.flat[i]
        ax.imshow(_as_numpy(img), cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        if titles is not None:
            ax.set_title(titles[i])
    return fig


def compare(reference, estimates: dict, zoom=None, error=True, size=2.6, error_max=0.2, width=PAGE_WIDTH):
    """Side-by-side comparison: top row the images (PSNR/SSIM in the titles), optional zoom inset box,
    bottom row the absolute error maps |estimate − reference| (averaged over channels).

    ``estimates``: name -> ``(1, C, H, W)`` tensor; ``zoom`` = ``(top, left, size)`` in pixels.
    """
    from .evaluation.metrics import psnr, ssim

    for name, img in {"reference": reference, **estimates}.items():
        if not isinstance(img, torch.Tensor) or img.ndim != 4 or img.shape[0] != 1:
            raise ValueError(f"compare shows one image per column: {name!r} must be a (1, C, H, W) tensor, "
                             f"got {getattr(img, 'shape', type(img).__name__)}")
    names = ["reference"] + list(estimates)
    imgs = [reference] + [estimates[n] for n in estimates]
    nrows = 2 if error else 1
    error_image = None
    panel = min(size, width / (len(imgs) + 0.35 * error))  # room for the colour bar
    fig, axes = plt.subplots(nrows, len(imgs), figsize=(panel * (len(imgs) + 0.35 * error),
                                                        (panel * _aspect(reference) + 2 * TITLE_HEIGHT) * nrows),
                             squeeze=False)
    for j, (name, img) in enumerate(zip(names, imgs)):
        ax = axes[0, j]
        arr = _as_numpy(img)
        ax.imshow(arr, cmap="gray", vmin=0, vmax=1)
        title = name
        if j > 0 and img.shape == reference.shape:
            shown = img.clamp(0, 1)
            title += f"\n{psnr(shown, reference).item():.2f} dB / {ssim(shown, reference).item():.3f}"
        ax.set_title(title)
        ax.axis("off")
        if zoom is not None and img.shape[-2:] == reference.shape[-2:]:
            top, left, s = zoom
            inset = ax.inset_axes([0.58, 0.0, 0.42, 0.42])
            inset.imshow(arr[top : top + s, left : left + s], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            inset.set_xticks([]), inset.set_yticks([])
            for spine in inset.spines.values():
                spine.set_edgecolor("yellow")
            ax.add_patch(plt.Rectangle((left, top), s, s, fill=False, edgecolor="yellow", linewidth=1))
        if error:
            ax = axes[1, j]
            ax.axis("off")
            if j > 0 and img.shape == reference.shape:
                err = (img.clamp(0, 1) - reference).abs().mean(1)[0].cpu().numpy()
                error_image = ax.imshow(err, cmap="magma", vmin=0, vmax=error_max)
                ax.set_title("|error|")
    if error_image is not None:
        fig.colorbar(error_image, ax=axes[1, :].tolist(), shrink=0.8, label="absolute error")
    else:
        fig.tight_layout()
    return fig


def strip_plot(groups: dict, xlabel: str, point_labels=None, reference: float | None = 0.0, width=PAGE_WIDTH,
               ax=None, legend: bool = True):
    """Per-image results as dots, one row per group (e.g. a method's per-image gain on each task), with the
    mean and ± one standard deviation drawn over them and a vertical line at ``reference``.

    ``groups``: label -> 1-D values (tensor, array or list), all of one length N when ``point_labels``
    (N names, e.g. the photographs) is given: each image then keeps its colour across the rows and, with
    ``legend``, the legend below names it. Draws into ``ax`` if given (several strip plots in one figure),
    else into a new figure ``width`` inches wide. Returns the figure.
    """
    from .evaluation.spread import mean_std

    if not isinstance(groups, dict) or not groups:
        raise ValueError("groups must be a non-empty dict label -> 1-D values")
    values = {k: np.asarray(torch.as_tensor(v, dtype=torch.float64).flatten()) for k, v in groups.items()}
    if any(v.size == 0 for v in values.values()):
        raise ValueError("every group of strip_plot needs at least one value")
    if point_labels is not None:
        point_labels = list(point_labels)
        wrong = {k: v.size for k, v in values.items() if v.size != len(point_labels)}
        if wrong:
            raise ValueError(f"point_labels names {len(point_labels)} points but groups have {wrong}")
    n_rows = len(values)
    own_figure = ax is None
    if own_figure:
        _, ax = plt.subplots(figsize=(width, 0.45 * n_rows + (1.5 if point_labels and legend else 0.9)))
    tab20 = plt.get_cmap("tab20")
    colours = [tab20(i) for i in (*range(0, 20, 2), *range(1, 20, 2))]  # ten saturated colours first
    for row, v in enumerate(values.values()):
        y = n_rows - 1 - row
        offsets = np.linspace(-0.18, 0.18, v.size) if v.size > 1 else np.zeros(1)
        for i, (value, dy) in enumerate(zip(v, offsets)):
            ax.plot(value, y + dy, "o", ms=4, color=colours[i % 20], alpha=0.9,
                    label=point_labels[i] if point_labels is not None and row == 0 else None)
        mean, std = mean_std(v)
        ax.errorbar(mean, y, xerr=std, fmt="|", color="black", ms=14, capsize=4, lw=1.2)
    if reference is not None:
        ax.axvline(reference, color="gray", ls=":", lw=1)
    ax.set_yticks(range(n_rows), list(values)[::-1])
    ax.set_ylim(-0.6, n_rows - 0.4)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    if point_labels is not None and legend:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35 if n_rows > 2 else -0.6),
                  ncol=min(6, len(point_labels)), fontsize=7, frameon=False, handletextpad=0.1, columnspacing=0.8)
    if own_figure:
        ax.figure.tight_layout()
    return ax.figure


def _figure_frame(fig, dpi=FIGURE_DPI) -> tuple[str, int]:
    """``(data URI of the figure at 2 × dpi, its width in CSS pixels at dpi)``; closes the figure. An explorer
    embeds one frame per setting, so each is stored as the smaller of PNG and JPEG: JPEG keeps a grid of
    photographs a few hundred kB smaller, PNG keeps noise and line plots small and exact."""
    from PIL import Image

    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=2 * dpi, bbox_inches="tight")
    plt.close(fig)
    png.seek(0)
    with Image.open(png) as im:
        width = im.width // 2
        jpeg = io.BytesIO()
        im.convert("RGB").save(jpeg, format="JPEG", quality=88)
    mime, data = min((("image/png", png.getvalue()), ("image/jpeg", jpeg.getvalue())), key=lambda m: len(m[1]))
    return f"data:{mime};base64," + base64.b64encode(data).decode(), width


def _render_frame(render, params, dpi):
    out = render(**params)
    if isinstance(out, torch.Tensor):
        out = show_images([out])
    return _figure_frame(out, dpi)


def static_explorer_html(render, grid: dict, label=None, dpi: int = FIGURE_DPI) -> str:
    """HTML with one slider per parameter over pre-rendered frames of ``render(**params)``.

    Every setting of the grid is one embedded image (PNG or JPEG, whichever is smaller), shown at the
    figure's own size in inches (``render`` sizes its figure for the text column, e.g. with
    ``show_images``): keep grids small (≲ 20 settings).
    """
    names = list(grid)
    values = [list(grid[n]) for n in names]
    frames, width = {}, 0
    for idx in itertools.product(*[range(len(v)) for v in values]):
        params = {n: v[i] for n, v, i in zip(names, values, idx)}
        frames["_".join(map(str, idx))], frame_width = _render_frame(render, params, dpi)
        width = max(width, frame_width)
    uid = "explore-" + uuid.uuid4().hex[:8]
    sliders = "".join(
        f'<div><label>{html.escape(str(n))} = <b id="{uid}-v{k}">{html.escape(str(values[k][0]))}</b></label><br>'
        f'<input type="range" min="0" max="{len(values[k]) - 1}" value="0" step="1" id="{uid}-s{k}" '
        f'style="width:320px"></div>'
        for k, n in enumerate(names)
    )
    first = frames["_".join("0" for _ in names)]
    script = f"""
<script>(function() {{
  const frames = {json.dumps(frames)};
  const values = {json.dumps([[str(v) for v in vs] for vs in values])};
  const n = {len(names)};
  function update() {{
    const idx = [];
    for (let k = 0; k < n; k++) {{
      const i = document.getElementById("{uid}-s" + k).value;
      document.getElementById("{uid}-v" + k).textContent = values[k][i];
      idx.push(i);
    }}
    document.getElementById("{uid}-img").src = frames[idx.join("_")];
  }}
  for (let k = 0; k < n; k++) document.getElementById("{uid}-s" + k).addEventListener("input", update);
}})();</script>"""
    caption = f"<p><i>{html.escape(label)}</i></p>" if label else ""
    return (f'<div id="{uid}" class="genir-explorer">{caption}{sliders}'
            f'<img id="{uid}-img" src="{first}" alt="{html.escape(label or "explorer")}" '
            f'style="width:{width}px;max-width:100%"></div>{script}')


def _interactive() -> bool:
    """True in a live, interactive kernel (not while the book or the tests execute notebooks)."""
    if os.environ.get("GENIR_BOOK_BUILD"):
        return False
    try:
        from IPython import get_ipython

        return get_ipython() is not None and "IPKernelApp" in get_ipython().config
    except ImportError:
        return False


def explore(render, grid: dict, label=None, live=None, dpi: int = FIGURE_DPI):
    """Exploration of ``render(**params) -> Figure | image tensor`` over ``grid`` (name -> values).

    Always displays the pre-rendered slider version (so it survives into the static book); with a
    live interactive kernel (``live=None`` autodetects) also an ipywidgets ``interact`` over the grid.
    """
    from IPython.display import HTML, display

    grid = {name: list(vals) for name, vals in grid.items()}
    for name, vals in grid.items():
        if not vals:
            raise ValueError(f"grid[{name!r}] must list at least one value")
    display(HTML(static_explorer_html(render, grid, label, dpi)))
    if live or (live is None and _interactive()):
        import ipywidgets as widgets

        def show(**params):
            fig = render(**params)
            if isinstance(fig, torch.Tensor):
                fig = show_images([fig])
            display(fig)
            plt.close(fig)

        widgets.interact(show, **{n: widgets.SelectionSlider(options=list(v)) for n, v in grid.items()})


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#])")


def escape_markdown(text: str) -> str:
    """``text`` with the characters Markdown (CommonMark and MyST) would interpret escaped by a backslash,
    e.g. ``"max |a - b|"`` -> ``"max \\|a - b\\|"``, so that a table cell shows it as written. Inline math
    ``$...$`` is kept as it is (its ``|`` still escaped: a table would split a cell there)."""
    parts = text.split("$")
    if len(parts) % 2 == 0:  # an odd number of "$": no math, escape everything
        parts = [text]
    return "$".join(_MARKDOWN_SPECIAL.sub(r"\\\1", part) if i % 2 == 0 else part.replace("|", r"\|")
                    for i, part in enumerate(parts))


def table(rows: list, digits: int = 2, caption: str | None = None):
    """A list of dicts (one per row, same keys) as a Markdown table for display in a notebook.

    Floats are printed with ``digits`` decimals; returns ``IPython.display.Markdown``.
    """
    from IPython.display import Markdown

    if not rows:
        raise ValueError("rows must be a non-empty list of dicts")
    keys = list(rows[0])

    def fmt(v):
        if isinstance(v, torch.Tensor):
            v = v.item()
        return escape_markdown(f"{v:.{digits}f}" if isinstance(v, float) else str(v))

    lines = ["| " + " | ".join(escape_markdown(str(k)) for k in keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(fmt(r.get(k, "")) for k in keys) + " |" for r in rows]
    text = "\n".join(lines)
    return Markdown((f"**{caption}**\n\n" if caption else "") + text)
