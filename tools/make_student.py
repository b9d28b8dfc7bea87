"""Generate student notebooks from the book's solution notebooks.

Usage::

    python tools/make_student.py SRC_DIR DST_DIR

reads every ``SRC_DIR/*.ipynb`` whose name starts with two digits (the chapters, e.g.
``01_inverse_problems.ipynb``) and writes its student version to ``DST_DIR/<same name>``. The chapters in
``book/`` are the only copy anyone edits; student notebooks are always generated (``make student``).

Conventions in a chapter (the solution notebook)
------------------------------------------------
Code cells
    * A code cell tagged ``solution`` holds (part of) an exercise's solution. Inside it, the lines from
      ``# BEGIN SOLUTION`` to ``# END SOLUTION`` (markers included) are replaced by one line::

          raise NotImplementedError("Exercise 1.2: <hint>")

      at the indentation of the BEGIN marker, so a solution inside a function body leaves a valid
      function whose body raises. The exercise id and the hint come from the marker line::

          # BEGIN SOLUTION Exercise 1.2: return the Wiener filter in the Fourier domain
          ...
          # END SOLUTION

      gives ``NotImplementedError("Exercise 1.2: return the Wiener filter in the Fourier domain")``;
      ``# BEGIN SOLUTION 1.2`` also works, and without a hint the message says "write your solution
      here". A cell may hold several marked blocks; the lines outside them are kept as they are. Markers
      in a cell that is not tagged ``solution`` are an error (the solution would leak).
    * A ``solution`` cell with no markers is replaced as a whole by a stub: its leading comment lines
      (the task, written before the first statement) are kept and followed by the ``raise`` line. The
      exercise id is taken from those comments (``# Exercise 1.2: ...``) when present.
    * A code cell tagged ``exercise-check`` holds self-check assertions on an exercise. It is kept
      unchanged: in the student version it fails until the exercise is solved.
    * A cell of any kind tagged ``remove-in-student`` is dropped.

Markdown cells
    * A markdown cell tagged ``solution-text`` (a written solution) is dropped.
    * sphinx-exercise ``{solution}`` directive blocks (backtick or colon fences) are cut out of any
      markdown cell; a cell left empty is dropped. The gated form, from ``{solution-start}`` to
      ``{solution-end}``, may span several cells: its markdown is dropped, code cells tagged
      ``solution`` inside it become stubs as above, and other code cells inside it are dropped.
    * ``{exercise}`` blocks are kept: they are the task.

Markdown for Jupyter
    * Every markdown cell kept is rewritten by :func:`tools.jupyter_markdown.to_jupyter`: ``{exercise}``
      blocks become quoted "Exercise N.k — title" blocks, ``{eq}``/``{cite}`` roles become "(1.8)" and
      "(Ho et al., 2020)", so that the exercises render in Jupyter and Colab.
    * The links line under the title (``tools/chapter_header.py``) points to the student version itself.

Everything
    * Outputs and execution counts are cleared, and the execution metadata of nbclient/papermill is
      removed.
    * The title cell (the first markdown cell starting with ``# ``) gets the line "Student version — the
      exercises are stubs; the solutions are in the book."
    * Stubbed cells are tagged ``student-stub`` (instead of ``solution``) and the notebook's metadata gets
      a ``genir_student`` entry, so :func:`stub_cells` can list them.

nbgrader
    :func:`nbgrader_source` writes a chapter as an nbgrader *source* notebook (instructor version), from the
    same tags: ``solution`` code cells become nbgrader solution cells (nbgrader's ``ClearSolutions`` finds the
    same ``BEGIN SOLUTION``/``END SOLUTION`` regions), written solutions become hand-graded answer cells,
    ``exercise-check`` cells become autograded test cells worth one point, and the markdown is rewritten
    for Jupyter as above. ``python tools/make_student.py --nbgrader book COURSE/source`` writes one
    assignment folder per chapter; ``nbgrader generate_assignment`` and ``nbgrader autograde`` take it from
    there (tests/test_nbgrader.py runs both).

Functions: :func:`make_student` (one notebook), :func:`stub_cells` (indices of the stubs in the
student version), :func:`nbgrader_source`, :func:`main` (the command line).
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path

import nbformat

try:  # run as a script (python tools/make_student.py) or imported as tools.make_student
    from tools import chapter_header
    from tools.jupyter_markdown import to_jupyter
except ImportError:  # pragma: no cover
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tools import chapter_header
    from tools.jupyter_markdown import to_jupyter

STUDENT_LINE = "Student version — the exercises are stubs; the solutions are in the book."

TAG_SOLUTION = "solution"
TAG_SOLUTION_TEXT = "solution-text"
TAG_CHECK = "exercise-check"
TAG_REMOVE = "remove-in-student"
TAG_STUB = "student-stub"

_BEGIN = re.compile(r"^(?P<indent>[ \t]*)#\s*BEGIN SOLUTION\b(?P<rest>.*)$")
_END = re.compile(r"^[ \t]*#\s*END SOLUTION\b")
# "Exercise 1.2: hint", "Exercise 3 - hint", "1.2 hint" (a bare id needs a dot) -> (id, hint)
_EXERCISE_ID = re.compile(
    r"^\s*(?:(?i:exercise)\s+(?P<id>\d+(?:\.\d+)*[a-z]?)|(?P<bare>\d+(?:\.\d+)+[a-z]?))"
    r"(?=[\s:.,;—–-]|$)\s*[:.,;—–-]?\s*(?P<hint>.*)$")
_COMMENT_ID = re.compile(r"^\s*#\s*Exercise\s+(?P<id>\d+(?:\.\d+)*[a-z]?)\b", re.IGNORECASE)
# opening fence of a directive, e.g. ```{solution} ex-wiener   or   :::{solution-start} ex-wiener
_FENCE_OPEN = re.compile(r"^(?P<indent>[ ]{0,3})(?P<fence>`{3,}|:{3,})\s*\{(?P<name>[\w-]+)\}")
_FENCE_ANY = re.compile(r"^[ ]{0,3}(?P<fence>`{3,}|:{3,})")
_DEFAULT_HINT = "write your solution here"


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _set_tags(cell, tags: list[str]) -> None:
    if tags:
        cell.metadata["tags"] = tags
    else:
        cell.metadata.pop("tags", None)


def _raise_line(indent: str, exercise_id: str | None, hint: str) -> str:
    label = f"Exercise {exercise_id}" if exercise_id else "Exercise"
    message = f"{label}: {hint or _DEFAULT_HINT}"
    return f"{indent}raise NotImplementedError({json.dumps(message, ensure_ascii=False)})"


def _parse_marker(rest: str) -> tuple[str | None, str]:
    """The text after ``BEGIN SOLUTION`` -> (exercise id or None, hint)."""
    rest = rest.strip()
    match = _EXERCISE_ID.match(rest)
    if match:
        return match["id"] or match["bare"], match["hint"].strip()
    return None, rest


def _stub_marked(source: str, where: str) -> str | None:
    """Replace each BEGIN/END SOLUTION block of ``source``; ``None`` if it has no markers."""
    lines = source.split("\n")
    out: list[str] = []
    inside = False
    found = False
    for number, line in enumerate(lines, start=1):
        begin, end = _BEGIN.match(line), _END.match(line)
        if begin:
            if inside:
                raise ValueError(f"{where}, line {number}: nested '# BEGIN SOLUTION' (close the previous "
                                 "block with '# END SOLUTION' first)")
            inside = found = True
            exercise_id, hint = _parse_marker(begin["rest"])
            out.append(_raise_line(begin["indent"], exercise_id, hint))
        elif end:
            if not inside:
                raise ValueError(f"{where}, line {number}: '# END SOLUTION' without a '# BEGIN SOLUTION'")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: '# BEGIN SOLUTION' is never closed by '# END SOLUTION'")
    return "\n".join(out) if found else None


def _stub_whole(source: str) -> str:
    """A stub for a solution cell without markers: its leading comments, then the raise line."""
    leading: list[str] = []
    for line in source.strip("\n").split("\n"):
        if line.strip().startswith("#") or (not line.strip() and leading):
            leading.append(line)
        else:
            break
    while leading and not leading[-1].strip():
        leading.pop()
    exercise_id, hint = None, ""
    for line in leading:
        match = _COMMENT_ID.match(line)
        if match:
            exercise_id = match["id"]
            hint = line.split(match["id"], 1)[1].lstrip(" :.,;—–-").strip()
            break
    return "\n".join(leading + [_raise_line("", exercise_id, hint)])


def _check_syntax(source: str, where: str) -> None:
    """Fail early if stubbing produced a cell Python cannot parse (IPython magics allowed)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        source = TransformerManager().transform_cell(source)
    except ImportError:  # pragma: no cover - IPython is always there with ipykernel
        pass
    try:
        compile(source, where, "exec")
    except SyntaxError as err:
        raise ValueError(f"{where}: the student version is not valid Python ({err.msg}, line {err.lineno}); "
                         "put '# BEGIN SOLUTION'/'# END SOLUTION' around whole statements") from err


