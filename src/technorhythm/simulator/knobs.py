"""The knob registry: every simulator parameter declared once.

Each knob is a frozen :class:`Knob` (name, bounds, default, unit, musical
meaning, the statistic it moves monotonically). The prior, CLI help, docs
table, preset validation and plot labels all read :data:`KNOBS`; nothing else
may hard-code a knob's name or range.

Validation follows scikit-learn's style: an error names the knob, the allowed
range and the value received.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

import numpy as np

__all__ = [
    "Knob",
    "KNOBS",
    "KNOB_NAMES",
    "KnobError",
    "get_knob",
    "default_theta",
    "theta_to_array",
    "theta_to_dict",
    "validate_theta",
    "registry_hash",
    "knob_table",
]


class KnobError(ValueError):
    """An unknown knob, or a knob value outside its declared range."""


@dataclass(frozen=True)
class Knob:
    """One interpretable simulator parameter.

    Attributes
    ----------
    name : str
        Identifier used in presets, CLI ``--set`` and InferenceData variables.
    low, high : float
        Inclusive bounds; also the support of the uniform prior.
    default : float
        Value used by the ``default`` preset and when a knob is not given.
    unit : str
        Physical or musical unit of the value.
    meaning : str
        One line: what the knob does musically.
    effect : str
        The summary statistic that rises monotonically with the knob.
    label : str
        Short label for plot axes.
    """

    name: str
    low: float
    high: float
    default: float
    unit: str
    meaning: str
    effect: str
    label: str

    def __post_init__(self) -> None:
        if not self.low < self.high:
            raise ValueError(f"knob {self.name!r}: low {self.low} must be below high {self.high}")
        if not self.low <= self.default <= self.high:
            raise ValueError(
                f"knob {self.name!r}: default {self.default} outside [{self.low}, {self.high}]"
            )

    def check(self, value: float) -> float:
        """Return ``value`` as float, or raise :class:`KnobError` naming knob, range and value."""
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise KnobError(
                f"The {self.name!r} knob must be a number in [{self.low}, {self.high}] "
                f"({self.unit}); got {value!r}."
            ) from None
        if not (math.isfinite(v) and self.low <= v <= self.high):
            raise KnobError(
                f"The {self.name!r} knob must be in [{self.low}, {self.high}] ({self.unit}); "
                f"got {value!r}."
            )
        return v


KNOBS: tuple[Knob, ...] = (
    # -- timing --------------------------------------------------------------------------
    Knob(
        "swing_16",
        0.0,
        0.45,
        0.0,
        "fraction of a 16th step (straight below 0.012)",
        "Delays every off-beat 16th (the 'e' and 'a' of each beat) by this fraction of a step; "
        "below 0.012 straight.",
        "mean timing offset of onsets on off-beat 16ths",
        "swing (16th)",
    ),
    Knob(
        "humanize_ms",
        0.0,
        40.0,
        4.0,
        "ms (standard deviation; none below 1.5)",
        "Gaussian timing jitter of every hit, as a standard deviation in milliseconds; below "
        "1.5 ms none at all (a quantized loop).",
        "spread of timing offsets around the swung, pushed grid",
        "humanize [ms]",
    ),
    Knob(
        "push_ms",
        -30.0,
        30.0,
        0.0,
        "ms (on the grid within 1.5 of 0)",
        "Kick and snare played ahead of the grid (< 0, pushing) or behind it (> 0, laid back); "
        "within 1.5 ms of 0 exactly on the grid.",
        "mean timing offset of kick and snare onsets",
        "kick/snare push [ms]",
    ),
    Knob(
        "hat_push_ms",
        -30.0,
        30.0,
        0.0,
        "ms (on the grid within 1.5 of 0)",
        "Hats and cymbals played ahead of the grid (< 0) or behind it (> 0), independently "
        "of kick and snare; within 1.5 ms of 0 exactly on the grid.",
        "mean timing offset of hat and cymbal onsets",
        "hat push [ms]",
    ),
    # -- dynamics ------------------------------------------------------------------------
    Knob(
        "snare_velocity",
        10.0,
        127.0,
        88.2,
        "MIDI velocity",
        "Velocity of an accented snare/clap (the backbeat); ghost notes are softer by the accent.",
        "mean velocity of snare onsets",
        "snare velocity",
    ),
    Knob(
        "kick_velocity",
        10.0,
        127.0,
        110.25,
        "MIDI velocity",
        "Velocity of an accented kick (the base pulses); extra kicks are softer by the accent.",
        "mean velocity of kick onsets",
        "kick velocity",
    ),
    Knob(
        "hat_velocity",
        10.0,
        127.0,
        88.2,
        "MIDI velocity",
        "Velocity of accented closed hats and cymbals (the 8th grid, crashes); 16th fills are "
        "softer by the accent.",
        "mean velocity of closed-hat and cymbal onsets",
        "hat velocity",
    ),
    Knob(
        "open_hat_velocity",
        10.0,
        127.0,
        88.2,
        "MIDI velocity",
        "Velocity of an accented open hat (on the off-beat 8ths), independently of the closed "
        "hats; open hats elsewhere are softer by the accent.",
        "mean velocity of open-hat onsets",
        "open-hat velocity",
    ),
    Knob(
        "snare_accent",
        0.0,
        1.0,
        0.3,
        "fraction of the velocity",
        "Snare accent contrast: ghost notes are this much softer than the backbeat; 0 plays "
        "every snare at one velocity, as a step sequencer; near 1 ghosts are barely touched.",
        "velocity taken off ghost snares (falls: every snare velocity drops or stays)",
        "snare accent",
    ),
    Knob(
        "kick_accent",
        0.0,
        1.0,
        0.3,
        "fraction of the velocity",
        "Kick accent contrast: extra kicks are this much softer than the base pulses; 0 plays "
        "every kick at one velocity.",
        "velocity taken off extra kicks (falls: every kick velocity drops or stays)",
        "kick accent",
    ),
    Knob(
        "hat_accent",
        0.0,
        1.0,
        0.3,
        "fraction of the velocity",
        "Hat and cymbal accent contrast: 16th hats and ride are this much softer than those "
        "on the 8th grid (open hats off the off-beat 8ths 0.4 of it); 0 plays every hat at "
        "one velocity.",
        "velocity taken off unaccented hats (falls: every hat velocity drops or stays)",
        "hat accent",
    ),
    Knob(
        "snare_jitter",
        0.0,
        30.0,
        3.0,
        "MIDI velocity (standard deviation; none below 1.5)",
        "Gaussian velocity noise of every snare hit; below 1.5 none at all: the snare's "
        "accent levels repeat exactly, as a step sequencer's.",
        "spread of snare velocities around the accent levels",
        "snare jitter",
    ),
    Knob(
        "kick_jitter",
        0.0,
        30.0,
        3.0,
        "MIDI velocity (standard deviation; none below 1.5)",
        "Gaussian velocity noise of every kick; below 1.5 none at all. A drummer's foot and "
        "hands vary by different amounts, so each instrument has its own.",
        "spread of kick velocities around the accent levels",
        "kick jitter",
    ),
    Knob(
        "hat_jitter",
        0.0,
        30.0,
        3.0,
        "MIDI velocity (standard deviation; none below 1.5)",
        "Gaussian velocity noise of every closed hat, open hat, ride and crash; below 1.5 "
        "none at all.",
        "spread of hat and cymbal velocities around the accent levels",
        "hat jitter",
    ),
    # -- kick ----------------------------------------------------------------------------
    Knob(
        "kick_pulses",
        0.0,
        8.0,
        4.0,
        "pulses per bar (whole within 0.25 of a whole number)",
        "Metric kick base of k pulses on the 8th notes of each bar: 1 the downbeat, 2 beats 1 "
        "and 3, 3 adds the 'and' of 3, 4 four-on-the-floor, 5-8 add the 'and' of 4, 3, 2, 1; "
        "within 0.25 of a whole number every bar has that many, between two the bars mix them.",
        "kick onsets on the 8th-note grid",
        "kick pulses / bar",
    ),
    Knob(
        "kick_extra",
        0.0,
        1.0,
        0.05,
        "probability (scaled by position)",
        "Extra, unaccented kicks off the base (a broken or syncopated kick): on the beat, the "
        "'e', and one per beat on the off-beat 8th or the 'a' (see kick_late); like the hats, "
        "the same in every beat unless it varies (see variation).",
        "kick onsets off the base pulses",
        "extra kicks",
    ),
    Knob(
        "kick_late",
        0.0,
        1.0,
        0.5,
        "probability",
        "Where a beat's off-beat extra kick goes: the off-beat 8th (the 'and') at 0, the 'a' "
        "(the 16th before the next beat, a rolling kick) at 1; never both in one beat.",
        "extra kicks on the 'a' of the beat",
        "kick late",
    ),
    # -- snare ---------------------------------------------------------------------------
    Knob(
        "backbeat",
        0.0,
        1.0,
        0.74,
        "probability (none up to 0.1, every one from 0.9)",
        "Chance of an accented snare/clap on beats 2 and 4 of each bar.",
        "snare onsets on beats 2 and 4",
        "backbeat",
    ),
    Knob(
        "snare_ghosts",
        0.0,
        1.0,
        0.14,
        "probability (scaled by position; none up to 0.1, full from 0.9)",
        "Unaccented snares off the backbeat: ghost notes beside it and pickups before it.",
        "snare onsets off beats 2 and 4",
        "ghost snares",
    ),
    # -- hats ----------------------------------------------------------------------------
    Knob(
        "hat_beats",
        0.0,
        1.0,
        0.0,
        "probability (none up to 0.1, every one from 0.9)",
        "Closed hats on the beats (quarter notes); with hat_offbeats, straight 8ths.",
        "closed-hat onsets on the beats",
        "hat beats",
    ),
    Knob(
        "hat_offbeats",
        0.0,
        1.0,
        1.0,
        "probability (none up to 0.1, every one from 0.9)",
        "Closed hats on the off-beat 8ths (the 'and' of each beat), the techno hat.",
        "closed-hat onsets on the off-beat 8ths",
        "hat off-beats",
    ),
    Knob(
        "hat_16ths",
        0.0,
        1.0,
        0.0,
        "probability (none up to 0.1, every one from 0.9)",
        "Chance of closed-hat 16th fills on each of the 'e' and 'a' of the beat (the same in "
        "every beat unless it varies, see variation).",
        "closed-hat onsets on off-beat 16ths",
        "hat 16ths",
    ),
    Knob(
        "open_hat",
        0.0,
        1.0,
        0.26,
        "probability (scaled by position; none up to 0.1, full from 0.9)",
        "Open hats on the off-beat 8ths (the 'and' of each beat), with this chance (an open "
        "hat chokes the closed hat on its step).",
        "open-hat onsets on the off-beat 8ths",
        "open hats",
    ),
    Knob(
        "open_hat_other",
        0.0,
        1.0,
        0.0,
        "probability (scaled by position; none up to 0.1, full from 0.9)",
        "Open hats off the off-beat 8ths: on the beats with this chance, on the 'e' and the "
        "'a' with 0.4 of it.",
        "open-hat onsets off the off-beat 8ths",
        "open hats elsewhere",
    ),
    # -- cymbals -------------------------------------------------------------------------
    Knob(
        "ride",
        0.0,
        1.0,
        0.0,
        "fraction (none up to 0.1, 16ths from 0.9)",
        "Ride grid: none (up to 0.1), quarters (0.37), 8ths (0.63), 16ths (from 0.9); shared "
        "by the beats like the hat grid.",
        "cymbal onsets off the bar downbeats",
        "ride",
    ),
    Knob(
        "crash",
        0.0,
        1.0,
        0.14,
        "probability (none up to 0.1, every one from 0.9)",
        "Chance of a crash on each bar's downbeat (doubled, up to 1, on the first bar); "
        "up to 0.1 no crash at all.",
        "cymbal onsets on bar downbeats",
        "crash",
    ),
    # -- bars ----------------------------------------------------------------------------
    Knob(
        "variation",
        0.0,
        1.0,
        0.2,
        "probability",
        "Chance that each of bars 2-4 is drawn afresh instead of repeating its 2-bar phrase "
        "(bars 2 and 3 repeat bar 1, bar 4 repeats bar 2); its square is the chance that each "
        "of beats 2-4 plays its own extra kicks, hats and ride instead of beat 1's (a strict "
        "loop at 0, a drummer's non-repeating bars and beats at 1).",
        "bars whose kick, snare and open-hat pattern differs from their phrase's first bar",
        "bar variation",
    ),
)
"""All knobs, in the order of every θ vector."""

KNOB_NAMES: tuple[str, ...] = tuple(k.name for k in KNOBS)
_BY_NAME = {k.name: k for k in KNOBS}


RETIRED: dict[str, str] = {
    "intensity": "simulator v5 gives each instrument its own velocity: "
    "snare_velocity = 30 + 97 × intensity",
    "kick_level": "simulator v5 gives each instrument its own velocity: "
    "kick_velocity = min(127, snare_velocity × kick_level)",
    "hat_level": "simulator v5 gives each instrument its own velocity: "
    "hat_velocity = min(127, snare_velocity × hat_level)",
    "hat_8ths": "simulator v4 split it into one knob per beat class: "
    "hat_offbeats = min(1, 2 × hat_8ths) and hat_beats = max(0, 2 × hat_8ths − 1), "
    "each then 0.1 + 0.8 × that value where it is strictly between 0 and 1",
    "accent": "simulator v10 gives kick, snare and hats their own accent: "
    "snare_accent = kick_accent = hat_accent = accent plays the same",
    "velocity_jitter": "simulator v10 gives kick, snare and hats their own velocity noise: "
    "snare_jitter = kick_jitter = hat_jitter = velocity_jitter plays the same",
}
"""Knobs of earlier simulator versions, with how to set their replacements."""


def get_knob(name: str) -> Knob:
    """Look a knob up by name; unknown names raise :class:`KnobError` listing the valid ones
    (and, for a :data:`RETIRED` knob, what replaced it)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        retired = f" The {name!r} knob was retired: {RETIRED[name]}." if name in RETIRED else ""
        raise KnobError(
            f"Unknown knob {name!r}; valid knobs are: {', '.join(KNOB_NAMES)}.{retired}"
        ) from None


