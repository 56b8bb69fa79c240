"""Fixed musical material of the simulator: kick bases, position weights, accents.

Everything here is a constant table over the 16 steps of one bar; the knobs only scale
probabilities and velocities read from them.

Positions within a bar are 16th steps ``0..15``; ``pos % 4`` is the *beat class*:
0 = on the beat, 2 = the off-beat 8th ("and"), 1 and 3 = the off-beat 16ths ("e",
"a"). All probabilities are piecewise linear and non-decreasing in their knob, which is
what makes every knob monotone under common random numbers.
"""

from __future__ import annotations

import numpy as np

from technorhythm.clips import STEPS_PER_BAR, STEPS_PER_BEAT

__all__ = [
    "PHRASE_REPEATS",
    "DEAD_ZONE",
    "RAMPED",
    "ramp",
    "PULSE_PLATEAU",
    "PLATEAUS",
    "acting_pulses",
    "SNAPPED",
    "snap",
    "ACTING",
    "acting_value",
    "KICK_BASE_PATTERNS",
    "KICK_BASES",
    "BEAT_CLASS",
    "ON_BEAT",
    "OFF_8TH",
    "OFF_16TH",
    "BACKBEAT",
    "KICK_EXTRA_WEIGHT",
    "LATE_PAIR",
    "GHOST_WEIGHT",
    "OPEN_WEIGHT",
    "OPEN_OTHER_WEIGHT",
    "hat_class_probabilities",
    "ride_class_probabilities",
    "LAYERS",
    "ROW_OF_LAYER",
    "KICK_LAYERS",
    "CYMBAL_LAYERS",
    "OPEN_HAT_LAYERS",
    "LEVEL_KNOBS",
    "LEVEL_GROUP",
    "ACCENT_KNOBS",
    "JITTER_KNOBS",
    "DYNAMICS_OF_ROW",
    "WEAKNESS",
]


PHRASE_REPEATS: tuple[int, ...] = (0, 0, 0, 1)
"""The bar each bar repeats when it is not drawn afresh: the four bars are two 2-bar
phrases, so bars 2 and 3 repeat bar 1 and bar 4 repeats bar 2 (bar 1 repeats itself)."""

DEAD_ZONE = 0.1
"""Width of the dead zone at each end of a :data:`RAMPED` knob's [0, 1] range."""
RAMPED: tuple[str, ...] = (
    "backbeat",
    "snare_ghosts",
    "hat_beats",
    "hat_offbeats",
    "hat_16ths",
    "open_hat",
    "open_hat_other",
    "ride",
    "crash",
)
"""Probability knobs that act through :func:`ramp`: 'none' and 'every one' are ranges of
the knob, not points, so knob values near a bound (a posterior near it) play exactly none
or every hit, as a drum machine's pattern does. (The kick knobs stay linear: the kick
sub-model's exact likelihood is written for them.)"""


def ramp(x):
    """The probability a :data:`RAMPED` knob acts with: 0 below :data:`DEAD_ZONE`, 1 above
    ``1 − DEAD_ZONE``, linear in between (non-decreasing, so knobs stay monotone)."""
    return np.clip(
        (np.asarray(x, dtype=np.float64) - DEAD_ZONE) / (1.0 - 2.0 * DEAD_ZONE), 0.0, 1.0
    )


PULSE_PLATEAU = 0.25
"""Half-width of the plateau around each whole number of ``kick_pulses``: within it every bar
plays exactly that many base pulses (:func:`acting_pulses`)."""


def acting_pulses(x, xp=np):
    """The pulse count ``kick_pulses`` acts with: whole numbers ``j`` on the plateaus
    ``[j − PULSE_PLATEAU, j + PULSE_PLATEAU]``, linear in between (non-decreasing).

    Every bar has ``floor(acting + u)`` pulses, so a knob value on a plateau plays the same
    pulse count in every bar, as a drum machine's four-on-the-floor does, and a posterior
    that spreads a little around 4 no longer drops beats 2 and 4 from some bars.

    ``xp``: the array module with ``floor`` and ``clip`` (NumPy; ``pytensor.tensor`` for the
    kick sub-model's PyMC likelihood, which so reads the same rule).
    """
    if xp is np:
        x = np.asarray(x, dtype=np.float64)
    whole = xp.floor(x)
    rise = (x - whole - PULSE_PLATEAU) / (1.0 - 2.0 * PULSE_PLATEAU)
    return whole + xp.clip(rise, 0.0, 1.0)


