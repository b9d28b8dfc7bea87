"""The book's configuration, table of contents, citations and exercise directives build without a single
Sphinx warning (chapters not executed here: tests/test_chapters.py executes them; `make book` does both)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_book_builds_without_warnings(tmp_path):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(config))
    jupyter_book = shutil.which("jupyter-book", path=str(Path(sys.executable).parent))
    result = subprocess.run([jupyter_book, "build", str(ROOT), "--config", str(tmp_path / "_config.yml"),
                             "--path-output", str(tmp_path), "-W", "--keep-going"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    html = tmp_path / "_build" / "html"
    for chapter in sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb")):
        page = (html / "book" / f"{chapter.stem}.html").read_text()
        number = int(chapter.stem[:2])
        assert f"caption-number\">Exercise {number}.1 " in page, f"{chapter.name}: exercises numbered per chapter"
        assert "colab.research.google.com/github/genir-book/genir-book/blob/main/book/" in page
    assert "zhang2022dpir" in (html / "book" / "bibliography.html").read_text() or \
        "Plug-and-play image restoration" in (html / "book" / "bibliography.html").read_text()
