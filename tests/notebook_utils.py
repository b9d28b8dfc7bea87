"""Helpers to execute notebooks headless in tests (chapters, student notebooks).

``execute_notebook`` does what papermill does for parameters (a cell tagged ``injected-parameters``
inserted after the cell tagged ``parameters``), then runs the notebook with nbclient on the ``python3``
kernel with ``GENIR_BOOK_BUILD=1`` in the kernel's environment, so that live widgets fall back to their
static version instead of waiting for a browser.
"""

from __future__ import annotations

import copy
import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

KERNEL_NAME = "python3"
PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"


def inject_parameters(nb: nbformat.NotebookNode, parameters: dict) -> nbformat.NotebookNode:
    """Insert (or replace) the ``injected-parameters`` cell after the ``parameters`` cell, in place.

    Values are written with ``repr``, so numbers, strings, booleans, ``None`` and lists/dicts of them
    work. Raises ``ValueError`` if the notebook has no cell tagged ``parameters``.
    """
    lines = ["# Parameters injected by the tests"]
    for name, value in parameters.items():
        if not str(name).isidentifier():
            raise ValueError(f"parameter name {name!r} is not a Python identifier")
        lines.append(f"{name} = {value!r}")
    injected = nbformat.v4.new_code_cell("\n".join(lines), metadata={"tags": [INJECTED_TAG]})
    nb.cells = [c for c in nb.cells if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])]
    for index, cell in enumerate(nb.cells):
        if PARAMETERS_TAG in cell.get("metadata", {}).get("tags", []):
            nb.cells.insert(index + 1, injected)
            return nb
    raise ValueError("the notebook has no cell tagged 'parameters' to inject parameters after")


def execute_notebook(path_or_nb, parameters: dict | None = None, timeout: int = 900,
                     allow_errors: bool = False, cwd=None) -> tuple[nbformat.NotebookNode, float]:
    """Execute a notebook and return ``(executed notebook, seconds)``.

    ``path_or_nb``: a path to an ``.ipynb`` file or a ``NotebookNode`` (not modified; a copy is run).
    ``parameters``: papermill-style parameters, injected after the cell tagged ``parameters``.
    ``timeout``: seconds allowed per cell. ``allow_errors``: if False, the first failing cell raises
    ``nbclient.exceptions.CellExecutionError`` (with the cell's traceback); if True, every cell runs and
    errors are left in the outputs (see :func:`cell_errors`). ``cwd``: the kernel's working directory,
    by default the notebook's folder (or the current directory for an in-memory notebook).
    """
    if isinstance(path_or_nb, (str, os.PathLike)):
        path = Path(path_or_nb)
        nb = nbformat.read(path, as_version=4)
        default_cwd = path.resolve().parent
    elif isinstance(path_or_nb, nbformat.NotebookNode):
        nb = copy.deepcopy(path_or_nb)
        default_cwd = Path.cwd()
    else:
        raise TypeError("path_or_nb must be a path or an nbformat.NotebookNode, "
                        f"got {type(path_or_nb).__name__}")
    if parameters:
        inject_parameters(nb, parameters)
    workdir = Path(cwd) if cwd is not None else default_cwd
    client = NotebookClient(nb, timeout=timeout, kernel_name=KERNEL_NAME, allow_errors=allow_errors,
                            resources={"metadata": {"path": str(workdir)}})
    env = dict(os.environ, GENIR_BOOK_BUILD="1")
    start = time.perf_counter()
    client.execute(env=env)
    return nb, time.perf_counter() - start


def cell_errors(nb: nbformat.NotebookNode) -> list[int]:
    """Indices of the cells of ``nb`` that have an error output."""
    return [i for i, cell in enumerate(nb.cells)
            if cell.cell_type == "code"
            and any(out.get("output_type") == "error" for out in cell.get("outputs", []))]
