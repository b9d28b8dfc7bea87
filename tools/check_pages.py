"""Open the built book in a real browser (headless Chromium through Playwright) and list what a reader would
see wrong on each page.

Usage::

    python tools/check_pages.py _build/html [--screenshots DIR]

prints the problems of every page and the page weights, and exits 1 if there is a problem. The test
``tests/test_rendered_book.py`` builds the book and calls :func:`check_book`. A page fails on

* a local file the page asks for that does not load (an image, a script, a font), or a console error other
  than :data:`KNOWN_CONSOLE_ERRORS` (the network is cut: only :data:`EXTERNAL_IMAGES` may come from outside);
* a Markdown table rendered as raw pipes, or MyST source left in the text (``{exercise}``, ``{eq}``, …);
* a solution that shows before the reader opens it (a solution cell outside a folded solution, or a folded
  solution whose content is visible), or a ``BEGIN SOLUTION`` line on screen;
* an opened solution that lacks the written answer of its source (``make_student.written_solutions``: every
  run of four or more plain words of it must be on screen) or shows a ``BEGIN``/``END SOLUTION`` marker;
* a MathJax error in place of an equation (``mjx-merror``, e.g. "\\tag not allowed in split environment");
* a display equation wider than the text column at :data:`DESKTOP` width, or a table wider than the column;
* a visible code line wider than the code column (measured with wrapping off);
* in a chapter, an output image without a numbered, captioned figure (explorers and badges excepted), or a
  colour image panel (a photograph, an error map: :func:`colour_panels`) drawn narrower than
  :data:`PANEL_FLOOR` CSS pixels; grey panels (digit grids, 28-pixel images shown enlarged) are exempt;
* at :data:`PHONE` width, a navigation button (the chapter list, the page contents) that is missing or opens
  nothing, or a table or equation wider than the column that does not scroll.

Overlapping titles inside a figure cannot be seen in its pixels: ``genir_mini.viz.text_overlaps`` finds them,
and the figure helpers wrap titles to their panels (``tests/test_viz_and_import.py``).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import re
import shutil
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

try:  # run as a script (python tools/check_pages.py) or imported as tools.check_pages
    from tools.make_student import written_solutions
except ImportError:  # pragma: no cover
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tools.make_student import written_solutions

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PANEL_FLOOR = 150  # CSS px: the narrowest a colour image panel may be shown (genir_mini.viz draws them >= 160)
# The theme's known errors, on every page of any Jupyter Book 1.x site: pydata-sphinx-theme logs the first
# when no theme preference is stored (a fresh browser profile); sphinx-thebe's script is included twice.
KNOWN_CONSOLE_ERRORS = ("Got invalid theme mode", "Identifier 'THEBE_JS_URL' has already been declared")
EXTERNAL_IMAGES = ("https://colab.research.google.com/assets/colab-badge.svg",)
MYST_LEFTOVERS = ("{exercise}", "{solution}", "{eq}`", "{cite}`", "{cite:p}`", "{cite:t}`", "{numref}`",
                  "```{", ":::{", "(eq-")


def find_chromium() -> str | None:
    """A Chromium executable: ``$CHROMIUM``, Debian's ``chromium``, or ``None`` (then Playwright's own)."""
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


@contextmanager
def serve(folder: Path):
    """Serve ``folder`` over HTTP on a free local port; yields the base URL."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


# The width of an element's content box (the text column, for the article), put into the page scripts below.
_COLUMN_WIDTH = ("((e) => { const cs = getComputedStyle(e); "
                 "return e.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight); })")

