"""Tests of tools/make_student.py (student notebooks, nbgrader), tools/jupyter_markdown.py,
tools/chapter_header.py and tools/strip_outputs.py on small synthetic notebooks, plus tests/notebook_utils.py
(headless execution with papermill's parameters)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from notebook_utils import cell_errors, execute_notebook, inject_parameters

from tools import chapter_header, strip_outputs
from tools import make_student as ms
from tools.jupyter_markdown import to_jupyter

ROOT = Path(__file__).resolve().parents[1]


def code(source, *tags, outputs=None, count=None):
    cell = new_code_cell(source, metadata={"tags": list(tags)} if tags else {})
    cell.outputs = outputs or []
    cell.execution_count = count
    return cell


def markdown(source, *tags):
    return new_markdown_cell(source, metadata={"tags": list(tags)} if tags else {})


def notebook(*cells):
    nb = new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


# ---------------------------------------------------------------------------------------------
# Transformation


def test_marked_block_is_replaced_at_marker_indentation_with_exercise_id():
    source = (
        "import math\n"
        "\n"
        "def wiener(k, snr):\n"
        "    k = k.conj()\n"
        "    # BEGIN SOLUTION Exercise 1.2: return the Wiener filter\n"
        "    denom = abs(k) ** 2 + 1 / snr\n"
        "    return k / denom\n"
        "    # END SOLUTION\n"
        "\n"
        "# BEGIN SOLUTION Exercise 1.3\n"
        "answer = wiener(1.0, 10.0)\n"
        "# END SOLUTION\n"
        "print('kept')"
    )
    student = ms.make_student(notebook(markdown("# Chapter 1"), code(source, "solution")))
    lines = student.cells[1].source.split("\n")
    assert lines == [
        "import math",
        "",
        "def wiener(k, snr):",
        "    k = k.conj()",
        '    raise NotImplementedError("Exercise 1.2: return the Wiener filter")',
        "",
        'raise NotImplementedError("Exercise 1.3: write your solution here")',
        "print('kept')",
    ]
    assert "denom" not in student.cells[1].source
    assert "student-stub" in student.cells[1].metadata["tags"]
    assert "solution" not in student.cells[1].metadata["tags"]
    compile(student.cells[1].source, "stub", "exec")


@pytest.mark.parametrize("marker, message", [
    ("# BEGIN SOLUTION Exercise 2.1: compute rho", "Exercise 2.1: compute rho"),
    ("# BEGIN SOLUTION 2.1 - compute rho", "Exercise 2.1: compute rho"),
    ("# BEGIN SOLUTION Exercise 4", "Exercise 4: write your solution here"),
    ("# BEGIN SOLUTION compute rho", "Exercise: compute rho"),
    ("# BEGIN SOLUTION", "Exercise: write your solution here"),
])
def test_marker_line_gives_message(marker, message):
    nb = notebook(code(f"if True:\n\t{marker}\n\tx = 1\n\t# END SOLUTION", "solution"))
    src = ms.make_student(nb).cells[1].source  # cell 0 is the inserted student line
    assert src == f'if True:\n\traise NotImplementedError("{message}")'


def test_markerless_solution_cell_is_replaced_by_a_stub_keeping_the_task_comments():
    nb = notebook(
        markdown("# Chapter 2"),
        code("# Exercise 2.3: plot the PSNR against rho.\n# Use a log axis.\n"
             "import numpy as np\nrhos = np.logspace(-3, 0)", "solution", "hide-input"),
        code("x = 2\ny = x + 1", "solution"),
    )
    student = ms.make_student(nb)
    assert student.cells[1].source == (
        "# Exercise 2.3: plot the PSNR against rho.\n# Use a log axis.\n"
        'raise NotImplementedError("Exercise 2.3: plot the PSNR against rho.")'
    )
    assert student.cells[1].metadata["tags"] == ["hide-input", "student-stub"]
    assert student.cells[2].source == 'raise NotImplementedError("Exercise: write your solution here")'
    assert ms.stub_cells(student) == [1, 2]
    assert ms.stub_cells(nb) == [1, 2]


def test_solution_text_and_solution_directives_are_removed():
    nb = notebook(
        markdown("# Chapter 3\n\nIntro."),
        markdown("````{exercise} Wiener filter\n:label: ex-wiener\n\nDerive the filter.\n````"),
        markdown("````{solution} ex-wiener\n:class: dropdown\n\nThe filter is\n"
                 "```python\nk = 1\n```\n````\n\n"
                 "Text after the solution."),
        markdown(":::{solution} ex-wiener\n:class: dropdown\nonly a solution\n:::"),
        markdown("The written solution.", "solution-text"),
        code("secret = 42", "remove-in-student"),
        markdown("Next section."),
    )
    student = ms.make_student(nb)
    sources = [cell.source for cell in student.cells]
    assert sources[1] == "> **Exercise — Wiener filter**\n>\n> Derive the filter."  # rendered for Jupyter
    assert sources[2] == "Text after the solution."
    assert sources[3] == "Next section."
    assert len(sources) == 4
    joined = "\n".join(sources)
    assert "{solution}" not in joined and "written solution" not in joined and "secret" not in joined


def test_gated_solution_spanning_cells_is_removed_and_its_code_stubbed():
    nb = notebook(
        markdown("# Chapter 4"),
        markdown("```{solution-start} ex-1\n:class: dropdown\n```\nWe write:"),
        code("value = 3", "solution"),
        code("print(value)"),
        markdown("```{solution-end}\n```\nAfter."),
    )
    student = ms.make_student(nb)
    assert [c.cell_type for c in student.cells] == ["markdown", "code", "markdown"]
    assert student.cells[1].source.startswith("raise NotImplementedError(")
    assert student.cells[2].source == "After."


def test_outputs_counts_and_execution_metadata_are_cleared_and_title_is_marked():
    nb = notebook(
        markdown("[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](#)\n"
                 "# Chapter 5: flows\n\nWhat you will learn."),
        code("print(1)", outputs=[new_output("stream", name="stdout", text="1\n")], count=3),
        code("# BEGIN SOLUTION Exercise 5.1\nx = 1\n# END SOLUTION", "solution",
             outputs=[new_output("execute_result", data={"text/plain": "1"}, execution_count=4)], count=4),
        code("assert x == 1", "exercise-check", count=5),
    )
    nb.cells[1].metadata["execution"] = {"iopub.execute_input": "2024-01-01"}
    student = ms.make_student(nb)
    for cell in student.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
            assert "execution" not in cell.metadata
    title = student.cells[0].source.split("\n")
    assert title[1] == "# Chapter 5: flows"
    assert ms.STUDENT_LINE in title[3]
    assert title[-1] == "What you will learn."
    assert student.cells[3].source == "assert x == 1"
    assert student.cells[3].metadata["tags"] == ["exercise-check"]
    # the input notebook is not modified
    assert nb.cells[1].outputs and nb.cells[2].source.startswith("# BEGIN")
    nbformat.validate(student)


@pytest.mark.parametrize("source, problem", [
    ("# BEGIN SOLUTION\nx = 1", "never closed"),
    ("x = 1\n# END SOLUTION", "without a '# BEGIN SOLUTION'"),
    ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION", "nested"),
    ("y = (1 +\n# BEGIN SOLUTION\n2)\n# END SOLUTION", "not valid Python"),
])
def test_malformed_markers_are_reported(source, problem):
    with pytest.raises(ValueError, match=problem.replace("(", r"\(")):
        ms.make_student(notebook(code(source, "solution")))


def test_markers_in_an_untagged_cell_are_an_error():
    with pytest.raises(ValueError, match="not tagged 'solution'"):
        ms.make_student(notebook(code("# BEGIN SOLUTION 1.1\nx = 1\n# END SOLUTION")))


def test_command_line_converts_only_chapter_notebooks(tmp_path, capsys):
    src, dst = tmp_path / "book", tmp_path / "student"
    src.mkdir()
    chapter = notebook(markdown("# Chapter 1"),
                       code("# BEGIN SOLUTION 1.1\nx = 1\n# END SOLUTION", "solution"))
    nbformat.write(chapter, src / "01_inverse_problems.ipynb")
    nbformat.write(chapter, src / "scratch.ipynb")
    assert ms.main([str(src), str(dst)]) == 0
    assert sorted(p.name for p in dst.iterdir()) == ["01_inverse_problems.ipynb"]
    student = nbformat.read(dst / "01_inverse_problems.ipynb", as_version=4)
    assert ms.stub_cells(student) == [1]
    assert "1 stub(s)" in capsys.readouterr().out


def test_strip_outputs_in_place_and_check_mode(tmp_path):
    nb = notebook(code("print(1)", outputs=[new_output("stream", name="stdout", text="1\n")], count=1))
    nb.metadata["widgets"] = {"state": {}}
    path = tmp_path / "01_x.ipynb"
    nbformat.write(nb, path)
    assert strip_outputs.main(["--check", str(tmp_path)]) == 1
    assert nbformat.read(path, as_version=4).cells[0].outputs  # --check changes nothing
    assert strip_outputs.main([str(path)]) == 0
    clean = nbformat.read(path, as_version=4)
    assert clean.cells[0].outputs == [] and clean.cells[0].execution_count is None
    assert "widgets" not in clean.metadata
    assert strip_outputs.main(["--check", str(tmp_path)]) == 0


# ---------------------------------------------------------------------------------------------
# Execution: the solution runs clean; the student version fails only in stubs and self-checks


def tiny_chapter():
    return notebook(
        markdown("# Chapter 0: a tiny chapter"),
        code('tier = "cpu"', "parameters"),
        code("import math\nimport os\nbuild = os.environ.get('GENIR_BOOK_BUILD')"),
        markdown("```{exercise} Disc area\n:label: ex-area\nWrite `area(r)`.\n```"),
        code('def area(r):\n    """Area of a disc of radius r."""\n'
             "    # BEGIN SOLUTION Exercise 0.1: return the area of the disc\n"
             "    return math.pi * r ** 2\n"
             "    # END SOLUTION", "solution"),
        code("assert abs(area(2.0) - 4 * math.pi) < 1e-12", "exercise-check"),
        markdown("```{solution} ex-area\n:class: dropdown\nUse $\\pi r^2$.\n```"),
        code("# Exercise 0.2: define the perimeter function.\nperimeter = lambda r: 2 * math.pi * r",
             "solution"),
        code("assert perimeter(1.0) == 2 * math.pi", "exercise-check"),
        code("squares = [k * k for k in range(4)]\nassert squares[-1] == 9"),
        code("print(tier, build)"),
    )


def test_solution_runs_and_student_fails_only_in_stubs_and_checks():
    solution = tiny_chapter()
    executed, seconds = execute_notebook(solution, timeout=60)
    assert cell_errors(executed) == []
    assert seconds > 0
    assert executed.cells[-1].outputs[0]["text"] == "cpu 1\n"  # GENIR_BOOK_BUILD reached the kernel

    student = ms.make_student(solution)
    stubs, checks = ms.stub_cells(student), ms.check_cells(student)
    assert len(stubs) == 2 and len(checks) == 2
    ran, _ = execute_notebook(student, timeout=60, allow_errors=True)
    errors = cell_errors(ran)
    assert set(errors) <= set(stubs) | set(checks), f"errors outside stubs/checks: {errors}"
    assert set(checks) <= set(errors), "the self-checks must fail until the exercises are solved"
    markerless_stub = stubs[-1]
    assert markerless_stub in errors
    error = next(o for o in ran.cells[markerless_stub].outputs if o.output_type == "error")
    assert error["ename"] == "NotImplementedError" and "Exercise 0.2" in error["evalue"]
    area_error = next(o for o in ran.cells[checks[0]].outputs if o.output_type == "error")
    assert area_error["evalue"] == "Exercise 0.1: return the area of the disc"


def test_execute_notebook_injects_parameters(tmp_path):
    nb = tiny_chapter()
    path = tmp_path / "00_tiny.ipynb"
    nbformat.write(nb, path)
    executed, _ = execute_notebook(path, parameters={"tier": "smoke"}, timeout=60)
    tags = [cell.metadata.get("tags", []) for cell in executed.cells]
    assert tags[1] == ["parameters"] and tags[2] == ["injected-parameters"]
    assert executed.cells[-1].outputs[0]["text"].startswith("smoke")
    with pytest.raises(ValueError, match="parameters"):
        inject_parameters(notebook(code("x = 1")), {"tier": "smoke"})


def test_markdown_for_jupyter_numbers_exercises_equations_and_citations():
    source = ("See {eq}`eq-1-8` and {cite}`ho2020ddpm,song2021ddim`; {cite:t}`zhao2016fast` solved it.\n\n"
              "$$\nx = 1 \\tag{1.1}\n$$ (eq-1-1)\n\n"
              "```{exercise} A title\n:label: ex-3-2\n\nShow that $a = b$.\n\n$$\na = b\n$$\n```\nAfter.")
    out = to_jupyter(source)
    assert out.startswith("See (1.8) and (Ho et al., 2020; Song et al., 2021a); Zhao et al. (2016) solved it.")
    assert "$$ (eq-1-1)" not in out and "\\tag{1.1}\n$$\n" in out
    assert "> **Exercise 3.2 — A title**\n>\n> Show that $a = b$.\n>\n> $$\n> a = b\n> $$\nAfter." in out
    assert "{" + "exercise}" not in out and "{eq}" not in out and "{cite" not in out
    with pytest.raises(KeyError, match="no-such-key"):
        to_jupyter("{cite}`no-such-key`")


def test_student_links_point_to_the_student_version():
    url, branch = chapter_header.repository()
    nb = notebook(markdown("# Chapter\n\n" + chapter_header.links_line(url, branch, "07_x.ipynb") + "\n\nText."),
                  code("x = 1"))
    nb.metadata["genir_source"] = "07_x.ipynb"
    title = ms.make_student(nb).cells[0].source
    assert chapter_header.links_line(url, branch, "07_x.ipynb", student=True) in title
    assert ms.STUDENT_LINE in title and "Text." in title


def test_chapter_links_and_setup_cells_come_from_the_configured_repository(tmp_path):
    assert chapter_header.outdated() == [], "run tools/chapter_header.py"
    config = tmp_path / "_config.yml"
    config.write_text("repository:\n  url: https://github.com/someone/fork\n  branch: dev\n")
    assert chapter_header.outdated(config_path=config) == [p.name for p in chapter_header.chapters()]
    assert "someone/fork/blob/dev/student/01_a.ipynb" in chapter_header.links_line(
        *chapter_header.repository(config), "01_a.ipynb")
    assert '"https://github.com/someone/fork"' in chapter_header.setup_source("https://github.com/someone/fork")
    config.write_text("repository:\n  url: https://gitlab.com/a/b\n")
    with pytest.raises(ValueError, match="repository.url"):
        chapter_header.repository(config)


def test_shipped_student_notebooks_are_up_to_date(tmp_path):
    assert ms.main(["book", str(tmp_path)]) == 0
    for made in sorted(tmp_path.glob("*.ipynb")):
        shipped = ROOT / "student" / made.name
        assert shipped.exists(), f"student/{made.name} is missing: run `make student` and commit it"
        assert shipped.read_text() == made.read_text(), f"student/{made.name} is stale: run `make student`"
    assert len(list(tmp_path.glob("*.ipynb"))) == len(list((ROOT / "student").glob("[0-9][0-9]_*.ipynb")))


def test_written_solutions_are_read_from_both_directive_forms():
    nb = notebook(
        markdown("Intro.\n\n```{solution} ex-1\n:class: dropdown\n\nThe first answer.\n```\n\nNot a solution."),
        markdown("```{solution-start} ex-2\n:class: dropdown\n```\n\nThe second answer,"),
        code("x = 1", "solution"),
        markdown("and its second paragraph."),
        markdown("```{solution-end}\n```\n\nAfter the solutions."),
    )
    assert ms.written_solutions(nb) == ["The first answer.", "The second answer,\n\nand its second paragraph."]
