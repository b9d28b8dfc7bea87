"""Helpers to execute notebooks headless in tests (chapters, student notebooks).

Parameters go in the way papermill puts them (``papermill.parameterize.parameterize_notebook``: a cell tagged
``injected-parameters`` after the cell tagged ``parameters``). A notebook that must run without errors is
executed by ``papermill.execute_notebook`` itself; one whose errors are the point (a student version, where
the stubs raise) runs through nbclient with ``allow_errors``, because papermill stops at the first error.
Either way the kernel runs on ``python3`` with ``GENIR_BOOK_BUILD=1`` in its environment, so that live
widgets fall back to their static version instead of waiting for a browser.
"""

from __future__ import annotations

import copy
import os
import time
from pathlib import Path

import nbformat
import papermill
from nbclient import NotebookClient
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

KERNEL_NAME = "python3"
PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"


def inject_parameters(nb: nbformat.NotebookNode, parameters: dict) -> nbformat.NotebookNode:
    """papermill's parameter injection (returns a new notebook). Raises ``ValueError`` if ``nb`` has no cell
    tagged ``parameters`` (papermill would put the parameters first; every notebook of the book has one)."""
    for name in parameters:
        if not str(name).isidentifier():
            raise ValueError(f"parameter name {name!r} is not a Python identifier")
    if not any(PARAMETERS_TAG in cell.get("metadata", {}).get("tags", []) for cell in nb.cells):
        raise ValueError("the notebook has no cell tagged 'parameters' to inject parameters after")
    nb = copy.deepcopy(nb)
    nb.metadata.setdefault("papermill", {})  # what papermill.iorw.load_notebook_node adds
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])
    return parameterize_notebook(nb, parameters, report_mode=False)


def execute_notebook(path_or_nb, parameters: dict | None = None, timeout: int = 900,
                     allow_errors: bool = False, cwd=None) -> tuple[nbformat.NotebookNode, float]:
    """Execute a notebook and return ``(executed notebook, seconds)``.

    ``path_or_nb``: a path to an ``.ipynb`` file or a ``NotebookNode`` (not modified; a copy is run).
    ``parameters``: papermill parameters, injected after the cell tagged ``parameters``.
    ``timeout``: seconds allowed per cell. ``allow_errors``: if False, papermill runs the notebook and the
    first failing cell raises ``papermill.PapermillExecutionError`` (with the cell's traceback); if True,
    every cell runs and errors are left in the outputs (see :func:`cell_errors`). ``cwd``: the kernel's
    working directory, by default the notebook's folder (or the current directory for an in-memory one).
    """
    if isinstance(path_or_nb, (str, os.PathLike)):
        path = Path(path_or_nb)
        nb = load_notebook_node(str(path))
        default_cwd = path.resolve().parent
    elif isinstance(path_or_nb, nbformat.NotebookNode):
        nb = copy.deepcopy(path_or_nb)
        default_cwd = Path.cwd()
    else:
        raise TypeError("path_or_nb must be a path or an nbformat.NotebookNode, "
                        f"got {type(path_or_nb).__name__}")
    if parameters:
        nb = inject_parameters(nb, parameters)
    workdir = Path(cwd) if cwd is not None else default_cwd
    os.environ["GENIR_BOOK_BUILD"] = "1"  # the kernel inherits the environment of this process
    start = time.perf_counter()
    if allow_errors:
        client = NotebookClient(nb, timeout=timeout, kernel_name=KERNEL_NAME, allow_errors=True,
                                resources={"metadata": {"path": str(workdir)}})
        client.execute()
    else:
        nb = papermill.execute_notebook(nb, None, kernel_name=KERNEL_NAME, cwd=str(workdir), progress_bar=False,
                                        execution_timeout=timeout, log_output=False)
    return nb, time.perf_counter() - start


def cell_errors(nb: nbformat.NotebookNode) -> list[int]:
    """Indices of the cells of ``nb`` that have an error output."""
    return [i for i, cell in enumerate(nb.cells)
            if cell.cell_type == "code"
            and any(out.get("output_type") == "error" for out in cell.get("outputs", []))]
