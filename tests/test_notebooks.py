"""The notebooks run: their code cells execute top to bottom without error."""

import json
import tempfile
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="the quickstart fits with the shipped model: retrained after the simulator v2 and "
    "population model merge",
)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_code_cells_run(path, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    cells = json.loads(path.read_text())["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    assert code, f"{path.name} has no code cells"
    namespace: dict = {}
    for i, source in enumerate(code):
        exec(compile(source, f"{path.name}[cell {i}]", "exec"), namespace)
    # the quickstart ends with a fitted posterior and a finite summary vector
    if path.name == "quickstart.ipynb":
        assert len(namespace["result"].groups) == 5
        assert namespace["x"].shape == (len(namespace["x"]),)
        assert all(abs(v) < 10 for v in namespace["x"])
