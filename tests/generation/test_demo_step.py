"""The demo's last step: four loops from the corpus posterior and how to start the page."""

from __future__ import annotations

import json
import shutil

import pandas as pd

from technorhythm.cli.demo import STEPS, DemoContext, step_generate_from_fit


def test_the_demo_ends_with_loops_from_all_and_the_serve_command(fit_dir, tmp_path, capsys):
    assert STEPS[-1][1] is step_generate_from_fit
    shutil.copytree(fit_dir, tmp_path / "fit")
    ctx = DemoContext(out=tmp_path, seed=0)
    step_generate_from_fit(ctx)
    step_generate_from_fit(ctx)  # re-runs in place
    out = capsys.readouterr().out
    folder = tmp_path / "from_fit"
    assert sorted(p.name for p in folder.glob("loop_*")) == [
        f"loop_{j:03d}.{ext}" for j in range(4) for ext in ("mid", "wav")
    ]
    index = json.loads((folder / "index.json").read_text())
    assert index["group"] == "all" and index["n"] == 4
    assert len(pd.read_csv(folder / "theta.csv")) == 4
    assert f"serve --fit {tmp_path / 'fit'}" in out and "http://127.0.0.1:8765/" in out
    assert index["command"] in out
