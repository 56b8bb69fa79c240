"""Distances between two sets of clips (roadmap O-1) and the composite distance D.

All components compare *pooled targets* (:mod:`.targets`) except the MMD,
which compares the two sets' distributions of per-clip feature vectors:

``js``
    Jensen–Shannon divergence (base 2, in [0, 1]; the square of
    ``scipy.spatial.distance.jensenshannon``) averaged over the pooled velocity
    histogram and the five onset-position histograms (an instrument silent in
    either set is skipped).
``ngram``
    Frobenius norm of the difference of the stacked transition matrices: for
    each instrument the 2×2 order-1 and the 4×2 order-2 row-stochastic
    matrices (60 entries, each in [0, 1]).
``acf``
    Euclidean (L2) norm of the difference of the autocorrelation vectors
    (5 instruments × 9 lags).
``mmd``
    Unbiased MMD² with a Gaussian kernel, bandwidth by the median heuristic
    (``sbi.utils.metrics.unbiased_mmd_squared``), between the per-clip feature
    vectors standardised by the pooled mean and std of both sets; at most
    ``max_clips`` clips per set (seeded subsample). Undefined for a set of one
    clip, where it is left out of the components and of ``D``.
``cooc``
    Kullback–Leibler divergence ``KL(a ‖ b)`` (nats, ``scipy.stats.entropy``)
    of the kick→hat and kick→snare lead/lag profiles (co-occurrence over lags
    −2…+2 normalised to sum 1, with ε = 1e-3 added to each cell), summed.

``D = Σ_k w_k · component_k`` with the weights of :class:`DistanceWeights`.
The defaults put every term on a comparable footing: for two unrelated sets
each weighted term is of order 0.1–1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from technorhythm.clips import INSTRUMENTS, STEPS_PER_BAR, ClipBatch
from technorhythm.summaries.core import ACF_LAGS, COOC_LAGS
from technorhythm.summaries.features import FEATURE_NAMES, clip_features
from technorhythm.summaries.targets import TARGET_NAMES, target_stats, targets_from_stats
from technorhythm.threads import limit_threads

__all__ = [
    "DistanceWeights",
    "DistanceReport",
    "js_divergence",
    "ngram_matrices",
    "mmd_squared",
    "target_distances",
    "distance",
]

_COOC_EPS = 1e-3
_T = {n: k for k, n in enumerate(TARGET_NAMES)}


@dataclass(frozen=True)
class DistanceWeights:
    """Weights of the composite distance ``D`` (dimensionless)."""

    js: float = 4.0
    ngram: float = 0.5
    acf: float = 0.5
    mmd: float = 1.0
    cooc: float = 0.5

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"distance weight {name!r} must be finite and ≥ 0; got {value}")


@dataclass(frozen=True)
class DistanceReport:
    """Components of the distance between two sets and their weighted sum ``total``."""

    components: dict[str, float]
    weights: DistanceWeights = field(default_factory=DistanceWeights)

    @property
    def total(self) -> float:
        w = asdict(self.weights)
        return float(sum(w[k] * v for k, v in self.components.items()))


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen–Shannon divergence in bits (∈ [0, 1]) of two histograms (normalised here)."""
    from scipy.spatial.distance import jensenshannon  # lazy: scipy.spatial is slow to import

    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    if p.sum() <= 0 or q.sum() <= 0:
        raise ValueError("Jensen–Shannon divergence needs two non-empty histograms")
    return float(jensenshannon(p, q, base=2) ** 2)


def _pick(targets: np.ndarray, names: list[str]) -> np.ndarray:
    return targets[[_T[n] for n in names]]


def ngram_matrices(targets: np.ndarray) -> np.ndarray:
    """Stacked transition matrices ``(5, 6, 2)`` from a pooled target vector.

    Rows 0–1: order-1 contexts (previous step silent / struck); rows 2–5:
    order-2 contexts 00, 01, 10, 11; columns: P(silent), P(onset).
    """
    rows = []
    for i in INSTRUMENTS:
        p = _pick(targets, [f"ng1_{i}_from{c}" for c in "01"])
        p2 = _pick(targets, [f"ng2_{i}_from{c}" for c in ("00", "01", "10", "11")])
        p_on = np.concatenate([p, p2])
        rows.append(np.stack([1 - p_on, p_on], axis=1))
    return np.stack(rows)


