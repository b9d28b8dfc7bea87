"""The book's configuration, table of contents, citations and exercise directives build without a single
Sphinx warning (chapters not executed here: tests/test_chapters.py executes them; `make book` does both)."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tools import book_build

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_book_builds_without_warnings(tmp_path):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    # local extensions are found relative to the configuration file, which moves to tmp_path here
    extensions = config["sphinx"].get("local_extensions", {})
    config["sphinx"]["local_extensions"] = {name: str(ROOT / path) for name, path in extensions.items()}
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
        # Sphinx's number of each labelled equation (used by {eq} references) is the number in its \tag
        equations = re.findall(r'id="equation-eq-(\d+)-(\d+)">\s*<span class="eqno">\(([\d.]+)\)'
                               r'.*?\\tag\{([\d.]+)\}', page, re.S)
        assert equations, f"{chapter.name}: no numbered equations in the page"
        for n, k, sphinx_number, tag in equations:
            assert sphinx_number == tag == f"{n}.{k}" and int(n) == number, (chapter.name, sphinx_number, tag)
    assert "zhang2022dpir" in (html / "book" / "bibliography.html").read_text() or \
        "Plug-and-play image restoration" in (html / "book" / "bibliography.html").read_text()


def test_config_executes_through_the_cache():
    assert yaml.safe_load((ROOT / "_config.yml").read_text())["execute"]["execute_notebooks"] == "cache"
    assert (ROOT / "_static" / "equations.css").exists()


def test_cache_is_kept_only_while_the_library_checkpoints_and_requirements_are_unchanged(tmp_path):
    root, build = tmp_path / "repo", tmp_path / "repo" / "_build"
    shutil.copytree(ROOT / "genir_mini", root / "genir_mini", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "data" / "checkpoints").mkdir(parents=True)
    (root / "data" / "checkpoints" / "manifest.json").write_text("{}")
    (root / "requirements.txt").write_text("numpy\n")
    cache = build / book_build.CACHE

    def fill():
        cache.mkdir(parents=True, exist_ok=True)
        (cache / "global.db").write_text("cached")

    assert not book_build.prepare(build, root)          # no key yet
    fill()
    assert book_build.prepare(build, root) and (cache / "global.db").exists()
    for change in [lambda: (root / "genir_mini" / "new_module.py").write_text("x = 1\n"),
                   lambda: (root / "data" / "checkpoints" / "manifest.json").write_text('{"a": 1}'),
                   lambda: (root / "requirements.txt").write_text("numpy\ntorch\n")]:
        change()
        assert not book_build.prepare(build, root) and not cache.exists()
        fill()
        assert book_build.prepare(build, root) and (cache / "global.db").exists()


def test_finish_publishes_the_times_the_tests_recorded(tmp_path):
    assert "No chapter times recorded" in book_build.finish(tmp_path).read_text()
    (tmp_path / "chapter_times.json").write_text(json.dumps(
        {"02_hqs_pnp": {"seconds": 98.7, "cpus": 2, "load_1min": 0.4, "recorded": "2026-01-02T03:04:05"},
         "01_inverse_problems": 61.2}))
    page = book_build.finish(tmp_path).read_text()
    assert page.index("01_inverse_problems") < page.index("02_hqs_pnp")
    assert "<td>99</td>" in page and "<td>61</td>" in page and "2026-01-02T03:04:05" in page
