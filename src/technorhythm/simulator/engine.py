"""The simulator engine: knobs θ → a :class:`~technorhythm.clips.ClipBatch`, fast.

:func:`simulate` validates θ, draws each clip's counter-based random numbers
(:mod:`technorhythm.simulator.streams`) block by block, and fills the output arrays with
the compiled kernel (:mod:`technorhythm.simulator._kernel`), which applies the rules of
:mod:`technorhythm.simulator.reference` (read the rules there) and is tested to give the
reference's clips bit for bit. The result goes through
:func:`technorhythm.clips.canonicalize` like ingested clips.

All decisions are ``u < floor(p · 32768)`` on the clip's own 15-bit uniforms, so the same
seed with a different θ reuses the same random numbers (common random numbers) and every
knob is exactly monotone clip by clip.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from technorhythm.clips import (
    KICK,
    N_INSTRUMENTS,
    N_STEPS,
    TARGET_BPM,
    CanonicalConfig,
    ClipBatch,
    canonicalize,
    step_ms,
)
from technorhythm.simulator import _kernel
from technorhythm.simulator import patterns as pt
from technorhythm.simulator.knobs import KNOB_NAMES, KNOBS, KnobError, validate_theta
from technorhythm.simulator.reference import OFFSET_LIMIT
from technorhythm.simulator.streams import NORMAL_TABLE, Streams, check_seed, clip_streams

__all__ = ["simulate", "coerce_theta", "SIMULATOR_VERSION", "OFFSET_LIMIT", "BLOCK_SIZE"]

SIMULATOR_VERSION = "10"
"""Bumped whenever the same (θ, seed, index) would give a different clip."""
BLOCK_SIZE = 4096
"""Clips simulated per internal block (memory bound; results do not depend on it)."""
FAST_PATH = _kernel.AVAILABLE
"""True when the kernel is compiled by numba (always, with the declared dependencies)."""

_LOW = np.array([k.low for k in KNOBS])
_HIGH = np.array([k.high for k in KNOBS])
_PHRASE_REPEATS = np.array(pt.PHRASE_REPEATS, dtype=np.int64)
_ROW_LAYERS = np.full((N_INSTRUMENTS, 2), -1, dtype=np.int64)
"""The (at most two) layers of each output row, -1 padded: kick + extra kick, snare + ghost,
closed hat, open hat, ride + crash."""
for _layer, _row in enumerate(pt.ROW_OF_LAYER):
    _ROW_LAYERS[_row, int(_ROW_LAYERS[_row, 0] >= 0)] = _layer


def coerce_theta(theta: object, n: int | None = None) -> tuple[np.ndarray, int]:
    """Validate θ and return it as an array of shape (1, K) or (n, K), and the clip count.

    ``theta`` is a mapping (missing knobs take their defaults), an array (K,) for
    all clips, or an array (n, K) with one row per clip. Raises :class:`KnobError`
    naming the first offending knob, its allowed range and the value received.
    """
    if isinstance(theta, Mapping):
        named = validate_theta(theta, partial=True)
        arr = np.array([[named[name] for name in KNOB_NAMES]], dtype=np.float64)
    else:
        try:
            arr = np.array(theta, dtype=np.float64, ndmin=1)
        except (TypeError, ValueError):
            raise KnobError(
                f"θ must be a mapping of knob values or a numeric array; got {type(theta).__name__}"
            ) from None
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != len(KNOBS):
            raise KnobError(
                f"θ must have shape ({len(KNOBS)},) or (n, {len(KNOBS)}) in the order "
                f"{', '.join(KNOB_NAMES)}; got shape {np.shape(theta)}"
            )
        bad = ~(np.isfinite(arr) & (arr >= _LOW) & (arr <= _HIGH))
        if bad.any():
            row, col = np.argwhere(bad)[0]
            try:
                KNOBS[col].check(float(arr[row, col]))
            except KnobError as err:
                where = f" (θ row {row})" if arr.shape[0] > 1 else ""
                raise KnobError(f"{err}{where}") from None
    rows = arr.shape[0]
    if n is None:
        n = rows
    elif isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise ValueError(f"n must be a non-negative integer; got {n!r}")
    elif rows > 1 and rows != n:
        raise KnobError(f"θ has {rows} rows but n={n} clips were asked for")
    return arr, int(n)


def simulate(
    theta: object,
    n: int | None = None,
    *,
    seed: int,
    start_index: int = 0,
    bpm: float | np.ndarray = TARGET_BPM,
    workers: int = 1,
) -> ClipBatch:
    """Simulate ``n`` canonical clips from knob settings θ.

    Parameters
    ----------
    theta : mapping, array (K,) or array (n, K)
        Knob values in registry order (:data:`~technorhythm.simulator.knobs.KNOB_NAMES`);
        a mapping may omit knobs (defaults are used). An (n, K) array gives each clip its
        own θ and ``n`` may be omitted.
    n : int, optional
        Number of clips; defaults to the number of θ rows (1 for a mapping or (K,) array).
    seed : int
        Non-negative seed (< 2**63) of the counter-based random streams.
    start_index : int
        Index of the first clip. Clip ``i`` of the batch is clip ``start_index + i`` of
        the seed's stream, identical whatever the batch size, chunking or workers.
    bpm : float or array (n,)
        Tempo in quarter notes per minute; converts ``humanize_ms`` into steps.
    workers : int
        Threads simulating blocks of :data:`BLOCK_SIZE` clips in parallel (the kernel
        releases the GIL); the result does not depend on it.

    Returns
    -------
    ClipBatch
        ``meta`` columns ``seed`` and ``index`` (the clip's stream index) and
        ``rotation`` (from :func:`~technorhythm.clips.canonicalize`).
    """
    arr, n = coerce_theta(theta, n)
    seed = check_seed(seed)
    if isinstance(start_index, bool) or not isinstance(start_index, int | np.integer):
        raise ValueError(f"start_index must be a non-negative integer; got {start_index!r}")
    if start_index < 0:
        raise ValueError(f"start_index must be a non-negative integer; got {start_index!r}")
    bpm_arr = np.broadcast_to(np.asarray(bpm, dtype=np.float64), (n,))
    if n and (not np.all(np.isfinite(bpm_arr)) or bpm_arr.min() <= 0):
        raise ValueError(f"bpm must be finite and positive; got {bpm!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer; got {workers!r}")

    arr = _acting_theta(arr)
    velocity = np.empty((n, N_INSTRUMENTS, N_STEPS), dtype=np.uint8)
    offset = np.empty((n, N_INSTRUMENTS, N_STEPS), dtype=np.float32)
    rotation = np.zeros(n, dtype=np.int16)

    def block(lo: int) -> None:  # fills rows lo:hi of the outputs in place
        hi = min(n, lo + BLOCK_SIZE)
        th = arr if arr.shape[0] == 1 else arr[lo:hi]
        streams = clip_streams(seed, int(start_index) + lo, hi - lo)
        _simulate_block(th, streams, bpm_arr[lo:hi], velocity[lo:hi], offset[lo:hi])
        rotation[lo:hi] = _canonicalize(velocity[lo:hi], offset[lo:hi])

    starts = list(range(0, n, BLOCK_SIZE))
    if workers > 1 and len(starts) > 1:
        from joblib import Parallel, delayed

        Parallel(n_jobs=workers, prefer="threads")(delayed(block)(lo) for lo in starts)
    else:
        for lo in starts:
            block(lo)
    meta = pd.DataFrame(
        {
            "seed": np.full(n, seed, dtype=np.int64),
            "index": np.arange(start_index, start_index + n, dtype=np.int64),
            "rotation": rotation,
        }
    )
    return ClipBatch(velocity, offset, bpm_arr.copy(), meta)


def _acting_theta(theta: np.ndarray) -> np.ndarray:
    """θ as the kernel reads it: every knob of :data:`~technorhythm.simulator.patterns.ACTING`
    through :func:`~technorhythm.simulator.patterns.acting_value` (dead zones and plateaus;
    a copy, the caller's θ stays)."""
    acting = np.array(theta, dtype=np.float64, copy=True)
    for name in pt.ACTING:
        col = KNOB_NAMES.index(name)
        acting[:, col] = pt.acting_value(name, acting[:, col])
    return acting


def _canonicalize(velocity: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """:func:`~technorhythm.clips.canonicalize` in place, run only on the clips it could change.

    Simulated clips never have a closed and an open hat on one step and have zero
    offsets where silent, so choke and zeroing are no-ops; a clip whose step 0 holds a
    strong kick has rotation 0. Only the other clips (bar 1 without a kick) go through
    ``canonicalize``; the result is identical to passing the whole batch (tested).
    Returns the rotation of each clip.
    """
    kick = velocity[:, KICK]
    first = kick[:, 0].astype(np.int16)
    loudest = kick.max(axis=1).astype(np.float64)
    strong = (first > 0) & (first >= np.ceil(CanonicalConfig().strong_kick_fraction * loudest))
    rotation = np.zeros(len(velocity), dtype=np.int16)
    rows = np.flatnonzero(~strong)
    if rows.size:
        v, o, rot = canonicalize(velocity[rows], offset[rows])
        velocity[rows], offset[rows], rotation[rows] = v, o, rot
    return rotation


def _simulate_block(
    theta: np.ndarray,
    streams: Streams,
    bpm: np.ndarray,
    velocity: np.ndarray,
    offset: np.ndarray,
) -> None:
    """Write raw (uncanonicalised) clips into ``velocity`` (n, 5, 64) uint8 and ``offset``."""
    _kernel.simulate_kernel(
        streams.decisions,
        streams.timing,
        streams.velocity,
        np.ascontiguousarray(theta),
        _kernel.COLUMNS,
        np.asarray(step_ms(bpm), dtype=np.float64),
        pt.KICK_EXTRA_WEIGHT,
        pt.GHOST_WEIGHT,
        pt.OPEN_WEIGHT,
        pt.OPEN_OTHER_WEIGHT,
        pt.WEAKNESS,
        _ROW_LAYERS,
        pt.LEVEL_GROUP,
        _kernel.LEVEL_SLOTS,
        pt.DYNAMICS_OF_ROW,
        _kernel.ACCENT_SLOTS,
        _kernel.JITTER_SLOTS,
        NORMAL_TABLE,
        pt.KICK_BASES,
        OFFSET_LIMIT,
        _PHRASE_REPEATS,
        pt.LATE_PAIR,
        velocity,
        offset,
    )
