"""The book as its readers see it: built with its executed chapters and opened page by page in headless
Chromium (tools/check_pages.py says what fails a page). The chapters' outputs come from the executions of
tests/test_chapters.py (saved in _build/executed/); a chapter without a current one is executed here at the
smoke tier. The page weights and the browser's time are recorded in _build/page_weights.json."""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import yaml
from notebook_utils import execute_notebook

from tools import check_pages

ROOT = Path(__file__).resolve().parents[1]
EXECUTED = ROOT / "_build" / "executed"
WEIGHTS = ROOT / "_build" / "page_weights.json"


def executed_chapter(path: Path) -> nbformat.NotebookNode:
    """The chapter with its outputs: tests/test_chapters.py's execution when it ran the chapter's code as it is
    now (the chapter's Markdown is taken as it is now), else an execution at the smoke tier."""
    saved = EXECUTED / path.name
    chapter = nbformat.read(path, as_version=4)
    if saved.exists():
        executed = nbformat.read(saved, as_version=4)
        cells = [c for c in executed.cells if "injected-parameters" not in c.metadata.get("tags", [])]
        if [(c.cell_type, c.source if c.cell_type == "code" else "") for c in cells] == \
                [(c.cell_type, c.source if c.cell_type == "code" else "") for c in chapter.cells]:
            for done, now in zip(cells, chapter.cells):
                if now.cell_type == "markdown":
                    done.source = now.source
                else:  # figure captions and folding as the chapter has them now
                    done.metadata.update({k: now.metadata[k] for k in ("mystnb", "tags") if k in now.metadata})
            return executed
    nb, _ = execute_notebook(path, parameters={"TIER": "smoke"}, timeout=600)
    return nb


@pytest.mark.slow
@pytest.mark.notebook
def test_every_page_reads_well_in_a_browser(tmp_path):
    if check_pages.find_chromium() is None:
        pytest.fail("no Chromium for the browser test: run `make browser` (Debian's chromium package, or "
                    "Playwright's own browser), or set CHROMIUM to a Chromium executable")
    root = tmp_path / "book-site"
    shutil.copytree(ROOT / "_static", root / "_static")
    shutil.copytree(ROOT / "book" / "_ext", root / "book" / "_ext")
    shutil.copy(ROOT / "_toc.yml", root / "_toc.yml")
    (root / "book").mkdir(exist_ok=True)
    for page in [*ROOT.glob("book/*.md"), ROOT / "book" / "references.bib"]:
        shutil.copy(page, root / "book" / page.name)
    for path in sorted(ROOT.glob("book/[0-9][0-9]_*.ipynb")):
        nbformat.write(executed_chapter(path), root / "book" / path.name)
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    (root / "_config.yml").write_text(yaml.safe_dump(config))
    jupyter_book = shutil.which("jupyter-book", path=str(Path(sys.executable).parent))
    result = subprocess.run([jupyter_book, "build", str(root), "-W", "--keep-going"],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    start = time.perf_counter()
    problems, weights = check_pages.check_book(root / "_build" / "html",
                                               sources=check_pages.chapter_sources(ROOT / "book"))
    seconds = time.perf_counter() - start
    WEIGHTS.parent.mkdir(exist_ok=True)
    WEIGHTS.write_text(json.dumps({"pages_MB": weights, "browser_seconds": round(seconds, 1)}, indent=1))
    chapters = [name for name in problems if name.split("/")[-1][:2].isdigit()]
    assert len(chapters) == len(list(ROOT.glob("book/[0-9][0-9]_*.ipynb")))
    found = {name: items for name, items in problems.items() if items}
    assert not found, "\n".join(f"{name}: {item}" for name, items in found.items() for item in items)