# Everything measured inside the page, in one call; returns lists of short descriptions.
_PAGE_CHECKS = r"""
(isChapter) => {
  const out = {tables: [], leftovers: [], solutions: [], math: [], code: [], figures: [], images: [],
               mathjax: [], wide_tables: [], panels: []};
  const main = document.querySelector("main") || document.body;
  // (Chromium lays out the content of a closed <details> too, so that is checked by hand)
  const visible = (e) => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length)
      && getComputedStyle(e).visibility !== "hidden" && !e.closest("details:not([open])");
  // the text a reader reads: without code and math
  const textOf = (e) => { const c = e.cloneNode(true);
      c.querySelectorAll("code, pre, .highlight, mjx-container, .math, script").forEach(x => x.remove());
      return c.textContent; };
  // raw-pipe tables: a paragraph that still holds a Markdown table row
  for (const p of main.querySelectorAll("p, li")) {
    const t = textOf(p);
    if (/\|\s*-{3,}\s*\|/.test(t) || /^\s*\|.*\|\s*$/m.test(t)) out.tables.push(t.slice(0, 80));
  }
  // MyST source in the text
  const text = Array.from(main.querySelectorAll("p, li, td, th, h1, h2, h3, figcaption, .admonition-title"))
      .filter(e => !e.closest("pre, .highlight")).map(textOf).join("\n");
  for (const token of LEFTOVERS) if (text.includes(token)) out.leftovers.push(token);
  // solutions: every solution cell sits in a folded solution; nothing of a folded solution shows
  for (const cell of main.querySelectorAll(".cell.tag_solution"))
    if (!cell.closest(".solution")) out.solutions.push("solution cell outside a {solution} block");
  for (const sol of main.querySelectorAll(".solution")) {
    if (!sol.classList.contains("dropdown")) out.solutions.push("solution not folded: " + sol.id);
    for (const child of sol.querySelectorAll(".cell, section > p, .math"))
      if (visible(child)) { out.solutions.push("visible before opening: " + sol.id); break; }
  }
  for (const pre of main.querySelectorAll("pre"))
    if (visible(pre) && pre.textContent.includes("BEGIN SOLUTION")) out.solutions.push("BEGIN SOLUTION on screen");
  // MathJax's red error boxes in place of equations
  for (const e of main.querySelectorAll("mjx-merror"))
    out.mathjax.push((e.getAttribute("data-mjx-error") || e.textContent).slice(0, 80));
  // tables wider than the text column
  const column = COLUMN_WIDTH(main.querySelector("article") || main);
  for (const t of main.querySelectorAll("table"))
    if (visible(t) && t.getBoundingClientRect().width > column + 1)
      out.wide_tables.push(`${Math.round(t.getBoundingClientRect().width)} px in a ${column}-px column: ` +
                           (t.querySelector("th, td") || t).textContent.trim().slice(0, 50));
  // display math wider than the column
  for (const m of main.querySelectorAll("mjx-container[display='true']")) {
    const column = m.closest(".math, div") || m.parentElement;
    if (visible(m) && m.scrollWidth > column.clientWidth + 1) out.math.push(m.textContent.slice(0, 60));
  }
  // visible code wider than the code column, measured without wrapping
  for (const pre of main.querySelectorAll(".cell_input pre")) {
    if (!visible(pre)) continue;
    const old = pre.style.whiteSpace; pre.style.whiteSpace = "pre";
    if (pre.scrollWidth > pre.clientWidth + 1) {
      const longest = pre.textContent.split("\n").reduce((a, b) => b.length > a.length ? b : a, "");
      out.code.push(longest.trim().slice(0, 70));
    }
    pre.style.whiteSpace = old;
  }
  // images: loaded, and in a chapter every output image is a numbered, captioned figure
  for (const img of main.querySelectorAll("img")) {
    const src = img.getAttribute("src") || "";
    if (!src.startsWith("http") && !(img.complete && img.naturalWidth > 0)) out.images.push(src.slice(0, 80));
    if (isChapter && img.closest(".cell_output") && !img.closest(".genir-explorer")) {
      const fig = img.closest("figure");
      const caption = fig && fig.querySelector("figcaption");
      if (!caption || !/Fig\.\s*\d+\.\d+/.test(caption.textContent)) out.figures.push(img.alt || src.slice(0, 40));
      if (!src.startsWith("data:") && img.naturalWidth > 0)  // measured by colour_panels, in Python
        out.panels.push({src: img.src, shown: img.getBoundingClientRect().width, natural: img.naturalWidth,
                         figure: caption ? caption.textContent.trim().slice(0, 12) : src.slice(0, 40)});
    }
  }
  return out;
}
"""


