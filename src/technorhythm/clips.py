"""The canonical clip and the one batch type shared by real and simulated clips.

A *clip* is 4 bars of 4/4 on a 16th-note grid for five instruments. A batch of
``B`` clips is held as arrays of shape ``(B, 5, 64)``:

``velocity``
    ``uint8`` MIDI velocity, 1–127 where an instrument is struck on a step and
    0 where it is silent. The onset mask is derived (``velocity > 0``) and never
    stored separately, so the two can never disagree.
``offset``
    ``float32`` microtiming: the signed distance of the onset from its grid
    step, as a fraction of one 16th step, in ``[-0.5, 0.5)``. 0 where silent.
    Milliseconds at tempo ``bpm`` are ``offset * step_ms(bpm)``.

Time is always integer steps plus the explicit resolution
:data:`STEPS_PER_BEAT` (16ths: 4 steps per quarter note).

:func:`canonicalize` applies the two rules every clip obeys, whatever its
origin: the hi-hat *choke* (an open hat on a step clears the closed hat there)
and the *rotation* that puts the first strong kick on step 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "INSTRUMENTS",
    "N_INSTRUMENTS",
    "N_STEPS",
    "STEPS_PER_BEAT",
    "STEPS_PER_BAR",
    "N_BARS",
    "TARGET_BPM",
    "KICK",
    "SNARE",
    "HH_CLOSED",
    "HH_OPEN",
    "CYMBAL",
    "CanonicalConfig",
    "ClipBatch",
    "canonicalize",
    "step_ms",
]

INSTRUMENTS: tuple[str, ...] = ("kick", "snare", "hh_closed", "hh_open", "cymbal")
"""Instrument rows, in array order."""
KICK, SNARE, HH_CLOSED, HH_OPEN, CYMBAL = range(5)
N_INSTRUMENTS = len(INSTRUMENTS)
STEPS_PER_BEAT = 4
"""Grid resolution: 16th notes, i.e. 4 steps per quarter-note beat."""
STEPS_PER_BAR = 4 * STEPS_PER_BEAT
N_BARS = 4
N_STEPS = N_BARS * STEPS_PER_BAR
"""Steps per clip: 4 bars of 4/4 in 16ths = 64."""
TARGET_BPM = 128.0
"""Reference tempo for reporting microtiming in milliseconds."""

_SHAPE = (N_INSTRUMENTS, N_STEPS)


def step_ms(bpm: float | np.ndarray = TARGET_BPM) -> float | np.ndarray:
    """Duration of one 16th step in milliseconds at ``bpm`` quarter notes per minute."""
    return 60_000.0 / (np.asarray(bpm, dtype=np.float64) * STEPS_PER_BEAT)


@dataclass(frozen=True)
class CanonicalConfig:
    """Rules that make clips of any origin comparable.

    Parameters
    ----------
    rotation_unit : int
        Rotations are multiples of this many steps. The default, one bar (16),
        keeps the metre intact: beats stay beats and the backbeat stays on 2 and 4.
        Use 4 to rotate by beats or 1 by 16ths.
    strong_kick_fraction : float
        A kick counts as *strong* when it falls on a rotation boundary and its
        velocity is at least this fraction of the loudest kick in the clip.
    """

    rotation_unit: int = STEPS_PER_BAR
    strong_kick_fraction: float = 0.5

    def __post_init__(self) -> None:
        if self.rotation_unit not in (1, 2, 4, 8, 16, 32, 64):
            raise ValueError(
                f"rotation_unit must divide {N_STEPS} (one of 1, 2, 4, 8, 16, 32, 64); "
                f"got {self.rotation_unit!r}"
            )
        if not 0.0 < self.strong_kick_fraction <= 1.0:
            raise ValueError(
                f"strong_kick_fraction must be in (0, 1]; got {self.strong_kick_fraction!r}"
            )


def canonicalize(
    velocity: np.ndarray,
    offset: np.ndarray,
    config: CanonicalConfig | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Apply the choke rule and the strong-kick rotation to a batch.

    Parameters
    ----------
    velocity : ndarray, shape (B, 5, 64), uint8
        MIDI velocities, 0 = silent.
    offset : ndarray, shape (B, 5, 64), float32
        Microtiming in fractions of a 16th step.
    config : CanonicalConfig, optional

    Returns
    -------
    velocity, offset : ndarray
        New arrays (inputs are not modified), choked and rotated.
    rotation : ndarray, shape (B,), int16
        Steps each clip was rotated *left* by: original step ``rotation`` is
        canonical step 0. Rolling the canonical clip right by ``rotation``
        restores the original.
    """
    config = config or CanonicalConfig()
    velocity = np.array(velocity, dtype=np.uint8, copy=True)
    offset = np.array(offset, dtype=np.float32, copy=True)
    if velocity.ndim != 3 or velocity.shape[1:] != _SHAPE or offset.shape != velocity.shape:
        raise ValueError(
            f"velocity and offset must both have shape (B, {N_INSTRUMENTS}, {N_STEPS}); "
            f"got {velocity.shape} and {offset.shape}"
        )
    # Choke: an open hat on a step silences the closed hat on that step.
    choked = velocity[:, HH_OPEN] > 0
    velocity[:, HH_CLOSED][choked] = 0
    offset[:, HH_CLOSED][choked] = 0.0
    # Zero the offsets of silent cells; only write when some need it (the common case,
    # clean input, then costs a few vector ops instead of a boolean-mask assignment).
    stray = (velocity == 0) & ((offset != 0) | np.signbit(offset))
    if stray.any():
        offset[stray] = 0.0

    kick = velocity[:, KICK].astype(np.int16)
    loudest = kick.max(axis=1, keepdims=True)
    threshold = np.ceil(config.strong_kick_fraction * loudest)
    boundary = np.zeros(N_STEPS, dtype=bool)
    boundary[:: config.rotation_unit] = True
    strong = (kick > 0) & (kick >= threshold) & boundary
    has_strong = strong.any(axis=1)
    rotation = np.where(has_strong, strong.argmax(axis=1), 0).astype(np.int16)
    # Roll only the rotated clips, one group per distinct rotation (a slice copy each).
    for shift in np.unique(rotation[rotation != 0]).tolist():
        rows = np.flatnonzero(rotation == shift)
        velocity[rows] = np.roll(velocity[rows], -shift, axis=2)
        offset[rows] = np.roll(offset[rows], -shift, axis=2)
    return velocity, offset, rotation