def _histograms(targets: np.ndarray) -> list[np.ndarray]:
    hists = [_pick(targets, [n for n in FEATURE_NAMES if n.startswith("vel_hist_")])]
    for i in INSTRUMENTS:
        hists.append(_pick(targets, [f"pos_{i}_{s:02d}" for s in range(STEPS_PER_BAR)]))
    return hists


def _cooc_profiles(targets: np.ndarray) -> list[np.ndarray]:
    lag = lambda d: f"m{-d}" if d < 0 else f"p{d}"  # noqa: E731
    return [
        _pick(targets, [f"cooc_kick_{partner}_{lag(d)}" for d in COOC_LAGS])
        for partner in ("hat", "snare")
    ]


def target_distances(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """The target-based components (js, ngram, acf, cooc) between pooled target vectors."""
    from scipy.stats import entropy  # lazy: scipy.stats is slow to import

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    js = [
        js_divergence(p, q)
        for p, q in zip(_histograms(a), _histograms(b), strict=True)
        if p.sum() > 0 and q.sum() > 0
    ]
    acf_names = [f"acf_{i}_lag{k}" for i in INSTRUMENTS for k in ACF_LAGS]
    cooc = 0.0
    for p, q in zip(_cooc_profiles(a), _cooc_profiles(b), strict=True):
        cooc += float(entropy(p + _COOC_EPS, q + _COOC_EPS))
    return {
        "js": float(np.mean(js)) if js else 0.0,
        "ngram": float(np.linalg.norm(ngram_matrices(a) - ngram_matrices(b))),
        "acf": float(np.linalg.norm(_pick(a, acf_names) - _pick(b, acf_names))),
        "cooc": cooc,
    }


def mmd_squared(
    x: np.ndarray, y: np.ndarray, *, max_clips: int = 300, seed: int | np.random.Generator = 0
) -> float:
    """Unbiased Gaussian-kernel MMD² (median heuristic) between two samples of feature rows.

    Columns are standardised with the mean and std of both samples pooled (constant
    columns dropped). Each sample is subsampled to ``max_clips`` rows without replacement.
    Uses :func:`sbi.utils.metrics.unbiased_mmd_squared`.
    """
    import torch
    from sbi.utils.metrics import unbiased_mmd_squared

    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if len(x) < 2 or len(y) < 2:
        raise ValueError(f"MMD² needs at least 2 clips per set; got {len(x)} and {len(y)}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if len(x) > max_clips:
        x = x[rng.choice(len(x), max_clips, replace=False)]
    if len(y) > max_clips:
        y = y[rng.choice(len(y), max_clips, replace=False)]
    both = np.concatenate([x, y])
    sd = both.std(axis=0)
    keep = sd > 0
    if not keep.any():
        return 0.0
    mean = both.mean(axis=0)
    # float32: sbi materialises (m, n, d) difference tensors
    xs = torch.from_numpy(((x[:, keep] - mean[keep]) / sd[keep]).astype(np.float32))
    ys = torch.from_numpy(((y[:, keep] - mean[keep]) / sd[keep]).astype(np.float32))
    with limit_threads(1):  # a few hundred rows: one thread is as fast and never oversubscribes
        return float(unbiased_mmd_squared(xs, ys))


def distance(
    a: ClipBatch,
    b: ClipBatch,
    *,
    weights: DistanceWeights | None = None,
    max_clips: int = 300,
    seed: int = 0,
) -> DistanceReport:
    """All components between two sets of clips and the composite ``D`` (``.total``)."""
    if len(a) == 0 or len(b) == 0:
        raise ValueError(f"distance needs two non-empty sets; got {len(a)} and {len(b)} clips")
    ta = targets_from_stats(target_stats(a).sum(axis=0, keepdims=True))[0]
    tb = targets_from_stats(target_stats(b).sum(axis=0, keepdims=True))[0]
    components = target_distances(ta, tb)
    if len(a) >= 2 and len(b) >= 2:
        components["mmd"] = mmd_squared(
            clip_features(a), clip_features(b), max_clips=max_clips, seed=seed
        )
    return DistanceReport(components, weights or DistanceWeights())
