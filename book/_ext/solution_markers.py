"""Solution code in the book without its ``# BEGIN SOLUTION`` / ``# END SOLUTION`` lines.

A chapter's solution cells mark the code that the student version replaces by a stub (``tools/make_student.py``)
and that nbgrader clears, with a hint after the marker::

    # BEGIN SOLUTION Exercise 8.1: the first part, x_s, the second part, the whole
    ...
    # END SOLUTION

The markers are for those tools, not for a reader who opens a solution in the book: this extension removes
the marker lines from the shown source of every code cell tagged ``solution`` (the executed code and the
notebook files are unchanged). ``_config.yml`` loads it with
``sphinx: local_extensions: {solution_markers: book/_ext}``.
"""

from __future__ import annotations

import re

from docutils import nodes

MARKER = re.compile(r"^[ \t]*#\s*(BEGIN|END) SOLUTION\b.*$\n?", re.MULTILINE)


def without_markers(source: str) -> str:
    """``source`` without its BEGIN/END SOLUTION lines."""
    return MARKER.sub("", source)


def _in_solution_cell(node: nodes.Node) -> bool:
    parent = node.parent
    while parent is not None:
        # myst-nb writes the class as tagged, "tag_solution"; docutils' directives normalise it to "tag-solution"
        if isinstance(parent, nodes.container) and any(c.replace("-", "_") == "tag_solution"
                                                       for c in parent.get("classes", [])):
            return True
        parent = parent.parent
    return False


def strip_markers(app, doctree: nodes.document) -> None:
    for block in list(doctree.findall(nodes.literal_block)):
        text = block.astext()
        if "SOLUTION" not in text or not _in_solution_cell(block):
            continue
        shown = without_markers(text)
        new = nodes.literal_block(shown, shown, **{k: v for k, v in block.attributes.items()
                                                   if k not in ("ids", "backrefs", "dupnames", "names")})
        new["ids"], new["names"] = block["ids"], block["names"]
        new.source, new.line = block.source, block.line
        block.replace_self(new)


def setup(app):
    app.connect("doctree-read", strip_markers)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