@dataclass(frozen=True, eq=False)
class ClipBatch:
    """A batch of canonical clips; real (ingested) and simulated clips alike.

    Parameters
    ----------
    velocity : ndarray, shape (B, 5, 64), uint8
        MIDI velocity per instrument and 16th step; 0 = no onset.
    offset : ndarray, shape (B, 5, 64), float32
        Microtiming as a signed fraction of a 16th step, in [-0.5, 0.5); 0 where silent.
    bpm : ndarray, shape (B,), float64
        Tempo of each clip in quarter notes per minute.
    meta : pandas.DataFrame, optional
        One row per clip (source file, pack, rotation, ...). Index is ignored.
    """

    velocity: np.ndarray
    offset: np.ndarray
    bpm: np.ndarray
    meta: pd.DataFrame = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        velocity = np.asarray(self.velocity)
        offset = np.asarray(self.offset)
        if velocity.ndim != 3 or velocity.shape[1:] != _SHAPE:
            raise ValueError(
                f"velocity must have shape (B, {N_INSTRUMENTS}, {N_STEPS}); got {velocity.shape}"
            )
        if offset.shape != velocity.shape:
            raise ValueError(
                f"offset must have the shape of velocity {velocity.shape}; got {offset.shape}"
            )
        if velocity.dtype != np.uint8:
            if velocity.size and (velocity.min() < 0 or velocity.max() > 127):
                raise ValueError("velocity values must lie in 0..127")
            velocity = velocity.astype(np.uint8)
        elif velocity.size and velocity.max() > 127:
            raise ValueError(f"velocity values must lie in 0..127; got max {velocity.max()}")
        offset = offset.astype(np.float32, copy=False)
        if offset.size and not np.all(np.isfinite(offset)):
            raise ValueError("offset contains NaN or infinite values")
        if offset.size and (offset.min() < -0.5 or offset.max() >= 0.5):
            raise ValueError(
                "offset must lie in [-0.5, 0.5) (a fraction of a 16th step); "
                f"got range [{offset.min():.3f}, {offset.max():.3f}]"
            )
        n = velocity.shape[0]
        bpm = np.broadcast_to(np.asarray(self.bpm, dtype=np.float64), (n,)).copy()
        if n and (not np.all(np.isfinite(bpm)) or bpm.min() <= 0):
            raise ValueError("bpm must be finite and positive")
        meta = self.meta
        if meta is None:
            meta = pd.DataFrame(index=pd.RangeIndex(n))
        elif len(meta) != n:
            raise ValueError(f"meta has {len(meta)} rows for {n} clips")
        else:
            meta = meta.reset_index(drop=True)
        object.__setattr__(self, "velocity", velocity)
        object.__setattr__(self, "offset", offset)
        object.__setattr__(self, "bpm", bpm)
        object.__setattr__(self, "meta", meta)

    # -- derived views -------------------------------------------------------
    @property
    def onsets(self) -> np.ndarray:
        """Boolean onset mask, shape (B, 5, 64)."""
        return self.velocity > 0

    @property
    def offset_ms(self) -> np.ndarray:
        """Microtiming in milliseconds at each clip's own tempo, shape (B, 5, 64)."""
        return self.offset * step_ms(self.bpm)[:, None, None].astype(np.float32)

    def __len__(self) -> int:
        return int(self.velocity.shape[0])

    def __getitem__(self, index: int | slice | Sequence[int] | np.ndarray) -> ClipBatch:
        """Select clips; an integer gives a batch of one."""
        if isinstance(index, int | np.integer):
            index = [int(index)]
        rows = np.arange(len(self))[index]
        return ClipBatch(
            self.velocity[rows],
            self.offset[rows],
            self.bpm[rows],
            self.meta.iloc[rows].reset_index(drop=True),
        )

    @classmethod
    def empty(cls, n: int = 0) -> ClipBatch:
        """A batch of ``n`` silent clips at :data:`TARGET_BPM`."""
        return cls(
            np.zeros((n, *_SHAPE), np.uint8),
            np.zeros((n, *_SHAPE), np.float32),
            np.full(n, TARGET_BPM),
        )

    @classmethod
    def concat(cls, batches: Sequence[ClipBatch]) -> ClipBatch:
        """Stack batches in order; metadata columns are unioned."""
        if not batches:
            return cls.empty(0)
        return cls(
            np.concatenate([b.velocity for b in batches]),
            np.concatenate([b.offset for b in batches]),
            np.concatenate([b.bpm for b in batches]),
            pd.concat([b.meta for b in batches], ignore_index=True),
        )

    def canonical(self, config: CanonicalConfig | None = None) -> ClipBatch:
        """Return the batch after :func:`canonicalize`; ``meta['rotation']`` records the shift."""
        velocity, offset, rotation = canonicalize(self.velocity, self.offset, config)
        meta = self.meta.copy()
        meta["rotation"] = rotation
        return ClipBatch(velocity, offset, self.bpm, meta)

    def equals(self, other: ClipBatch) -> bool:
        """True when both batches hold the same clips (arrays only, not metadata)."""
        return (
            self.velocity.shape == other.velocity.shape
            and np.array_equal(self.velocity, other.velocity)
            and np.array_equal(self.offset, other.offset)
            and np.array_equal(self.bpm, other.bpm)
        )
