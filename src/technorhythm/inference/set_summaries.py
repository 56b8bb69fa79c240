"""What the population model sees of a set of loops, and of one loop.

Set observation (the pack network's condition), one row per set::

    [ summaries of the set (SUMMARY_NAMES: pooled features and a few between-loop sds),
      between-loop sd of every per-loop feature (FEATURE_NAMES),
      share of the set's loops where each per-loop feature is exactly 0,
      log2(N) / 10 ]

The pooled summaries locate the population; the between-loop spreads measure its spread,
and the shares of zeros measure the mass on the bounds (e.g. the share of loops with no
cymbal at all). All of it is built from the public summaries API, so new summaries or
features appear here without a change. Loop observation (the loop network's condition):
the loop's per-clip features (FEATURE_NAMES, fill 0).

One code path serves real and simulated sets. Sets beyond the training range follow the
``n_cap`` policy of :func:`technorhythm.inference.observe.effective_n`.
"""

from __future__ import annotations

import numpy as np

from technorhythm.clips import ClipBatch

__all__ = ["set_feature_names", "loop_features", "observe_population_sets", "observe_population"]


def set_feature_names() -> tuple[str, ...]:
    """Names of the set observation's columns, in order."""
    from technorhythm.inference.observe import N_FEATURE_NAME
    from technorhythm.summaries import FEATURE_NAMES, SUMMARY_NAMES

    return (
        *SUMMARY_NAMES,
        *(f"{n}__between_sd" for n in FEATURE_NAMES),
        *(f"{n}__share_zero" for n in FEATURE_NAMES),
        N_FEATURE_NAME,
    )


def loop_features(batch: ClipBatch, *, stats: np.ndarray | None = None) -> np.ndarray:
    """Per-loop features (B, F) float64, FEATURE_NAMES order, undefined ratios 0.

    ``stats``: the clips' :func:`~technorhythm.summaries.core.clip_stats`, when already
    computed (the result is the same)."""
    from technorhythm.summaries.features import batch_stats, features_from_stats

    stats = batch_stats(batch) if stats is None else stats
    return np.asarray(features_from_stats(stats), dtype=np.float64)


def _group_moments(f: np.ndarray, groups: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Between-loop sd (ddof 0) and share of exact zeros of ``f`` (B, F) per group."""
    from technorhythm.summaries.sets import group_sum

    size = np.bincount(groups, minlength=n)[:, None].astype(np.float64)
    mean = group_sum(f, groups, n) / size
    sq = group_sum(f * f, groups, n) / size
    sd = np.sqrt(np.maximum(sq - mean**2, 0.0))
    zero = group_sum((f == 0).astype(np.float64), groups, n) / size
    return sd, zero


def observe_population_sets(
    batch: ClipBatch,
    groups: np.ndarray,
    *,
    n_sets: int | None = None,
    n_cap: int | None = None,
    n_max: int = 1024,
    features: np.ndarray | None = None,
    stats: np.ndarray | None = None,
) -> np.ndarray:
    """Set observations (G, D) of the sets given by ``groups`` (B,) set ids 0 … G-1.

    ``features`` (B, F) are the loops' per-loop features and ``stats`` (B, len(STAT_NAMES))
    their :func:`~technorhythm.summaries.core.clip_stats`, when already computed; either
    saves work and changes nothing in the result.
    """
    from technorhythm.inference.observe import effective_n, n_feature
    from technorhythm.summaries import summarize_sets

    groups = np.asarray(groups, dtype=np.int64)
    summaries = summarize_sets(batch, groups, n_sets=n_sets, stats=stats).astype(np.float64)
    n = summaries.shape[0]
    if features is None:
        f = loop_features(batch, stats=stats)
    else:
        f = np.asarray(features, dtype=np.float64)
    sd, zero = _group_moments(f, groups, n)
    sizes = np.bincount(groups, minlength=n)
    n_eff = effective_n(sizes, n_cap=n_cap, n_max=n_max)
    return np.column_stack([summaries, sd, zero, n_feature(n_eff)])


def observe_population(
    batch: ClipBatch, *, n_cap: int | None = None, n_max: int = 1024
) -> np.ndarray:
    """The set observation (D,) of all loops of ``batch``."""
    if not isinstance(batch, ClipBatch):
        raise TypeError(f"expected a ClipBatch; got {type(batch).__name__}")
    if len(batch) == 0:
        raise ValueError("cannot observe an empty set: the batch has no clips")
    groups = np.zeros(len(batch), dtype=np.int64)
    return observe_population_sets(batch, groups, n_cap=n_cap, n_max=n_max)[0]
