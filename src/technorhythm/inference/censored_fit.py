"""A pack's population of one knob from its loops' reads: location and spread of a normal
censored to the knob's range, per Bayesian-bootstrap draw.

Each loop's knob value is the population's draw clipped to the range, and each loop's read
of it carries noise of a known standard error. With less than :data:`TAIL_SHARE` of the
reads on either bound, the location is the weighted median of the reads and the spread their
weighted median absolute deviation × :data:`MAD_TO_SD` (the bounds do not reach the central
half; robust to the reads' heavier-than-normal tails).

With more on a bound, the tail matters, and the reads' noise with it: a pack whose loops
all play the kick at 127 with jitter reads the level 127 ± 5 in each loop, and a few reads
fall well below the bound by noise alone. The quantile arithmetic of an earlier version
took those for the population's tail: its spread came from the quantile in the middle of
the reads below the bound, which multiplied their noise about three times (a pack at
126.97 read a location of 130.6 and a spread of 3.7, so E[θ] fell to 126.6). There the fit
is the weighted maximum likelihood of the censored normal with each read's noise
(:func:`censored_loglik`), on a grid of locations and spreads refined around every draw's
best cell (:func:`_tail_fit`). Reads of a spread (a jitter's, humanize's), whose noise is
skewed and whose standard error grows with the read, keep the tail arithmetic
(:func:`_tail_quantiles`): under the likelihood their low reads, with small standard
errors, pulled the population down.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri, owens_t

from technorhythm.inference.dead_zone import MISREAD_SHARE
from technorhythm.inference.population import LOC_MARGIN, SPREAD_MAX

__all__ = [
    "BOUND_NEAR",
    "MAD_TO_SD",
    "TAIL_SHARE",
    "weighted_quantile",
    "weighted_median",
    "on_bounds",
    "censored_loglik",
    "censored_location_spread",
]

TAIL_SHARE = 0.25
"""Least share of a pack's reads on one bound at which the fit turns from the median and
median absolute deviation to the censored likelihood (the bound reaches the central half)."""
BOUND_NEAR = 0.01
"""Widest distance from a bound, as a share of the knob's range, at which a read within two
standard errors of it counts as on it (:func:`on_bounds`)."""
MIN_BOTH_SHARE = 0.02
"""Least share of the reads on the lighter bound at which :func:`_tail_quantiles` takes the
spread from both bounds' shares."""
MAD_TO_SD = 1.4826
"""Median absolute deviation of a normal sample × this = its standard deviation."""
SE_FLOOR = 1e-3
"""Least standard error of a read in the censored likelihood, as a share of the range (an
exact read, such as swing without humanize, has standard error 0)."""
_COARSE_LOC = np.linspace(-LOC_MARGIN, 1.0 + LOC_MARGIN, 21)
"""Locations of the first grid, as shares of the range from the lower bound."""
_COARSE_SPREAD = np.concatenate([[0.0], np.geomspace(2e-3, SPREAD_MAX, 11)])
"""Spreads of the first grid, as shares of the range (geometric: a pack on a bound may have
almost none)."""
_FINE = 9
"""Points per axis of each finer grid, which spans every draw's best cell of the grid before
and its neighbours."""
_REFINEMENTS = 3
"""Finer grids after the first (each a quarter of the step before, or finer)."""