# every solution opened as a reader opens it: its text (without code and math) and any marker on screen
_OPEN_SOLUTIONS = r"""
async () => {
  const main = document.querySelector("main") || document.body;
  const solutions = Array.from(main.querySelectorAll(".solution"));
  for (const sol of solutions) {  // a <details>, or sphinx-togglebutton's folded admonition with its button
    const details = sol.matches("details") ? sol : sol.querySelector("details") || sol.closest("details");
    if (details) details.open = true;
    const button = sol.querySelector("button.toggle-button");
    if (sol.classList.contains("toggle-hidden") && button) button.click();
  }
  await new Promise(r => setTimeout(r, 300));
  const skip = "code, pre, .highlight, mjx-container, .math, script, .admonition-title, summary";
  return solutions.map(sol => {
    let text = "";  // the text a reader sees: visible text nodes outside code and math
    const walker = document.createTreeWalker(sol, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode())
      if (!n.parentElement.closest(skip) && n.parentElement.getClientRects().length) text += n.textContent;
    const markers = Array.from(sol.querySelectorAll("pre")).some(
        p => /(BEGIN|END) SOLUTION/.test(p.textContent) && p.getClientRects().length);
    return {id: sol.id, text: text, markers: markers};
  });
}
"""

# at phone width: each navigation button is there and opens its panel of links; what is too wide scrolls
_PHONE_NAVIGATION = r"""
async () => {
  const shown = (e) => { const r = e.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== "hidden"; };
  const linksOnScreen = () => Array.from(document.querySelectorAll(
        "dialog[open] a, .bd-sidebar-primary a, .bd-sidebar-secondary a, .bd-toc a"))
      .filter(a => { const r = a.getBoundingClientRect();
          return shown(a) && r.right > 0 && r.left < innerWidth && r.bottom > 0 && r.top < innerHeight; })
      .map(a => a.href);
  const problems = [];
  for (const [what, selector] of [["chapter list", ".primary-toggle"], ["contents", ".secondary-toggle"]]) {
    const buttons = Array.from(document.querySelectorAll(selector)).filter(shown);
    const hasContents = document.querySelectorAll(".bd-sidebar-secondary a, .bd-toc a").length > 0;
    if (!buttons.length && (what === "chapter list" || hasContents)) problems.push(`no ${what} button`);
    if (!buttons.length) continue;
    const before = new Set(linksOnScreen());
    buttons[0].click();
    await new Promise(r => setTimeout(r, 400));
    if (!linksOnScreen().some(h => !before.has(h))) problems.push(`the ${what} button opens nothing`);
    document.dispatchEvent(new KeyboardEvent("keydown", {key: "Escape", bubbles: true}));
    document.querySelectorAll("dialog[open]").forEach(d => d.close());
    await new Promise(r => setTimeout(r, 200));
  }
  // wide tables and equations scroll inside their own box instead of being cut off
  const main = document.querySelector("main") || document.body;
  const scrolls = (e) => { for (let a = e; a && a !== main; a = a.parentElement)
      if (["auto", "scroll"].includes(getComputedStyle(a).overflowX)) return true; return false; };
  for (const e of main.querySelectorAll("table, mjx-container[display='true']")) {
    const column = COLUMN_WIDTH(e.closest("article") || main);
    if (shown(e) && e.scrollWidth > column + 1 && !scrolls(e))
      problems.push(`a ${e.tagName.toLowerCase()} ${e.scrollWidth} px wide is cut off at ${column} px`);
  }
  return problems;
}
"""


def _plain(text: str) -> str:
    """Text as compared: typographic quotes and dashes made plain, whitespace collapsed."""
    for fancy, plain in (("“", '"'), ("”", '"'), ("‘", "'"), ("’", "'"), ("—", "---"), ("–", "--")):
        text = text.replace(fancy, plain)
    return " ".join(text.split())


