"""The misspecification verdict: is this set of clips something the fitted model makes?

Input: the observed summary vector ``x_obs`` (S,) of a group and the summary vectors
``x_pred`` (P, S) of P sets of the same size drawn from the group's posterior predictive.

Graded, per summary
    a two-sided *mid-rank tail probability* of ``x_obs`` among the P predictive values,
    ``p_s = min(1, 2 · min(lower, upper))`` with ``lower = (#{v < x} + ½#{v = x} + ½)/(P + 1)``
    (``upper`` likewise). It never falls below ``1/(P + 1)`` and a summary that is constant
    in the predictive and equal to the observation gets ``p_s = 1`` — no variance floor and
    no z-score can blow up. The *surprise* of a summary is ``−log p_s``.

Graded, per aspect
    the summaries are grouped into musical aspects (:func:`aspect_of`: kick, snare, hats,
    cymbal, velocity, timing, bars, coupling); an aspect's statistic is the sum of its
    summaries' surprises.

Calibrated
    whether a statistic is large is judged against the predictive sets themselves: every
    predictive set in turn plays the observation against the other P − 1 (leave one out),
    which gives P draws of each statistic under the model, correlations between summaries
    included. An aspect's p-value is ``(1 + #{S_j ≥ S_obs}) / (P + 1)``. The verdict
    combines the aspects and the whole vector by their smallest p-value, itself calibrated
    the same way (the null sets' smallest p-values, leave one out), so one aspect far off is
    found even when the others fit. The false-alarm rate of ``p < alpha`` on sets the model
    did make is measured in ``benchmarks/validate_checks.py`` and documented in
    docs/checks.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "ASPECTS",
    "Verdict",
    "VerdictCalibration",
    "aspect_of",
    "tail_probabilities",
    "run_verdict",
    "check_verdict",
]

ASPECTS: tuple[str, ...] = (
    "kick",
    "snare",
    "hats",
    "cymbal",
    "velocity",
    "timing",
    "bars",
    "coupling",
)
"""Musical aspects the summaries are graded by."""


def aspect_of(name: str) -> str:
    """The aspect (:data:`ASPECTS`) a summary name belongs to."""
    base = name.removesuffix("_sd")
    if base.startswith("vel_"):
        return "velocity"
    if base.startswith(("offset_", "swing", "timing_", "push_")):
        return "timing"
    if base.startswith("cooc_"):
        return "coupling"
    if base.startswith("bar_repeat"):
        return "bars"
    if "kick" in base:
        return "kick"
    if "snare" in base:
        return "snare"
    if "hh_" in base or "hat" in base:
        return "hats"
    if "cymbal" in base:
        return "cymbal"
    if base.startswith("log2_n"):
        return "size"
    raise ValueError(f"summary {name!r} belongs to no aspect")


def tail_probabilities(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Two-sided mid-rank tail probability of each row of ``x`` (M, S) among ``ref`` (P, S).

    Returns (M, S) in ``[1/(P + 1), 1]``.
    """
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    ref = np.asarray(ref, dtype=np.float64)
    p = ref.shape[0]
    below = (ref[None, :, :] < x[:, None, :]).sum(axis=1)
    equal = (ref[None, :, :] == x[:, None, :]).sum(axis=1)
    lower = (below + 0.5 * equal + 0.5) / (p + 1)
    upper = (p - below - equal + 0.5 * equal + 0.5) / (p + 1)
    return np.minimum(1.0, 2.0 * np.minimum(lower, upper))


def _loo_surprise(x_pred: np.ndarray) -> np.ndarray:
    """Surprise (P, S) of every predictive set against the other P − 1."""
    p = x_pred.shape[0]
    out = np.empty_like(x_pred, dtype=np.float64)
    for j in range(p):
        others = np.delete(x_pred, j, axis=0)
        out[j] = -np.log(tail_probabilities(x_pred[j], others)[0])
    return out


