"""Numpy core: additive per-clip statistics over ``(B, 5, 64)`` arrays.

Everything the summaries need is first reduced to a matrix of *additive*
sufficient statistics, one row per clip and one named column per count or sum
(:data:`STAT_NAMES`). Per-clip features are ratios of a clip's own statistics;
set-level (pooled) features are the same ratios of statistics summed over the
clips of a set. One code path therefore serves a single clip, a pack, a
bootstrap resample or 20 000 simulated sets at once.

Onsets are packed into one ``uint64`` per clip and instrument (bit ``t`` =
16th step ``t``), so shifts, masks and ``np.bitwise_count`` give every
position-based count (offbeats, circular n-grams, autocorrelation,
co-occurrence) without touching the 64-step axis again.

Axes: ``velocity`` and ``offset`` are ``(B, I, T)`` with ``I = 5`` instruments in
:data:`technorhythm.clips.INSTRUMENTS` order and ``T = 64`` steps; all sequence
statistics are *circular* (a clip is a loop: step 63 is followed by step 0).
"""

from __future__ import annotations

import numpy as np

from technorhythm.clips import INSTRUMENTS, N_BARS, N_INSTRUMENTS, N_STEPS, STEPS_PER_BAR, step_ms

__all__ = [
    "ACF_LAGS",
    "COOC_LAGS",
    "VELOCITY_BINS",
    "STAT_BLOCKS",
    "STAT_NAMES",
    "onset_bits",
    "rotate",
    "popcount",
    "clip_stats",
    "stat_block",
]

ACF_LAGS: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 12, 16, 32)
"""Autocorrelation lags in 16th steps."""
COOC_LAGS: tuple[int, ...] = (-2, -1, 0, 1, 2)
"""Co-occurrence lags in 16th steps: +d means the partner is struck d steps *after* the kick."""
VELOCITY_BINS = 8
"""Velocity histogram bins of width 16: bin k holds velocities 16k … 16k+15 (bin 0: 1–15)."""

_ALL = np.uint64(0xFFFF_FFFF_FFFF_FFFF)
MASK_OFF16 = np.uint64(0xAAAA_AAAA_AAAA_AAAA)
"""Odd steps: the off-beat 16ths ('e' and 'a')."""
MASK_OFF8 = np.uint64(0x4444_4444_4444_4444)
"""Steps ≡ 2 (mod 4): the off-beat 8ths ('and')."""
MASK_BEAT = np.uint64(0x1111_1111_1111_1111)
"""Steps ≡ 0 (mod 4): the quarter-note beats."""
MASK_BACKBEAT = np.uint64(0x1010_1010_1010_1010)
"""Steps ≡ 4, 12 (mod 16): beats 2 and 4 of every bar (8 positions per clip)."""
MASK_DOWNBEAT = np.uint64(0x0001_0001_0001_0001)
"""Steps 0, 16, 32, 48: the downbeat of each bar (4 positions per clip)."""

_KICK, _SNARE, _HHC, _HHO = 0, 1, 2, 3

STAT_BLOCKS: tuple[tuple[str, int], ...] = (
    ("clips", 1),  # number of clips (1 per clip; sums to the set size)
    ("n", N_INSTRUMENTS),  # onsets per instrument
    ("n_off8", N_INSTRUMENTS),  # onsets on off-beat 8ths
    ("n_off16", N_INSTRUMENTS),  # onsets on off-beat 16ths
    ("n_snare_backbeat", 1),  # snare onsets on beats 2 and 4
    ("n_cymbal_downbeat", 1),  # cymbal onsets on bar downbeats
    ("n_bar_repeat", 1),  # bars 2-4 whose onsets (all instruments) equal bar 1's
    ("vsum", N_INSTRUMENTS),  # sum of MIDI velocities per instrument
    ("vsq", N_INSTRUMENTS),  # sum of squared velocities per instrument
    ("vhist", VELOCITY_BINS),  # onsets (all instruments) per velocity bin
    ("n_beat", 1),  # onsets (all instruments) on quarter beats
    ("vsum_beat", 1),  # their velocity sum
    ("vss_cell", N_INSTRUMENTS),  # Σ squared deviations from the clip's (bar position) mean
    ("ng2", 4 * N_INSTRUMENTS),  # circular triples (a, b, 1) for ab = 00, 01, 10, 11
    ("acf", len(ACF_LAGS) * N_INSTRUMENTS),  # Σ_t x_t x_{t+k}, instrument-major
    ("cooc_hat", len(COOC_LAGS)),  # Σ_t kick_t hat_{t+d} (hat = closed ∪ open)
    ("cooc_snare", len(COOC_LAGS)),  # Σ_t kick_t snare_{t+d}
    ("osum", N_INSTRUMENTS),  # sum of offsets per instrument [steps]
    ("osum_ms", N_INSTRUMENTS),  # sum of offsets per instrument [ms at the clip's bpm]
    ("o_odd", 1),  # sum of offsets of off-16th onsets [steps]
    ("o_even", 1),  # sum of offsets of 8th-grid onsets [steps]
    ("oq_odd", 1),  # sum of squared offsets, off-16ths [steps²]
    ("oq_even", 1),  # sum of squared offsets, 8th grid [steps²]
    ("o_odd_ms", 1),  # as o_odd in ms
    ("o_even_ms", 1),
    ("oq_odd_ms", 1),  # [ms²]
    ("oq_even_ms", 1),
)
"""Additive statistic blocks (name, width) in column order."""


