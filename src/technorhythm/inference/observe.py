"""The observation x of a set of clips: its summary vector plus its size N.

One code path serves real and simulated sets: ``x = [summarize(set), n_feature(N)]``
with ``n_feature(N) = log2(N) / 10`` (0 for one clip, 1 for 1024 clips — O(1) like
the summaries).

Sets larger than the training range
------------------------------------
The estimator is trained on sets of 1 … ``n_max`` clips (default :data:`N_MAX` = 1024).
The posterior width shrinks with N, so conditioning on an N the network never saw would
be an accident of extrapolation. :func:`observe` therefore refuses larger sets unless the
caller chooses ``n_cap``: the summaries are still computed from *all* clips (so they are
less noisy), but the network is told N = ``min(N, n_cap)``. The result is a deliberately
*tempered* posterior — about as wide as for ``n_cap`` clips, i.e. wider (more
conservative) than the exact posterior for N clips would be.
"""

from __future__ import annotations

import numpy as np

from technorhythm.clips import ClipBatch

__all__ = ["N_MAX", "N_FEATURE_NAME", "n_feature", "effective_n", "observe", "observe_sets"]

N_MAX = 1024
"""Largest set size in the default training range (sets of 1 … 1024 clips)."""
N_FEATURE_NAME = "log2_n_over_10"
"""Name of the last x entry: log2(N) / 10."""


def n_feature(n: int | np.ndarray) -> np.ndarray:
    """The set-size entry of x: ``log2(N) / 10`` (float64), for N ≥ 1."""
    n = np.asarray(n, dtype=np.float64)
    if np.any(n < 1):
        raise ValueError(f"set sizes must be at least 1; got min {n.min()}")
    return np.log2(n) / 10.0


def effective_n(n: int | np.ndarray, *, n_cap: int | None, n_max: int = N_MAX) -> np.ndarray:
    """Set size(s) the network is conditioned on: ``n``, or ``min(n, n_cap)``.

    Parameters
    ----------
    n : int or array of int
        Actual set sizes (clips).
    n_cap : int or None
        None: refuse any set larger than ``n_max``. An int in 1 … ``n_max``: condition on
        ``min(n, n_cap)`` (a tempered posterior for larger sets).
    n_max : int
        Largest set size the model was trained on.
    """
    n = np.asarray(n, dtype=np.int64)
    if n_cap is not None:
        if isinstance(n_cap, bool) or not isinstance(n_cap, int | np.integer):
            raise ValueError(f"n_cap must be an integer or None; got {n_cap!r}")
        if not 1 <= n_cap <= n_max:
            raise ValueError(
                f"n_cap must be between 1 and the training range's largest set ({n_max}); "
                f"got {n_cap}"
            )
        return np.minimum(n, int(n_cap))
    too_big = n > n_max
    if np.any(too_big):
        raise ValueError(
            f"a set of {int(n.max())} clips is beyond the training range of 1–{n_max} clips "
            f"per set. Pass n_cap={n_max} (CLI: --n-cap {n_max}) to condition on {n_max} "
            "clips, which gives a deliberately tempered (wider) posterior, or fit smaller "
            "groups."
        )
    return n


def observe_sets(
    batch: ClipBatch,
    groups: np.ndarray,
    *,
    n_sets: int | None = None,
    n_cap: int | None = None,
    n_max: int = N_MAX,
) -> np.ndarray:
    """x for many sets at once: ``(G, S + 1)`` float64, summaries then ``n_feature``.

    ``groups`` (B,) holds each clip's set id in 0 … G-1 (every id must occur); see
    :func:`technorhythm.summaries.summarize_sets`. ``n_cap``/``n_max`` as in
    :func:`effective_n`.
    """
    from technorhythm.summaries import summarize_sets

    groups = np.asarray(groups)
    summaries = summarize_sets(batch, groups, n_sets=n_sets)
    sizes = np.bincount(groups.astype(np.int64), minlength=summaries.shape[0])
    n_eff = effective_n(sizes, n_cap=n_cap, n_max=n_max)
    return np.column_stack([summaries.astype(np.float64), n_feature(n_eff)])


def observe(batch: ClipBatch, *, n_cap: int | None = None, n_max: int = N_MAX) -> np.ndarray:
    """x of one set (all clips of ``batch``): ``(S + 1,)`` float64.

    Raises ``ValueError`` for an empty batch, and for a batch of more than ``n_max`` clips
    unless ``n_cap`` is given (see the module docstring).
    """
    if not isinstance(batch, ClipBatch):
        raise TypeError(f"expected a ClipBatch; got {type(batch).__name__}")
    if len(batch) == 0:
        raise ValueError("cannot observe an empty set: the batch has no clips")
    return observe_sets(batch, np.zeros(len(batch), dtype=np.int64), n_cap=n_cap, n_max=n_max)[0]
