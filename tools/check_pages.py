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
* a display equation wider than the text column at :data:`DESKTOP` width;
* a visible code line wider than the code column (measured with wrapping off);
* in a chapter, an output image without a numbered, captioned figure (explorers and badges excepted).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import shutil
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

DESKTOP = {"width": 1280, "height": 900}
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


# Everything measured inside the page, in one call; returns lists of short descriptions.
_PAGE_CHECKS = r"""
(isChapter) => {
  const out = {tables: [], leftovers: [], solutions: [], math: [], code: [], figures: [], images: []};
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
    }
  }
  return out;
}
"""


def check_book(html: Path, screenshots: Path | None = None) -> tuple[dict, dict]:
    """Check every page of the book built in ``html``; returns ``({page: [problems]}, {page: MB})``."""
    from playwright.sync_api import sync_playwright

    html = Path(html)
    pages = sorted(p.relative_to(html).as_posix() for p in html.glob("book/*.html"))
    if not pages:
        raise FileNotFoundError(f"no book/*.html pages in {html}: build the book first")
    problems, weights = {}, {}
    checks = _PAGE_CHECKS.replace("LEFTOVERS", json.dumps(MYST_LEFTOVERS))
    with serve(html) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox"])
        context = browser.new_context(viewport=DESKTOP)
        # no network: the book must work offline; only the known external images are let through (and fail)
        context.route(lambda url: not url.startswith(base), lambda route: route.abort())
        for name in pages:
            page = context.new_page()
            found, local_bytes = [], {"n": 0}
            page.on("console", lambda m, found=found: m.type == "error" and not any(
                k in m.text for k in KNOWN_CONSOLE_ERRORS) and "ERR_FAILED" not in m.text
                and found.append(f"console error: {m.text[:120]}"))
            page.on("pageerror", lambda e, found=found: not any(k in str(e) for k in KNOWN_CONSOLE_ERRORS)
                    and found.append(f"script error: {str(e)[:120]}"))
            page.on("requestfailed", lambda r, found=found: r.url.startswith(base) and found.append(
                f"failed to load {r.url[len(base):][:100]}"))
            page.on("requestfailed", lambda r, found=found: not r.url.startswith(base) and not any(
                r.url.startswith(e) for e in EXTERNAL_IMAGES) and found.append(f"asks the network for {r.url[:100]}"))
            page.goto(f"{base}/{name}", wait_until="networkidle")
            # MathJax typesets after the load: wait for its first pass to finish
            page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise.then(() => 1) : 0")
            result = page.evaluate(checks, name.split("/")[-1][:2].isdigit())
            for kind, items in result.items():
                found += [f"{kind}: {item}" for item in items]
            if screenshots is not None:
                screenshots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshots / (Path(name).stem + ".png")), full_page=True)
            problems[name] = found
            weights[name] = round(_page_bytes(html, name) / 1e6, 2)
            page.close()
        browser.close()
    return problems, weights


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
    args = parser.parse_args(argv)
    problems, weights = check_book(args.html, args.screenshots)
    for name, found in problems.items():
        print(f"{name}: {weights[name]:.2f} MB, {len(found)} problem(s)")
        for item in found:
            print(f"    {item}")
    return 1 if any(problems.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
