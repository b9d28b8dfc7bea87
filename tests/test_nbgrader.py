"""A chapter works as an nbgrader assignment: nbgrader itself releases it (solutions replaced by its stubs,
written answers by its answer stub) and autogrades it (the unsolved release scores 0 on the exercise checks,
the solutions score every point)."""

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from notebook_utils import inject_parameters

from tools import make_student as ms

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "book" / "01_inverse_problems.ipynb"


def nbgrader(course: Path, *args: str) -> None:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               GENIR_BOOK_BUILD="1")
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def grades(course: Path, student: str) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission("ch01", student)
        return {grade.name: (grade.score, grade.max_score) for nb in submission.notebooks for grade in nb.grades}


@pytest.mark.slow
@pytest.mark.notebook
def test_nbgrader_releases_and_autogrades_a_chapter(tmp_path):
    course = tmp_path / "course"
    (course / "source" / "ch01").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\nc.CourseDirectory.course_id = 'genir'\n")
    chapter = nbformat.read(CHAPTER, as_version=4)
    chapter.metadata["genir_source"] = CHAPTER.name
    source = inject_parameters(ms.nbgrader_source(chapter), {"TIER": "smoke"})
    nbformat.write(source, course / "source" / "ch01" / CHAPTER.name)

    nbgrader(course, "generate_assignment", "ch01", "--force")
    release = nbformat.read(course / "release" / "ch01" / CHAPTER.name, as_version=4)
    released = "\n".join(cell.source for cell in release.cells)
    assert "BEGIN SOLUTION" not in released and "YOUR CODE HERE" in released and "YOUR ANSWER HERE" in released
    for cell in chapter.cells:  # no line of a solution's body survives (the docstrings and signatures do)
        if "solution" in cell.metadata.get("tags", []):
            body = cell.source.split("# BEGIN SOLUTION")[-1].split("# END SOLUTION")[0].split("\n")[1:]
            assert not any(len(line.strip()) > 20 and line in released for line in body), cell.source[:80]

    for student, notebook in (("unsolved", release), ("solved", source)):
        (course / "submitted" / student / "ch01").mkdir(parents=True)
        nbformat.write(notebook, course / "submitted" / student / "ch01" / CHAPTER.name)
        nbgrader(course, "db", "student", "add", student)
    nbgrader(course, "autograde", "ch01", "--force")

    checks = len(ms.check_cells(chapter))
    unsolved, solved = grades(course, "unsolved"), grades(course, "solved")
    auto = [name for name in solved if name.startswith("check-")]
    assert len(auto) == checks > 0
    assert all(unsolved[name] == (0.0, 1.0) for name in auto), unsolved
    assert all(solved[name] == (1.0, 1.0) for name in auto), solved