@dataclass(frozen=True)
class Verdict:
    """The graded, calibrated misspecification verdict of one group.

    Attributes
    ----------
    p_value : p-value of the whole summary vector (small = misspecified); calibrated by the
        :class:`VerdictCalibration` when one was given, else ``p_raw``.
    flagged : ``p_value < alpha``.
    alpha : the threshold used.
    aspects : DataFrame, one row per aspect: ``aspect``, ``n_summaries``, ``surprise``
        (sum of −log p_s), ``p_value`` (calibrated as above), ``n_outside`` (summaries
        outside the range of all P predictive values: by chance each one is with probability
        about 2/(P + 1)), ``worst`` (its most
        surprising summary).
    summaries : DataFrame, one row per summary: ``summary``, ``aspect``, ``observed``,
        ``pred_median``, ``pred_lo``/``pred_hi`` (2.5 / 97.5 % of the predictive),
        ``tail_p``.
    n_sets : predictive sets P.
    n_clips : clips per predictive set.
    p_raw : the p-value before the calibration for the double use of the data.
    calibrated : whether a :class:`VerdictCalibration` was applied.
    """

    p_value: float
    flagged: bool
    alpha: float
    aspects: pd.DataFrame
    summaries: pd.DataFrame
    n_sets: int
    n_clips: int
    p_raw: float = float("nan")
    calibrated: bool = False

    def worst(self, k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` most surprising summaries with their tail probabilities.

        Ties in the tail probability (several summaries outside every predictive value) are
        broken by the distance from the predictive median in units of the predictive 95 %
        width (only used for ordering; it is unbounded when the predictive is constant).
        """
        s = self.summaries
        width = (s["pred_hi"] - s["pred_lo"]).to_numpy()
        excess = np.abs(s["observed"] - s["pred_median"]).to_numpy() / np.maximum(width, 1e-12)
        order = np.lexsort((-excess, s["tail_p"].to_numpy()))[:k]
        top = s.iloc[order]
        return list(zip(top["summary"], top["tail_p"].astype(float), strict=True))

    def as_row(self) -> dict[str, object]:
        """Flat record for tables: p-value, flag, aspect p-values, worst summaries."""
        row: dict[str, object] = {
            "verdict_p": self.p_value,
            "verdict_p_raw": self.p_raw,
            "verdict_calibrated": self.calibrated,
            "flagged": self.flagged,
            "n_outside": int(_outside(self.summaries["tail_p"].to_numpy(), self.n_sets).sum()),
            "n_summaries": len(self.summaries),
            "worst_summaries": "; ".join(f"{n} (p={p:.3f})" for n, p in self.worst()),
            "n_predictive_sets": self.n_sets,
            "n_predictive_clips": self.n_clips,
        }
        for rec in self.aspects.to_dict("records"):
            row[f"p_{rec['aspect']}"] = rec["p_value"]
        return row


@dataclass(frozen=True)
class VerdictCalibration:
    """The raw verdict p-value's distribution on sets the model did make, per set size.

    ``null_p[i]`` holds the raw p-values of well-specified sets of ``sizes[i]`` clips.
    :meth:`calibrate` uses the size nearest on a log scale.
    """

    sizes: tuple[int, ...]
    null_p: tuple[np.ndarray, ...]

    def __post_init__(self) -> None:
        if not self.sizes or len(self.sizes) != len(self.null_p):
            raise ValueError("a verdict calibration needs one p-value sample per set size")
        if any(len(p) < 20 for p in self.null_p):
            raise ValueError("a verdict calibration needs at least 20 null p-values per size")
        order = np.argsort(self.sizes)
        object.__setattr__(self, "sizes", tuple(int(self.sizes[i]) for i in order))
        object.__setattr__(
            self, "null_p", tuple(np.sort(np.asarray(self.null_p[i], float)) for i in order)
        )

    def calibrate(self, p_raw: float, n_clips: int) -> float:
        """``(1 + #{null ≤ p_raw}) / (M + 1)`` among the null p-values of the nearest size."""
        sizes = np.log(np.asarray(self.sizes, dtype=float))
        i = int(np.argmin(np.abs(sizes - np.log(max(int(n_clips), 1)))))
        null = self.null_p[i]
        below = np.searchsorted(null, p_raw + 1e-12, side="right")
        return float(min(1.0, (1 + below) / (len(null) + 1)))

    def to_dict(self) -> dict:
        """JSON-ready record (``sizes`` and ``null_p`` lists)."""
        return {
            "kind": "technorhythm.verdict_calibration",
            "version": 1,
            "sizes": list(self.sizes),
            "null_p": [np.round(p, 6).tolist() for p in self.null_p],
        }

    @classmethod
    def from_dict(cls, record: dict) -> VerdictCalibration:
        """Read :meth:`to_dict`'s record; refuses other kinds and versions."""
        if record.get("kind") != "technorhythm.verdict_calibration" or record.get("version") != 1:
            raise ValueError("not a technorhythm verdict calibration of version 1")
        return cls(tuple(record["sizes"]), tuple(np.asarray(p) for p in record["null_p"]))


def _outside(tail: np.ndarray, n_sets: int) -> np.ndarray:
    """Summaries outside the range of every predictive value (the smallest tail p)."""
    return tail <= 1.0 / (n_sets + 1) + 1e-12


def _calibrated_p(stat_obs: float, stat_null: np.ndarray) -> float:
    return float((1 + np.sum(stat_null >= stat_obs - 1e-12)) / (len(stat_null) + 1))


def _null_p(stat_null: np.ndarray) -> np.ndarray:
    """Each null statistic's p-value among the other P − 1 (leave one out), shape (P,)."""
    ge = (stat_null[None, :] >= stat_null[:, None] - 1e-12).sum(axis=1) - 1
    return (1 + ge) / len(stat_null)


def run_verdict(
    x_obs: np.ndarray,
    x_pred: np.ndarray,
    *,
    summary_names: Sequence[str],
    alpha: float = 0.05,
    n_clips: int = 0,
    calibration: VerdictCalibration | None = None,
    n_real: int | None = None,
) -> Verdict:
    """The verdict of ``x_obs`` (S,) against predictive summaries ``x_pred`` (P, S).

    Entries named ``log2_n…`` (the set size, the same in every set) are ignored.
    ``calibration`` maps the raw p-value for a set of ``n_real`` clips (default
    ``n_clips``) through its null distribution.
    """
    x_obs = np.asarray(x_obs, dtype=np.float64)
    x_pred = np.asarray(x_pred, dtype=np.float64)
    if x_pred.ndim != 2 or x_obs.shape != (x_pred.shape[1],):
        raise ValueError(f"x_obs (S,) and x_pred (P, S) disagree: {x_obs.shape}, {x_pred.shape}")
    if len(summary_names) != x_obs.shape[0]:
        raise ValueError(f"{len(summary_names)} summary names for {x_obs.shape[0]} entries")
    if x_pred.shape[0] < 20:
        raise ValueError(f"the verdict needs at least 20 predictive sets; got {x_pred.shape[0]}")
    if not (np.all(np.isfinite(x_obs)) and np.all(np.isfinite(x_pred))):
        raise ValueError("summaries must be finite")
    aspects = np.array([aspect_of(n) for n in summary_names])
    keep = aspects != "size"
    names = [n for n, k in zip(summary_names, keep, strict=True) if k]
    aspects, x_obs, x_pred = aspects[keep], x_obs[keep], x_pred[:, keep]

    tail = tail_probabilities(x_obs, x_pred)[0]
    s_obs = -np.log(tail)
    s_null = _loo_surprise(x_pred)
    rows = []
    p_obs = [_calibrated_p(s_obs.sum(), s_null.sum(axis=1))]  # the whole vector first
    p_null = [_null_p(s_null.sum(axis=1))]
    for aspect in ASPECTS:
        cols = aspects == aspect
        if not cols.any():
            continue
        worst = int(np.argmax(np.where(cols, s_obs, -np.inf)))
        null_stat = s_null[:, cols].sum(axis=1)
        p_obs.append(_calibrated_p(s_obs[cols].sum(), null_stat))
        p_null.append(_null_p(null_stat))
        rows.append(
            {
                "aspect": aspect,
                "n_summaries": int(cols.sum()),
                "surprise": float(s_obs[cols].sum()),
                "p_value": p_obs[-1],
                "n_outside": int(_outside(tail[cols], x_pred.shape[0]).sum()),
                "worst": names[worst],
            }
        )
    # min-p over the whole vector and the aspects, calibrated on the null sets' min-p
    p_all = _calibrated_p(-min(p_obs), -np.min(np.stack(p_null), axis=0))
    lo, med, hi = np.quantile(x_pred, [0.025, 0.5, 0.975], axis=0)
    summaries = pd.DataFrame(
        {
            "summary": names,
            "aspect": aspects,
            "observed": x_obs,
            "pred_median": med,
            "pred_lo": lo,
            "pred_hi": hi,
            "tail_p": tail,
        }
    )
    p_cal = p_all
    if calibration is not None:
        p_cal = calibration.calibrate(p_all, int(n_real if n_real is not None else n_clips))
    return Verdict(
        p_value=p_cal,
        flagged=bool(p_cal < alpha),
        alpha=float(alpha),
        aspects=pd.DataFrame(rows),
        summaries=summaries,
        n_sets=int(x_pred.shape[0]),
        n_clips=int(n_clips),
        p_raw=p_all,
        calibrated=calibration is not None,
    )


def check_verdict(verdicts: Sequence[Verdict]) -> dict[str, float]:
    """False-alarm style figures over many verdicts: share flagged, and of p < 0.01."""
    p = np.array([v.p_value for v in verdicts])
    return {
        "n": len(p),
        "flagged_share": float(np.mean([v.flagged for v in verdicts])) if len(p) else np.nan,
        "p_below_0.01": float(np.mean(p < 0.01)) if len(p) else np.nan,
        "median_p": float(np.median(p)) if len(p) else np.nan,
    }