def default_theta() -> dict[str, float]:
    """Every knob at its default, as a name → value mapping."""
    return {k.name: k.default for k in KNOBS}


def validate_theta(theta: Mapping[str, float], *, partial: bool = False) -> dict[str, float]:
    """Check a named θ; fill missing knobs with defaults when ``partial``.

    Raises :class:`KnobError` for unknown names, out-of-range values, or (when not
    ``partial``) missing knobs.
    """
    unknown = [name for name in theta if name not in _BY_NAME]
    if unknown:
        get_knob(unknown[0])
    missing = [name for name in KNOB_NAMES if name not in theta]
    if missing and not partial:
        raise KnobError(f"Missing knob(s): {', '.join(missing)}.")
    out = default_theta()
    for name, value in theta.items():
        out[name] = get_knob(name).check(value)
    return out


def theta_to_array(theta: Mapping[str, float] | Iterable[Mapping[str, float]]) -> np.ndarray:
    """Named θ (one mapping or many) → array of shape (n_knobs,) or (n, n_knobs), validated."""
    if isinstance(theta, Mapping):
        t = validate_theta(theta)
        return np.array([t[n] for n in KNOB_NAMES], dtype=np.float64)
    return np.stack([theta_to_array(t) for t in theta])


def theta_to_dict(theta: np.ndarray) -> dict[str, float]:
    """Array of shape (n_knobs,) → validated name → value mapping."""
    theta = np.asarray(theta, dtype=np.float64)
    if theta.shape != (len(KNOBS),):
        raise KnobError(
            f"θ must have shape ({len(KNOBS)},) in the order {KNOB_NAMES}; got {theta.shape}"
        )
    return validate_theta(dict(zip(KNOB_NAMES, theta.tolist(), strict=True)))


def registry_hash() -> str:
    """SHA-256 (hex, 16 chars) of the registry's declarations; changes when any knob does."""
    blob = json.dumps([asdict(k) for k in KNOBS], sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def knob_table() -> str:
    """The registry as a Markdown table (used by the docs and ``--help``)."""
    lines = [
        "| knob | range | default | unit | meaning | rises monotonically with it |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for k in KNOBS:
        lines.append(
            f"| `{k.name}` | {k.low:g} – {k.high:g} | {k.default:g} | {k.unit} | {k.meaning} "
            f"| {k.effect} |"
        )
    return "\n".join(lines)