SNAPPED: dict[str, float] = {
    "swing_16": 0.012,
    "humanize_ms": 1.5,
    "snare_jitter": 1.5,
    "kick_jitter": 1.5,
    "hat_jitter": 1.5,
    "push_ms": 1.5,
    "hat_push_ms": 1.5,
}
"""Knobs with a dead zone at 0: values closer to 0 than the width act as exactly 0 (a
quantized, fixed-velocity loop on the grid, as a step sequencer plays it), values from it on
act as themselves (:func:`snap`). The widths are shifts no listener hears (1.5 ms; swing's
0.012 of a step is 1.4 ms at 125 BPM), yet exactly 0 is what a sequenced loop plays: its
offsets and velocities repeat exactly, which any smaller value of the knob would not."""


def snap(x, width: float):
    """``x`` where ``|x| ≥ width``, else 0 (non-decreasing, so the knob stays monotone)."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(np.abs(x) < width, 0.0, x)


ACTING: tuple[str, ...] = RAMPED + ("kick_pulses",) + tuple(SNAPPED)
"""Every knob whose acting value differs from its setting (:func:`acting_value`)."""


def acting_value(name: str, x):
    """The value knob ``name`` acts with when set to ``x``: :func:`ramp` for the
    :data:`RAMPED` knobs, :func:`acting_pulses` for ``kick_pulses``, :func:`snap` for the
    :data:`SNAPPED` ones, ``x`` itself for the rest. The simulator's one place for dead
    zones: the reference and the engine both read θ through it."""
    if name in RAMPED:
        return ramp(x)
    if name == "kick_pulses":
        return acting_pulses(x)
    if name in SNAPPED:
        return snap(x, SNAPPED[name])
    return np.asarray(x, dtype=np.float64)


KICK_BASE_PATTERNS: tuple[str, ...] = (
    "........",
    "x.......",
    "x...x...",
    "x...xx..",
    "x.x.x.x.",
    "x.x.x.xx",
    "x.x.xxxx",
    "x.xxxxxx",
    "xxxxxxxx",
)
"""The metric kick base with k pulses, k = 0..8, on the 8 8th notes of a bar (``x`` = a kick):
the downbeat; beats 1 and 3; 1, 3 and the 'and' of 3; four-on-the-floor; then
four-on-the-floor with the 'and' of 4, of 3 and of 2 added in turn. Every base from one
pulse up holds the downbeat and each holds the one before it, except four-on-the-floor,
which has beats 2 and 4 where the 3-pulse base has the 'and' of 3; from four-on-the-floor
up no base drops a beat. Each is the commonest bar of its pulse count in drummers' kicks
(the Groove MIDI Dataset's train split, docs/simulator.md; for 6 and 7 pulses the second
commonest, which keeps the nesting), not a spread Euclidean rhythm: E(3, 8), the
tresillo, puts kicks on the 'and' of 2 and on beat 4, where drummers rarely play."""


PLATEAUS: dict[str, tuple[tuple[float, ...], float]] = {
    **{name: ((0.0,), width) for name, width in SNAPPED.items()},
    "kick_pulses": (tuple(float(k) for k in range(len(KICK_BASE_PATTERNS))), PULSE_PLATEAU),
}
"""Knob → (centres, half-width) of the intervals on which its acting value is constant: the
dead zones at 0 of :data:`SNAPPED` and the whole-number plateaus of ``kick_pulses``. A pack
whose loops all sit on one of them plays that value exactly (a quantized loop; four kicks in
every bar); the population model's hyperprior gives such packs their own mass."""


def _kick_bases(patterns: tuple[str, ...]) -> np.ndarray:
    """(9, 8) bool table of :data:`KICK_BASE_PATTERNS`, checked: row k has k pulses."""
    table = np.array([[ch == "x" for ch in row] for row in patterns], dtype=bool)
    if table.shape != (9, 8) or not np.array_equal(table.sum(axis=1), np.arange(9)):
        raise ValueError("kick base k must have k pulses on the 8 8th notes, k = 0..8")
    return table


