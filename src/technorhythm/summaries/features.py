"""Named per-clip features: ratios of the additive statistics of :mod:`.core`.

:func:`features_from_stats` turns a ``(N, N_STATS)`` matrix of summed
statistics into ``(N, F)`` features named :data:`FEATURE_NAMES`. Applied to one
clip's statistics it gives that clip's features (:func:`clip_features`);
applied to statistics summed over a set it gives the *pooled* features of the
set (every count of the set in one numerator and denominator).

Symbols and units
-----------------
* Onset sequences are per-instrument binary chains ``x_t`` (1 = struck), read
  circularly over the 64 steps. Order-1 n-grams condition on ``x_{t-1}``,
  order-2 n-grams on the pair ``(x_{t-2}, x_{t-1})``; probabilities are
  Dirichlet-smoothed: ``p(1 | c) = (n_{c,1} + α) / (n_c + 2α)`` with
  :data:`NGRAM_ALPHA` = 0.5 (Jeffreys / Krichevsky–Trofimov).
* Velocities are MIDI velocities (1–127). Offsets are fractions of a 16th step
  (``steps``) or milliseconds at the clip's own tempo (``ms``).
* Undefined values (a ratio over zero onsets, e.g. the mean velocity of an
  instrument that never plays) take the ``fill`` value: 0.0 by default (finite,
  what inference needs), or ``numpy.nan`` for analysis. The densities tell
  whether a fill happened.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from technorhythm.clips import INSTRUMENTS, N_STEPS, ClipBatch
from technorhythm.summaries.core import (
    ACF_LAGS,
    COOC_LAGS,
    N_STATS,
    VELOCITY_BINS,
    clip_stats,
    stat_block,
)
from technorhythm.summaries.tables import load_tagged_table, save_tagged_table

__all__ = [
    "NGRAM_ALPHA",
    "FEATURE_NAMES",
    "FEATURE_DOCS",
    "features_from_stats",
    "batch_stats",
    "clip_features",
    "features_frame",
    "FEATURES_SCHEMA",
    "save_features",
    "load_features",
]

NGRAM_ALPHA = 0.5
"""Dirichlet pseudo-count per outcome for the n-gram transition probabilities."""

_CTX2 = ("00", "01", "10", "11")


def _lag(d: int) -> str:
    return f"m{-d}" if d < 0 else f"p{d}"


def _feature_docs() -> dict[str, str]:
    docs: dict[str, str] = {}
    for i in INSTRUMENTS:
        docs[f"density_{i}"] = f"{i} onsets per step (count / 64) [fraction]"
    for i in INSTRUMENTS:
        docs[f"off8_ratio_{i}"] = f"share of {i} onsets on off-beat 8ths (steps ≡ 2 mod 4)"
        docs[f"off16_ratio_{i}"] = f"share of {i} onsets on off-beat 16ths (odd steps)"
    docs["snare_backbeat"] = "share of the 8 backbeat positions (beats 2 and 4) with a snare"
    docs["snare_other_density"] = "snare onsets off beats 2 and 4 per remaining step (/56)"
    docs["cymbal_downbeat"] = "share of the 4 bar downbeats with a cymbal"
    docs["cymbal_other_density"] = "cymbal onsets off the bar downbeats per remaining step (/60)"
    docs["hat_open_share_off8"] = "share of off-beat-8th hats (closed or open) that are open"
    docs["bar_repeat"] = "share of bars 2–4 whose onsets (all instruments) repeat bar 1 exactly"
    for i in INSTRUMENTS:
        docs[f"vel_mean_{i}"] = f"mean MIDI velocity of {i} onsets [velocity]"
        docs[f"vel_std_{i}"] = f"standard deviation of {i} velocities [velocity]"
    for k in range(VELOCITY_BINS):
        lo, hi = max(1, 16 * k), 16 * k + 15
        docs[f"vel_hist_{k}"] = f"share of all onsets with velocity {lo}–{hi}"
    docs["vel_accent"] = (
        "mean velocity on quarter beats minus mean velocity elsewhere, all instruments [velocity]"
    )
    for i in INSTRUMENTS:
        docs[f"ng1_{i}_from0"] = f"P({i} at t | no {i} at t-1), smoothed"
        docs[f"ng1_{i}_from1"] = f"P({i} at t | {i} at t-1), smoothed"
    for i in INSTRUMENTS:
        for c in _CTX2:
            docs[f"ng2_{i}_from{c}"] = (
                f"P({i} at t | ({i} at t-2, {i} at t-1) = ({c[0]}, {c[1]})), smoothed"
            )
    for i in INSTRUMENTS:
        for k in ACF_LAGS:
            docs[f"acf_{i}_lag{k}"] = (
                f"autocorrelation of {i} onsets at lag {k}: share of onsets with another "
                f"{k} steps later (circular); 1 = fully periodic at that lag"
            )
    for partner in ("hat", "snare"):
        for d in COOC_LAGS:
            what = "closed or open hat" if partner == "hat" else "snare"
            docs[f"cooc_kick_{partner}_{_lag(d)}"] = (
                f"share of kicks with a {what} {d:+d} steps later (co-occurrence, lead/lag)"
            )
    docs["offset_off16_mean"] = "mean offset of onsets on off-beat 16ths [steps]; swing delays"
    docs["offset_on8_mean"] = "mean offset of onsets on the 8th grid (even steps) [steps]"
    docs["swing"] = "offset_off16_mean − offset_on8_mean [steps]; 0 = straight"
    docs["timing_spread"] = "std of offsets about their grid-parity means [steps]"
    docs["timing_spread_ms"] = "std of offsets about their grid-parity means [ms]"
    for i in INSTRUMENTS:
        docs[f"push_{i}"] = f"mean offset of {i} onsets [steps]; < 0 pushes, > 0 lags"
    for i in INSTRUMENTS:
        docs[f"push_{i}_ms"] = f"mean offset of {i} onsets [ms at the clip's tempo]"
    return docs


FEATURE_DOCS: dict[str, str] = _feature_docs()
"""Feature name → one-line definition with its unit."""
FEATURE_NAMES: tuple[str, ...] = tuple(FEATURE_DOCS)
"""Column names of :func:`clip_features`, in order."""


def _div(num: np.ndarray, den: np.ndarray, fill: float) -> np.ndarray:
    num, den = np.broadcast_arrays(np.asarray(num, np.float64), np.asarray(den, np.float64))
    out = np.full(num.shape, fill, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def features_from_stats(stats: np.ndarray, *, fill: float = 0.0) -> np.ndarray:
    """Features ``(N, F)`` from summed statistics ``(N, N_STATS)`` (see module docstring)."""
    stats = np.asarray(stats, dtype=np.float64)
    if stats.ndim != 2 or stats.shape[1] != N_STATS:
        raise ValueError(f"stats must have shape (N, {N_STATS}); got {stats.shape}")
    if len(stats) == 0:
        return np.empty((0, len(FEATURE_NAMES)))
    # Work statistic-major, (N_STATS, N): every block is then a contiguous slab.
    st = np.ascontiguousarray(stats.T)
    n_rows = st.shape[1]
    g = lambda name: stat_block(st.T, name).T  # noqa: E731  (width, N) view
    clips = g("clips")  # (1, N)
    n = g("n")  # (I, N)
    n_all = n.sum(axis=0, keepdims=True)
    a = NGRAM_ALPHA
    cols: list[np.ndarray] = []
    cols.append(n / (N_STEPS * np.maximum(clips, 1)))
    ratios = np.stack([_div(g("n_off8"), n, fill), _div(g("n_off16"), n, fill)], 1)
    cols.append(ratios.reshape(-1, n_rows))
    backbeat = g("n_snare_backbeat")
    cols.append(_div(backbeat, 8 * clips, 0.0))
    cols.append(_div(n[1:2] - backbeat, (N_STEPS - 8) * clips, 0.0))
    downbeat = g("n_cymbal_downbeat")
    cols.append(_div(downbeat, 4 * clips, 0.0))
    cols.append(_div(n[4:5] - downbeat, (N_STEPS - 4) * clips, 0.0))
    off8 = g("n_off8")
    cols.append(_div(off8[3:4], off8[2:3] + off8[3:4], fill))
    cols.append(_div(g("n_bar_repeat"), 3 * clips, 0.0))
    vmean = _div(g("vsum"), n, np.nan)
    vstd = np.sqrt(np.maximum(_div(g("vsq"), n, np.nan) - vmean**2, 0.0))
    vpair = np.stack([vmean, vstd], 1).reshape(-1, n_rows)
    cols.append(np.where(np.isnan(vpair), fill, vpair))
    cols.append(_div(g("vhist"), n_all, fill))
    n_beat, vsum_beat = g("n_beat"), g("vsum_beat")
    accent = _div(vsum_beat, n_beat, np.nan) - _div(
        g("vsum").sum(axis=0, keepdims=True) - vsum_beat, n_all - n_beat, np.nan
    )
    cols.append(np.where(np.isnan(accent), fill, accent))
    acf = g("acf").reshape(-1, len(ACF_LAGS), n_rows)  # (I, L, N)
    n11 = acf[:, 0]  # lag 1: pairs of consecutive onsets, (I, N)
    total = N_STEPS * clips
    ng1 = np.stack([(n - n11 + a) / (total - n + 2 * a), (n11 + a) / (n + 2 * a)], 1)
    cols.append(ng1.reshape(-1, n_rows))
    ctx = np.stack([total - 2 * n + n11, n - n11, n - n11, n11], 1)  # (I, 4, N)
    ng2 = (g("ng2").reshape(-1, 4, n_rows) + a) / (ctx + 2 * a)
    cols.append(ng2.reshape(-1, n_rows))
    cols.append(_div(acf, n[:, None], fill).reshape(-1, n_rows))
    cols.append(_div(g("cooc_hat"), n[:1], fill))
    cols.append(_div(g("cooc_snare"), n[:1], fill))
    n_odd = g("n_off16").sum(axis=0, keepdims=True)
    n_even = n_all - n_odd
    m_odd = _div(g("o_odd"), n_odd, np.nan)
    m_even = _div(g("o_even"), n_even, np.nan)
    cols.extend(np.where(np.isnan(v), fill, v) for v in (m_odd, m_even, m_odd - m_even))
    for suffix in ("", "_ms"):
        o_odd, o_even = g("o_odd" + suffix), g("o_even" + suffix)
        ss = (
            g("oq_odd" + suffix)
            - _div(o_odd**2, n_odd, 0.0)
            + g("oq_even" + suffix)
            - _div(o_even**2, n_even, 0.0)
        )
        spread = np.sqrt(np.maximum(_div(ss, n_all, np.nan), 0.0))
        cols.append(np.where(np.isnan(spread), fill, spread))
    cols.append(_div(g("osum"), n, fill))
    cols.append(_div(g("osum_ms"), n, fill))
    out = np.concatenate(cols, axis=0)
    if out.shape[0] != len(FEATURE_NAMES):  # pragma: no cover - guards the name table
        raise RuntimeError(f"{out.shape[0]} features computed for {len(FEATURE_NAMES)} names")
    return out.T  # (N, F) view of the feature-major array (Fortran order)


def batch_stats(batch: ClipBatch) -> np.ndarray:
    """:func:`~technorhythm.summaries.core.clip_stats` of a :class:`ClipBatch`."""
    if not isinstance(batch, ClipBatch):
        raise TypeError(f"expected a ClipBatch; got {type(batch).__name__}")
    return clip_stats(batch.velocity, batch.offset, batch.bpm)


def clip_features(batch: ClipBatch, *, fill: float = 0.0) -> np.ndarray:
    """Per-clip features, shape ``(B, F)`` float64, columns :data:`FEATURE_NAMES`.

    ``fill`` replaces undefined ratios (0.0 by default; pass ``numpy.nan`` for analysis).
    """
    return features_from_stats(batch_stats(batch), fill=fill)


def features_frame(batch: ClipBatch, *, fill: float = 0.0, meta: bool = False) -> pd.DataFrame:
    """:func:`clip_features` as a DataFrame, one row per clip.

    ``meta=True`` prepends the columns of ``batch.meta``.
    """
    frame = pd.DataFrame(clip_features(batch, fill=fill), columns=list(FEATURE_NAMES))
    if meta and len(batch.meta.columns):
        frame = pd.concat([batch.meta.reset_index(drop=True), frame], axis=1)
    return frame


FEATURES_SCHEMA = 1
"""Schema version of ``features.parquet``."""


def save_features(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a :func:`features_frame` table as Parquet (atomic), with a schema version.

    The file metadata records ``kind``, ``schema``, ``feature_names`` and ``summaries_hash``.
    """
    from technorhythm.summaries.sets import summaries_hash

    info = {"feature_names": list(FEATURE_NAMES), "summaries_hash": summaries_hash()}
    save_tagged_table(frame, path, kind="clip_features", schema=FEATURES_SCHEMA, info=info)


def load_features(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a table written by :func:`save_features`; refuses other files and schema versions."""
    return load_tagged_table(
        path, kind="clip_features", schema=FEATURES_SCHEMA, label="clip-features"
    )
