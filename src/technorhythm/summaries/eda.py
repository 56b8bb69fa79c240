"""Exploratory analysis of a clip set (the numbers behind ``technorhythm eda``).

:func:`run_eda` returns arrays and tables only; :mod:`technorhythm.summaries.plots`
draws them. Decompositions use scikit-learn on the clip matrix
``X = velocity / 127`` flattened to ``(B, 5 × 64)``: PCA (centred, components
signed) and NMF (non-negative parts, ``init="nndsvda"``), each component
reshaped to a ``(5, 64)`` piano-roll.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from technorhythm.clips import (
    HH_CLOSED,
    HH_OPEN,
    INSTRUMENTS,
    KICK,
    N_INSTRUMENTS,
    N_STEPS,
    STEPS_PER_BEAT,
    ClipBatch,
)
from technorhythm.summaries.core import onset_bits, popcount, rotate
from technorhythm.summaries.features import features_frame

__all__ = ["PHASE_LAGS", "GROUP_COLUMNS", "EdaResult", "run_eda", "group_table"]

PHASE_LAGS: tuple[int, ...] = tuple(range(-4, 5))
"""Lags (16th steps) of the kick→hat cross-correlation profile."""

GROUP_COLUMNS: tuple[str, ...] = (
    "density_kick",
    "density_snare",
    "density_hh_closed",
    "density_hh_open",
    "density_cymbal",
    "off16_ratio_kick",
    "off8_ratio_hh_closed",
    "off16_ratio_hh_closed",
    "snare_backbeat",
    "snare_other_density",
    "acf_kick_lag4",
    "bar_repeat",
    "vel_mean_kick",
    "vel_mean_hh_closed",
    "vel_accent",
    "swing",
    "timing_spread_ms",
    "push_kick_ms",
    "push_snare_ms",
)
"""Features averaged per group in :func:`group_table` (means over clips, NaN-aware)."""


@dataclass(frozen=True)
class EdaResult:
    """Everything ``technorhythm eda`` draws.

    Attributes
    ----------
    features : DataFrame
        Per-clip features with NaN for undefined values, plus ``group`` (the ``by`` column).
    beat_phase : DataFrame
        Index (group, instrument), columns 0–3: share of onsets on each 16th of the beat.
    kick_hat_xcorr : DataFrame
        Index group, columns :data:`PHASE_LAGS`: share of kicks with a hat d steps later.
    velocities, offsets_ms : dict
        Instrument → 1-D array of the velocities / microtiming offsets (ms) of all onsets.
    pca_components : ndarray (K, 5, 64)
    pca_explained : ndarray (K,)
        Explained variance ratio of each PCA component.
    nmf : dict
        K → ``(components (K, 5, 64), relative reconstruction error)``.
    groups : DataFrame
        :func:`group_table` of the features by group.
    """

    by: str | None
    features: pd.DataFrame
    beat_phase: pd.DataFrame
    kick_hat_xcorr: pd.DataFrame
    velocities: dict[str, np.ndarray]
    offsets_ms: dict[str, np.ndarray]
    pca_components: np.ndarray
    pca_explained: np.ndarray
    nmf: dict[int, tuple[np.ndarray, float]] = field(default_factory=dict)
    groups: pd.DataFrame = field(default_factory=pd.DataFrame)


def group_table(features: pd.DataFrame, by: str = "group") -> pd.DataFrame:
    """Clip count and the mean of :data:`GROUP_COLUMNS` per group (+ an ``all`` row)."""
    cols = [c for c in GROUP_COLUMNS if c in features.columns]
    parts = features.groupby(by, sort=True)[cols].mean()
    parts.insert(0, "n_clips", features.groupby(by, sort=True).size())
    overall = features[cols].mean().to_frame("all").T
    overall.insert(0, "n_clips", len(features))
    table = pd.concat([overall, parts])
    table.index.name = by
    return table.sort_values("n_clips", ascending=False)


def _beat_phase(on: np.ndarray, labels: np.ndarray, names: list[str]) -> pd.DataFrame:
    rows, index = [], []
    by_phase = on.reshape(len(on), N_INSTRUMENTS, -1, STEPS_PER_BEAT).sum(axis=2)  # (B, I, 4)
    hats = by_phase[:, HH_CLOSED] + by_phase[:, HH_OPEN]
    for name in ["all", *names]:
        sel = slice(None) if name == "all" else labels == name
        for inst, counts in (
            ("kick", by_phase[sel, KICK]),
            ("snare", by_phase[sel, 1]),
            ("hats", hats[sel]),
        ):
            total = counts.sum()
            rows.append(counts.sum(axis=0) / total if total else np.zeros(STEPS_PER_BEAT))
            index.append((name, inst))
    return pd.DataFrame(rows, index=pd.MultiIndex.from_tuples(index, names=["group", "instrument"]))


def _kick_hat_xcorr(batch: ClipBatch, labels: np.ndarray, names: list[str]) -> pd.DataFrame:
    x = onset_bits(batch.onsets)
    kick, hat = x[:, KICK], x[:, HH_CLOSED] | x[:, HH_OPEN]
    counts = np.stack([popcount(kick & rotate(hat, d)) for d in PHASE_LAGS], axis=1)
    n_kick = popcount(kick)
    rows = {}
    for name in ["all", *names]:
        sel = slice(None) if name == "all" else labels == name
        total = n_kick[sel].sum()
        rows[name] = counts[sel].sum(axis=0) / total if total else np.zeros(len(PHASE_LAGS))
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(PHASE_LAGS))


def run_eda(
    batch: ClipBatch,
    *,
    by: str | None = "style",
    top_groups: int = 8,
    n_pca: int = 4,
    nmf_ks: tuple[int, ...] = (2, 3, 4),
    seed: int = 0,
) -> EdaResult:
    """Compute the EDA tables and decompositions of ``batch``.

    ``by`` names a metadata column (style, pack, …) for per-group breakdowns; the
    ``top_groups`` largest groups are shown separately in the phase tables.
    """
    from sklearn.decomposition import NMF, PCA

    if len(batch) < 2:
        raise ValueError(f"EDA needs at least 2 clips; got {len(batch)}")
    if by is not None and by not in batch.meta.columns:
        raise ValueError(
            f"cannot group by {by!r}: clip metadata has columns {sorted(batch.meta.columns)}"
        )
    if any(k < 1 for k in nmf_ks) or n_pca < 1:
        raise ValueError("PCA and NMF need at least one component")
    features = features_frame(batch, fill=np.nan)
    labels = (
        batch.meta[by].astype("string").fillna("<missing>").to_numpy(dtype=object)
        if by is not None
        else np.full(len(batch), "all", dtype=object)
    )
    features["group"] = labels
    names = list(pd.Series(labels).value_counts().index[:top_groups]) if by is not None else []
    on = batch.onsets
    velocities = {
        i: batch.velocity[:, k][on[:, k]].astype(np.float64) for k, i in enumerate(INSTRUMENTS)
    }
    offsets_ms = {
        i: batch.offset_ms[:, k][on[:, k]].astype(np.float64) for k, i in enumerate(INSTRUMENTS)
    }
    X = batch.velocity.reshape(len(batch), -1).astype(np.float64) / 127.0
    n_pca = min(n_pca, len(batch), X.shape[1])
    pca = PCA(n_components=n_pca, random_state=seed).fit(X)
    nmf = {}
    for k in nmf_ks:
        model = NMF(n_components=k, init="nndsvda", max_iter=500, random_state=seed)
        weights = model.fit_transform(X)
        scale = weights.max(axis=0)  # put the activation scale into the parts
        parts = model.components_ * scale[:, None]
        error = float(model.reconstruction_err_ / np.linalg.norm(X))
        nmf[k] = (parts.reshape(k, N_INSTRUMENTS, N_STEPS), error)
    return EdaResult(
        by=by,
        features=features,
        beat_phase=_beat_phase(on, labels, names),
        kick_hat_xcorr=_kick_hat_xcorr(batch, labels, names),
        velocities=velocities,
        offsets_ms=offsets_ms,
        pca_components=pca.components_.reshape(n_pca, N_INSTRUMENTS, N_STEPS),
        pca_explained=pca.explained_variance_ratio_,
        nmf=nmf,
        groups=group_table(features),
    )