KICK_BASES: np.ndarray = _kick_bases(KICK_BASE_PATTERNS)
"""Kick base table, shape (9, 8): row k is the k-pulse base of
:data:`KICK_BASE_PATTERNS` on the 8th-note slots of a bar."""

_POS = np.arange(STEPS_PER_BAR)
BEAT_CLASS: np.ndarray = _POS % STEPS_PER_BEAT
"""Beat class of each bar position: 0 beat, 2 off-beat 8th, 1/3 off-beat 16ths."""
ON_BEAT = BEAT_CLASS == 0
OFF_8TH = BEAT_CLASS == 2
OFF_16TH = (BEAT_CLASS % 2) == 1
BACKBEAT = np.isin(_POS, (4, 12))
"""Beats 2 and 4 of a bar."""

KICK_EXTRA_WEIGHT: np.ndarray = np.array(
    # pos: 0    1    2    3    4    5    6    7    8    9    10   11   12   13   14   15
    [0.8, 0.3, 1.0, 0.0, 0.8, 0.3, 1.0, 0.0, 0.8, 0.3, 1.0, 0.0, 0.8, 0.3, 1.0, 0.0],
    dtype=np.float64,
)
"""Relative chance of an extra kick per bar position (times ``kick_extra``), where the base
has no kick: beats 0.8, the 'e' 0.3, and 1.0 for the beat's off-beat pair, decided on the
off-beat 8th: the pair's kick sounds on the 'a' instead with probability ``kick_late``
(:data:`LATE_PAIR`), so the 'a' has no decision of its own (0) and a beat never has extra
kicks on both its 'and' and its 'a' (in the demo corpus and in Groove they hardly ever do)."""
LATE_PAIR: int = 2
"""Beat class whose extra-kick decision may move one 16th later, to the 'a' (``kick_late``)."""

GHOST_WEIGHT: np.ndarray = np.array(
    # pos: 0    1    2    3    4    5    6    7    8    9    10   11   12   13   14   15
    [0.3, 0.6, 0.6, 1.0, 0.0, 1.0, 0.7, 1.0, 0.4, 0.6, 0.7, 1.0, 0.0, 1.0, 1.0, 1.0],
    dtype=np.float64,
)
"""Relative chance of a ghost snare per bar position (times ``snare_ghosts``): highest
beside the backbeat (3, 5, 11, 13) and on the pickups (7, 14, 15), lowest on the kick's
downbeats; zero on the backbeat itself, which ``backbeat`` alone controls."""

OPEN_WEIGHT: np.ndarray = np.where(OFF_8TH, 1.0, 0.0)
"""Chance of an open hat per bar position, times ``open_hat``: the off-beat 8ths only (v8)."""
OPEN_OTHER_WEIGHT: np.ndarray = np.where(OFF_8TH, 0.0, np.where(ON_BEAT, 1.0, 0.4))
"""Chance of an open hat per bar position, times ``open_hat_other``: beats 1, off-beat 16ths
0.4, the off-beat 8ths 0 (``open_hat`` decides those). Through v7 one knob set both, with
the beats at a quarter and the 16ths at a tenth of the off-beats' chance, so no pack could
play open hats on the off-beats alone, as most techno does: the demo packs' open hats are
all on off-beat 8ths, the simulator's never more than 69 %."""


def hat_class_probabilities(hat_beats: float, hat_offbeats: float, hat_16ths: float) -> np.ndarray:
    """Closed-hat probability of each beat class (4,): beat, 'e', 'and', 'a'.

    The beat has probability ``hat_beats``, the off-beat 8th ``hat_offbeats``, and the 'e'
    and the 'a' each ``hat_16ths``.
    """
    return np.clip(np.array([hat_beats, hat_16ths, hat_offbeats, hat_16ths]), 0.0, 1.0)


def ride_class_probabilities(ride: float) -> np.ndarray:
    """Ride probability of each beat class (4,): quarters, then 8ths, then 16ths."""
    r = 3.0 * ride
    return np.clip(np.array([r, r - 2.0, r - 1.0, r - 2.0]), 0.0, 1.0)


