"""The full-scale training notebooks run end to end in their smoke tier (on CPU, local data)."""

from pathlib import Path

import nbformat
import pytest
from notebook_utils import cell_errors, execute_notebook

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_training_notebook_smoke_tier(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "strip outputs"
    executed, _ = execute_notebook(path, parameters={"TIER": "smoke", "RUN_DIR": str(tmp_path / "run")},
                                   cwd=tmp_path)
    assert not cell_errors(executed)
    assert (tmp_path / "run" / "checkpoint.pt").exists()
