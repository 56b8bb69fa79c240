"""Set-level summary vectors for inference, vectorised over many sets at once.

A *set* is any group of clips (a pack, a split, the corpus, or the ``N`` clips
simulated from one θ). Its summary is a fixed-length float32 vector named
:data:`SUMMARY_NAMES`, built from two kinds of entries:

* **pooled** entries: a feature of :mod:`.features` computed from the
  statistics summed over the set's clips (pooled counts, so a set of 1 and a
  set of 1000 use the same definition and large sets are simply less noisy);
* **derived** entries computed from the pooled statistics without a per-clip feature
  (:data:`DERIVED_DOCS`): ``vel_cell_spread``, the velocity spread around each clip's
  per-(instrument, bar position) mean, which separates velocity noise from accent
  patterns;
* **spread** entries (suffix ``_sd``): the between-clip standard deviation
  (population, ddof = 0; 0 for a set of one) of a per-clip feature, which
  carries the within-θ variability a set of clips reveals.

Scale normalisation: velocity means and the accent are divided by 127, velocity
standard deviations by 64, milliseconds by :data:`MS_SCALE` (50 ms); everything
else is already a share, a probability or a fraction of a 16th step. Every entry
is therefore O(1): |x| ≤ 1 for all entries on any valid input, except the two
millisecond spreads, which stay below 2.5 at tempos ≥ 60 bpm (about 0.1–0.6 for
real playing). Entries are always finite: undefined pooled ratios are filled
with 0 (see :mod:`.features`). The set size N is **not**
part of the vector (inference appends it).

:data:`SUMMARY_VERSION` is bumped whenever a definition changes;
:func:`summaries_hash` fingerprints names, scales and version.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from technorhythm.clips import INSTRUMENTS, N_STEPS, ClipBatch
from technorhythm.summaries.core import ACF_LAGS, N_STATS, clip_stats, stat_block
from technorhythm.summaries.features import (
    FEATURE_DOCS,
    FEATURE_NAMES,
    NGRAM_ALPHA,
    features_from_stats,
)

__all__ = [
    "SUMMARY_VERSION",
    "MS_SCALE",
    "SUMMARY_NAMES",
    "SUMMARY_DOCS",
    "summarize_sets",
    "summarize",
    "summaries_hash",
    "summary_table",
    "group_sum",
]

SUMMARY_VERSION = 3
"""Bumped on any change of a summary definition (names, scales, formulas)."""
MS_SCALE = 50.0
"""Milliseconds are divided by this in the summary vector."""
SET_ACF_LAGS: tuple[int, ...] = (2, 4, 6, 8, 16)
"""Autocorrelation lags kept in the set vector (lag 1 is the order-1 n-gram ``from1``)."""
_CHUNK = 1 << 17


def _pooled_spec() -> list[tuple[str, float]]:
    spec: list[tuple[str, float]] = []
    spec += [(f"density_{i}", 1.0) for i in INSTRUMENTS]
    spec += [(f"{k}_ratio_{i}", 1.0) for i in INSTRUMENTS for k in ("off8", "off16")]
    spec += [
        (n, 1.0)
        for n in (
            "snare_backbeat",
            "snare_other_density",
            "cymbal_downbeat",
            "cymbal_other_density",
            "hat_open_share_off8",
            "bar_repeat",
        )
    ]
    spec += [(f"vel_mean_{i}", 127.0) for i in INSTRUMENTS]
    spec += [(f"vel_std_{i}", 64.0) for i in INSTRUMENTS]
    spec += [(n, 1.0) for n in FEATURE_NAMES if n.startswith("vel_hist_")]
    spec += [("vel_accent", 127.0)]
    spec += [(n, 1.0) for n in FEATURE_NAMES if n.startswith(("ng1_", "ng2_"))]
    spec += [(f"acf_{i}_lag{k}", 1.0) for i in INSTRUMENTS for k in SET_ACF_LAGS]
    spec += [(n, 1.0) for n in FEATURE_NAMES if n.startswith("cooc_")]
    spec += [("offset_off16_mean", 1.0), ("offset_on8_mean", 1.0)]
    spec += [("timing_spread_ms", MS_SCALE)]
    spec += [(f"push_{i}", 1.0) for i in INSTRUMENTS]
    return spec


def _spread_spec() -> list[tuple[str, float]]:
    spec = [(f"density_{i}", 1.0) for i in INSTRUMENTS]
    spec += [
        ("snare_backbeat", 1.0),
        ("cymbal_downbeat", 1.0),
        ("off16_ratio_hh_closed", 1.0),
        ("swing", 1.0),
        ("timing_spread_ms", MS_SCALE),
    ]
    return spec


DERIVED_DOCS: dict[str, str] = {
    "vel_cell_spread": (
        "pooled over the set: standard deviation of velocities around the mean of their "
        "(instrument, bar position) cell within each clip [velocity] ÷ 64; 0 when velocities "
        "depend only on the position in the bar (accents without noise)"
    ),
}
"""Derived summary name → definition (computed in :func:`_derived`)."""


def _derived(stat_sum: np.ndarray) -> np.ndarray:
    """The :data:`DERIVED_DOCS` entries from summed statistics ``(G, N_STATS)`` → ``(G, D)``."""
    n = stat_block(stat_sum, "n").sum(axis=1)
    ss = stat_block(stat_sum, "vss_cell").sum(axis=1)
    var = np.zeros_like(n)
    np.divide(ss, n, out=var, where=n > 0)
    return (np.sqrt(var) / 64.0)[:, None]


_POOLED = _pooled_spec()
_SPREAD = _spread_spec()
_FIDX = {n: k for k, n in enumerate(FEATURE_NAMES)}
_POOLED_IDX = np.array([_FIDX[n] for n, _ in _POOLED])
_POOLED_SCALE = np.array([s for _, s in _POOLED])
_SPREAD_IDX = np.array([_FIDX[n] for n, _ in _SPREAD])
_SPREAD_SCALE = np.array([s for _, s in _SPREAD])

SUMMARY_NAMES: tuple[str, ...] = (
    tuple(n for n, _ in _POOLED) + tuple(DERIVED_DOCS) + tuple(f"{n}_sd" for n, _ in _SPREAD)
)
"""Names of the set-level summary vector, in order."""


def _scale_note(scale: float, unit_ms: bool) -> str:
    if scale == 1.0:
        return ""
    return f" ÷ {scale:g}" + (" (ms)" if unit_ms else "")


SUMMARY_DOCS: dict[str, str] = {
    **{
        n: f"pooled over the set: {FEATURE_DOCS[n]}{_scale_note(s, n.endswith('_ms'))}"
        for n, s in _POOLED
    },
    **DERIVED_DOCS,
    **{
        f"{n}_sd": f"between-clip std of: {FEATURE_DOCS[n]}{_scale_note(s, n.endswith('_ms'))}"
        for n, s in _SPREAD
    },
}
"""Summary name → definition, unit and scale."""


def _spread_features(stats: np.ndarray) -> np.ndarray:
    """The per-clip features of :data:`_SPREAD`, scaled, without computing all the others.

    Same formulas as :func:`features_from_stats` (fill 0); a test checks they agree.
    """

    def g(name: str) -> np.ndarray:  # (width, N); contiguous rows for clip_stats output
        return stat_block(stats, name).T

    n = g("n")
    n_all = n.sum(axis=0)
    n_odd = g("n_off16").sum(axis=0)
    n_even = n_all - n_odd

    def div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
        out = np.zeros(np.broadcast(num, den).shape)
        np.divide(num, den, out=out, where=den > 0)
        return out

    m_odd = div(g("o_odd")[0], n_odd)
    m_even = div(g("o_even")[0], n_even)
    swing = np.where((n_odd > 0) & (n_even > 0), m_odd - m_even, 0.0)
    o_odd, o_even = g("o_odd_ms")[0], g("o_even_ms")[0]
    ss = g("oq_odd_ms")[0] - div(o_odd**2, n_odd) + g("oq_even_ms")[0] - div(o_even**2, n_even)
    spread = np.sqrt(np.maximum(div(ss, n_all), 0.0))
    rows = [
        *(n / N_STEPS),
        g("n_snare_backbeat")[0] / 8,
        g("n_cymbal_downbeat")[0] / 4,
        div(g("n_off16")[2], n[2]),
        swing,
        spread / MS_SCALE,
    ]
    return np.stack(rows, axis=1)


def summaries_hash() -> str:
    """SHA-256 (hex, 16 chars) of the summary definition: version, names, scales, constants."""
    blob = json.dumps(
        {
            "version": SUMMARY_VERSION,
            "pooled": _POOLED,
            "derived": DERIVED_DOCS,
            "spread": _SPREAD,
            "features": FEATURE_NAMES,
            "alpha": NGRAM_ALPHA,
            "acf_lags": ACF_LAGS,
        },
        sort_keys=True,
    ).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def summary_table() -> str:
    """The summary vector as a Markdown table (index, name, definition)."""
    lines = ["| # | summary | definition |", "| --- | --- | --- |"]
    lines += [f"| {k} | `{n}` | {SUMMARY_DOCS[n]} |" for k, n in enumerate(SUMMARY_NAMES)]
    return "\n".join(lines)


def group_sum(values: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Row sums of ``values (B, C)`` per group id ``groups (B,)`` → ``(n_groups, C)`` float64."""
    values = np.asarray(values, dtype=np.float64)
    by_column = values.T  # contiguous rows when values is Fortran-ordered (as clip_stats gives)
    out = np.empty((n_groups, values.shape[1]))
    for c, column in enumerate(by_column):
        out[:, c] = np.bincount(groups, weights=column, minlength=n_groups)
    return out


