"""Core histograms of a set of clips, with bootstrap bands: "is the generator inside the bands?"

Four histograms describe what a listener notices first (all pooled over the clips of a set):

``onset``
    per instrument and 16th position of the bar (5 × 16 bins): the probability that a bar
    has an onset there (bars with an onset / bars).
``velocity``
    share of all onsets in each 16-wide MIDI velocity bin (8 bins: 1–15, 16–31, …, 112–127).
``timing``
    share of all onsets per microtiming bin in milliseconds at the clip's own tempo
    (edges :data:`TIMING_EDGES_MS`, 0 ms in the middle bin).
``bar_repeat``
    share of clips in which 0, 1, 2 or 3 of bars 2–4 repeat bar 1 exactly (all instruments).

Each histogram is a ratio of per-clip counts (:func:`clip_counts`), so a bootstrap is
one matrix product. It resamples whole source files (see
:mod:`technorhythm.diagnostics.resampling`; single clips when the clips name no file),
which keeps the bars and onsets of a file together. The 95 % band is the percentile band of
the bootstrap; where the real set has no onset at all in a bin (or one in every bar) the
percentile band collapses to a point, so it is widened there to the exact one-sided 97.5 %
binomial bound with one trial per file (:func:`band`) — the files, not the bars, are the
independent units. ``run_histograms`` compares a generated set with the band and, as the
noise floor, two random halves of the real set (split by file) with each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from technorhythm.clips import INSTRUMENTS, N_BARS, STEPS_PER_BAR, ClipBatch
from technorhythm.diagnostics.resampling import group_labels, half_splits
from technorhythm.summaries.core import VELOCITY_BINS, onset_bits

__all__ = [
    "HISTOGRAMS",
    "TIMING_EDGES_MS",
    "HistogramCheck",
    "bin_labels",
    "clip_counts",
    "normalise",
    "band",
    "run_histograms",
    "check_histograms",
]

HISTOGRAMS: tuple[str, ...] = ("onset", "velocity", "timing", "bar_repeat")
TIMING_EDGES_MS: np.ndarray = np.array(
    [-35.0, -25.0, -15.0, -7.5, -2.5, 2.5, 7.5, 15.0, 25.0, 35.0]
)
"""Inner edges of the microtiming bins (ms); the outer bins are open-ended."""


def bin_labels(name: str) -> list[str]:
    """Readable labels of the bins of histogram ``name``."""
    if name == "onset":
        return [f"{inst}@{p:02d}" for inst in INSTRUMENTS for p in range(STEPS_PER_BAR)]
    if name == "velocity":
        return [f"{max(1, 16 * k)}-{16 * k + 15}" for k in range(VELOCITY_BINS)]
    if name == "timing":
        e = TIMING_EDGES_MS
        return [
            f"<{e[0]:g}",
            *(f"{lo:g}..{hi:g}" for lo, hi in zip(e[:-1], e[1:], strict=True)),
            f">{e[-1]:g}",
        ]
    if name == "bar_repeat":
        return ["0 of 3", "1 of 3", "2 of 3", "3 of 3"]
    raise ValueError(f"unknown histogram {name!r}; choose from {HISTOGRAMS}")


def clip_counts(batch: ClipBatch) -> dict[str, np.ndarray]:
    """Per-clip counts ``(B, bins)`` of every histogram (see the module docstring)."""
    n = len(batch)
    on = batch.onsets
    onset = on.reshape(n, len(INSTRUMENTS), N_BARS, STEPS_PER_BAR).sum(axis=2).reshape(n, -1)
    vel_bin = (batch.velocity >> 4).astype(np.int64)
    velocity = np.stack([((vel_bin == k) & on).sum(axis=(1, 2)) for k in range(VELOCITY_BINS)], 1)
    t_bin = np.digitize(batch.offset_ms, TIMING_EDGES_MS)
    timing = np.stack(
        [((t_bin == k) & on).sum(axis=(1, 2)) for k in range(len(TIMING_EDGES_MS) + 1)], 1
    )
    bits = onset_bits(on)  # (B, 5) uint64
    bar = np.uint64(0xFFFF)
    first = bits & bar
    repeats = sum(
        np.all(((bits >> np.uint64(16 * k)) & bar) == first, axis=1).astype(np.int64)
        for k in (1, 2, 3)
    )
    bar_repeat = np.eye(4, dtype=np.int64)[repeats]
    return {
        "onset": onset.astype(np.float64),
        "velocity": velocity.astype(np.float64),
        "timing": timing.astype(np.float64),
        "bar_repeat": bar_repeat.astype(np.float64),
    }


def normalise(name: str, summed: np.ndarray, n_clips: np.ndarray | float) -> np.ndarray:
    """Histogram ``(..., bins)`` from counts summed over clips.

    ``n_clips`` (scalar or shape ``(...)``) is the number of clips behind each row; the
    onset histogram divides by the bars (4 per clip), the others by their total count.
    """
    summed = np.asarray(summed, dtype=np.float64)
    if name == "onset":
        den = N_BARS * np.asarray(n_clips, dtype=np.float64)[..., None]
    else:
        den = summed.sum(axis=-1, keepdims=True)
    den = np.broadcast_to(den, summed.shape)
    out = np.zeros_like(summed)
    np.divide(summed, den, out=out, where=den > 0)
    return out


def band(
    name: str,
    counts: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    n_boot: int = 400,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap percentile band ``(lo, hi)`` of the pooled histogram of per-clip ``counts``.

    The groups of clips (``groups``, one label per clip; default one group per clip) are
    resampled with replacement ``n_boot`` times. Where every replicate is the same
    proportion at 0 (no onset in any bar) or at 1 (an onset in every bar), the band is
    widened to the exact one-sided binomial bound ``1 - ((1 - level)/2)**(1/G)`` with ``G``
    the number of groups, so that a pack of 20 files without a single open hat on step 3
    does not claim the true rate is exactly 0.
    """
    counts = np.asarray(counts, dtype=np.float64)
    n = len(counts)
    if n == 0:
        raise ValueError("cannot bootstrap an empty set")
    groups = np.arange(n) if groups is None else np.asarray(groups)
    _, inverse = np.unique(groups, return_inverse=True)
    g = int(inverse.max()) + 1
    by_group = np.zeros((g, counts.shape[1]))
    np.add.at(by_group, inverse, counts)
    clips = np.bincount(inverse, minlength=g).astype(np.float64)
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(g, np.full(g, 1.0 / g), size=int(n_boot)).astype(np.float64)
    boot = normalise(name, weights @ by_group, weights @ clips)
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(boot, [tail, 1.0 - tail], axis=0)
    real = normalise(name, counts.sum(axis=0), n)
    edge = 1.0 - tail ** (1.0 / g)
    hi = np.where(real == 0, np.maximum(hi, edge), hi)
    lo = np.where(real == 1, np.minimum(lo, 1.0 - edge), lo)
    return lo, hi


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")


