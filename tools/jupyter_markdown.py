"""The book's MyST markdown rewritten as plain Markdown that Jupyter and Colab render.

The chapters are written for the HTML book (MyST: ``{exercise}`` directives, ``{eq}`` and ``{cite}`` roles,
equation labels after ``$$``). A student notebook is read in Jupyter or Colab, where those stay raw text
and the math inside a directive is not rendered. :func:`to_jupyter` rewrites one markdown cell:

* an ``{exercise}`` block becomes a quoted block headed **Exercise N.k — title** (``N.k`` from its
  ``:label: ex-N-k``, the number Sphinx gives it in the book: the tests check the two agree; an exercise
  with another label gets no number);
* ``{eq}`eq-N-k``` becomes ``(N.k)``; the label ``(eq-N-k)`` after a display's closing ``$$`` is dropped
  (the ``\\tag{N.k}`` inside the display still shows the number);
* ``{cite}`a,b``` / ``{cite:p}`` become "(Author et al., 2020; Other, 2021a)" and ``{cite:t}`` becomes
  "Author et al. (2020)", with the labels of the book's bibliography page (book/_ext).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

BIB = Path(__file__).resolve().parents[1] / "book" / "references.bib"

_EXERCISE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{exercise\}[ \t]*(?P<title>[^\n]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$",
                       re.S | re.M)
_EQ_ROLE = re.compile(r"\{eq\}`eq-(\d+)-(\d+)`")
_EQ_LABEL = re.compile(r"^(\$\$)[ \t]*\(eq-\d+-\d+\)[ \t]*$", re.M)
_CITE = re.compile(r"\{cite(?::(?P<kind>[a-z]+))?\}`(?P<keys>[\w.:+, -]+)`")
_OPTION = re.compile(r"^:(?P<name>[\w-]+):[ \t]*(?P<value>.*)$")


@cache
def _bibliography(path: str = str(BIB)) -> dict:
    """key -> the entry's label on the book's bibliography page ("Ho et al., 2020", "Song et al., 2021a"),
    made by the book's own Sphinx extension (book/_ext/author_year_bibliography.py), so that a student notebook
    cites exactly as the HTML book does."""
    import importlib.util
    import sys

    from pybtex.database import parse_file

    name = "author_year_bibliography"
    style = sys.modules.get(name)
    if style is None:
        spec = importlib.util.spec_from_file_location(name, BIB.parent / "_ext" / f"{name}.py")
        style = sys.modules[name] = importlib.util.module_from_spec(spec)  # dataclasses look the module up
        spec.loader.exec_module(style)
    entries = parse_file(path).entries
    ordered = style.AuthorYearSortingStyle().sort(list(entries.values()))
    labels = style.AuthorYearLabelStyle().format_labels(ordered)
    return {entry.key: label for entry, label in zip(ordered, labels)}


def cite(keys: str, kind: str | None = None, bib: Path = BIB) -> str:
    """The author-year text of a ``{cite}`` role: ``"(Ho et al., 2020)"``, or ``"Ho et al. (2020)"`` for
    ``kind="t"``. An unknown key raises ``KeyError`` naming it."""
    labels = _bibliography(str(bib))
    refs = []
    for key in (k.strip() for k in keys.split(",")):
        if key not in labels:
            raise KeyError(f"citation key {key!r} is not in {bib.name}")
        refs.append(labels[key])
    if kind == "t":  # "Ho et al., 2020" -> "Ho et al. (2020)"
        return "; ".join("{} ({})".format(*label.rsplit(", ", 1)) for label in refs)
    return "(" + "; ".join(refs) + ")"


def _exercise(match: re.Match) -> str:
    body = match["body"].split("\n")
    label = None
    while body and _OPTION.match(body[0]):
        option = _OPTION.match(body.pop(0))
        if option["name"] == "label":
            label = option["value"].strip()
    number = re.fullmatch(r"ex-(\d+)-(\d+)", label or "")  # the chapters' labels; tests/test_chapters.py
    title = match["title"].strip()
    heading = "**Exercise" + (f" {number[1]}.{number[2]}" if number else "") + (f" — {title}**" if title else "**")
    text = "\n".join(body).strip("\n")
    return "\n".join("> " + line if line else ">" for line in [heading, "", *text.split("\n")])


def to_jupyter(source: str, bib: Path = BIB) -> str:
    """One markdown cell of a chapter, rewritten for Jupyter and Colab (see the module docstring)."""
    source = _EXERCISE.sub(_exercise, source)
    source = _EQ_ROLE.sub(lambda m: f"({m[1]}.{m[2]})", source)
    source = _EQ_LABEL.sub(r"\1", source)
    return _CITE.sub(lambda m: cite(m["keys"], m["kind"], bib), source)
