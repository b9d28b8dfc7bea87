"""Author–year labels for the bibliography page, the same as the author–year citations in the text.

sphinxcontrib-bibtex cites author–year (``bibtex_reference_style``) but labels the entries of the
``{bibliography}`` list with the formatting style's label style: numbers for pybtex's ``plain``. This Sphinx
extension registers

- the pybtex formatting style ``author_year``: pybtex's ``plain`` entries in the order of an author–year
  reference list (first author, number of authors, year, title), labelled with the citation text,
  "Ho et al., 2020", and "a", "b", ... after the year when two entries would get the same label
  ("Song et al., 2021a");
- the referencing style ``author_year_round``: sphinxcontrib-bibtex's ``author_year`` with round brackets and
  semicolons between references, "(Ho et al., 2020; Song et al., 2021a)" and "Ho et al. (2020)", whose year is
  the one of the entry's label, suffix included.

``_config.yml`` loads it with ``sphinx: local_extensions: {author_year_bibliography: book/_ext}`` and
selects ``bibtex_default_style: author_year`` and ``bibtex_reference_style: author_year_round``.
"""

from __future__ import annotations

import string
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pybtex.plugin
from pybtex.richtext import Text
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting import BaseSortingStyle
from sphinxcontrib.bibtex.plugin import register_plugin
from sphinxcontrib.bibtex.style.referencing import BracketStyle, PersonStyle
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle
from sphinxcontrib.bibtex.style.referencing.basic_author_year import (
    BasicAuthorYearParentheticalReferenceStyle,
    BasicAuthorYearTextualReferenceStyle,
)
from sphinxcontrib.bibtex.style.template import join, join2, node, post_text, pre_text, reference

_PERSON = PersonStyle()  # the person style of the citations: "Ho et al.", "Tikhonov and Arsenin"


@dataclass
class _CitationStyle:
    person: PersonStyle


_CITATION_STYLE = _CitationStyle(_PERSON)


def citation_names(entry) -> str:
    """The authors as the text cites them (editor or title when there is no author)."""
    data = {"entry": entry, "style": _CITATION_STYLE}
    return _PERSON.author_or_editor_or_title(full=False).format_data(data).render_as("text")


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels "Names, year", unique within one bibliography (a, b, ... after the year of equal ones)."""

    def format_labels(self, sorted_entries):
        bases = [f"{citation_names(entry)}, {entry.fields.get('year', 'n.d.')}" for entry in sorted_entries]
        repeated, seen = Counter(bases), defaultdict(int)
        for base in bases:
            if repeated[base] == 1:
                yield base
            else:
                yield base + string.ascii_lowercase[seen[base]]
                seen[base] += 1


class AuthorYearSortingStyle(BaseSortingStyle):
    """The order of an author–year reference list: by the cited names, then year, then title.

    "Zhu, 2026" (one author) comes before "Zhu et al., 2023" (several); "Zhang et al." is in order of year.
    """

    def sorting_key(self, entry):
        persons = entry.persons.get("author") or entry.persons.get("editor") or []
        first = " ".join(persons[0].prelast_names + persons[0].last_names) if persons else entry.fields["title"]
        return tuple(text.replace("{", "").replace("}", "").lower() if isinstance(text, str) else text
                     for text in (first, min(len(persons), 3), citation_names(entry), entry.fields.get("year", ""),
                                  entry.fields.get("title", "")))


class AuthorYearStyle(PlainStyle):
    """pybtex's ``plain`` entries, with author–year labels and order."""

    default_label_style = "author_year"
    default_sorting_style = "author_year"


@node
def label_year(children, data) -> Text:
    """The year of the entry's bibliography label, with its "a"/"b" suffix when it has one."""
    assert not children
    return Text(data["formatted_entry"].label.rsplit(", ", 1)[-1])


@dataclass
class _Parenthetical(BasicAuthorYearParentheticalReferenceStyle):
    def inner(self, role_name):
        return join2(sep1=self.pre_text_sep, sep2=self.post_text_sep)[
            pre_text,
            reference[join(sep=self.author_year_sep)[
                self.person.author_or_editor_or_title(full="s" in role_name), label_year]],
            post_text,
        ]


@dataclass
class _Textual(BasicAuthorYearTextualReferenceStyle):
    def inner(self, role_name):
        return join(sep=self.text_reference_sep)[
            self.person.author_or_editor_or_title(full="s" in role_name),
            join[
                self.bracket.left,
                join2(sep1=self.pre_text_sep, sep2=self.post_text_sep)[pre_text, reference[label_year], post_text],
                self.bracket.right,
            ],
        ]


def _round() -> BracketStyle:
    """Round brackets; several references in one citation are separated by semicolons."""
    return BracketStyle(left="(", right=")", sep="; ")


@dataclass
class AuthorYearRoundReferenceStyle(AuthorYearReferenceStyle):
    """``author_year`` with round brackets and the label's year ("2021a") in every citation."""

    bracket_textual: BracketStyle = field(default_factory=_round)
    bracket_parenthetical: BracketStyle = field(default_factory=_round)
    bracket_author: BracketStyle = field(default_factory=_round)
    bracket_label: BracketStyle = field(default_factory=_round)
    bracket_year: BracketStyle = field(default_factory=_round)

    def __post_init__(self):
        super().__post_init__()
        for i, style in enumerate(self.styles):
            if type(style) is BasicAuthorYearParentheticalReferenceStyle:
                self.styles[i] = _Parenthetical(
                    bracket=style.bracket, person=style.person, author_year_sep=style.author_year_sep,
                    pre_text_sep=style.pre_text_sep, post_text_sep=style.post_text_sep)
            elif type(style) is BasicAuthorYearTextualReferenceStyle:
                self.styles[i] = _Textual(
                    bracket=style.bracket, person=style.person, text_reference_sep=style.text_reference_sep,
                    pre_text_sep=style.pre_text_sep, post_text_sep=style.post_text_sep)
        self.role_style.update((role, style) for style in self.styles for role in style.role_names())


def setup(app):
    pybtex.plugin.register_plugin("pybtex.style.labels", "author_year", AuthorYearLabelStyle)
    pybtex.plugin.register_plugin("pybtex.style.sorting", "author_year", AuthorYearSortingStyle)
    pybtex.plugin.register_plugin("pybtex.style.formatting", "author_year", AuthorYearStyle)
    register_plugin("sphinxcontrib.bibtex.style.referencing", "author_year_round", AuthorYearRoundReferenceStyle)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