def _rel_l1(h: np.ndarray, ref: np.ndarray) -> float:
    """Σ|h − ref| / Σ ref (0 when both are empty, 1 when only the reference is empty)."""
    diff = float(np.abs(h - ref).sum())
    den = float(ref.sum())
    if den > 0:
        return diff / den
    return 0.0 if diff == 0 else 1.0


@dataclass(frozen=True)
class HistogramCheck:
    """One histogram of a real set against a generated one.

    Attributes
    ----------
    name : histogram name (:data:`HISTOGRAMS`).
    real, generated : pooled histograms (bins,).
    lo, hi : the real set's bootstrap 95 % band (bins,).
    inside : whether the generated histogram lies in the band, per bin.
    rel_error : relative L1 error of generated vs real, on matched halves (see
        :func:`run_histograms`), averaged over the splits.
    rel_error_floor : the same between the two real halves (the noise floor).
    rel_error_by_instrument : onset histogram only: the relative error per instrument.
    """

    name: str
    real: np.ndarray
    generated: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    inside: np.ndarray
    rel_error: float
    rel_error_floor: float
    rel_error_by_instrument: dict[str, tuple[float, float]]

    @property
    def in_band(self) -> float:
        """Share of bins where the generated histogram lies inside the real band."""
        return float(self.inside.mean())

    def frame(self) -> pd.DataFrame:
        """One row per bin: label, real, generated, band, inside."""
        return pd.DataFrame(
            {
                "histogram": self.name,
                "bin": bin_labels(self.name),
                "real": self.real,
                "generated": self.generated,
                "band_lo": self.lo,
                "band_hi": self.hi,
                "inside": self.inside,
            }
        )


