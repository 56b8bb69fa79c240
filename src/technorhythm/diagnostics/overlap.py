"""MGEval-style overlap of distance distributions (Yang & Lerch 2018, as in GrooveEvaluator).

For a per-clip feature f, the *intra-set* distances of a set A are |f(a_i) − f(a_j)| over
pairs of its clips, and the *inter-set* distances between A and B are |f(a_i) − f(b_j)|.
If B comes from the same distribution as A, both distance distributions are the same.
Each is smoothed with a Gaussian kernel density on a common grid; the report gives the
overlapping area ``OA = ∫ min(p_intra, p_inter)`` (1 = identical, 0 = disjoint) and
``KL(p_intra ‖ p_inter)`` (nats; 0 = identical).

The kernel bandwidth is Silverman's rule with a floor of half the feature's resolution
(:data:`RESOLUTION`): a pack of step-sequencer loops whose clips all have the same
density has intra-set distances that are all 0, where scipy's ``gaussian_kde`` would fail
on a singular covariance.

Features (:data:`OVERLAP_FEATURES`), per clip:

``density``
    onsets per bar, all instruments.
``syncopation``
    Longuet-Higgins & Lee syncopation per bar of the union of all instruments: an onset on
    a weaker metrical position followed by a rest on a stronger one, before the next onset,
    scores the difference of the metrical weights (:data:`LHL_WEIGHTS`); read circularly.
``velocity``
    mean MIDI velocity of the clip's onsets.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from technorhythm.clips import N_BARS, N_STEPS, ClipBatch
from technorhythm.diagnostics.resampling import group_labels, half_splits

__all__ = [
    "OVERLAP_FEATURES",
    "LHL_WEIGHTS",
    "RESOLUTION",
    "syncopation",
    "overlap_features",
    "distance_overlap",
    "run_overlap",
]

OVERLAP_FEATURES: tuple[str, ...] = ("density", "syncopation", "velocity")
LHL_WEIGHTS: np.ndarray = np.array([0, -4, -3, -4, -2, -4, -3, -4, -1, -4, -3, -4, -2, -4, -3, -4])
"""Longuet-Higgins & Lee metrical weights of the 16 positions of a 4/4 bar (0 = downbeat)."""
RESOLUTION: dict[str, float] = {"density": 0.25, "syncopation": 0.25, "velocity": 1.0}
"""Smallest step of each feature (one onset or weight unit per 4 bars; one velocity unit)."""
_GRID = 256


def syncopation(onsets: np.ndarray) -> np.ndarray:
    """LHL syncopation per bar of each clip's union onset pattern, ``onsets`` (B, 64) bool."""
    onsets = np.asarray(onsets, dtype=bool)
    w = np.tile(LHL_WEIGHTS, N_STEPS // len(LHL_WEIGHTS)).astype(np.float64)
    b = onsets.shape[0]
    best_rest = np.full((b, N_STEPS), -np.inf)  # strongest rest after each step so far
    open_ = onsets.copy()  # still looking for the next onset
    for k in range(1, N_STEPS):
        nxt = np.roll(onsets, -k, axis=1)  # onset at step t + k
        w_next = np.roll(w, -k)
        rest = open_ & ~nxt
        best_rest = np.where(rest, np.maximum(best_rest, w_next), best_rest)
        open_ &= ~nxt
    score = np.where(onsets & (best_rest > w), best_rest - w, 0.0)
    return score.sum(axis=1) / N_BARS


def overlap_features(batch: ClipBatch) -> dict[str, np.ndarray]:
    """The :data:`OVERLAP_FEATURES` of every clip, each an array (B,)."""
    on = batch.onsets
    n_on = on.sum(axis=(1, 2))
    vel = batch.velocity.astype(np.float64).sum(axis=(1, 2))
    return {
        "density": n_on / N_BARS,
        "syncopation": syncopation(on.any(axis=1)),
        "velocity": np.divide(vel, n_on, out=np.zeros_like(vel), where=n_on > 0),
    }


def _pair_distances(a: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    if b is None:
        i, j = np.triu_indices(len(a), k=1)
        return np.abs(a[i] - a[j])
    return np.abs(a[:, None] - b[None, :]).ravel()


def _kde(samples: np.ndarray, grid: np.ndarray, floor: float) -> np.ndarray:
    n = len(samples)
    sd = samples.std()
    h = max(1.06 * sd * n ** (-0.2), floor)
    dens = np.exp(-0.5 * ((grid[:, None] - samples[None, :]) / h) ** 2).sum(axis=1)
    dens /= np.trapezoid(dens, grid)
    return dens


def distance_overlap(
    intra: np.ndarray,
    inter: np.ndarray,
    *,
    resolution: float,
    max_pairs: int = 20000,
    seed: int = 0,
) -> tuple[float, float]:
    """``(OA, KL)`` of the intra- and inter-set distance samples (see the module docstring)."""
    if len(intra) == 0 or len(inter) == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    if len(intra) > max_pairs:
        intra = rng.choice(intra, max_pairs, replace=False)
    if len(inter) > max_pairs:
        inter = rng.choice(inter, max_pairs, replace=False)
    floor = resolution / 2
    top = max(intra.max(), inter.max()) + 4 * floor
    grid = np.linspace(-4 * floor, top, _GRID)
    p, q = _kde(intra, grid, floor), _kde(inter, grid, floor)
    oa = float(np.trapezoid(np.minimum(p, q), grid))
    eps = 1e-12
    kl = float(np.trapezoid(p * np.log((p + eps) / (q + eps)), grid))
    return min(oa, 1.0), max(kl, 0.0)


def run_overlap(
    real: ClipBatch, generated: ClipBatch, *, n_splits: int = 3, seed: int = 0
) -> pd.DataFrame:
    """OA and KL per feature for real vs generated, next to the real-halves floor.

    One row per feature: ``oa``, ``kl`` (intra(real) vs inter(real, generated)) and
    ``oa_floor``, ``kl_floor`` (intra(A) vs inter(A, B) for random halves A, B of the real
    set, split by source file, averaged over ``n_splits``; NaN for fewer than 4 real clips
    or a single file).
    """
    fr, fg = overlap_features(real), overlap_features(generated)
    splits = half_splits(group_labels(real), n_splits, seed) if len(real) >= 4 else []
    rows = []
    for name in OVERLAP_FEATURES:
        res = RESOLUTION[name]
        oa, kl = distance_overlap(
            _pair_distances(fr[name], None), _pair_distances(fr[name], fg[name]), resolution=res
        )
        floors = []
        for rows_a, rows_b in splits:
            a, b = fr[name][rows_a], fr[name][rows_b]
            if len(a) >= 2:
                pair = (_pair_distances(a, None), _pair_distances(a, b))
                floors.append(distance_overlap(*pair, resolution=res))
        oa_f, kl_f = np.mean(floors, axis=0) if floors else (np.nan, np.nan)
        rows.append(
            {"feature": name, "oa": oa, "kl": kl, "oa_floor": float(oa_f), "kl_floor": float(kl_f)}
        )
    return pd.DataFrame(rows)
