"""Summary statistics of clip sets: per-clip features, set-level summaries, targets and distances.

One implementation serves real and simulated clips alike: everything starts
from :func:`technorhythm.summaries.core.clip_stats` over a :class:`~technorhythm.clips.ClipBatch`.

* :func:`clip_features` / :func:`features_frame` — named per-clip features (:data:`FEATURE_NAMES`).
* :func:`summarize_sets` / :func:`summarize` — fixed-length, scale-normalised set vectors for
  inference (:data:`SUMMARY_NAMES`, :func:`summaries_hash`).
"""

from technorhythm.summaries.features import (
    FEATURE_DOCS,
    FEATURE_NAMES,
    NGRAM_ALPHA,
    clip_features,
    features_frame,
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

__all__ = [
    "FEATURE_DOCS",
    "FEATURE_NAMES",
    "NGRAM_ALPHA",
    "clip_features",
    "features_frame",
    "SUMMARY_DOCS",
    "SUMMARY_NAMES",
    "SUMMARY_VERSION",
    "summaries_hash",
    "summarize",
    "summarize_sets",
    "summary_table",
]
