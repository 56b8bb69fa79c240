"""Summary statistics of clip sets: per-clip features, set-level summaries, targets and distances.

One implementation serves real and simulated clips alike: everything starts
from :func:`technorhythm.summaries.core.clip_stats` over a :class:`~technorhythm.clips.ClipBatch`.

* :func:`clip_features` / :func:`features_frame` — named per-clip features (:data:`FEATURE_NAMES`).
* :func:`summarize_sets` / :func:`summarize` — fixed-length, scale-normalised set vectors for
  inference (:data:`SUMMARY_NAMES`, :func:`summaries_hash`).
* :func:`corpus_targets` / :func:`bootstrap_targets` — pooled set-level targets with bootstrap
  intervals; :func:`save_targets` / :func:`load_targets`.
* :func:`distance` — JS / Frobenius / L2 / MMD² / KL components and the composite ``D``.

EDA lives in :mod:`technorhythm.summaries.eda` (scikit-learn) and its plots in
:mod:`technorhythm.summaries.plots` (matplotlib); neither is imported here.
"""

from technorhythm.summaries.distances import DistanceReport, DistanceWeights, distance
from technorhythm.summaries.features import (
    FEATURE_DOCS,
    FEATURE_NAMES,
    NGRAM_ALPHA,
    clip_features,
    features_frame,
    load_features,
    save_features,
)
from technorhythm.summaries.sets import (
    SUMMARY_DOCS,
    SUMMARY_NAMES,
    SUMMARY_VERSION,
    summaries_hash,
    summarize,
    summarize_sets,
    summary_table,
)
from technorhythm.summaries.targets import (
    TARGET_NAMES,
    bootstrap_targets,
    corpus_targets,
    load_targets,
    pooled_targets,
    save_targets,
)

__all__ = [
    "FEATURE_DOCS",
    "FEATURE_NAMES",
    "NGRAM_ALPHA",
    "clip_features",
    "features_frame",
    "save_features",
    "load_features",
    "SUMMARY_DOCS",
    "SUMMARY_NAMES",
    "SUMMARY_VERSION",
    "summaries_hash",
    "summarize",
    "summarize_sets",
    "summary_table",
    "TARGET_NAMES",
    "bootstrap_targets",
    "corpus_targets",
    "pooled_targets",
    "save_targets",
    "load_targets",
    "DistanceReport",
    "DistanceWeights",
    "distance",
]
