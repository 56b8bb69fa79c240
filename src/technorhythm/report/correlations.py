"""Section: which knobs trade off in a group's posterior, and could be merged.

The posterior correlation matrix of the knobs' mean values is drawn as a heatmap. Merge
candidates are listed when

* a pair has |ρ| ≥ :data:`STRONG_CORRELATION`, or
* several knobs share a *direction of weak identification*: an eigenvector of the
  posterior covariance (in units of each knob's prior sd) along which the posterior keeps
  at least :data:`WEAK_DIRECTION_SD` of the prior's sd, loading at least
  :data:`LOADING` on two or more knobs, each of which the others predict
  (squared multiple correlation ≥ :data:`SHARED_R2`). The last condition separates a
  shared trade-off (the data pins a combination, not the knobs) from knobs that are each
  simply unidentified, whose covariance has arbitrary eigenvectors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from technorhythm.report import html

__all__ = [
    "STRONG_CORRELATION",
    "WEAK_DIRECTION_SD",
    "LOADING",
    "SHARED_R2",
    "WeakDirection",
    "correlation_matrix",
    "strong_pairs",
    "weak_directions",
    "top_pairs",
    "render",
]

STRONG_CORRELATION = 0.5
WEAK_DIRECTION_SD = 0.5
LOADING = 0.35
SHARED_R2 = 0.5


@dataclass(frozen=True)
class WeakDirection:
    """Knobs that move together along a direction the data leaves open.

    ``knobs`` and ``loadings`` (the eigenvector's entries on them), ``sd_ratio``: the
    posterior sd along the direction over the prior's.
    """

    knobs: tuple[str, ...]
    loadings: tuple[float, ...]
    sd_ratio: float


def _varying(draws: np.ndarray) -> np.ndarray:
    """Which columns of draws (S, K) vary beyond floating-point noise."""
    scale = np.abs(draws).max(axis=0) + 1.0
    return draws.std(axis=0) > 1e-9 * scale


def correlation_matrix(draws: np.ndarray) -> np.ndarray:
    """Pearson correlations (K, K) of draws (S, K); NaN where a knob has no spread."""
    centred = draws - draws.mean(axis=0)
    scale = np.sqrt((centred**2).sum(axis=0))
    scale[~_varying(draws)] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = (centred.T @ centred) / np.outer(scale, scale)
    corr[~np.isfinite(corr)] = np.nan
    return corr


def strong_pairs(
    corr: np.ndarray, knobs: list[str], threshold: float = STRONG_CORRELATION
) -> pd.DataFrame:
    """Pairs with |ρ| ≥ ``threshold``: ``knob_a, knob_b, rho``, strongest first."""
    iu = np.triu_indices(len(knobs), k=1)
    rho = corr[iu]
    keep = np.abs(np.nan_to_num(rho)) >= threshold
    frame = pd.DataFrame(
        {
            "knob_a": np.asarray(knobs, dtype=object)[iu[0][keep]],
            "knob_b": np.asarray(knobs, dtype=object)[iu[1][keep]],
            "rho": rho[keep],
        }
    )
    order = np.argsort(-np.abs(frame["rho"].to_numpy()), kind="stable")
    return frame.iloc[order].reset_index(drop=True)


def weak_directions(
    draws: np.ndarray, prior_sd: np.ndarray, knobs: list[str]
) -> list[WeakDirection]:
    """Shared directions of weak identification (module docstring), weakest first."""
    scaled = draws / prior_sd
    idx = np.flatnonzero(_varying(scaled))
    if len(idx) < 2:
        return []
    cov = np.cov(scaled[:, idx], rowvar=False)
    try:
        precision = np.linalg.inv(cov)
    except np.linalg.LinAlgError:
        precision = np.linalg.pinv(cov)
    r2 = 1.0 - 1.0 / (np.diag(cov) * np.diag(precision))
    values, vectors = np.linalg.eigh(cov)
    out = []
    for value, vector in zip(values[::-1], vectors.T[::-1], strict=True):
        sd = float(np.sqrt(max(value, 0.0)))
        if sd < WEAK_DIRECTION_SD:
            break
        loaded = np.flatnonzero(np.abs(vector) >= LOADING)
        if len(loaded) >= 2 and np.all(r2[loaded] >= SHARED_R2):
            out.append(
                WeakDirection(
                    knobs=tuple(knobs[idx[i]] for i in loaded),
                    loadings=tuple(float(vector[i]) for i in loaded),
                    sd_ratio=sd,
                )
            )
    return out


def top_pairs(corr: np.ndarray, knobs: list[str], n: int = 3) -> list[tuple[str, str, float]]:
    """The ``n`` most correlated pairs (knob a, knob b, ρ), strongest first; pairs with an
    undefined correlation are left out."""
    iu = np.triu_indices(len(knobs), k=1)
    rho = corr[iu]
    finite = np.flatnonzero(np.isfinite(rho))
    order = finite[np.argsort(-np.abs(rho[finite]), kind="stable")][:n]
    return [(knobs[iu[0][i]], knobs[iu[1][i]], float(rho[i])) for i in order]


def render(
    pairs: pd.DataFrame, directions: list[WeakDirection], heatmap_png: bytes, pair_png: bytes | None
) -> str:
    """The correlation part of a group: heatmap, merge candidates and pair plot (HTML)."""
    parts = [
        html.image(
            heatmap_png,
            "posterior correlation heatmap",
            "Posterior correlation of the knobs' mean values; cells with |ρ| ≥ "
            f"{STRONG_CORRELATION} carry their value.",
        )
    ]
    items = [
        f"<li><b>{html.escape(r.knob_a)}</b> and <b>{html.escape(r.knob_b)}</b>: "
        f"ρ = {r.rho:+.2f}</li>"
        for r in pairs.itertuples()
    ]
    items += [
        "<li>"
        + ", ".join(
            f"<b>{html.escape(k)}</b> ({v:+.2f})" for k, v in zip(d.knobs, d.loadings, strict=True)
        )
        + f": a shared direction the data leaves open (posterior sd {d.sd_ratio:.2f} of the "
        "prior's along it)</li>"
        for d in directions
    ]
    if items:
        parts.append(
            "<p>Merge candidates (the data constrains a combination rather than each knob):"
            f"</p><ul>{''.join(items)}</ul>"
        )
    else:
        parts.append(
            f"<p>No merge candidates: no pair with |ρ| ≥ {STRONG_CORRELATION} and no shared "
            "direction of weak identification.</p>"
        )
    if pair_png is not None:
        parts.append(
            html.image(
                pair_png,
                "pair plot of the most correlated knobs",
                "Posterior draws of the most correlated pairs of knobs (ArviZ pair plots).",
            )
        )
    return "".join(parts)
