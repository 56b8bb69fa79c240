"""The vectorised rhythm simulator: knobs θ → a :class:`~technorhythm.clips.ClipBatch`.

One call simulates a whole batch with numpy; there is no Python loop over clips.
The mechanisms (roadmap G-1), per bar of 16 steps:

kick
    ``floor(kick_density + u)`` Euclidean pulses E(k, 8) on the 8th-note slots
    (stochastic rounding: the mean pulse count per bar is ``kick_density``); every
    pulse but the downbeat moves to the 16th before or after with probability
    ``kick_syncopation`` (early and late are equally likely; an anticipation that
    would land on a pushed pulse stays put, so pulses never merge and the kick
    count per bar is exactly the pulse count).
snare
    beats 2 and 4 with probability ``backbeat_strength``; every other 16th with
    ``snare_sync × w(position)`` (:data:`~technorhythm.simulator.patterns.SNARE_SYNC_WEIGHT`).
hats
    closed-hat grid from the 8th/16th mixture of ``hat_density``; an off-beat 8th hat is
    promoted to an open hat with probability ``openness`` (choke: never both);
    each remaining closed hat repeats, softer, on the next 16th with ``ratchet_prob``.
cymbal
    ride on quarters/8ths/16ths by ``ride_density``; crash on each bar downbeat
    with ``crash_prob`` (``2 · crash_prob`` on bar 1), replacing the ride there.
bars
    bar 1 is drawn; each of bars 2-4 is drawn afresh with probability ``variation``
    and otherwise repeats bar 1's decisions (dynamics and timing noise stay fresh).
timing
    ``offset = swing_16 · [off-beat 16th] + N(0, 1) · humanize_ms / step_ms(bpm)``,
    clipped to ±:data:`OFFSET_LIMIT` of a step.
velocity
    ``round(accent(layer, step) · (30 + 97 · intensity))`` plus triangular noise on
    -7..7 (sd 3.2), clipped to 1..127.

All decisions are ``u < floor(p · 32768)`` on the clip's own 15-bit uniforms
(:mod:`technorhythm.simulator.streams`), so the same seed with a different θ
reuses the same random numbers (common random numbers) and every knob is exactly
monotone clip by clip. The result goes through :func:`technorhythm.clips.canonicalize`
like ingested clips.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from technorhythm.clips import (
    KICK,
    N_BARS,
    N_INSTRUMENTS,
    N_STEPS,
    STEPS_PER_BAR,
    TARGET_BPM,
    CanonicalConfig,
    ClipBatch,
    canonicalize,
    step_ms,
)
from technorhythm.simulator import _kernel
from technorhythm.simulator import patterns as pt
from technorhythm.simulator.knobs import KNOB_NAMES, KNOBS, KnobError, validate_theta
from technorhythm.simulator.streams import (
    DIRECTION_SPLIT,
    NORMAL_TABLE,
    STRUCTURE_FIELDS,
    Streams,
    check_seed,
    clip_streams,
    probability_threshold,
)

__all__ = ["simulate", "coerce_theta", "SIMULATOR_VERSION", "OFFSET_LIMIT", "BLOCK_SIZE"]

SIMULATOR_VERSION = "1"
"""Bumped whenever the same (θ, seed, index) would give a different clip."""
OFFSET_LIMIT = 15.0 / 32.0
"""Timing offsets are clipped to ±15/32 of a step, so every onset keeps a unique
nearest grid step even after MIDI tick quantisation (and stays inside the clip
type's [-0.5, 0.5))."""
BLOCK_SIZE = 4096
"""Clips simulated per internal block (memory bound; results do not depend on it)."""

_IDX = {name: i for i, name in enumerate(KNOB_NAMES)}
USE_KERNEL = _kernel.AVAILABLE and _kernel.KERNEL_KNOBS == KNOB_NAMES
"""Use the fused numba kernel (same results as the numpy path, several times faster)."""
_LOW = np.array([k.low for k in KNOBS])
_HIGH = np.array([k.high for k in KNOBS])
_OFF_16TH_CLIP = np.tile(pt.OFF_16TH, N_BARS).astype(np.float32)
_ACCENT_BAR = pt.ACCENT[:, :STEPS_PER_BAR].astype(np.float64)  # float32 values, exact


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
        Threads simulating blocks of :data:`BLOCK_SIZE` clips in parallel (numpy
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


def _knob(theta: np.ndarray, name: str) -> np.ndarray:
    """Column of one knob, shape (m,), m = 1 or n."""
    return theta[:, _IDX[name]]


def _simulate_block(
    theta: np.ndarray,
    streams: Streams,
    bpm: np.ndarray,
    velocity: np.ndarray,
    offset: np.ndarray,
) -> None:
    """Write raw (uncanonicalised) clips into ``velocity`` (n, 5, 64) uint8 and ``offset``."""
    if USE_KERNEL:
        _simulate_block_kernel(theta, streams, bpm, velocity, offset)
    else:
        velocity[...], offset[...] = _simulate_block_numpy(theta, streams, bpm)


def _simulate_block_kernel(
    theta: np.ndarray, streams: Streams, bpm: np.ndarray, velocity: np.ndarray, offset: np.ndarray
) -> None:
    """The same rules as :func:`_simulate_block_numpy`, fused per clip by numba."""
    n = streams.decisions.shape[0]
    spread = np.broadcast_to(theta[:, _IDX["humanize_ms"]] / step_ms(bpm), (n,))
    _kernel.simulate_kernel(
        streams.decisions,
        streams.timing,
        streams.velocity,
        np.ascontiguousarray(theta),
        spread.astype(np.float32),
        _ACCENT_BAR,
        pt.SNARE_SYNC_WEIGHT,
        NORMAL_TABLE,
        pt.EUCLID_8THS,
        OFFSET_LIMIT,
        velocity,
        offset,
    )


def _simulate_block_numpy(
    theta: np.ndarray, streams: Streams, bpm: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Raw (uncanonicalised) velocity and offset, vectorised over the block with numpy."""
    d = streams.decisions  # (n, bars, fields, 16), 15-bit uniforms
    n = d.shape[0]
    thr = probability_threshold
    col = theta.T[:, :, None]  # (K, m, 1): knob k is col[k], shape (m, 1)

    # -- bars: repeated bars take bar 1's decisions -------------------------------------
    redraw = d[:, :, 0, 0] < thr(col[_IDX["variation"]])
    clip, later = np.nonzero(~redraw[:, 1:])
    d[clip, later + 1, STRUCTURE_FIELDS] = d[clip, 0, STRUCTURE_FIELDS]
    crash_u = d[:, :, 0, 1]
    kick_u, snare_u, hat_u, open_u, ratchet_u, ride_u = (d[:, :, f] for f in range(1, 7))

    # -- kick: Euclidean pulses on 8ths, syncopated to neighbouring 16ths ---------------
    count_u = kick_u[:, :, 0] * (1.0 / 32768.0)
    count = np.floor(col[_IDX["kick_density"]] + count_u).astype(np.intp)
    pulses = pt.EUCLID_8THS[np.clip(count, 0, 8)]  # (n, bars, 8 slots)
    moved = pulses & (kick_u[:, :, 0::2] < thr(col[_IDX["kick_syncopation"]])[..., None])
    moved[:, :, 0] = False  # the downbeat is the anchor
    early = kick_u[:, :, 1::2] < DIRECTION_SPLIT
    late = moved & ~early  # pushed: slot j → 16th 2j + 1
    early &= moved
    early[:, :, 1:] &= ~late[:, :, :-1]  # no two pulses on one 16th: the push wins
    odd = late.copy()
    odd[:, :, :-1] |= early[:, :, 1:]  # anticipated: slot j → 16th 2j - 1
    kick = np.stack([pulses & ~(late | early), odd], axis=-1).reshape(n, N_STEPS)

    # -- snare: backbeat + syncopated neighbours -----------------------------------------
    snare_thr = np.where(
        pt.BACKBEAT,
        thr(col[_IDX["backbeat_strength"]]),
        thr(col[_IDX["snare_sync"]] * pt.SNARE_SYNC_WEIGHT),
    )
    snare = (snare_u < snare_thr[:, None, :]).reshape(n, N_STEPS)

    # -- hats: 8th/16th grid, open-hat promotion (choke), ratchets ----------------------
    hats = hat_u < thr(pt.hat_probabilities(col[_IDX["hat_density"], :, 0]))[:, None, :]
    open_thr = thr(col[_IDX["openness"]] * pt.OFF_8TH)
    hh_open = (hats & (open_u < open_thr[:, None, :])).reshape(n, N_STEPS)
    closed = hats.reshape(n, N_STEPS) & ~hh_open
    repeat = closed & (ratchet_u.reshape(n, N_STEPS) < thr(col[_IDX["ratchet_prob"]]))
    ratchet = np.roll(repeat, 1, axis=1) & ~closed & ~hh_open

    # -- cymbal: ride grid and crashes on bar downbeats -------------------------------------
    ride = ride_u < thr(pt.ride_probabilities(col[_IDX["ride_density"], :, 0]))[:, None, :]
    c = col[_IDX["crash_prob"]]
    crash_p = np.concatenate([np.minimum(1.0, 2.0 * c), np.repeat(c, N_BARS - 1, axis=1)], axis=1)
    crash = np.zeros((n, N_BARS, STEPS_PER_BAR), dtype=bool)
    crash[:, :, 0] = crash_u < thr(crash_p)
    ride &= ~crash

    # -- velocity: accent × intensity + triangular noise (uint8 arithmetic) ----------------
    scale = pt.VELOCITY_FLOOR + pt.VELOCITY_RANGE * col[_IDX["intensity"]][:, :, None]
    base = np.rint(_ACCENT_BAR * scale).astype(np.uint8)  # (m, layers, 16)
    base = base[:, None]  # (m, 1, layers, 16): broadcast over bars
    u8 = np.uint8
    velocity = np.empty((n, N_INSTRUMENTS, N_BARS, STEPS_PER_BAR), dtype=np.uint8)
    by_bar = (n, N_BARS, STEPS_PER_BAR)
    np.multiply(kick.reshape(by_bar).view(u8), base[..., 0, :], out=velocity[:, 0])
    np.multiply(snare.reshape(by_bar).view(u8), base[..., 1, :], out=velocity[:, 1])
    np.multiply(closed.reshape(by_bar).view(u8), base[..., 2, :], out=velocity[:, 2])
    velocity[:, 2] += ratchet.reshape(by_bar).view(u8) * base[..., 5, :]
    np.multiply(hh_open.reshape(by_bar).view(u8), base[..., 3, :], out=velocity[:, 3])
    np.multiply(ride.view(u8), base[..., 4, :], out=velocity[:, 4])
    velocity[:, 4] += crash.view(u8) * base[..., 6, :]
    velocity = velocity.reshape(n, N_INSTRUMENTS, N_STEPS)
    onset = velocity > 0
    bits = streams.velocity
    noisy = velocity + u8(7)  # velocity + 7 + a - b, a, b uniform on 0..7; no wrap-around
    noisy += bits & u8(7)
    noisy -= (bits >> u8(3)) & u8(7)
    np.clip(noisy, 8, 134, out=noisy)
    noisy -= u8(7)
    noisy *= onset.view(u8)

    # -- timing: swing warp + Gaussian humanize, clipped -------------------------------------
    spread = (col[_IDX["humanize_ms"]] / step_ms(bpm)[:, None]).astype(np.float32)  # (n, 1)
    offset = np.take(NORMAL_TABLE, streams.timing)  # (n, 5, 64) standard normal
    offset *= spread[:, :, None]
    swing = col[_IDX["swing_16"]].astype(np.float32) * _OFF_16TH_CLIP  # (m, 64)
    offset += swing[:, None, :]
    np.clip(offset, -OFFSET_LIMIT, OFFSET_LIMIT, out=offset)
    offset *= onset
    offset += np.float32(0.0)  # -0.0 (a negative offset times a silent cell) → +0.0
    return noisy, offset