def missing_words(source: str, shown: str) -> list[str]:
    """The runs of four or more plain words of a written solution ``source`` (Markdown, between its math,
    code and roles) that the rendered ``shown`` text lacks."""
    source = re.sub(r"\$\$.*?\$\$|\$[^$]*\$|\{[\w:-]+\}`[^`]*`|`[^`]*`", "\x00", source, flags=re.S)
    source = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", source).replace("*", "").replace("_", " ")
    shown = _plain(shown).replace("_", " ")
    runs = [_plain(run).strip(" ,;:.()") for run in source.split("\x00")]
    return [run for run in runs if len(run.split()) >= 4 and run not in shown]


def colour_panels(png: Path) -> list[tuple[int, int]]:
    """The colour image panels of a figure: ``(left, width)`` in the image's pixels of each filled, coloured
    rectangle (a photograph, an error map) at least 64 pixels on a side. Text, lines, markers, legends and
    colour bars are not panels; grey images (digits) are not colour panels."""
    import numpy as np
    from PIL import Image
    from scipy import ndimage

    rgb = np.asarray(Image.open(png).convert("RGB"), dtype=np.int16)
    ink = rgb.min(axis=2) < 245
    coloured = (rgb.max(axis=2) - rgb.min(axis=2)) > 24
    filled = ndimage.binary_opening(ink, structure=np.ones((9, 9), bool))
    labels, _ = ndimage.label(filled)
    panels = []
    for box in ndimage.find_objects(labels):
        h, w = box[0].stop - box[0].start, box[1].stop - box[1].start
        if min(h, w) < 64 or h > 4 * w or w > 8 * h:
            continue
        region = filled[box]
        if region.mean() > 0.85 and coloured[box][region].mean() > 0.2:
            panels.append((box[1].start, w))
    return panels


def _narrow_panels(html: Path, base: str, panels: list[dict]) -> list[str]:
    found = []
    for image in panels:
        path = html / image["src"][len(base):].lstrip("/")
        if not path.exists():
            continue
        scale = image["shown"] / image["natural"]
        widths = [round(w * scale) for _, w in colour_panels(path)]
        if widths and min(widths) < PANEL_FLOOR:
            found.append(f"{image['figure']}: a colour panel {min(widths)} px wide (floor {PANEL_FLOOR})")
    return found


