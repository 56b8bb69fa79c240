"""Piano-roll figures of simulated clips (the only simulator module importing matplotlib)."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from technorhythm.clips import INSTRUMENTS, N_STEPS, STEPS_PER_BAR, ClipBatch  # noqa: E402
from technorhythm.simulator.knobs import get_knob  # noqa: E402

__all__ = ["plot_piano_roll", "plot_sweep"]

_COLOURS = ("#c0392b", "#2471a3", "#229954", "#b7950b", "#7d3c98")
_LABELS = ("kick", "snare", "closed hat", "open hat", "cymbal")


def plot_piano_roll(clip: ClipBatch, ax: plt.Axes, *, title: str = "") -> plt.Axes:
    """Draw the first clip of ``clip``: one lane per instrument, x = step + timing offset.

    Each hit is a half-step box starting at its real time (``step + offset``, in 16ths) whose
    opacity is its velocity / 127.
    """
    velocity, offset = clip.velocity[0], clip.offset[0]
    for row in range(len(INSTRUMENTS)):
        steps = np.flatnonzero(velocity[row])
        if steps.size:
            colour = matplotlib.colors.to_rgb(_COLOURS[row])
            alpha = 0.15 + 0.85 * velocity[row, steps] / 127.0
            ax.barh(
                np.full(steps.size, row),
                0.5,
                left=steps + offset[row, steps],
                height=0.75,
                color=[(*colour, a) for a in alpha],
                linewidth=0,
            )
    for x in range(0, N_STEPS + 1, 4):
        ax.axvline(x, color="0.55" if x % STEPS_PER_BAR == 0 else "0.88", lw=0.6, zorder=0)
    ax.set_xlim(-0.5, N_STEPS + 0.5)
    ax.set_ylim(len(INSTRUMENTS) - 0.5, -0.5)
    ax.set_yticks(range(len(INSTRUMENTS)), _LABELS, fontsize=7)
    ax.set_xticks(range(0, N_STEPS + 1, STEPS_PER_BAR), [f"bar {b + 1}" for b in range(5)])
    ax.tick_params(axis="x", labelsize=7, length=0)
    ax.set_title(title, fontsize=8, loc="left")
    return ax


def plot_sweep(name: str, clips: Mapping[float, ClipBatch]) -> Figure:
    """One piano roll per knob value (rows), same seed: what the knob does."""
    knob = get_knob(name)
    fig, axes = plt.subplots(len(clips), 1, figsize=(8.0, 1.15 * len(clips) + 0.5), sharex=True)
    for ax, (value, clip) in zip(np.atleast_1d(axes), clips.items(), strict=True):
        plot_piano_roll(clip, ax, title=f"{knob.label} = {value:g} {knob.unit}")
    fig.suptitle(f"{name}: {knob.meaning}", fontsize=8, x=0.01, ha="left")
    fig.tight_layout(h_pad=0.3)
    return fig
