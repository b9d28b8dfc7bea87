"""The book's own Sphinx extensions (book/_ext), built on a two-block page: a multi-line equation with its own
\\tag reaches MathJax without the ``split`` wrapper that rejects it, and solution code loses its markers."""

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import solution_markers  # noqa: E402

PAGE = r"""
Test
====

.. math::
   :label: eq-8-1

   \begin{aligned}
   a &= b \\
     &= c
   \end{aligned}
   \tag{8.1}

.. math::

   x = y \\
   y = z

.. container:: cell tag_solution

   ::

      def f(x):
          # BEGIN SOLUTION Exercise 8.1: a hint
          return x
          # END SOLUTION

.. container:: cell

   ::

      # BEGIN SOLUTION left alone outside a solution cell
"""


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    from sphinx.application import Sphinx

    src = tmp_path_factory.mktemp("src")
    (src / "conf.py").write_text(f"import sys\nsys.path.insert(0, {str(ROOT / 'book' / '_ext')!r})\n"
                                 "extensions = ['tagged_equations', 'solution_markers']\n")
    (src / "index.rst").write_text(PAGE)
    out = tmp_path_factory.mktemp("html")
    app = Sphinx(str(src), str(src), str(out), str(out / ".doctrees"), "html", status=None, warningiserror=True)
    app.build()
    return (out / "index.html").read_text()


def test_a_tagged_multiline_equation_is_not_wrapped_in_split(page):
    tagged = page[page.index(r"\tag{8.1}") - 200: page.index(r"\tag{8.1}")]
    assert r"\begin{aligned}" in tagged and r"\begin{split}" not in tagged
    assert re.search(r'id="equation-eq-8-1">\s*<span class="eqno">\(1\)', page), "anchor and number kept"
    assert r"\begin{split}x = y" in page, "an untagged block keeps Sphinx's own rendering"


def test_solution_code_is_shown_without_its_markers(page):
    assert "BEGIN SOLUTION Exercise 8.1" not in page and "END SOLUTION" not in page
    assert "return" in page and "BEGIN SOLUTION left alone" in page
    assert solution_markers.without_markers("a\n    # BEGIN SOLUTION 1.2: hint\nb\n# END SOLUTION\n") == "a\nb\n"