def _block_names(name: str, width: int) -> list[str]:
    if name == "acf":
        return [f"acf_{i}_lag{k}" for i in INSTRUMENTS for k in ACF_LAGS]
    if name == "ng2":
        return [f"ng2_{i}_{c}1" for i in INSTRUMENTS for c in ("00", "01", "10", "11")]
    if name.startswith("cooc"):
        return [f"{name}_{d:+d}" for d in COOC_LAGS]
    if name == "vhist":
        return [f"vhist_{k}" for k in range(VELOCITY_BINS)]
    if width == N_INSTRUMENTS:
        return [f"{name}_{i}" for i in INSTRUMENTS]
    return [name]


STAT_NAMES: tuple[str, ...] = tuple(n for b, w in STAT_BLOCKS for n in _block_names(b, w))
"""Column names of :func:`clip_stats`."""

_SLICES: dict[str, slice] = {}
_start = 0
for _name, _width in STAT_BLOCKS:
    _SLICES[_name] = slice(_start, _start + _width)
    _start += _width
N_STATS = _start


def stat_block(stats: np.ndarray, name: str) -> np.ndarray:
    """The columns of block ``name`` of a ``(..., N_STATS)`` statistics array (a view)."""
    return stats[..., _SLICES[name]]


def onset_bits(onsets: np.ndarray) -> np.ndarray:
    """Pack a boolean ``(B, I, 64)`` onset mask into ``(B, I)`` ``uint64`` (bit t = step t)."""
    onsets = np.asarray(onsets, dtype=bool)
    if onsets.shape[-1] != N_STEPS:
        raise ValueError(f"onsets must have {N_STEPS} steps on the last axis; got {onsets.shape}")
    packed = np.packbits(onsets, axis=-1, bitorder="little")  # (..., 8) uint8
    return np.ascontiguousarray(packed).view("<u8")[..., 0].astype(np.uint64, copy=False)


def rotate(bits: np.ndarray, k: int) -> np.ndarray:
    """Circular shift so that bit ``t`` of the result is bit ``(t + k) mod 64`` of ``bits``.

    ``popcount(x & rotate(y, k))`` counts steps t with an onset of x at t and of y at t + k.
    """
    k %= N_STEPS
    if k == 0:
        return bits
    return (bits >> np.uint64(k)) | (bits << np.uint64(N_STEPS - k))


def popcount(bits: np.ndarray) -> np.ndarray:
    """Number of set bits (onsets) per element, as ``int64``."""
    return np.bitwise_count(bits).astype(np.int64)