def _cut_solution_blocks(source: str, gated: bool) -> tuple[str, bool]:
    """Remove ``{solution}`` directive blocks (and gated regions) from markdown.

    ``gated`` says whether the text starts inside a ``{solution-start}`` region. Returns the remaining
    text and whether it ends inside such a region.
    """
    lines = source.split("\n")
    kept: list[str] = []
    changed = gated
    i = 0
    while i < len(lines):
        line = lines[i]
        opening = _FENCE_OPEN.match(line)
        if gated:
            changed = True
            # inside a gated solution: drop everything up to and including the solution-end block
            if opening and opening["name"] == "solution-end":
                i = _skip_block(lines, i, opening["fence"])
                gated = False
            else:
                i += 1
            continue
        if opening and opening["name"] == "solution":
            i = _skip_block(lines, i, opening["fence"])
            changed = True
            continue
        if opening and opening["name"] == "solution-start":
            i = _skip_block(lines, i, opening["fence"])
            gated = changed = True
            continue
        kept.append(line)
        i += 1
    if not changed:
        return source, gated
    text = "\n".join(kept)
    text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
    return text, gated


def _skip_block(lines: list[str], start: int, fence: str) -> int:
    """Index just after the fenced block opened at ``lines[start]`` with ``fence``."""
    char, size = fence[0], len(fence)
    for j in range(start + 1, len(lines)):
        closing = _FENCE_ANY.match(lines[j])
        if closing and closing["fence"][0] == char and len(closing["fence"]) >= size \
                and not lines[j].strip()[len(closing["fence"]):].strip():
            return j + 1
    raise ValueError(f"a {fence}{{...}} directive opened at markdown line {start + 1} is never closed")