def _check_groups(groups: np.ndarray, n_clips: int, n_sets: int | None) -> tuple[np.ndarray, int]:
    groups = np.asarray(groups)
    if groups.shape != (n_clips,):
        raise ValueError(
            f"groups must have shape ({n_clips},) (one set id per clip); got {groups.shape}"
        )
    if (
        n_clips
        and not np.issubdtype(groups.dtype, np.integer)
        and not np.all(np.equal(np.mod(groups, 1), 0))
    ):
        raise ValueError("groups must hold integer set ids 0..G-1")
    groups = groups.astype(np.int64)
    if n_clips and groups.min() < 0:
        raise ValueError(f"set ids must be ≥ 0; got {groups.min()}")
    n = int(groups.max()) + 1 if n_clips else 0
    if n_sets is not None:
        if n > n_sets:
            raise ValueError(f"set id {n - 1} out of range for n_sets={n_sets}")
        n = n_sets
    if n == 0:
        raise ValueError("cannot summarise an empty set: no clips given")
    sizes = np.bincount(groups, minlength=n)
    empty = np.flatnonzero(sizes == 0)
    if len(empty):
        raise ValueError(
            f"{len(empty)} set(s) have no clips (first: set {empty[0]}); every set id in "
            f"0..{n - 1} needs at least one clip"
        )
    return groups, n


