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


PAGE_WIDTH = 6.8  # inches: the width of the book's text column at ``FIGURE_DPI`` (688 px on a desktop)
FIGURE_DPI = 100  # the size on the page; "retina" PNGs (``style``) carry twice the pixels
TITLE_HEIGHT = 0.32  # inches above a panel for one line of title
MIN_PANEL = 1.6  # inches: the narrowest a colour image (a photograph, an error map) is drawn, 160 px in the book
_TITLE_CHAR = 0.58  # a title character's mean width, in font sizes (DejaVu Sans): how titles are wrapped


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


def _is_colour(img) -> bool:
    """A colour image: a tensor (..., 3, H, W) or an array (H, W, 3)."""
    if isinstance(img, torch.Tensor):
        return img.ndim >= 3 and img.shape[-3] == 3
    return np.ndim(img) == 3 and np.shape(img)[-1] == 3


def max_columns(width: float = PAGE_WIDTH) -> int:
    """How many colour panels fit side by side in ``width`` inches without one narrower than :data:`MIN_PANEL`."""
    return max(1, int(width / MIN_PANEL + 1e-9))


def balanced_columns(n: int, width: float = PAGE_WIDTH) -> int:
    """Columns for ``n`` panels: as many as fit (:func:`max_columns`), spread evenly over the rows (5 panels:
    3 + 2, not 4 + 1)."""
    rows = -(-n // max_columns(width))
    return -(-n // rows)


def wrap_title(title, panel: float, fontsize: float = 9.0) -> str:
    """``title`` broken into lines that fit a panel ``panel`` inches wide (its own line breaks kept)."""
    import textwrap

    chars = max(6, int(panel * 72 / (_TITLE_CHAR * fontsize)))
    return "\n".join(textwrap.fill(line, chars, break_on_hyphens=False) or line
                     for line in str(title).split("\n"))


def text_overlaps(fig) -> list[tuple[str, str]]:
    """The pairs of texts of ``fig`` (panel titles, the figure's title, texts placed on panels) whose drawn
    boxes overlap: a figure whose titles run into each other returns them, a readable one ``[]``."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = [t for ax in fig.axes for t in (ax.title, ax._left_title, ax._right_title, *ax.texts)]
    texts += [t for t in (getattr(fig, "_suptitle", None), *fig.texts) if t is not None]
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts if t.get_visible() and t.get_text()]
    pairs = []
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1:]:
            overlap_w = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
            overlap_h = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
            if overlap_w > 0.5 and overlap_h > 0.5:
                pairs.append((a, b))
    return pairs


def _panel_width(ncols: int, size: float, width: float, colour: bool) -> float:
    """The width of each of ``ncols`` panels (at most ``size``, all within ``width``); ``colour`` panels may not
    be drawn narrower than :data:`MIN_PANEL` (a clear error names the columns that would fit)."""
    panel = min(size, width / ncols)
    if colour and panel < MIN_PANEL - 1e-9:
        raise ValueError(f"{ncols} columns of size {size} make each panel {panel:.2f} in wide, narrower than the "
                         f"{MIN_PANEL} in a colour image needs to be read in the book: use ncols <= "
                         f"{max_columns(width)} and size >= {MIN_PANEL}")
    return panel


def show_images(images, titles=None, ncols=None, size=2.6, cmap="gray", width=PAGE_WIDTH):
    """A row/grid of images (tensors ``(1, C, H, W)`` or ``(C, H, W)``, or arrays); returns the figure.

    ``images``: a list, or a dict title -> image. ``ncols`` defaults to as many as fit
    (:func:`balanced_columns`). Each panel is ``size`` inches wide, less where ``ncols`` panels would be wider
    than ``width`` (the text column), but a colour image never narrower than :data:`MIN_PANEL` (a
    ``ValueError`` says which ``ncols`` fit); titles are wrapped to their panel. A panel's height follows the
    images' aspect ratio, so wide strips (e.g. a trajectory tiled with ``tile``) leave no blank bands.
    """
    if isinstance(images, dict):
        titles, images = list(images), list(images.values())
    images = list(images)
    if not images:
        raise ValueError("images must hold at least one image")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"titles has {len(titles)} entries for {len(images)} images")
    n = len(images)
    ncols = min(ncols or balanced_columns(n, width), n)
    nrows = -(-n // ncols)
    panel = _panel_width(ncols, size, width, colour=any(_is_colour(img) for img in images))
    aspect = max(_aspect(img) for img in images)
    titles = [wrap_title(t, panel) for t in titles] if titles is not None else None
    title_h = TITLE_HEIGHT * max(t.count("\n") + 1 for t in titles) if titles is not None else 0.0
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


def compare(reference, estimates: dict, zoom=None, error=True, size=2.6, error_max=0.2, width=PAGE_WIDTH,
            ncols=None):
    """Side-by-side comparison: the images (PSNR/SSIM in the titles), an optional zoom inset, and under each
    row of images the absolute error maps |estimate − reference| (averaged over channels), with one colour
    bar below the figure.

    ``estimates``: name -> ``(1, C, H, W)`` tensor; ``zoom`` = ``(top, left, size)`` in pixels. ``ncols``:
    images per row, by default as many as fit (:func:`balanced_columns`: six images make two rows of three);
    no colour panel is narrower than :data:`MIN_PANEL`, and titles are wrapped to their panel.
    """
    from .evaluation.metrics import psnr, ssim

    for name, img in {"reference": reference, **estimates}.items():
        if not isinstance(img, torch.Tensor) or img.ndim != 4 or img.shape[0] != 1:
            raise ValueError(f"compare shows one image per column: {name!r} must be a (1, C, H, W) tensor, "
                             f"got {getattr(img, 'shape', type(img).__name__)}")
    names = ["reference"] + list(estimates)
    imgs = [reference] + [estimates[n] for n in estimates]
    ncols = min(ncols or balanced_columns(len(imgs), width), len(imgs))
    nrows = -(-len(imgs) // ncols)
    gap = 0.08  # inches between panels
    colour = error or any(_is_colour(img) for img in imgs)  # error maps are coloured
    panel = _panel_width(ncols, size, width - (ncols - 1) * gap, colour)
    image_h = panel * _aspect(reference)
    titles = []
    for j, (name, img) in enumerate(zip(names, imgs)):
        title = wrap_title(name, panel)
        if j > 0 and img.shape == reference.shape:
            shown = img.clamp(0, 1)
            title += f"\n{psnr(shown, reference).item():.2f} dB / {ssim(shown, reference).item():.3f}"
        titles.append(title)
    title_h = TITLE_HEIGHT * max(t.count("\n") + 1 for t in titles)
    block_h = title_h + image_h + (TITLE_HEIGHT + image_h if error else 0.0)  # one row of images (and errors)
    bar_h = 0.6 if error else 0.0  # the colour bar and its label
    fig_w, fig_h = ncols * panel + (ncols - 1) * gap, nrows * block_h + (nrows - 1) * gap + bar_h
    fig = plt.figure(figsize=(fig_w, fig_h))

    def axes_at(left, top, h):  # inches from the figure's top-left corner
        return fig.add_axes([left / fig_w, 1 - (top + h) / fig_h, panel / fig_w, h / fig_h])

    error_image = None
    for j, (img, title) in enumerate(zip(imgs, titles)):
        row, col = divmod(j, ncols)
        left, top = col * (panel + gap), row * (block_h + gap)
        ax = axes_at(left, top + title_h, image_h)
        arr = _as_numpy(img)
        ax.imshow(arr, cmap="gray", vmin=0, vmax=1)
        ax.set_title(title)
        ax.axis("off")
        if zoom is not None and img.shape[-2:] == reference.shape[-2:]:
            z_top, z_left, s = zoom
            inset = ax.inset_axes([0.58, 0.0, 0.42, 0.42])
            inset.imshow(arr[z_top: z_top + s, z_left: z_left + s], cmap="gray", vmin=0, vmax=1,
                         interpolation="nearest")
            inset.set_xticks([]), inset.set_yticks([])
            for spine in inset.spines.values():
                spine.set_edgecolor("yellow")
            ax.add_patch(plt.Rectangle((z_left, z_top), s, s, fill=False, edgecolor="yellow", linewidth=1))
        if error and j > 0 and img.shape == reference.shape:
            ax = axes_at(left, top + title_h + image_h + TITLE_HEIGHT, image_h)
            ax.axis("off")
            err = (img.clamp(0, 1) - reference).abs().mean(1)[0].cpu().numpy()
            error_image = ax.imshow(err, cmap="magma", vmin=0, vmax=error_max)
            ax.set_title("|error|")
    if error_image is not None:
        bar_w = min(fig_w, 3.5)
        bar = fig.add_axes([(fig_w - bar_w) / 2 / fig_w, 0.35 / fig_h, bar_w / fig_w, 0.12 / fig_h])
        fig.colorbar(error_image, cax=bar, orientation="horizontal", label="absolute error")
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

    Floats are printed with ``digits`` decimals, those of 10⁵ or more in size with three significant digits
    (``3.51e+06``); returns ``IPython.display.Markdown``.
    """
    from IPython.display import Markdown

    if not rows:
        raise ValueError("rows must be a non-empty list of dicts")
    keys = list(rows[0])

    def fmt(v):
        if isinstance(v, torch.Tensor):
            v = v.item()
        if isinstance(v, float):
            return escape_markdown(f"{v:.3g}" if abs(v) >= 1e5 else f"{v:.{digits}f}")
        return escape_markdown(str(v))

    lines = ["| " + " | ".join(escape_markdown(str(k)) for k in keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(fmt(r.get(k, "")) for k in keys) + " |" for r in rows]
    text = "\n".join(lines)
    return Markdown((f"**{caption}**\n\n" if caption else "") + text)