def _clean_code_cell(cell) -> None:
    cell.outputs = []
    cell.execution_count = None
    for key in ("execution", "papermill", "collapsed", "scrolled"):
        cell.metadata.pop(key, None)


def _add_student_line(cells: list) -> None:
    """Put :data:`STUDENT_LINE` under the notebook's title (the first markdown ``# `` heading)."""
    for cell in cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.split("\n")
        for i, line in enumerate(lines):
            if line.startswith("# "):
                rest = lines[i + 1:]
                while rest and not rest[0].strip():
                    rest.pop(0)
                title = lines[: i + 1] + ["", f"*{STUDENT_LINE}*"]
                cell.source = "\n".join(title + ([""] + rest if rest else []))
                return
    cells.insert(0, nbformat.v4.new_markdown_cell(f"*{STUDENT_LINE}*"))


def make_student(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student version of a solution notebook (a new notebook; ``nb`` is not modified)."""
    nb = copy.deepcopy(nb)
    name = nb.get("metadata", {}).get("genir_source", "notebook")
    cells = []
    gated = False  # inside a {solution-start} ... {solution-end} region
    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index}"
        tags = _tags(cell)
        if TAG_REMOVE in tags:
            continue
        if cell.cell_type == "markdown":
            if TAG_SOLUTION_TEXT in tags:
                continue
            text, gated = _cut_solution_blocks(cell.source, gated)
            if not text.strip():
                continue
            cell.source = to_jupyter(text)
            cells.append(cell)
            continue
        if cell.cell_type == "raw":
            if not gated:
                cells.append(cell)
            continue
        # code cell
        _clean_code_cell(cell)
        if TAG_SOLUTION in tags:
            stubbed = _stub_marked(cell.source, where)
            cell.source = stubbed if stubbed is not None else _stub_whole(cell.source)
            _check_syntax(cell.source, where)
            _set_tags(cell, [t for t in tags if t != TAG_SOLUTION] + [TAG_STUB])
        elif any(_BEGIN.match(line) for line in cell.source.split("\n")):
            raise ValueError(f"{where}: has '# BEGIN SOLUTION' but is not tagged 'solution' (the solution "
                             "would leak into the student version)")
        elif gated:
            continue  # code that only displays a gated solution
        cells.append(cell)
    if gated:
        raise ValueError(f"{name}: a {{solution-start}} block is never closed by {{solution-end}}")
    _add_student_line(cells)
    if name.endswith(".ipynb") and any(c.cell_type == "markdown" and chapter_header.LINKS_START in c.source
                                       for c in cells[:1]):
        url, branch = chapter_header.repository()
        chapter_header.set_links(cells[0], chapter_header.links_line(url, branch, name, student=True))
    nb.cells = cells
    nb.metadata["genir_student"] = {
        "generated_by": "tools/make_student.py",
        "note": "generated from the solution notebook: edit the chapter in book/, not this file",
    }
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    nb.metadata.pop("genir_source", None)
    nbformat.validate(nb)
    return nb


def _nbgrader(kind: str, grade_id: str) -> dict:
    """nbgrader's cell metadata (schema 3) for a ``solution`` code cell, an autograded ``test`` cell
    (1 point) or a ``text`` answer (a markdown solution cell, graded by hand: 1 point)."""
    graded = kind in ("test", "text")
    return {"grade": graded, "grade_id": grade_id, "locked": kind == "test", "schema_version": 3,
            "solution": kind != "test", "task": False, **({"points": 1} if graded else {})}


def nbgrader_source(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The chapter as an nbgrader source notebook (a new notebook; see the module docstring).

    Written solutions (``{solution}`` blocks and gated ``{solution-start}`` regions) become markdown
    solution cells, so that ``nbgrader generate_assignment`` replaces them by its answer stub; the
    ``{solution-end}`` markers are dropped.
    """
    nb = copy.deepcopy(nb)
    name = nb.get("metadata", {}).get("genir_source", "notebook")
    cells, gated, count = [], False, {"solution": 0, "test": 0, "text": 0}
    for cell in nb.cells:
        tags = _tags(cell)
        if TAG_REMOVE in tags:
            continue
        if cell.cell_type == "markdown":
            text, still_gated = _cut_solution_blocks(cell.source, gated)
            written = gated or text != cell.source or TAG_SOLUTION_TEXT in tags
            gated = still_gated
            if written:
                answer = _written_solution(cell.source)
                if text.strip():
                    cells.append(nbformat.v4.new_markdown_cell(to_jupyter(text)))
                if answer.strip():
                    count["text"] += 1
                    cells.append(nbformat.v4.new_markdown_cell(
                        to_jupyter(answer), metadata={"nbgrader": _nbgrader("text", f"answer-{count['text']}")}))
                continue
            cell.source = to_jupyter(cell.source)
        elif cell.cell_type == "code":
            _clean_code_cell(cell)
            if TAG_SOLUTION in tags:
                count["solution"] += 1
                cell.metadata["nbgrader"] = _nbgrader("solution", f"solution-{count['solution']}")
            elif TAG_CHECK in tags:
                count["test"] += 1
                cell.metadata["nbgrader"] = _nbgrader("test", f"check-{count['test']}")
        cells.append(cell)
    if gated:
        raise ValueError(f"{name}: a {{solution-start}} block is never closed by {{solution-end}}")
    nb.cells = cells
    for key in ("papermill", "widgets", "genir_source"):
        nb.metadata.pop(key, None)
    nbformat.validate(nb)
    return nb


def _written_solution(source: str) -> str:
    """The text of the ``{solution}`` blocks (and of a gated region) in a markdown cell, without their
    fences and options."""
    kept, fence = [], None  # fence: the closing fence of the solution directive being read
    for line in source.split("\n"):
        opening = _FENCE_OPEN.match(line)
        if opening and opening["name"] in ("solution", "solution-start", "solution-end"):
            fence = opening["fence"]
        elif fence and line.strip() == fence:
            fence = None
        elif not (fence and _OPTION_LINE.match(line)):
            kept.append(line)
    return "\n".join(kept).strip("\n")


_OPTION_LINE = re.compile(r"^:[\w-]+:")


def written_solutions(nb: nbformat.NotebookNode) -> list[str]:
    """The written answer of each solution of ``nb``, in order: the Markdown inside a ``{solution}`` block, or
    from a ``{solution-start}`` block to its ``{solution-end}``, without fences and options. It is what the book
    shows when a solution is opened (``tools/check_pages.py`` compares the two)."""
    texts, current, fence, block = [], None, None, False  # fence: the closing fence expected next
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.split("\n"):
            opening = _FENCE_OPEN.match(line)
            if opening and opening["name"] in ("solution", "solution-start", "solution-end"):
                if current is not None:
                    texts.append("\n".join(current).strip("\n"))
                current = None if opening["name"] == "solution-end" else []
                fence, block = opening["fence"], opening["name"] == "solution"
            elif fence and line.strip() == fence:
                if block and current is not None:  # a {solution} block ends at its fence
                    texts.append("\n".join(current).strip("\n"))
                    current = None
                fence = None
            elif current is not None and not (fence and _OPTION_LINE.match(line)):
                current.append(line)
        if current is not None:
            current.append("")
    if current is not None:
        texts.append("\n".join(current).strip("\n"))
    return texts


def stub_cells(nb: nbformat.NotebookNode) -> list[int]:
    """Indices of the stubbed cells in the student version of ``nb``.

    ``nb`` may be a solution notebook (it is converted first) or a student notebook made by
    :func:`make_student`.
    """
    if "genir_student" not in nb.get("metadata", {}):
        nb = make_student(nb)
    return [i for i, cell in enumerate(nb.cells) if TAG_STUB in _tags(cell)]


def check_cells(nb: nbformat.NotebookNode) -> list[int]:
    """Indices of the cells tagged ``exercise-check`` in ``nb``."""
    return [i for i, cell in enumerate(nb.cells) if TAG_CHECK in _tags(cell)]


def chapter_notebooks(src_dir: Path) -> list[Path]:
    """The notebooks of ``src_dir`` whose name starts with two digits, sorted."""
    return sorted(p for p in Path(src_dir).glob("*.ipynb") if re.match(r"\d\d", p.name))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("src_dir", type=Path, help="folder of solution notebooks (e.g. book)")
    parser.add_argument("dst_dir", type=Path, help="folder to write the student notebooks to (e.g. student)")
    parser.add_argument("--nbgrader", action="store_true",
                        help="write nbgrader source notebooks instead, as DST_DIR/<chapter>/<chapter>.ipynb "
                             "(DST_DIR is a course's source/ folder)")
    args = parser.parse_args(argv)
    if not args.src_dir.is_dir():
        parser.error(f"SRC_DIR {args.src_dir} is not a folder")
    sources = chapter_notebooks(args.src_dir)
    args.dst_dir.mkdir(parents=True, exist_ok=True)
    for path in sources:
        nb = nbformat.read(path, as_version=4)
        nb.metadata["genir_source"] = path.name
        if args.nbgrader:
            folder = args.dst_dir / path.stem
            folder.mkdir(exist_ok=True)
            nbformat.write(nbgrader_source(nb), folder / path.name)
            print(f"{path} -> {folder / path.name} (nbgrader source)")
            continue
        student = make_student(nb)
        nbformat.write(student, args.dst_dir / path.name)
        print(f"{path} -> {args.dst_dir / path.name}: {len(stub_cells(student))} stub(s), "
              f"{len(check_cells(student))} self-check cell(s)")
    if not sources:
        print(f"no chapter notebooks (NN*.ipynb) in {args.src_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
