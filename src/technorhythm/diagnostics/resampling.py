"""Resampling real clips the way they were made: whole source files at a time.

Clips cut from one MIDI file share its performance (tempo, kit, patterns); two windows of
an 8-bar demo pattern are near copies. Noise floors (two halves of a pack), bootstrap bands
and classifier folds that split a file's clips across sides would treat copies as
independent evidence. Everything here therefore resamples *groups* — the ``source`` file of
each clip when the clips carry it, else single clips.
"""

from __future__ import annotations

import numpy as np

__all__ = ["GROUP_COLUMN", "group_labels", "half_splits"]

GROUP_COLUMN = "source"
"""Metadata column naming the file a clip was cut from."""


def group_labels(batch, group_by: str | None = GROUP_COLUMN) -> np.ndarray:
    """Group label (str) of each clip of ``batch``: ``meta[group_by]``, else one per clip."""
    n = len(batch)
    meta = getattr(batch, "meta", None)
    if group_by and meta is not None and group_by in meta and meta[group_by].notna().all():
        return meta[group_by].astype(str).to_numpy()
    return np.array([f"clip{i}" for i in range(n)], dtype=object)


def half_splits(
    groups: np.ndarray, n_splits: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n_splits`` random splits of clips into two halves with no group on both sides.

    Groups are shuffled and taken in turn into the first half while that brings it closer
    to half the clips; the rest form the second half. With one clip per group this is a random
    split into ``n // 2`` and ``n - n // 2`` clips. Returns row indices (A, B) per split; a
    pack of a single file cannot be split and gives an empty list.
    """
    groups = np.asarray(groups)
    names, inverse, sizes = np.unique(groups, return_inverse=True, return_counts=True)
    if len(names) < 2:
        return []
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(int(n_splits)):
        order = rng.permutation(len(names))
        filled = np.cumsum(sizes[order])
        k = int(np.argmin(np.abs(filled[:-1] - len(groups) / 2))) + 1  # 1 … G − 1 groups
        first = np.zeros(len(names), dtype=bool)
        first[order[:k]] = True
        rows = np.arange(len(groups))
        out.append((rows[first[inverse]], rows[~first[inverse]]))
    return out
