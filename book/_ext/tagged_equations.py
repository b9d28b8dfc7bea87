"""Multi-line display equations that carry their own ``\\tag``, rendered by MathJax without an error.

The chapters write a numbered equation once, in a form that Jupyter, Colab and the book all render::

    $$
    \\begin{aligned}
    a &= b \\\\
      &= c
    \\end{aligned}
    \\tag{8.1}
    $$ (eq-8-1)

The ``\\tag`` shows the number in Jupyter and Colab; the MyST label gives Sphinx's number, which ``{eq}``
references use (``tests/test_equations.py`` keeps the two equal, ``_static/equations.css`` hides Sphinx's
copy). Sphinx's MathJax writer wraps any display block that contains ``\\\\`` in ``\\begin{split}``, and
MathJax rejects ``\\tag`` inside ``split`` ("\\tag not allowed in split environment"): the reader would see a
red error instead of the equation. A block with a ``\\tag`` is already a complete display (its line breaks
sit inside its own ``aligned``), so this extension writes it between MathJax's display delimiters as it is;
every other block goes through Sphinx's writer unchanged.

``_config.yml`` loads it with ``sphinx: local_extensions: {tagged_equations: book/_ext}``.
"""

from __future__ import annotations

from docutils import nodes
from sphinx.ext import mathjax
from sphinx.locale import _
from sphinx.util.math import get_node_equation_number


def visit_displaymath(self, node: nodes.math_block) -> None:
    """Sphinx's MathJax display writer, except that a multi-line block with its own ``\\tag`` is not
    split-wrapped (its number span and anchor are written as Sphinx writes them)."""
    text = node.astext()
    if node["nowrap"] or r"\tag" not in text or "\\\\" not in text:
        return mathjax.html_visit_displaymath(self, node)
    self.body.append(self.starttag(node, "div", CLASS="math notranslate nohighlight"))
    if node["number"]:
        self.body.append(f'<span class="eqno">({get_node_equation_number(self, node)})')
        self.add_permalink_ref(node, _("Link to this equation"))
        self.body.append("</span>")
    opening, closing = self.builder.config.mathjax_display
    self.body.append(opening + self.encode(text.strip()) + closing)
    self.body.append("</div>\n")
    raise nodes.SkipNode


def _install(app) -> None:
    renderers = app.registry.html_block_math_renderers
    if "mathjax" in renderers:
        renderers["mathjax"] = (visit_displaymath, renderers["mathjax"][1])


def setup(app):
    app.setup_extension("sphinx.ext.mathjax")
    app.connect("builder-inited", _install)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