def weighted_quantile(
    values: np.ndarray, weights: np.ndarray, q: float | np.ndarray = 0.5
) -> np.ndarray:
    """Row-wise weighted quantile: ``values`` (S, m) or (1, m) (the same values for every
    row) and ``weights`` (S, m) (summing to 1 per row), ``q`` scalar or (S,) → (S,); the
    smallest value whose cumulative weight reaches ``q``."""
    values = np.asarray(values, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    if values.ndim == 2 and len(values) == 1:  # one sort serves every row
        order = np.argsort(values[0])
        v = np.broadcast_to(values[0, order], weights.shape)
        c = np.cumsum(weights[:, order], axis=1)
    else:
        values, weights = np.broadcast_arrays(values, weights)
        order = np.argsort(values, axis=1)
        v = np.take_along_axis(values, order, axis=1)
        c = np.cumsum(np.take_along_axis(weights, order, axis=1), axis=1)
    q = np.broadcast_to(np.asarray(q, dtype=np.float64), (len(v),))
    i = np.minimum((c < q[:, None] - 1e-12).sum(axis=1), v.shape[1] - 1)
    return v[np.arange(len(v)), i]


def weighted_median(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Row-wise weighted median (:func:`weighted_quantile` at ½)."""
    return weighted_quantile(values, weights, 0.5)


def on_bounds(
    values: np.ndarray, se: np.ndarray | None, low: float, high: float
) -> tuple[np.ndarray, np.ndarray]:
    """Which reads (m,) count as on the lower and on the upper bound: within two standard
    errors ``se`` (m,) of it and within :data:`BOUND_NEAR` of the range (None: exactly on
    it, to float32 rounding: a clipped swing of 0.45 reads 0.4499999875)."""
    e = np.asarray(values, dtype=np.float64)
    tol = 1e-6 * (high - low)
    if se is not None:
        two_se = 2.0 * np.nan_to_num(np.asarray(se, dtype=np.float64))
        tol = np.maximum(tol, np.minimum(two_se, BOUND_NEAR * (high - low)))
    return e <= low + tol, e >= high - tol


def censored_loglik(
    reads: np.ndarray, se: np.ndarray, loc: np.ndarray, spread: np.ndarray
) -> np.ndarray:
    """(m, C) log-likelihood of each read of (m,) with standard error ``se`` (m,) under each
    population (``loc``, ``spread``) of (C,), all as shares of the range from the lower
    bound (the range is [0, 1]; reads clipped to it): the loop's value θ is the
    population's draw clipped to the range, its read that value plus normal noise, clipped
    to the range, and a share :data:`~technorhythm.inference.dead_zone.MISREAD_SHARE` of
    reads says nothing (uniform over the range widened by :data:`BOUND_NEAR` on either
    side, clipped to it: a misread lands on a bound about once in a hundred).

    A read inside the range has the density ``P(θ ≤ 0) N(e; 0, se) + P(θ ≥ 1) N(e; 1, se)``
    plus the inside's ``N(e; loc, τ) · P(0 < θ < 1 | e)``, τ² = spread² + se², where θ given
    e is normal with mean ``(loc·se² + e·spread²) / τ²`` and sd ``spread·se / τ``. A read on
    a bound (the velocity reader caps a level at 127; a read below the range is clipped to
    it) has the probability that the noisy value lies beyond it: for the upper bound
    ``½ Φ(−b) + T(b, se / spread)``, b = (1 − loc) / τ and T Owen's function (the
    population's draws beyond the bound read there half the time; those inside with the
    bivariate normal's orthant, which Owen's T gives in closed form), and the mirror image
    for the lower. Spread 0: a point at the clipped location.
    """
    e = np.clip(np.asarray(reads, dtype=np.float64), 0.0, 1.0)[:, None]
    se = np.asarray(se, dtype=np.float64)[:, None]
    mu = np.asarray(loc, dtype=np.float64)[None]
    s = np.maximum(np.asarray(spread, dtype=np.float64), 1e-12)[None]
    tau = np.sqrt(s**2 + se**2)
    at_low, at_high = on_bounds(e[:, 0], None, 0.0, 1.0)
    inside = ~(at_low | at_high)
    like = np.empty((len(e), mu.shape[1]))
    if inside.any():
        like[inside] = _inside_density(e[inside], se[inside], mu, s, tau[inside])
    for on, b in ((at_high, (1.0 - mu) / tau), (at_low, mu / tau)):
        if on.any():
            b_on = np.broadcast_to(b, like.shape)[on]
            like[on] = 0.5 * ndtr(-b_on) + owens_t(b_on, se[on] / s)
    misread = np.where(inside, 1.0, BOUND_NEAR)[:, None] / (1 + 2 * BOUND_NEAR)
    return np.log((1 - MISREAD_SHARE) * np.maximum(like, 0.0) + MISREAD_SHARE * misread)


def _inside_density(e, se, mu, s, tau) -> np.ndarray:
    """:func:`censored_loglik`'s density of reads ``e`` (m, 1) inside the range."""
    norm = lambda x, sd: np.exp(-0.5 * (x / sd) ** 2) / (np.sqrt(2 * np.pi) * sd)  # noqa: E731
    m = (mu * se**2 + e * s**2) / tau**2
    v = s * se / tau
    inside = np.maximum(ndtr((1.0 - m) / v) - ndtr(-m / v), 0.0)
    density = ndtr(-mu / s) * norm(e, se) + ndtr((mu - 1.0) / s) * norm(e - 1.0, se)
    return density + norm(e - mu, tau) * inside


def _tail_fit(e: np.ndarray, se: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, ...]:
    """Weighted maximum-likelihood location and spread (S,) each, shares of the range, of
    reads ``e`` (m,) in [0, 1] with standard errors ``se`` (m,) under :func:`censored_loglik`
    per weight row (S, m): the best cell of :data:`_COARSE_LOC` × :data:`_COARSE_SPREAD`,
    then :data:`_REFINEMENTS` times of a :data:`_FINE` × :data:`_FINE` grid spanning every
    row's best cell and its neighbours (:func:`_around`; one grid for all rows: one
    likelihood matrix)."""
    rows, inverse = np.unique(np.column_stack([e, se]), axis=0, return_inverse=True)
    e, se = rows[:, 0], rows[:, 1]  # equal reads (a pile on a bound) share a row
    merged = np.zeros((len(weights), len(rows)))
    np.add.at(merged, (slice(None), inverse.reshape(-1)), weights)
    weights = merged
    locs, spreads = _COARSE_LOC, _COARSE_SPREAD
    for stage in range(_REFINEMENTS + 1):
        loc, spread = (a.ravel() for a in np.meshgrid(locs, spreads, indexing="ij"))
        best = np.argmax(weights @ censored_loglik(e, se, loc, spread), axis=1)
        if stage == _REFINEMENTS:
            return loc[best], spread[best]
        i, k = np.unravel_index(best, (len(locs), len(spreads)))
        locs, spreads = _around(locs, i, 2 - bool(stage)), _around(spreads, k, 2 - bool(stage))


def _around(axis: np.ndarray, best: np.ndarray, reach: int) -> np.ndarray:
    """:data:`_FINE` points spanning the values of ``axis`` at the indices ``best`` (S,) and
    ``reach`` more either side (the first grid's two: a population far on a bound lies on a
    ridge of location and spread, which a cell's neighbours alone may miss)."""
    low, high = max(best.min() - reach, 0), min(best.max() + reach, len(axis) - 1)
    return np.linspace(axis[low], axis[high], _FINE)


def censored_location_spread(
    values: np.ndarray,
    weights: np.ndarray,
    low: float,
    high: float,
    se: np.ndarray | None = None,
    normal_noise: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Location and spread of a normal censored to [low, high] from weighted reads (m,) with
    weights (S, m) → two (S,) arrays; the spread is that of the reads, the population's
    spread with the reads' noise (the caller takes ``weights @ se²`` out of its square).

    With less than :data:`TAIL_SHARE` of the weight on either bound, the weighted median
    and the median absolute deviation × :data:`MAD_TO_SD`. Otherwise the weighted maximum
    likelihood of the censored normal with the reads' noise (module docstring), where the
    reads' noise is normal with standard errors ``se`` (``normal_noise``); for reads of a
    spread (a jitter's, humanize's: skewed, their standard error growing with the read, so
    a low read claims a precision it does not have) the tail arithmetic of
    :func:`_tail_quantiles`. All on a bound: that bound, spread 0.

    ``se`` (m,), the reads' standard errors (None: exact reads): a read within two of them
    of a bound, and within :data:`BOUND_NEAR` of the range, counts as on it (a loop at the
    bound reads it ± its noise, so half its reads fall inside: a pack three quarters at the
    bound would otherwise look like a narrow pile beside it).
    """
    e = np.clip(np.asarray(values, dtype=np.float64), low, high)
    g = np.asarray(weights, dtype=np.float64)
    at_low, at_high = on_bounds(e, se, low, high)
    f_lo, f_hi = g @ at_low, g @ at_high
    pinned = np.where(at_low, low, np.where(at_high, high, e))[None]
    loc = weighted_median(pinned, g)
    spread = MAD_TO_SD * weighted_median(np.abs(pinned - loc[:, None]), g)
    tail = np.maximum(f_lo, f_hi) >= TAIL_SHARE
    width = high - low
    if tail.any() and normal_noise:
        noise = np.zeros_like(e) if se is None else np.nan_to_num(np.asarray(se, float))
        u_se = np.maximum(noise / width, SE_FLOOR)
        mu, s = _tail_fit((e - low) / width, u_se, g[tail])
        loc[tail] = low + mu * width
        spread[tail] = np.sqrt((s * width) ** 2 + g[tail] @ noise**2)
    elif tail.any():
        loc[tail], spread[tail] = _tail_quantiles(
            pinned, g[tail], f_lo[tail], f_hi[tail], low, high
        )
    on_bound = (f_lo + f_hi) >= 1 - 1e-9  # nothing in between: the heavier bound
    loc = np.where(on_bound, np.where(f_hi >= f_lo, high, low), loc)
    spread = np.where(on_bound | ~np.isfinite(spread), 0.0, spread)
    spread = np.clip(spread, 0.0, SPREAD_MAX * width)
    loc = np.clip(loc, low - LOC_MARGIN * width, high + LOC_MARGIN * width)
    return loc, spread


def _tail_quantiles(pinned, g, f_lo, f_hi, low, high) -> tuple[np.ndarray, np.ndarray]:
    """Location and spread (S,) of the censored normal from the shares of the weight ``g``
    (S, m) on the bounds, ``f_lo`` and ``f_hi`` (S,), of the reads ``pinned`` (1, m) (those
    on a bound set to it): with weight on both (:data:`MIN_BOTH_SHARE` or more on the
    lighter) the two tail probabilities; with one, its share and the quantile in the middle
    of the remaining weight. It takes each read as exact."""
    clip_p = lambda p: np.clip(p, 1e-6, 1 - 1e-6)  # noqa: E731
    a, b = ndtri(clip_p(f_lo)), ndtri(clip_p(1 - f_hi))  # standardised bounds
    both = np.minimum(f_lo, f_hi) >= MIN_BOTH_SHARE
    up = (f_hi >= TAIL_SHARE) & ~both
    down = ~both & ~up
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = (high - low) / (b - a)
        p_up = (1 - f_hi) / 2  # the quantile in the middle of the weight below the upper bound
        q_up = weighted_quantile(pinned, g, p_up)
        spread = np.where(up, (high - q_up) / (b - ndtri(clip_p(p_up))), spread)
        p_down = f_lo + (1 - f_lo) / 2  # … above the lower bound
        q_down = weighted_quantile(pinned, g, p_down)
        spread = np.where(down, (q_down - low) / (ndtri(clip_p(p_down)) - a), spread)
    loc = np.where(down, low - spread * a, high - spread * b)
    return loc, spread
