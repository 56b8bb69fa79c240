"""The diagnostics plots write readable PNGs from toy results (no display needed)."""

from __future__ import annotations

import numpy as np
import pytest
from toy_posterior import TOY_NAMES, ToyPosterior, toy_sets

from technorhythm.diagnostics import run_recovery, run_sbc, run_tarp


def _is_png(path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# sbi warns below 100 sets / draws; these tests only check the drawing
@pytest.mark.filterwarnings("ignore:Number of:UserWarning")
def test_plots_write_pngs(tmp_path):
    from technorhythm.diagnostics.plots import plot_recovery, plot_sbc_ranks, plot_tarp

    recs, sbcs, tarps = [], [], []
    for n in (1, 16):
        theta, x = toy_sets(200, n, seed=n)
        recs.append(
            run_recovery(ToyPosterior(), theta, x, names=TOY_NAMES, n_samples=50, n_clips=n)
        )
        sbcs.append(run_sbc(ToyPosterior(), theta, x, names=TOY_NAMES, n_samples=50, n_clips=n))
        tarps.append(run_tarp(ToyPosterior(), theta, x, n_samples=50, n_clips=n))
    paths = [
        plot_recovery(recs, tmp_path / "rec.png"),
        plot_sbc_ranks(sbcs, tmp_path / "cdf.png", kind="cdf"),
        plot_sbc_ranks(sbcs, tmp_path / "hist.png", kind="hist"),
        plot_tarp(tarps, tmp_path / "tarp.png"),
    ]
    for p in paths:
        assert _is_png(p) and p.stat().st_size > 5_000
    assert sorted(q.name for q in tmp_path.iterdir()) == sorted(p.name for p in paths)
    import matplotlib.pyplot as plt

    assert plt.get_fignums() == []  # every figure closed after saving


@pytest.mark.filterwarnings("ignore:Number of:UserWarning")
def test_plot_input_errors():
    from technorhythm.diagnostics.plots import plot_sbc_ranks, plot_tarp

    with pytest.raises(ValueError, match="at least one"):
        plot_tarp([])
    theta, x = toy_sets(20, 4, seed=0)
    res = run_sbc(ToyPosterior(), theta, x, names=TOY_NAMES, n_samples=10)
    with pytest.raises(ValueError, match="kind"):
        plot_sbc_ranks([res], kind="violin")
    assert np.all(res.ranks <= 10)
