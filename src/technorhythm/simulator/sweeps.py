"""Knob sweeps: the same clip (same seed) at a knob's low, mid and high value.

Compute only (no plotting): :func:`knob_sweep` returns the clips; the figures are
drawn by :mod:`technorhythm.simulator.plots`. Regenerate the documentation
figures with::

    python -m technorhythm.simulator.sweeps --out docs/img/simulator

Every level uses the same seed and clip index, so thanks to common random numbers
the three rows differ only by what the knob does.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from technorhythm.clips import ClipBatch
from technorhythm.simulator.engine import simulate
from technorhythm.simulator.knobs import KNOB_NAMES, default_theta, get_knob

__all__ = ["SWEEP_BASE", "sweep_levels", "knob_sweep", "main"]

SWEEP_BASE: Mapping[str, Mapping[str, float]] = {
    # Settings that make a knob's effect visible; everything else stays at its default.
    "swing_16": {"hat_beats": 1.0, "hat_16ths": 1.0, "humanize_ms": 0.0},
    "humanize_ms": {"hat_beats": 1.0},
    "push_ms": {"humanize_ms": 0.0, "hat_beats": 1.0},
    "hat_push_ms": {"humanize_ms": 0.0, "hat_beats": 1.0},
    "kick_velocity": {"hat_beats": 1.0, "kick_jitter": 0.0},
    "snare_velocity": {"hat_beats": 1.0, "snare_jitter": 0.0},
    "hat_velocity": {"hat_beats": 1.0, "ride": 0.5, "hat_jitter": 0.0},
    "open_hat_velocity": {"hat_beats": 1.0, "open_hat": 0.6, "hat_jitter": 0.0},
    "snare_accent": {"hat_beats": 1.0, "snare_ghosts": 0.4, "snare_jitter": 0.0},
    "kick_accent": {"hat_beats": 1.0, "kick_extra": 0.3, "kick_jitter": 0.0},
    "hat_accent": {"hat_beats": 1.0, "hat_16ths": 1.0, "hat_jitter": 0.0},
    "snare_jitter": {"hat_beats": 1.0, "snare_accent": 0.0, "snare_ghosts": 0.3},
    "kick_jitter": {"hat_beats": 1.0, "kick_accent": 0.0, "kick_extra": 0.3},
    "hat_jitter": {"hat_beats": 1.0, "hat_accent": 0.0, "hat_16ths": 0.5},
    "kick_extra": {"kick_pulses": 2.0},
    "kick_late": {"kick_pulses": 2.0, "kick_extra": 0.6},
    "open_hat": {"hat_beats": 1.0},
    "open_hat_other": {"hat_beats": 1.0},
    "ride": {"crash": 0.0},
    "variation": {"kick_extra": 0.3, "snare_ghosts": 0.3, "hat_16ths": 0.4, "open_hat": 0.3},
}


def sweep_levels(name: str) -> tuple[float, float, float]:
    """Low, mid and high value of a knob: its bounds and their midpoint."""
    knob = get_knob(name)
    return (knob.low, 0.5 * (knob.low + knob.high), knob.high)


def knob_sweep(
    name: str,
    *,
    seed: int = 0,
    index: int = 0,
    base: Mapping[str, float] | None = None,
    bpm: float = 128.0,
) -> dict[float, ClipBatch]:
    """Clip ``index`` of ``seed`` at each of :func:`sweep_levels`; one clip per level."""
    theta = default_theta()
    theta.update(SWEEP_BASE.get(name, {}) if base is None else base)
    out = {}
    for value in sweep_levels(name):
        theta[name] = value
        out[value] = simulate(theta, 1, seed=seed, start_index=index, bpm=bpm)
    return out


def main(argv: list[str] | None = None) -> int:
    """Write ``sweep_<knob>.png`` for every knob into ``--out``."""
    parser = argparse.ArgumentParser(description="Draw low/mid/high sweeps of every knob.")
    parser.add_argument("--out", default="docs/img/simulator", help="output folder")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--dpi", type=int, default=80)
    args = parser.parse_args(argv)
    from technorhythm.figures import save_figure
    from technorhythm.simulator.plots import plot_sweep

    out = Path(args.out)
    for name in KNOB_NAMES:
        fig = plot_sweep(name, knob_sweep(name, seed=args.seed))
        path = out / f"sweep_{name}.png"
        save_figure(fig, path, dpi=args.dpi, colours=64)
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
