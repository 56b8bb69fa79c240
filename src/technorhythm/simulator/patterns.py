"""Fixed musical material of the simulator: Euclidean pulses, position classes, accents.

Everything here is a constant table over the 16 steps of one bar (or the 64 steps
of a clip); the knobs only scale probabilities and velocities read from them.

Positions within a bar are 16th steps ``0..15``; ``pos % 4`` is the subdivision:
0 = on the beat, 2 = the off-beat 8th ("and"), 1 and 3 = the off-beat 16ths ("e",
"a"). All probabilities are piecewise linear and non-decreasing in their knob,
which is what makes every knob monotone under common random numbers.
"""

from __future__ import annotations

import numpy as np

from technorhythm.clips import N_STEPS, STEPS_PER_BAR, STEPS_PER_BEAT

__all__ = [
    "euclidean_pattern",
    "EUCLID_8THS",
    "SUBDIVISION",
    "ON_BEAT",
    "OFF_8TH",
    "OFF_16TH",
    "BACKBEAT",
    "SNARE_SYNC_WEIGHT",
    "hat_probabilities",
    "ride_probabilities",
    "ROW_OF_LAYER",
    "LAYERS",
    "ACCENT",
    "VELOCITY_FLOOR",
    "VELOCITY_RANGE",
    "VELOCITY_NOISE_SD",
]


def euclidean_pattern(pulses: int, slots: int) -> np.ndarray:
    """The Euclidean rhythm E(pulses, slots) with a pulse on slot 0, as a bool array.

    Slot ``i`` sounds when ``(i * pulses) mod slots < pulses``: the pulses are spread
    as evenly as possible (Bjorklund's algorithm gives the same pattern up to
    rotation). E(3, 8) is the tresillo ``x..x..x.``; E(4, 8) four-on-the-floor
    on 8ths; E(5, 8) the cinquillo ``x.x.xx.x``.
    """
    if not 0 <= pulses <= slots:
        raise ValueError(f"pulses must be in [0, {slots}]; got {pulses}")
    i = np.arange(slots)
    return (i * pulses) % slots < pulses


EUCLID_8THS: np.ndarray = np.stack([euclidean_pattern(k, 8) for k in range(9)])
"""Kick pulse table, shape (9, 8): row k is E(k, 8) on the 8th-note slots of a bar."""

_POS = np.arange(STEPS_PER_BAR)
SUBDIVISION: np.ndarray = _POS % STEPS_PER_BEAT
"""Subdivision of each bar position: 0 beat, 2 off-beat 8th, 1/3 off-beat 16ths."""
ON_BEAT = SUBDIVISION == 0
OFF_8TH = SUBDIVISION == 2
OFF_16TH = (SUBDIVISION % 2) == 1
BACKBEAT = np.isin(_POS, (4, 12))
"""Beats 2 and 4 of a bar."""

SNARE_SYNC_WEIGHT: np.ndarray = np.array(
    # pos: 0    1    2    3    4    5    6    7    8    9    10   11   12   13   14   15
    [0.1, 0.2, 0.35, 0.9, 0.0, 0.7, 0.35, 0.6, 0.15, 0.2, 0.5, 0.9, 0.0, 0.7, 0.6, 0.8],
    dtype=np.float64,
)
"""Relative chance of a syncopated snare per bar position (times ``snare_sync``).

Highest beside the backbeat (ghost notes on 3, 5, 11, 13) and on the pickups
(7, 14, 15); lowest on the kick's downbeats. Zero on the backbeat itself,
which ``backbeat_strength`` alone controls.
"""


def hat_probabilities(hat_density: np.ndarray) -> np.ndarray:
    """Closed-hat probability per bar position, shape (..., 16), for ``hat_density`` (...).

    Off-beat 8ths rise 0 → 1 over [0, 1/3], beats over [1/3, 2/3], off-beat 16ths over
    [2/3, 1]: 1/3 is the classic off-beat hat, 2/3 all 8ths, 1 all 16ths.
    """
    h = 3.0 * np.asarray(hat_density, dtype=np.float64)[..., None]
    p = np.where(OFF_8TH, h, np.where(ON_BEAT, h - 1.0, h - 2.0))
    return np.clip(p, 0.0, 1.0)


def ride_probabilities(ride_density: np.ndarray) -> np.ndarray:
    """Ride probability per bar position, shape (..., 16): quarters, then 8ths, then 16ths."""
    r = np.asarray(ride_density, dtype=np.float64)[..., None]
    p = np.where(ON_BEAT, 3.0 * r, np.where(OFF_8TH, 3.0 * r - 1.0, 3.0 * r - 2.0))
    return np.clip(p, 0.0, 1.0)


# -- layers and accents ---------------------------------------------------------------
LAYERS: tuple[str, ...] = (
    "kick",
    "snare",
    "hh_closed",
    "hh_open",
    "ride",
    "hh_ratchet",
    "crash",
)
"""Internal onset layers; ratchets and crashes get their own layer for their accents."""
ROW_OF_LAYER: np.ndarray = np.array([0, 1, 2, 3, 4, 2, 4], dtype=np.int64)
"""Output instrument row (clips.INSTRUMENTS) of each layer."""


def _accent_table() -> np.ndarray:
    bar = np.empty((len(LAYERS), STEPS_PER_BAR), dtype=np.float32)
    bar[0] = np.where(_POS == 0, 1.0, np.where(ON_BEAT, 0.92, np.where(OFF_8TH, 0.85, 0.8)))
    bar[1] = np.where(BACKBEAT, 1.0, np.where(np.isin(_POS, (7, 14, 15)), 0.55, 0.4))
    bar[2] = np.where(OFF_8TH, 0.85, np.where(ON_BEAT, 0.7, 0.55))
    bar[3] = 0.8
    bar[4] = np.where(ON_BEAT, 0.6, np.where(OFF_8TH, 0.5, 0.45))
    bar[5] = 0.42
    bar[6] = 1.0
    return np.tile(bar, (1, N_STEPS // STEPS_PER_BAR))


ACCENT: np.ndarray = _accent_table()
"""Accent template per layer and clip step, shape (7, 64), fraction of full velocity.

Kick: downbeat 1.0, other beats 0.92, 8ths 0.85, syncopated 16ths 0.8. Snare:
backbeat 1.0, pickups 0.55, ghosts 0.4. Closed hat: off-beat 8th 0.85, beat 0.7,
16ths 0.55; ratchet repeats 0.42. Open hat 0.8. Ride: beats 0.6, 8ths 0.5, 16ths
0.45. Crash 1.0.
"""

VELOCITY_FLOOR = 30.0
"""Velocity of a full accent at intensity 0 (MIDI units)."""
VELOCITY_RANGE = 97.0
"""Extra velocity of a full accent at intensity 1: 30 + 97 = 127."""
VELOCITY_NOISE_SD = float(np.sqrt(2 * 63 / 12))
"""Standard deviation (3.24) of the per-hit velocity noise: the difference of two
independent uniform integers 0..7 (triangular on -7..7, MIDI units)."""
