"""The two steps `make book` runs around `jupyter-book build`.

Usage::

    python tools/book_build.py prepare [BUILD]   # before the build: key the notebook cache on the library
    python tools/book_build.py finish [BUILD]    # after the build: publish the chapter times of the tests

``BUILD`` is the build folder (default ``_build``).

**prepare.** The book executes its chapters with jupyter-cache (``execute_notebooks: cache`` in
``_config.yml``), which keys a notebook on the text of its code cells only. A change of the library, of the
shipped checkpoints or of the pinned requirements would not re-execute anything by itself. ``prepare``
computes :func:`cache_key` (``genir_mini.source_fingerprint()``, the hash of
``data/checkpoints/manifest.json``, which records every checkpoint's sha256, and the hash of
``requirements.txt``), compares it with the key stored next to the cache (``BUILD/.jupyter_cache.key``) and,
if they differ or none is stored, deletes the cache (``BUILD/.jupyter_cache``) before storing the new key. So
every chapter is re-executed after such a change, and otherwise only the chapters whose code cells changed.

**finish.** ``tests/test_chapters.py`` records each chapter's execution time in ``BUILD/chapter_times.json``
whenever it runs. ``finish`` renders that file as ``BUILD/html/chapter_times.html``, the page the status page
links to (a note that no times were recorded if the tests have not run in this checkout).
"""

from __future__ import annotations

import hashlib
import html
import importlib.util
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ".jupyter_cache"            # myst-nb's default: next to the html output folder
KEY_FILE = ".jupyter_cache.key"
KEYED_FILES = ("data/checkpoints/manifest.json", "requirements.txt")


def cache_key(root: Path = ROOT) -> str:
    """One line naming everything the chapters' outputs depend on besides their code cells."""
    # genir_mini/__init__.py imports its submodules lazily: load it on its own, from this root, whatever
    # genir_mini the running interpreter has imported or installed
    spec = importlib.util.spec_from_file_location("_genir_mini_fingerprint", root / "genir_mini" / "__init__.py")
    library = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(library)
    parts = [f"genir_mini {library.source_fingerprint()}"]
    for name in KEYED_FILES:
        path = root / name
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.exists() else "missing"
        parts.append(f"{name} {digest}")
    return "; ".join(parts)


def prepare(build: Path, root: Path = ROOT) -> bool:
    """Delete ``build/.jupyter_cache`` unless it was made with the current :func:`cache_key`.

    Returns whether the cache was kept.
    """
    key = cache_key(root)
    key_file, cache = build / KEY_FILE, build / CACHE
    kept = key_file.exists() and key_file.read_text().strip() == key and cache.exists()
    if not kept:
        if cache.exists():
            shutil.rmtree(cache)
        build.mkdir(parents=True, exist_ok=True)
        key_file.write_text(key + "\n")
    print(f"notebook cache {'kept' if kept else 'cleared'} ({key})")
    return kept


def render_times(times: dict) -> str:
    """An HTML page with one row per chapter of ``times`` (the format of ``chapter_times.json``)."""
    rows = []
    for chapter, entry in sorted(times.items()):
        entry = entry if isinstance(entry, dict) else {"seconds": entry}
        cells = [chapter, f"{entry.get('seconds', float('nan')):.0f}", entry.get("recorded", ""),
                 str(entry.get("cpus", "")), str(entry.get("load_1min", ""))]
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    body = ("<table><tr><th>chapter</th><th>seconds</th><th>recorded</th><th>CPU cores</th>"
            "<th>load (1 min) before</th></tr>\n" + "\n".join(rows) + "\n</table>") if rows else \
        "<p>No chapter times recorded: run <code>make test</code> first.</p>"
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Chapter times of the tests</title>"
            "<style>body{font-family:sans-serif;margin:2em}td,th{padding:0.2em 1em;text-align:left}</style>"
            "</head><body>\n<h1>Chapter times of the tests</h1>\n<p>Wall-clock seconds of each chapter's last "
            "execution by <code>tests/test_chapters.py</code> (the <code>cpu</code> tier); a benchmark, not a "
            "pass/fail criterion. A load above the number of cores means the machine was shared.</p>\n"
            f"{body}\n</body></html>\n")


def finish(build: Path) -> Path:
    """Write ``build/html/chapter_times.html`` from ``build/chapter_times.json``; returns its path."""
    source = build / "chapter_times.json"
    times = json.loads(source.read_text()) if source.exists() else {}
    target = build / "html" / "chapter_times.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_times(times))
    return target


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("prepare", "finish") or len(argv) > 2:
        print(__doc__)
        return 2
    build = Path(argv[1]) if len(argv) == 2 else ROOT / "_build"
    if argv[0] == "prepare":
        prepare(build)
    else:
        finish(build)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
