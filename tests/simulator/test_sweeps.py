"""Sweeps (compute), piano-roll plots, and the docs page staying in sync with the registry."""

from pathlib import Path

import numpy as np
import pytest

from technorhythm.simulator.knobs import KNOB_NAMES, knob_table
from technorhythm.simulator.sweeps import knob_sweep, main, sweep_levels

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_sweep_levels_and_common_random_numbers():
    assert sweep_levels("kick_pulses") == (0.0, 4.0, 8.0)
    clips = knob_sweep("snare_velocity", seed=5)
    low, mid, high = clips.values()
    assert np.array_equal(low.onsets, high.onsets)  # same uniforms, only dynamics move
    assert low.velocity.sum() < mid.velocity.sum() < high.velocity.sum()


def test_one_sweep_figure(tmp_path):
    from technorhythm.figures import save_figure
    from technorhythm.simulator.plots import plot_sweep

    fig = plot_sweep("swing_16", knob_sweep("swing_16"))
    assert len(fig.axes) == 3 and "0.45" in fig.axes[2].get_title(loc="left")
    save_figure(fig, tmp_path / "s.png", dpi=40, colours=64)
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_sweep_command_writes_small_pngs(tmp_path):
    assert main(["--out", str(tmp_path), "--dpi", "40"]) == 0
    files = sorted(tmp_path.glob("*.png"))
    assert [f.name for f in files] == sorted(f"sweep_{n}.png" for n in KNOB_NAMES)
    assert all(f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for f in files)


def test_docs_page_has_the_registry_table_and_every_figure():
    text = (DOCS / "simulator.md").read_text()
    assert knob_table() in text
    for name in KNOB_NAMES:
        assert f"img/simulator/sweep_{name}.png" in text
        assert (DOCS / "img" / "simulator" / f"sweep_{name}.png").is_file()