def run_histograms(
    real: ClipBatch,
    generated: ClipBatch,
    *,
    n_boot: int = 400,
    n_splits: int = 5,
    groups: np.ndarray | None = None,
    seed: int = 0,
) -> dict[str, HistogramCheck]:
    """Every core histogram of ``real`` against ``generated`` (:class:`HistogramCheck` each).

    The band and the in-band share use the whole real set and the whole generated set (a
    generated set larger than the real one estimates the generator's histogram better).
    The relative errors are measured like for like: for each of ``n_splits`` random
    halves (A, B) of the real set, error(A, B) is the floor and error(A, G_B) the
    generated error, with G_B a random subset of the generated set of B's size. ``groups``
    (one label per real clip; default: the clips' source files) keep a file's clips
    together in the bootstrap and in the halves; a pack of one file gets no floor (NaN).
    """
    if len(real) < 2:
        raise ValueError(f"the real set needs at least 2 clips for a noise floor; got {len(real)}")
    groups = group_labels(real) if groups is None else np.asarray(groups)
    cr, cg = clip_counts(real), clip_counts(generated)
    rng = np.random.default_rng(seed + 1)
    splits = half_splits(groups, n_splits, seed)
    subsets = [
        rng.choice(len(generated), len(b), replace=len(generated) < len(b)) for _, b in splits
    ]
    out: dict[str, HistogramCheck] = {}
    for name in HISTOGRAMS:
        r = normalise(name, cr[name].sum(axis=0), len(real))
        g = normalise(name, cg[name].sum(axis=0), len(generated))
        lo, hi = band(name, cr[name], groups=groups, n_boot=n_boot, seed=seed)
        tol = 1e-12
        inside = (g >= lo - tol) & (g <= hi + tol)

        def hist(counts: np.ndarray, rows: np.ndarray, _name: str = name) -> np.ndarray:
            return normalise(_name, counts[rows].sum(axis=0), len(rows))

        pairs = [
            (hist(cr[name], a), hist(cr[name], b), hist(cg[name], s))
            for (a, b), s in zip(splits, subsets, strict=True)
        ]
        err = _mean([_rel_l1(ga, ha) for ha, _, ga in pairs])
        floor = _mean([_rel_l1(hb, ha) for ha, hb, _ in pairs])
        by_inst: dict[str, tuple[float, float]] = {}
        if name == "onset":
            for i, inst in enumerate(INSTRUMENTS):
                sl = slice(i * STEPS_PER_BAR, (i + 1) * STEPS_PER_BAR)
                by_inst[inst] = (
                    _mean([_rel_l1(ga[sl], ha[sl]) for ha, _, ga in pairs]),
                    _mean([_rel_l1(hb[sl], ha[sl]) for ha, hb, _ in pairs]),
                )
        out[name] = HistogramCheck(name, r, g, lo, hi, inside, err, floor, by_inst)
    return out


def check_histograms(checks: dict[str, HistogramCheck]) -> dict[str, float]:
    """Flat figures: ``<name>_in_band``, ``<name>_rel_error``, ``<name>_rel_error_floor``."""
    out: dict[str, float] = {}
    for name, c in checks.items():
        out[f"{name}_in_band"] = c.in_band
        out[f"{name}_rel_error"] = c.rel_error
        out[f"{name}_rel_error_floor"] = c.rel_error_floor
    return out
