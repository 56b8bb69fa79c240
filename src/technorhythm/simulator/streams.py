"""Counter-based random streams: clip ``i`` of seed ``s`` always sees the same numbers.

Every clip consumes a fixed block of :data:`WORDS_PER_CLIP` 64-bit words from
``numpy.random.Philox(key=seed)``; clip ``i``'s block starts at Philox counter
``i * BLOCKS_PER_CLIP`` (Philox-4x64 yields 4 words per counter step). Clips
``start .. start+n-1`` therefore occupy one contiguous counter range, drawn with a
single ``random_raw`` call, and clip ``i``'s numbers do not depend on the batch
size, the chunking or the worker that simulates it. Draw counts never depend on
the data or on θ.

The words are split (little-endian) into 16-bit integers. The decision part is
masked to 15-bit uniforms ``u ∈ {0..32767}``, and an event happens when
``u < floor(p · 32768)``. Timing noise is a 16-bit index into a 65 536-entry
normal quantile table, and so is velocity noise. Layout per clip, in order:

==============================  ======  ============================================
field, shape                    type    use
==============================  ======  ============================================
``decisions`` (4 bars, 6, 16)   uint16  per bar, fields in :data:`FIELDS` order
 - ``bar``                              [0] variation, [1] crash, [2] kick pulse count,
                                        [3..5] beats 2-4 decide hats and ride alone
 - ``kick``                             extra kick per position
 - ``snare``                            pos 4, 12: backbeat; others: ghost snare
 - ``hat``                              [0..3] closed hat per beat class, [4..15] per
                                        position of a beat that decides alone
 - ``open``                             open hat per position
 - ``ride``                             as ``hat``, for the ride
``timing`` (5, 64)              uint16  Gaussian timing noise per instrument and step
``velocity`` (5, 64)            uint16  Gaussian velocity noise per instrument and step
==============================  ======  ============================================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from technorhythm.clips import N_BARS, N_INSTRUMENTS, N_STEPS, STEPS_PER_BAR

__all__ = [
    "FIELDS",
    "PULSE_UNIFORM",
    "BLOCKS_PER_CLIP",
    "WORDS_PER_CLIP",
    "NORMAL_TABLE",
    "Streams",
    "clip_streams",
    "probability_threshold",
    "check_seed",
]

FIELDS: tuple[str, ...] = ("bar", "kick", "snare", "hat", "open", "ride")
"""Names of the decision fields, in layout order (16 values per bar each)."""
PULSE_UNIFORM = 2
"""Position, in the ``bar`` field, of the uniform that rounds the kick pulse count."""

_U16_DECISIONS = len(FIELDS) * N_STEPS
_U16_TIMING = N_INSTRUMENTS * N_STEPS
_U16_VELOCITY = N_INSTRUMENTS * N_STEPS
WORDS_PER_CLIP = (_U16_DECISIONS + _U16_TIMING + _U16_VELOCITY) // 4
"""64-bit words of randomness each clip consumes (256)."""
BLOCKS_PER_CLIP = WORDS_PER_CLIP // 4
"""Philox counter steps per clip (64)."""
assert BLOCKS_PER_CLIP * 4 == WORDS_PER_CLIP

NORMAL_TABLE: np.ndarray = ndtri((np.arange(65536) + 0.5) / 65536).astype(np.float32)
"""Standard normal quantiles at the 65 536 mid-points: a 16-bit uniform → N(0, 1)."""

_MAX_SEED = 2**63


def check_seed(seed: object) -> int:
    """Return ``seed`` as an int in [0, 2**63), or raise ValueError saying what is wrong."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    if not 0 <= int(seed) < _MAX_SEED:
        raise ValueError(f"seed must be in [0, 2**63); got {seed!r}")
    return int(seed)


@dataclass(frozen=True)
class Streams:
    """Random numbers of ``n`` consecutive clips (views into one buffer).

    Attributes
    ----------
    decisions : ndarray, shape (n, 4, 6, 16), uint16
        15-bit decision uniforms per bar, fields in :data:`FIELDS` order.
    timing : ndarray, shape (n, 5, 64), uint16
        Indices into :data:`NORMAL_TABLE` (timing noise).
    velocity : ndarray, shape (n, 5, 64), uint16
        Indices into :data:`NORMAL_TABLE` (velocity noise).
    raw : ndarray, shape (n, WORDS_PER_CLIP), little-endian uint64
        The whole buffer the views above point into.
    """

    decisions: np.ndarray
    timing: np.ndarray
    velocity: np.ndarray
    raw: np.ndarray


def clip_streams(seed: int, start: int, n: int) -> Streams:
    """Draw the random numbers of clips ``start .. start + n - 1`` for ``seed``."""
    seed = check_seed(seed)
    if start < 0 or n < 0:
        raise ValueError(f"start and n must be non-negative; got start={start}, n={n}")
    bitgen = np.random.Philox(key=seed, counter=start * BLOCKS_PER_CLIP)
    raw = bitgen.random_raw(n * WORDS_PER_CLIP).astype("<u8", copy=False)
    raw = raw.reshape(n, WORDS_PER_CLIP)
    u16 = raw.view("<u2")
    decisions = u16[:, :_U16_DECISIONS]
    decisions &= 0x7FFF
    decisions = decisions.reshape(n, N_BARS, len(FIELDS), STEPS_PER_BAR)
    timing = u16[:, _U16_DECISIONS : _U16_DECISIONS + _U16_TIMING].reshape(
        n, N_INSTRUMENTS, N_STEPS
    )
    start_v = _U16_DECISIONS + _U16_TIMING
    velocity = u16[:, start_v : start_v + _U16_VELOCITY].reshape(n, N_INSTRUMENTS, N_STEPS)
    return Streams(decisions, timing, velocity, raw)


def probability_threshold(p: np.ndarray) -> np.ndarray:
    """Threshold for 15-bit decision uniforms: ``u < threshold`` has probability ``p``.

    ``floor(p · 32768)`` as uint16, so p = 1 is always true, p = 0 never, and the
    event set only grows as ``p`` grows (common random numbers ⇒ exact monotonicity).
    """
    return np.floor(np.clip(p, 0.0, 1.0) * 32768.0).astype(np.uint16)
