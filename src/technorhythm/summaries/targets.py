"""Set-level corpus targets with bootstrap confidence intervals.

A *target* is a pooled statistic of a set of clips: every feature of
:mod:`.features` computed from the counts summed over the set (pooled
histograms, transition probabilities of the mean transition matrices,
autocorrelation, co-occurrence, timing), plus the pooled onset-position
histograms (``pos_<instrument>_<step>``: share of that instrument's onsets on
each of the 16 steps of the bar, all bars pooled).

Uncertainty comes from the nonparametric bootstrap over clips: ``n_boot``
resamples of the set's clips with replacement (multinomial counts from a seeded
``numpy.random.Generator``), percentile intervals.

:func:`corpus_targets` returns a long table (one row per set and target);
:func:`save_targets` writes it as Parquet with a schema version in the file
metadata, :func:`load_targets` reads it back and checks the version.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from technorhythm.clips import INSTRUMENTS, N_BARS, N_INSTRUMENTS, STEPS_PER_BAR, ClipBatch
from technorhythm.summaries.core import N_STATS, clip_stats
from technorhythm.summaries.features import FEATURE_NAMES, features_from_stats
from technorhythm.summaries.sets import SUMMARY_VERSION, group_sum, summaries_hash
from technorhythm.summaries.tables import load_tagged_table, save_tagged_table

__all__ = [
    "TARGETS_SCHEMA",
    "POSITION_NAMES",
    "TARGET_NAMES",
    "target_kind",
    "target_stats",
    "targets_from_stats",
    "bootstrap_targets",
    "pooled_targets",
    "corpus_targets",
    "save_targets",
    "load_targets",
]

TARGETS_SCHEMA = 1
"""Schema version of the ``corpus_targets.parquet`` table."""
POSITION_NAMES: tuple[str, ...] = tuple(
    f"pos_{i}_{s:02d}" for i in INSTRUMENTS for s in range(STEPS_PER_BAR)
)
TARGET_NAMES: tuple[str, ...] = FEATURE_NAMES + POSITION_NAMES
"""Names of the pooled targets, in order."""

_KINDS = (
    ("density_", "density"),
    ("off8_", "offbeat"),
    ("off16_", "offbeat"),
    ("snare_", "placement"),
    ("cymbal_", "placement"),
    ("hat_open", "placement"),
    ("bar_repeat", "structure"),
    ("vel_", "velocity"),
    ("ng1_", "ngram1"),
    ("ng2_", "ngram2"),
    ("acf_", "autocorrelation"),
    ("cooc_", "cooccurrence"),
    ("offset_", "timing"),
    ("swing", "timing"),
    ("timing_", "timing"),
    ("push_", "timing"),
    ("pos_", "position"),
)


def target_kind(name: str) -> str:
    """The family of a target (density, velocity, ngram1, …), used to pick its distance."""
    for prefix, kind in _KINDS:
        if name.startswith(prefix):
            return kind
    raise KeyError(f"unknown target {name!r}")


def target_stats(batch: ClipBatch) -> np.ndarray:
    """Additive per-clip statistics for the targets: clip stats + onset counts per bar step.

    Shape ``(B, N_STATS + 80)``.
    """
    if not isinstance(batch, ClipBatch):
        raise TypeError(f"expected a ClipBatch; got {type(batch).__name__}")
    stats = clip_stats(batch.velocity, batch.offset, batch.bpm)
    on = batch.onsets.reshape(len(batch), N_INSTRUMENTS, N_BARS, STEPS_PER_BAR)
    positions = on.sum(axis=2, dtype=np.int64).reshape(len(batch), -1)
    return np.concatenate([stats, positions], axis=1)


def targets_from_stats(stats: np.ndarray) -> np.ndarray:
    """Pooled targets ``(N, T)`` from summed :func:`target_stats` rows ``(N, N_STATS + 80)``."""
    stats = np.asarray(stats, dtype=np.float64)
    features = features_from_stats(stats[:, :N_STATS])
    pos = stats[:, N_STATS:].reshape(len(stats), N_INSTRUMENTS, STEPS_PER_BAR)
    total = pos.sum(axis=2, keepdims=True)
    share = np.divide(pos, total, out=np.zeros_like(pos), where=total > 0)
    return np.concatenate([features, share.reshape(len(stats), -1)], axis=1)


def bootstrap_targets(
    batch_or_stats: ClipBatch | np.ndarray,
    *,
    n_boot: int = 200,
    ci: float = 0.95,
    seed: int | np.random.Generator = 0,
) -> pd.DataFrame:
    """Pooled targets of one set with bootstrap percentile intervals (resampling clips).

    Returns a frame indexed by :data:`TARGET_NAMES` with columns ``estimate``,
    ``ci_low``, ``ci_high``, ``boot_sd``.
    """
    if n_boot < 2:
        raise ValueError(f"n_boot must be at least 2; got {n_boot}")
    if not 0.0 < ci < 1.0:
        raise ValueError(f"ci must be in (0, 1); got {ci}")
    stats = (
        target_stats(batch_or_stats)
        if isinstance(batch_or_stats, ClipBatch)
        else np.asarray(batch_or_stats, dtype=np.float64)
    )
    n = len(stats)
    if n == 0:
        raise ValueError("cannot compute targets of an empty set")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    estimate = targets_from_stats(stats.sum(axis=0, keepdims=True))[0]
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float64)
    boot = targets_from_stats(weights @ stats)
    lo, hi = np.quantile(boot, [(1 - ci) / 2, (1 + ci) / 2], axis=0)
    return pd.DataFrame(
        {"estimate": estimate, "ci_low": lo, "ci_high": hi, "boot_sd": boot.std(axis=0)},
        index=pd.Index(TARGET_NAMES, name="target"),
    )


def corpus_targets(
    batch: ClipBatch,
    *,
    by: str | None = "pack",
    n_boot: int = 200,
    ci: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Targets of the whole batch (set ``"all"``) and of each value of ``batch.meta[by]``.

    Long format: one row per (set, target) with columns ``level`` (``"all"`` or
    ``by``), ``set``, ``target``, ``kind``, ``estimate``, ``ci_low``, ``ci_high``,
    ``boot_sd``, ``n_clips``. Each set's bootstrap uses its own child of
    ``SeedSequence(seed)``, so a set's intervals do not depend on the others.
    """
    if len(batch) == 0:
        raise ValueError("cannot compute corpus targets: the dataset has no clips")
    if by is not None and by not in batch.meta.columns:
        raise ValueError(
            f"cannot group by {by!r}: clip metadata has columns {sorted(batch.meta.columns)}"
        )
    stats = target_stats(batch)
    sets: list[tuple[str, str, np.ndarray]] = [("all", "all", np.arange(len(batch)))]
    if by is not None:
        labels = batch.meta[by].astype("string").fillna("<missing>").to_numpy()
        codes, uniques = pd.factorize(labels, sort=True)
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
        for k, name in enumerate(uniques):
            sets.append((by, str(name), order[bounds[k] : bounds[k + 1]]))
    children = np.random.SeedSequence(seed).spawn(len(sets))
    frames = []
    for (level, name, rows), child in zip(sets, children, strict=True):
        frame = bootstrap_targets(
            stats[rows], n_boot=n_boot, ci=ci, seed=np.random.default_rng(child)
        )
        frame = frame.reset_index()
        frame.insert(0, "set", name)
        frame.insert(0, "level", level)
        frame.insert(3, "kind", [target_kind(t) for t in frame["target"]])
        frame["n_clips"] = len(rows)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def pooled_targets(batch: ClipBatch, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Pooled targets of many sets at once (no bootstrap): ``(n_groups, T)``."""
    return targets_from_stats(group_sum(target_stats(batch), np.asarray(groups), n_groups))


def save_targets(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a :func:`corpus_targets` table as Parquet (atomic), schema version in metadata."""
    info = {"summary_version": SUMMARY_VERSION, "summaries_hash": summaries_hash()}
    save_tagged_table(frame, path, kind="corpus_targets", schema=TARGETS_SCHEMA, info=info)


def load_targets(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a table written by :func:`save_targets`; refuses other files and schema versions."""
    return load_tagged_table(
        path, kind="corpus_targets", schema=TARGETS_SCHEMA, label="corpus-targets"
    )
