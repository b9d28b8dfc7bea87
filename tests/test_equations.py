"""Chapters number their display equations N.k, and every citation of an equation by number finds it.

A numbered equation is a display ``$$ ... \\tag{N.k} $$ (eq-N-k)`` in a markdown cell of chapter N: MathJax
shows the tag in the book, in Jupyter and in Colab, and the MyST label gives Sphinx the same number for
``{eq}`` cross-references (the book's CSS hides Sphinx's copy). Each chapter numbers 1, 2, 3, ... in order,
without gaps or repeats. Citations are checked in the library's source (``ch. N, eq. N.k``,
``ch. N, eqs. N.k–N.m``, ``ch. N, eqs. N.k and N.m``) and in the chapters (the same forms, ``(N.k)`` in any
cell, ``{eq}`eq-N-k```).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
LIBRARY = sorted((ROOT / "genir_mini").rglob("*.py"))

DISPLAY = re.compile(r"\$\$(?P<body>.*?)\$\$(?:[ \t]*\((?P<label>[^()\s]+)\))?", re.S)
TAG = re.compile(r"\\tag\*?\{([^}]*)\}")
NUMBER = r"\d+\.\d+"
# "ch. 2, eq. 2.3", "chapter 2, eqs. 2.3–2.5", "ch. 1, eqs. 1.7 and 1.11", "ch. 1, eqs. 1.2, 1.4"
REFS = rf"{NUMBER}(?:\s*(?:,|and|–|-)\s*{NUMBER})*"
CITATION = re.compile(rf"\b(?:ch\.|chapter)\s*(\d+),\s*eqs?\.\s*(?P<refs>{REFS})?")
# "(2.3)" not preceded by a name or a dot (so ``tensor(1.5)`` is no citation); "(2.3)–(2.5)" is a range
PARENTHESISED = re.compile(rf"(?<![\w.])\(({NUMBER})\)(?:\s*[–-]\s*\(({NUMBER})\))?")
EQ_ROLE = re.compile(r"\{eq\}`([\w.:-]+)`")


def chapter_number(path: Path) -> int:
    return int(path.name[:2])


def markdown_of(nb) -> str:
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def defined_equations(markdown: str) -> list[tuple[str, str | None]]:
    """(tag, label) of each display equation with a ``\\tag`` in ``markdown``, in order of appearance."""
    found = []
    for match in DISPLAY.finditer(markdown):
        for tag in TAG.findall(match.group("body")):
            found.append((tag.strip(), match.group("label")))
    return found


def numbering_problems(chapter: int, markdown: str) -> list[str]:
    """What is wrong with the equation numbers of chapter ``chapter`` whose markdown is ``markdown``."""
    problems, expected = [], 1
    for match in DISPLAY.finditer(markdown):
        tags, label = TAG.findall(match.group("body")), match.group("label")
        if len(tags) > 1:
            problems.append(f"one display, several tags {tags}: split it into one display per number")
        if not tags:
            if label:
                problems.append(f"label ({label}) on an equation without \\tag{{{chapter}.k}}")
            continue
        tag = tags[0].strip()
        if not re.fullmatch(rf"{chapter}\.\d+", tag):
            problems.append(f"equation ({tag}) in chapter {chapter}: numbers are {chapter}.1, {chapter}.2, ...")
            continue
        k = int(tag.split(".")[1])
        if k != expected:
            problems.append(f"equation ({tag}) where ({chapter}.{expected}) comes next (repeated or out of order)")
        expected = k + 1
        if label != f"eq-{chapter}-{k}":
            problems.append(f"equation ({tag}) needs the label (eq-{chapter}-{k}) after its closing $$, "
                            f"found {label and f'({label})'}")
    return problems


def expand(refs: str) -> list[str]:
    """``"1.7 and 1.11"`` -> ``["1.7", "1.11"]``; ``"5.1–5.4"`` -> ``["5.1", "5.2", "5.3", "5.4"]``."""
    numbers = []
    for part in re.split(r"\s*(?:,|and)\s*", refs.strip()):
        ends = re.split(r"\s*[–-]\s*", part)
        if len(ends) == 2 and ends[0].split(".")[0] == ends[1].split(".")[0]:
            head, first, last = ends[0].split(".")[0], int(ends[0].split(".")[1]), int(ends[1].split(".")[1])
            numbers += [f"{head}.{k}" for k in range(first, last + 1)] if first <= last else ends
        else:
            numbers += ends
    return numbers


def cited_equations(text: str) -> list[tuple[int, str, str]]:
    """(chapter, number, the citation's text) of every ``ch. N, eq. N.k``-style citation in ``text``.

    A citation that names a chapter and an equation without a number (``chapter 1, eq. "prox"``) gives the
    number ``""``: it must be rewritten as a number.
    """
    cited = []
    for match in CITATION.finditer(text):
        chapter, refs = int(match.group(1)), match.group("refs")
        for number in expand(refs) if refs else [""]:
            cited.append((chapter, number, match.group(0)))
    return cited


def parenthesised_references(text: str) -> list[str]:
    """The numbers of ``(N.k)`` references in ``text`` (both ends of ``(N.k)–(N.m)``)."""
    return [number for match in PARENTHESISED.finditer(text) for number in match.groups() if number]


def citation_problems(text: str, defined: dict[int, set[str]], where: str) -> list[str]:
    """Citations in ``text`` of equations that ``defined`` (chapter -> its numbers) does not have."""
    problems = []
    for chapter, number, citation in cited_equations(text):
        if not number:
            problems.append(f"{where}: '{citation}...' cites an equation by name: cite ch. N, eq. N.k")
        elif number.split(".")[0] != str(chapter):
            problems.append(f"{where}: '{citation}' cites ({number}) as an equation of chapter {chapter}")
        elif number not in defined.get(chapter, set()):
            problems.append(f"{where}: '{citation}': chapter {chapter} has no equation ({number})")
    return problems


def reference_problems(text: str, defined: dict[int, set[str]], where: str) -> list[str]:
    """``(N.k)`` references (N a chapter of the book) and ``{eq}`` roles in ``text`` that point nowhere."""
    problems = []
    for number in parenthesised_references(text):
        chapter = int(number.split(".")[0])
        if chapter in defined and number not in defined[chapter]:
            problems.append(f"{where}: ({number}) is not an equation of chapter {chapter}")
    labels = {f"eq-{n.replace('.', '-')}" for numbers in defined.values() for n in numbers}
    problems += [f"{where}: {{eq}}`{label}` has no equation" for label in EQ_ROLE.findall(text)
                 if label not in labels]
    return problems


def book_equations() -> dict[int, set[str]]:
    return {chapter_number(path): {tag for tag, _ in defined_equations(markdown_of(nbformat.read(path, 4)))}
            for path in CHAPTERS}


# ----------------------------------------------------------------------------------------------------------
# the book


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_numbers_its_equations_in_order(path):
    nb = nbformat.read(path, as_version=4)
    markdown = markdown_of(nb)
    assert defined_equations(markdown), f"{path.name} numbers no display equation"
    assert numbering_problems(chapter_number(path), markdown) == []


def test_chapter_5_numbers_algorithm_1():
    """The library and the chapter cite DiffPIR's four steps as (5.1)–(5.4)."""
    assert {"5.1", "5.2", "5.3", "5.4"} <= book_equations()[5]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_cites_only_equations_that_exist(path):
    defined = book_equations()
    problems = []
    for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
        where = f"{path.name} cell {index}"
        problems += citation_problems(cell.source, defined, where)
        problems += reference_problems(cell.source, defined, where)
    assert problems == []


def test_library_cites_only_equations_that_exist():
    defined = book_equations()
    problems = []
    for path in LIBRARY:
        for line_number, line in enumerate(path.read_text().splitlines(), 1):
            problems += citation_problems(line, defined, f"{path.relative_to(ROOT)}:{line_number}")
    assert problems == []


# ----------------------------------------------------------------------------------------------------------
# the checks themselves, on synthetic chapters and citations


GOOD = """Text.

$$
a = b \\tag{7.1}
$$ (eq-7-1)

$$
\\text{unnumbered step}
$$

$$
c = d \\tag{7.2}
$$ (eq-7-2)
"""


def test_checks_accept_a_well_numbered_chapter():
    assert defined_equations(GOOD) == [("7.1", "eq-7-1"), ("7.2", "eq-7-2")]
    assert numbering_problems(7, GOOD) == []
    defined = {7: {"7.1", "7.2"}}
    assert citation_problems("x (ch. 7, eqs. 7.1–7.2) and (chapter 7, eq. 7.2)", defined, "ok") == []
    assert reference_problems("By (7.1)–(7.2) and {eq}`eq-7-2`; tensor(7.5), (0.5)", defined, "ok") == []


@pytest.mark.parametrize("markdown, expected", [
    (GOOD.replace("7.2", "7.1").replace("eq-7-2", "eq-7-1"), "repeated or out of order"),
    (GOOD.replace("7.1", "7.3").replace("eq-7-1", "eq-7-3"), "repeated or out of order"),
    (GOOD.replace("\\tag{7.1}", "\\tag{6.1}"), "numbers are 7.1"),
    (GOOD.replace("(eq-7-2)", "(eq-normal)"), "needs the label (eq-7-2)"),
    (GOOD.replace(" (eq-7-1)", ""), "needs the label (eq-7-1)"),
    (GOOD.replace("\\text{unnumbered step}\n$$", "\\text{unnumbered step}\n$$ (eq-x)"), "without \\tag"),
    (GOOD.replace("a = b \\tag{7.1}", "a = b \\tag{7.1} \\\\ e \\tag{7.2}"), "several tags"),
], ids=["repeat", "gap", "wrong-chapter", "label-by-name", "no-label", "label-without-tag", "two-tags"])
def test_checks_reject_bad_numbering(markdown, expected):
    problems = numbering_problems(7, markdown)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize("text, expected", [
    ("(ch. 7, eq. 7.3)", "no equation (7.3)"),
    ("(ch. 7, eqs. 7.1–7.3)", "no equation (7.3)"),
    ("(chapter 7, eqs. 7.1 and 7.4)", "no equation (7.4)"),
    ("(ch. 8, eq. 8.1)", "chapter 8 has no equation"),
    ("(ch. 7, eq. 6.1)", "as an equation of chapter 7"),
    ('(chapter 7, eq. "prox")', "by name"),
    ("(chapter 7, eqs. ``eq-normal`` and ``eq-wiener``)", "by name"),
])
def test_checks_reject_citations_of_missing_equations(text, expected):
    problems = citation_problems(text, {7: {"7.1", "7.2"}}, "synthetic")
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize("text", ["see (7.3)", "(7.1)–(7.3)", "{eq}`eq-7-3`", "{eq}`eq-normal`"])
def test_checks_reject_references_to_missing_equations(text):
    assert reference_problems(text, {7: {"7.1", "7.2"}}, "synthetic")


def test_ranges_expand():
    assert expand("5.1–5.4") == ["5.1", "5.2", "5.3", "5.4"]
    assert expand("1.7 and 1.11") == ["1.7", "1.11"]
    assert expand("2.3, 2.5") == ["2.3", "2.5"]