# -- layers and accents ---------------------------------------------------------------
LAYERS: tuple[str, ...] = (
    "kick",
    "kick_extra",
    "snare",
    "snare_ghost",
    "hh_closed",
    "hh_open",
    "ride",
    "crash",
)
"""Internal onset layers; extras, ghosts and crashes get their own layer for their accent."""
ROW_OF_LAYER: np.ndarray = np.array([0, 0, 1, 1, 2, 3, 4, 4], dtype=np.int64)
"""Output instrument row (clips.INSTRUMENTS) of each layer."""
KICK_LAYERS: tuple[int, ...] = (0, 1)
"""Layers played at ``kick_velocity``."""
CYMBAL_LAYERS: tuple[int, ...] = (4, 6, 7)
"""Layers played at ``hat_velocity``: closed hats, ride, crash."""
OPEN_HAT_LAYERS: tuple[int, ...] = (5,)
"""Layers played at ``open_hat_velocity``: open hats."""
LEVEL_KNOBS: tuple[str, ...] = (
    "snare_velocity",
    "kick_velocity",
    "hat_velocity",
    "open_hat_velocity",
)
"""The knob that sets each velocity level (the values of :data:`LEVEL_GROUP`)."""
LEVEL_GROUP: np.ndarray = np.zeros(len(LAYERS), dtype=np.int64)  # the snare's unless listed
for _group, _layers in enumerate((KICK_LAYERS, CYMBAL_LAYERS, OPEN_HAT_LAYERS), start=1):
    LEVEL_GROUP[list(_layers)] = _group
"""Level of each layer, an index into :data:`LEVEL_KNOBS`: 0 the snare's, 1 the kick's,
2 the closed hats' and cymbals', 3 the open hats'."""
ACCENT_KNOBS: tuple[str, ...] = ("snare_accent", "kick_accent", "hat_accent")
"""The knob that sets each instrument's accent contrast (the values of
:data:`DYNAMICS_OF_ROW`)."""
JITTER_KNOBS: tuple[str, ...] = ("snare_jitter", "kick_jitter", "hat_jitter")
"""The knob that sets each instrument's velocity noise (the values of
:data:`DYNAMICS_OF_ROW`)."""
DYNAMICS_OF_ROW: np.ndarray = np.array([1, 0, 2, 2, 2], dtype=np.int64)
"""Accent and jitter of each output instrument row (clips.INSTRUMENTS), an index into
:data:`ACCENT_KNOBS` and :data:`JITTER_KNOBS`: the kick's, the snare's, and the hats' for
the closed hat, open hat and cymbal rows. A drummer's foot, snare hand and hats differ: in
Groove (train + valid) the ratio of a loop's closed-hat to kick velocity spread around its
accent levels runs from 0.72 to 7.9 (10–90 %, as read by the velocity block) and ghost
notes sit anywhere from a tenth to nearly the backbeat's velocity, whatever the hats do,
which one shared accent and one shared noise cannot play."""


def _weakness_table() -> np.ndarray:
    w = np.zeros((len(LAYERS), STEPS_PER_BAR))
    w[1] = 1.0  # extra kicks
    w[3] = 1.0  # ghost snares
    w[4] = np.where(OFF_16TH, 1.0, 0.0)  # closed hat: the 8th grid accented, 16th fills not
    w[5] = np.where(OFF_8TH, 0.0, 0.4)  # open hat
    w[6] = np.where(OFF_16TH, 1.0, 0.0)  # ride, like the closed hat
    return w


WEAKNESS: np.ndarray = _weakness_table()
"""How unaccented each layer is at each bar position, shape (8, 16), in [0, 1].

A hit's velocity before jitter is ``level × (1 − accent × weakness)``, with its
instrument's level and accent. Base kicks,
backbeat snares, hats and ride on the 8th grid (beats and off-beat 8ths), open hats on
off-beat 8ths and crashes are accented (0); extra kicks, ghost snares, 16th hats and 16th
ride are fully unaccented (1); open hats off the off-beat 8ths 0.4. (Simulator v2 made hats
and ride on off-beat 8ths 0.4 unaccented; in techno the off-beat hat is the main hat, and
Groove's drummers at 0.90 of the beat's velocity (train + valid), so v3 accents the whole 8th grid.)
"""