def check_book(html: Path, screenshots: Path | None = None, sources: dict | None = None) -> tuple[dict, dict]:
    """Check every page of the book built in ``html``; returns ``({page: [problems]}, {page: MB})``.

    ``sources``: page name (``"book/08_splitmeanflow.html"``) -> its notebook, whose written solutions
    (``make_student.written_solutions``) the opened solutions must show; without it, only an empty one fails."""
    from playwright.sync_api import sync_playwright

    html = Path(html)
    pages = sorted(p.relative_to(html).as_posix() for p in html.glob("book/*.html"))
    if not pages:
        raise FileNotFoundError(f"no book/*.html pages in {html}: build the book first")
    problems, weights = {}, {}
    checks = _PAGE_CHECKS.replace("LEFTOVERS", json.dumps(MYST_LEFTOVERS)).replace("COLUMN_WIDTH", _COLUMN_WIDTH)
    phone_checks = _PHONE_NAVIGATION.replace("COLUMN_WIDTH", _COLUMN_WIDTH)
    with serve(html) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox"])
        context = browser.new_context(viewport=DESKTOP)
        # no network: the book must work offline; only the known external images are let through (and fail)
        context.route(lambda url: not url.startswith(base), lambda route: route.abort())
        for name in pages:
            page = context.new_page()
            found = []
            page.on("console", lambda m, found=found: m.type == "error" and not any(
                k in m.text for k in KNOWN_CONSOLE_ERRORS) and "ERR_FAILED" not in m.text
                and found.append(f"console error: {m.text[:120]}"))
            page.on("pageerror", lambda e, found=found: not any(k in str(e) for k in KNOWN_CONSOLE_ERRORS)
                    and found.append(f"script error: {str(e)[:120]}"))
            page.on("requestfailed", lambda r, found=found: r.url.startswith(base) and found.append(
                f"failed to load {r.url[len(base):][:100]}"))
            page.on("requestfailed", lambda r, found=found: not r.url.startswith(base) and not any(
                r.url.startswith(e) for e in EXTERNAL_IMAGES)
                and found.append(f"asks the network for {r.url[:100]}"))
            page.goto(f"{base}/{name}", wait_until="networkidle")
            # MathJax typesets after the load: wait for its first pass to finish
            page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise.then(() => 1) : 0")
            result = page.evaluate(checks, name.split("/")[-1][:2].isdigit())
            found += [f"panels: {item}" for item in _narrow_panels(html, base, result.pop("panels"))]
            for kind, items in result.items():
                found += [f"{kind}: {item}" for item in items]
            found += _solution_problems(page.evaluate(_OPEN_SOLUTIONS), (sources or {}).get(name))
            if screenshots is not None:
                screenshots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshots / (Path(name).stem + ".png")), full_page=True)
            problems[name] = found
            weights[name] = round(_page_bytes(html, name) / 1e6, 2)
            page.close()
        phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        phone.route(lambda url: not url.startswith(base), lambda route: route.abort())
        for name in pages:
            page = phone.new_page()
            page.goto(f"{base}/{name}", wait_until="networkidle")
            problems[name] += [f"phone navigation: {item}" for item in page.evaluate(phone_checks)]
            page.close()
        browser.close()
    return problems, weights


def chapter_sources(folder: Path) -> dict:
    """Page name -> notebook for the chapters in ``folder`` (their pages are ``book/<name>.html``)."""
    import nbformat

    return {f"book/{p.stem}.html": nbformat.read(p, as_version=4)
            for p in sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))}


def _solution_problems(opened: list[dict], source_nb) -> list[str]:
    """What the opened solutions of a page lack against the written solutions of its notebook."""
    found = [f"solutions: {sol['id'] or 'a solution'} shows a BEGIN/END SOLUTION marker"
             for sol in opened if sol["markers"]]
    if source_nb is None:
        return found + [f"solutions: {sol['id'] or 'a solution'} shows no written text"
                        for sol in opened if len(sol["text"].split()) < 3]
    expected = written_solutions(source_nb)
    if len(expected) != len(opened):
        return found + [f"solutions: {len(opened)} on the page, {len(expected)} in the notebook"]
    for k, (sol, text) in enumerate(zip(opened, expected), start=1):
        lost = missing_words(text, sol["text"])
        if lost:
            found.append(f"solutions: solution {k} ({sol['id']}) lacks {len(lost)} passage(s) of its written "
                         f"answer, e.g. {lost[0][:60]!r}")
    return found


def _page_bytes(html: Path, name: str) -> int:
    """Bytes of a page's HTML and of the images it embeds or links from ``_images``."""
    import re

    text = (html / name).read_text(errors="replace")
    size = len(text.encode())
    for src in set(re.findall(r'<img[^>]+src="(\.\./_images/[^"]+)"', text)):
        path = (html / name).parent / src
        size += path.stat().st_size if path.exists() else 0
    return size


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html", type=Path, help="the built site, e.g. _build/html")
    parser.add_argument("--screenshots", type=Path, help="save a full-page screenshot of every page here")
    parser.add_argument("--chapters", type=Path, help="the chapters (book/): their solutions")
    args = parser.parse_args(argv)
    problems, weights = check_book(args.html, args.screenshots, chapter_sources(args.chapters) if args.chapters
                                   else None)
    for name, found in problems.items():
        print(f"{name}: {weights[name]:.2f} MB, {len(found)} problem(s)")
        for item in found:
            print(f"    {item}")
    return 1 if any(problems.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