def summarize_sets(
    batch: ClipBatch,
    groups: np.ndarray,
    *,
    n_sets: int | None = None,
    stats: np.ndarray | None = None,
) -> np.ndarray:
    """Summary vectors of many sets at once: ``(G, S)`` float32, columns :data:`SUMMARY_NAMES`.

    Parameters
    ----------
    batch : ClipBatch
        All clips of all sets, in any order.
    groups : ndarray (B,) of int
        Set id of each clip, in ``0 .. G-1``; every id must occur.
    n_sets : int, optional
        G; defaults to ``groups.max() + 1``.
    stats : ndarray (B, len(STAT_NAMES)), optional
        The clips' :func:`~technorhythm.summaries.core.clip_stats` when the caller already
        has them (the training simulation needs them for the per-loop features too); the
        result is the same, bit for bit, as without them.
    """
    if not isinstance(batch, ClipBatch):
        raise TypeError(f"expected a ClipBatch; got {type(batch).__name__}")
    groups, n = _check_groups(groups, len(batch), n_sets)
    if stats is not None and np.shape(stats) != (len(batch), N_STATS):
        raise ValueError(
            f"stats must have shape ({len(batch)}, {N_STATS}) (clip_stats of the batch); "
            f"got {np.shape(stats)}"
        )
    stat_sum = np.zeros((n, N_STATS))
    f_sum = np.zeros((n, len(_SPREAD_IDX)))
    f_sq = np.zeros((n, len(_SPREAD_IDX)))
    for start in range(0, len(batch), _CHUNK):
        sl = slice(start, start + _CHUNK)
        if stats is None:
            chunk = clip_stats(batch.velocity[sl], batch.offset[sl], batch.bpm[sl])
        else:
            chunk = stats[sl]
        g = groups[sl]
        stat_sum += group_sum(chunk, g, n)
        f = _spread_features(chunk)
        f_sum += group_sum(f, g, n)
        f_sq += group_sum(f * f, g, n)
    pooled = features_from_stats(stat_sum)[:, _POOLED_IDX] / _POOLED_SCALE
    size = stat_sum[:, :1]
    mean = f_sum / size
    spread = np.sqrt(np.maximum(f_sq / size - mean**2, 0.0))
    return np.concatenate([pooled, _derived(stat_sum), spread], axis=1).astype(np.float32)


def summarize(batch: ClipBatch) -> np.ndarray:
    """Summary vector ``(S,)`` float32 of one set: all clips of ``batch``."""
    if len(batch) == 0:
        raise ValueError("cannot summarise an empty set: the batch has no clips")
    return summarize_sets(batch, np.zeros(len(batch), dtype=np.int64))[0]
