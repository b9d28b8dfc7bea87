"""Strip outputs and execution counts from notebooks, in place (run before committing a chapter).

Usage::

    python tools/strip_outputs.py book/01_inverse_problems.ipynb     # one or more notebooks
    python tools/strip_outputs.py book notebooks                      # every *.ipynb under folders
    python tools/strip_outputs.py --check book                        # exit 1 if any would change

Removes every cell's outputs and execution count, the per-cell execution metadata written by
nbclient/papermill (``execution``, ``papermill``), and the notebook-level ``widgets`` state and
``papermill`` record. Cell tags, sources and attachments are left alone. Files that are already clean
are not rewritten.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

CELL_METADATA_KEYS = ("execution", "papermill", "collapsed", "scrolled")
NOTEBOOK_METADATA_KEYS = ("widgets", "papermill")


def strip_notebook(nb: nbformat.NotebookNode) -> bool:
    """Strip ``nb`` in place; return whether anything changed."""
    changed = False
    for cell in nb.cells:
        for key in CELL_METADATA_KEYS:
            if key in cell.metadata:
                del cell.metadata[key]
                changed = True
        if cell.cell_type == "code":
            if cell.get("outputs"):
                cell.outputs = []
                changed = True
            if cell.get("execution_count") is not None:
                cell.execution_count = None
                changed = True
    for key in NOTEBOOK_METADATA_KEYS:
        if key in nb.metadata:
            del nb.metadata[key]
            changed = True
    return changed


def notebook_paths(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        elif path.suffix == ".ipynb" and path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(f"{path} is neither a notebook nor a folder")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", type=Path, help="notebooks or folders of notebooks")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit with status 1 if some notebook has outputs")
    args = parser.parse_args(argv)
    dirty = []
    for path in notebook_paths(args.paths):
        nb = nbformat.read(path, as_version=4)
        if strip_notebook(nb):
            dirty.append(path)
            if not args.check:
                nbformat.write(nb, path)
    verb = "has outputs" if args.check else "stripped"
    for path in dirty:
        print(f"{path}: {verb}")
    return 1 if (args.check and dirty) else 0


if __name__ == "__main__":
    sys.exit(main())