def _cell_sum_of_squares(velocity: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Per clip and instrument, Σ (v − cell mean)² over the onsets, (B, I) float64.

    A *cell* is one instrument at one position of the bar; its mean is over the clip's
    bars that have an onset there. Zero for a clip whose velocities depend only on the
    position in the bar (an accent pattern without velocity noise).

    The bar sums are integers (≤ 4 · 127², exact in int32), added bar by bar over
    contiguous slices: 2.5× faster than a reduction over the bar axis, same result.
    """
    b = len(velocity)
    v = velocity.astype(np.int32).reshape(b, N_INSTRUMENTS, N_BARS, STEPS_PER_BAR)
    o = on.reshape(b, N_INSTRUMENTS, N_BARS, STEPS_PER_BAR)
    vv = v * v
    total = sum(v[:, :, k] for k in range(1, N_BARS)) + v[:, :, 0]
    squares = sum(vv[:, :, k] for k in range(1, N_BARS)) + vv[:, :, 0]
    count = sum(o[:, :, k] for k in range(1, N_BARS)) + o[:, :, 0].astype(np.int8)
    total = total.astype(np.float64)
    mean_sq = np.zeros(total.shape)
    np.divide(total * total, count, out=mean_sq, where=count > 0)
    return np.maximum(squares - mean_sq, 0.0).sum(axis=2)


def clip_stats(velocity: np.ndarray, offset: np.ndarray, bpm: np.ndarray) -> np.ndarray:
    """Additive statistics of each clip, shape ``(B, N_STATS)`` float64, columns :data:`STAT_NAMES`.

    The result is a transposed view of a statistic-major ``(N_STATS, B)`` array
    (Fortran order), which is the layout the feature code reads fastest.

    Parameters
    ----------
    velocity : ndarray (B, 5, 64) uint8
        MIDI velocity, 0 = silent (axis 1 instruments, axis 2 steps).
    offset : ndarray (B, 5, 64) float32
        Microtiming in fractions of a 16th step; 0 where silent.
    bpm : ndarray (B,)
        Tempo (quarter notes per minute) used to convert offsets to milliseconds.
    """
    velocity = np.asarray(velocity)
    offset = np.asarray(offset, dtype=np.float32)
    if velocity.ndim != 3 or velocity.shape[1:] != (N_INSTRUMENTS, N_STEPS):
        raise ValueError(f"velocity must have shape (B, 5, 64); got {velocity.shape}")
    if offset.shape != velocity.shape:
        raise ValueError(f"offset must have shape {velocity.shape}; got {offset.shape}")
    n_clips = velocity.shape[0]
    out = np.empty((N_STATS, n_clips), dtype=np.float64)  # statistic-major

    def put(name: str, value: np.ndarray) -> None:
        """Store ``value`` of shape (width, B) (or (B,) for width 1) into block ``name``."""
        sl = _SLICES[name]
        out[sl] = np.asarray(value).reshape(sl.stop - sl.start, n_clips)

    out[_SLICES["clips"]] = 1.0
    on = velocity > 0
    x = np.ascontiguousarray(onset_bits(on).T)  # (I, B)
    put("n", popcount(x))
    put("n_off8", popcount(x & MASK_OFF8))
    put("n_off16", popcount(x & MASK_OFF16))
    put("n_snare_backbeat", popcount(x[_SNARE] & MASK_BACKBEAT))
    put("n_cymbal_downbeat", popcount(x[-1] & MASK_DOWNBEAT))
    bar_mask = np.uint64(0xFFFF)
    first_bar = x & bar_mask
    put(
        "n_bar_repeat",
        sum(
            np.all(((x >> np.uint64(16 * k)) & bar_mask) == first_bar, axis=0).astype(np.int64)
            for k in (1, 2, 3)
        ),
    )

    vf = velocity.astype(np.float32)  # exact: sums of ≤ 64 squares of ≤ 127 stay < 2**24
    put("vsum", vf.sum(axis=2).T)
    put("vsq", np.einsum("bij,bij->bi", vf, vf).T)
    # Velocity bins (v >> 4) as three bit-planes: 3 packing passes instead of 8.
    planes = [onset_bits((velocity & np.uint8(16 << p)) != 0).T for p in range(3)]
    for k in range(VELOCITY_BINS):
        sel = x.copy()
        for p, plane in enumerate(planes):
            sel &= plane if (k >> p) & 1 else ~plane
        out[_SLICES["vhist"].start + k] = popcount(sel).sum(axis=0)
    put("n_beat", popcount(x & MASK_BEAT).sum(axis=0))
    put("vsum_beat", vf[:, :, ::4].sum(axis=(1, 2)))
    put("vss_cell", _cell_sum_of_squares(velocity, on).T)

    x1 = rotate(x, 1)
    x2 = rotate(x, 2)
    nx, nx1 = ~x, ~x1
    # triples (x_t, x_{t+1}, x_{t+2}) = (a, b, 1) for ab = 00, 01, 10, 11 -> (I, 4, B)
    put(
        "ng2",
        np.stack(
            [
                popcount(nx & nx1 & x2),
                popcount(nx & x1 & x2),
                popcount(x & nx1 & x2),
                popcount(x & x1 & x2),
            ],
            axis=1,
        ),
    )
    put("acf", np.stack([popcount(x & rotate(x, k)) for k in ACF_LAGS], axis=1))  # (I, L, B)
    kick = x[_KICK]
    hat = x[_HHC] | x[_HHO]
    put("cooc_hat", np.stack([popcount(kick & rotate(hat, d)) for d in COOC_LAGS]))
    snare = x[_SNARE]
    put("cooc_snare", np.stack([popcount(kick & rotate(snare, d)) for d in COOC_LAGS]))

    # Offsets count only where an instrument is struck (robust to stray values in silent cells).
    stray = onset_bits(offset != 0) & ~x.T  # nonzero offsets in silent cells (rare)
    if stray.any():
        offset = offset * on
    ms = np.asarray(step_ms(np.broadcast_to(np.asarray(bpm, dtype=np.float64), (n_clips,))))
    osum = offset.sum(axis=2, dtype=np.float64).T  # (I, B)
    put("osum", osum)
    put("osum_ms", osum * ms)
    odd = offset[:, :, 1::2]
    even = offset[:, :, 0::2]
    o_odd = odd.sum(axis=(1, 2), dtype=np.float64)
    o_even = even.sum(axis=(1, 2), dtype=np.float64)
    oq_odd = np.einsum("bij,bij->b", odd, odd, dtype=np.float64)
    oq_even = np.einsum("bij,bij->b", even, even, dtype=np.float64)
    put("o_odd", o_odd)
    put("o_even", o_even)
    put("oq_odd", oq_odd)
    put("oq_even", oq_even)
    put("o_odd_ms", o_odd * ms)
    put("o_even_ms", o_even * ms)
    put("oq_odd_ms", oq_odd * ms**2)
    put("oq_even_ms", oq_even * ms**2)
    return out.T
