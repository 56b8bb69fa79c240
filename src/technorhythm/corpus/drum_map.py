"""The drum map: MIDI percussion note → canonical instrument, or a dropped category.

Covers General MIDI percussion (notes 35–81) and the Roland TD-11 extras used
by the Groove MIDI Dataset (22 closed-hat edge, 26 open-hat edge, 58 tom-3 rim).
Every pitch that occurs in Groove is mapped explicitly (see ``docs/data_pipeline.md``).

Kept instruments are the rows of :data:`technorhythm.clips.INSTRUMENTS`. Toms
are dropped and counted as ``dropped_toms``; every other pitch (hand
percussion, effects, notes outside the kit) is dropped and counted as
``dropped_other``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
import pandas as pd

from technorhythm.clips import CYMBAL, HH_CLOSED, HH_OPEN, INSTRUMENTS, KICK, SNARE

__all__ = ["DRUM_MAP", "TOM", "OTHER", "PITCH_CLASS", "drum_map_table", "classify_pitches"]

TOM = 5
"""Class code of toms (dropped, counted as ``dropped_toms``)."""
OTHER = 6
"""Class code of any other pitch (dropped, counted as ``dropped_other``)."""

# pitch: (class, name). Names follow GM / the Roland TD-11 labels used by Groove.
DRUM_MAP: Mapping[int, tuple[int, str]] = MappingProxyType(
    {
        # kick family
        35: (KICK, "Acoustic Bass Drum"),
        36: (KICK, "Bass Drum 1"),
        # snare family (incl. rimshot, side stick and clap)
        37: (SNARE, "Side Stick (TD-11: snare X-stick)"),
        38: (SNARE, "Acoustic Snare (TD-11: snare head)"),
        39: (SNARE, "Hand Clap"),
        40: (SNARE, "Electric Snare (TD-11: snare rim)"),
        # closed / pedal hat
        22: (HH_CLOSED, "TD-11: hi-hat closed (edge)"),
        42: (HH_CLOSED, "Closed Hi-Hat (TD-11: closed bow)"),
        44: (HH_CLOSED, "Pedal Hi-Hat"),
        # open hat
        26: (HH_OPEN, "TD-11: hi-hat open (edge)"),
        46: (HH_OPEN, "Open Hi-Hat (TD-11: open bow)"),
        # cymbals: crash, ride, china, splash
        49: (CYMBAL, "Crash Cymbal 1 (TD-11: crash 1 bow)"),
        51: (CYMBAL, "Ride Cymbal 1 (TD-11: ride bow)"),
        52: (CYMBAL, "Chinese Cymbal (TD-11: crash 2 edge)"),
        53: (CYMBAL, "Ride Bell"),
        55: (CYMBAL, "Splash Cymbal (TD-11: crash 1 edge)"),
        57: (CYMBAL, "Crash Cymbal 2 (TD-11: crash 2 bow)"),
        59: (CYMBAL, "Ride Cymbal 2 (TD-11: ride edge)"),
        # toms (dropped, counted)
        41: (TOM, "Low Floor Tom"),
        43: (TOM, "High Floor Tom (TD-11: tom 3 head)"),
        45: (TOM, "Low Tom (TD-11: tom 2 head)"),
        47: (TOM, "Low-Mid Tom (TD-11: tom 2 rim)"),
        48: (TOM, "Hi-Mid Tom (TD-11: tom 1 head)"),
        50: (TOM, "High Tom (TD-11: tom 1 rim)"),
        58: (TOM, "TD-11: tom 3 rim (GM: Vibraslap)"),
    }
)
"""Explicitly mapped pitches: ``pitch → (class, label)``; every other pitch is OTHER."""

PITCH_CLASS: np.ndarray = np.full(128, OTHER, dtype=np.int8)
for _pitch, (_cls, _name) in DRUM_MAP.items():
    PITCH_CLASS[_pitch] = _cls
PITCH_CLASS.setflags(write=False)
"""Lookup table, shape (128,): class code of every MIDI pitch (0–4 kept, 5 tom, 6 other)."""

_CLASS_NAMES = (*INSTRUMENTS, "tom (dropped)", "other (dropped)")


def classify_pitches(pitch: np.ndarray) -> np.ndarray:
    """Class code (0–4 instrument row, :data:`TOM`, :data:`OTHER`) for each MIDI pitch."""
    pitch = np.asarray(pitch, dtype=np.int64)
    out = np.full(pitch.shape, OTHER, dtype=np.int8)
    ok = (pitch >= 0) & (pitch < 128)
    out[ok] = PITCH_CLASS[pitch[ok]]
    return out


def drum_map_table() -> pd.DataFrame:
    """The drum map as a table (pitch, label, class), sorted by pitch, for docs and CLI."""
    rows = [
        {"pitch": p, "label": name, "maps_to": _CLASS_NAMES[cls]}
        for p, (cls, name) in sorted(DRUM_MAP.items())
    ]
    return pd.DataFrame(rows)
