"""The velocity knobs of a pack, read from its hits through their likelihood.

Given where a loop's hits are, the simulator's velocity rule is closed-form
(:mod:`technorhythm.simulator.reference`): a hit of layer ``l`` at bar position ``p`` has
velocity ``rint(level × (1 − accent × WEAKNESS[l, p]) + jitter × z)``, clipped to 1..127.
The instrument row and the position of a hit fix its layer's weakness, except for kicks on
the 8th notes, which may be a base pulse (accented) or an extra kick (unaccented). So a
loop's six velocity knobs (the four levels of
:data:`~technorhythm.simulator.patterns.LEVEL_KNOBS`, ``accent`` and ``velocity_jitter``)
have a likelihood: a Gaussian with a two-way mixture for those kicks, censored at 1 and 127.
:func:`read_loops` maximises it per loop by EM (the rounding's variance 1/12 added to the
jitter's, the variance divided by the hits less the fitted parameters).

The pack's population of those knobs (the velocity block of ψ, a location and a spread per
knob) is then drawn by the Bayesian bootstrap (:func:`draw_block`): each draw weighs the
pack's source files by Dirichlet(1, …, 1) weights, shared by each file's loops (loops cut
from one file are not independent draws of the population); the location is the weighted
*median* of the loops' estimates (plus their estimation noise), the spread the weighted
median absolute deviation × 1.4826 with the estimation noise taken out. For a normal
population these estimate its location and standard deviation as the mean and the sd do;
unlike them they follow the pack's main mode when its loops are a mixture of a few fixed
velocity sets, as a step sequencer's packs are (18 loops with the snare at 120 and 6 at 90
read as a location near 120 with a small spread, not 112 ± 13). Each loop's own knobs are
the normal partial-pooling compromise between its estimate and the population draw
(:func:`draw_loops`).

Why: a network reads a level location from set summaries to about ±20 MIDI units (a pack
whose every kick plays 120 was read as 146 ± 19), whereas the hits pin it to about one
(``docs/inference.md``, "Velocity knobs read from the hits"). The assumption, stated: the
velocity knobs change no onset or timing, so their posterior given the hits does not depend
on the rest of ψ beyond the kick layers, which the mixture handles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import log_ndtr, ndtri

from technorhythm.clips import INSTRUMENTS, N_STEPS, STEPS_PER_BAR
from technorhythm.inference.population import LOC_MARGIN, SPREAD_MAX
from technorhythm.inference.prior import knob_bounds
from technorhythm.simulator import patterns as pt
from technorhythm.simulator.knobs import KNOB_NAMES

__all__ = [
    "VELOCITY_KNOBS",
    "LoopReads",
    "bootstrap_weights",
    "censored_location_spread",
    "draw_block",
    "draw_loops",
    "read_loops",
    "replace_block",
    "weakness_candidates",
    "weighted_median",
    "weighted_quantile",
]

VELOCITY_KNOBS: tuple[str, ...] = (*pt.LEVEL_KNOBS, "accent", "velocity_jitter")
"""The knobs of the velocity block, in the order of :class:`LoopReads`' columns."""
ROUNDING_VAR = 1.0 / 12.0
"""Variance of rounding a velocity to an integer."""
EXTRA_KICK_SHARE: dict[int, float] = {0: 0.15, 2: 0.4}
"""Prior probability that a kick on a beat (``pos % 4 == 0``) or an off-beat 8th (2) is an
extra kick rather than a base pulse: about the simulator's own shares with θ from the prior
(0.14 and 0.39 of such kicks, 20 000 clips)."""
SHARE_PSEUDO_HITS = 1.0
"""Weight of :data:`EXTRA_KICK_SHARE` in a loop's own share of extra kicks, in hits."""
CLIP_LOW, CLIP_HIGH = 1, 127
"""The velocities a hit is clipped to: a recorded 1 or 127 is censored."""
MIN_BOUND_SHARE = 0.02
"""Least share of a pack's loops on a knob's bound that counts as censoring there."""
MIN_LOOPS = 3
"""A knob shown by fewer loops is left to the network: one or two loops say where they are,
not how the pack's loops spread around a location (the network's draws, conditioned on the
whole set, are calibrated there)."""


def _layer_positions() -> np.ndarray:
    """Where each layer of :data:`~technorhythm.simulator.patterns.LAYERS` can play, (8, 16)."""
    pos = np.arange(STEPS_PER_BAR)
    can = np.zeros((len(pt.LAYERS), STEPS_PER_BAR), dtype=bool)
    can[0, ::2] = pt.KICK_BASES.any(axis=0)  # base pulses on the 8th notes
    can[1] = (pt.KICK_EXTRA_WEIGHT > 0) | (pos % 4 == 3)  # extras; 'and' kicks move to the 'a'
    can[2] = pt.BACKBEAT
    can[3] = (pt.GHOST_WEIGHT > 0) & ~pt.BACKBEAT
    can[4] = can[5] = can[6] = True  # hats and ride: every step
    can[7, 0] = True  # crash on the downbeat
    return can


def weakness_candidates() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per instrument row and bar position, the weakness of the layers that can play there.

    Returns ``(w0, w1, p1)``, each (5, 16): the two candidate weaknesses (equal where the
    position fixes the layer) and the prior probability of the second (0 where fixed).
    """
    can = _layer_positions()
    n_rows = len(INSTRUMENTS)
    w0, w1, p1 = (np.zeros((n_rows, STEPS_PER_BAR)) for _ in range(3))
    for row in range(n_rows):
        layers = np.flatnonzero(row == pt.ROW_OF_LAYER)
        for p in range(STEPS_PER_BAR):
            values = sorted({float(pt.WEAKNESS[layer, p]) for layer in layers if can[layer, p]})
            if len(values) > 2:
                raise ValueError(f"row {row}, position {p}: {len(values)} weaknesses")
            values = values or [0.0]
            w0[row, p], w1[row, p] = values[0], values[-1]
            if len(values) == 2:
                if row != 0 or p % 4 not in EXTRA_KICK_SHARE:
                    raise ValueError(f"row {row}, position {p}: no prior for its two layers")
                p1[row, p] = EXTRA_KICK_SHARE[p % 4]
    return w0, w1, p1


ROW_GROUP: np.ndarray = np.array(
    [
        int(pt.LEVEL_GROUP[np.flatnonzero(row == pt.ROW_OF_LAYER)[0]])
        for row in range(len(INSTRUMENTS))
    ]
)
"""Level group (index into LEVEL_KNOBS) of each instrument row; the closed-hat and cymbal
rows share the hats' level."""


@dataclass(frozen=True)
class LoopReads:
    """Per-loop maximum-likelihood velocity knobs.

    Attributes
    ----------
    estimate : ndarray (N, 6)
        Knob values in :data:`VELOCITY_KNOBS` order (levels in MIDI velocity, ``accent`` in
        [0, 1], ``velocity_jitter`` in MIDI velocity).
    se : ndarray (N, 6)
        Their approximate standard errors (inverse Fisher information at the estimate).
    shown : ndarray (N, 6) of bool
        Whether the loop's hits inform the knob at all (a loop without open hats says
        nothing about their level; one without unaccented hits nothing about ``accent``).
    """

    estimate: np.ndarray
    se: np.ndarray
    shown: np.ndarray

    def __len__(self) -> int:
        return len(self.estimate)

    def __getitem__(self, index) -> LoopReads:
        return LoopReads(self.estimate[index], self.se[index], self.shown[index])


def _component_moments(
    v: np.ndarray, mu: np.ndarray, s: np.ndarray, high: np.ndarray, low: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per hit under one normal component N(mu, s²): the log-likelihood (up to a constant
    shared by the components), and the mean and variance of the unrounded velocity given
    what was recorded. A hit at 127 says only "at least 126.5", one at 1 "at most 1.5"."""
    z = (v - mu) / s
    loglik = -0.5 * z * z - np.log(s)
    mean, var = v.copy(), np.zeros_like(v)
    for where, edge, sign in ((high, CLIP_HIGH - 0.5, 1.0), (low, CLIP_LOW + 0.5, -1.0)):
        if not where.any():
            continue
        m, sd = mu[where], s[where]
        a = sign * (edge - m) / sd  # standardised distance to the edge, into the tail
        log_tail = log_ndtr(-a)  # log P(beyond the edge)
        lam = np.exp(-0.5 * a * a - 0.5 * np.log(2 * np.pi) - log_tail)  # inverse Mills ratio
        loglik[where] = log_tail
        mean[where] = m + sign * sd * lam
        var[where] = sd**2 * np.maximum(1 + a * lam - lam**2, 1e-9)
    return loglik, mean, var


@dataclass(frozen=True)
class _Hits:
    """The hits of N loops, one entry per hit: what EM needs to know about each."""

    n_loops: int
    loop: np.ndarray  # which loop
    v: np.ndarray  # recorded velocity
    group: np.ndarray  # level group (index into LEVEL_KNOBS)
    w0: np.ndarray  # weakness of the first candidate layer
    w1: np.ndarray  # … of the second (= w0 where the position fixes the layer)
    ambiguous: np.ndarray  # a kick on an 8th note: base pulse or extra kick
    share_cell: np.ndarray  # loop × (beat, off-beat 8th): whose share of extra kicks
    high: np.ndarray  # recorded 127: at least 126.5
    low: np.ndarray  # recorded 1: at most 1.5

    @classmethod
    def from_velocity(cls, velocity: np.ndarray) -> _Hits:
        v_all = np.asarray(velocity, dtype=np.float64)
        if v_all.ndim != 3 or v_all.shape[1:] != (len(INSTRUMENTS), N_STEPS):
            raise ValueError(
                f"velocity must be (N, {len(INSTRUMENTS)}, {N_STEPS}); got {v_all.shape}"
            )
        loop, row, step = np.nonzero(v_all > 0)
        v = v_all[loop, row, step]
        pos = step % STEPS_PER_BAR
        w_tab0, w_tab1, p_tab = weakness_candidates()
        ambiguous = p_tab[row, pos] > 0
        share_class = np.where(ambiguous, pos % 4 // 2, 0)  # 0: beat, 1: off-beat 8th
        return cls(
            n_loops=len(v_all),
            loop=loop,
            v=v,
            group=ROW_GROUP[row],
            w0=w_tab0[row, pos],
            w1=w_tab1[row, pos],
            ambiguous=ambiguous,
            share_cell=loop * 2 + share_class,
            high=v >= CLIP_HIGH,
            low=v <= CLIP_LOW,
        )

    def per_group(self, x: np.ndarray) -> np.ndarray:
        """Per-hit values → sums per loop and level group (N, 4)."""
        k = len(pt.LEVEL_KNOBS)
        cell = self.loop * k + self.group
        return np.bincount(cell, x, minlength=self.n_loops * k).reshape(self.n_loops, k)

    def per_loop(self, x: np.ndarray) -> np.ndarray:
        """Per-hit values → sums per loop (N,)."""
        return np.bincount(self.loop, x, minlength=self.n_loops)


@dataclass
class _State:
    """EM's current read of every loop."""

    level: np.ndarray  # (N, 4)
    accent: np.ndarray  # (N,)
    var: np.ndarray  # (N,), jitter² + rounding
    share: np.ndarray  # (2N,), each loop's share of extra kicks on beats / off-beat 8ths
    r1: np.ndarray  # per hit, the responsibility of the second candidate layer
    den_level: np.ndarray  # (N, 4), Fisher information of the levels / var
    den_accent: np.ndarray  # (N,), … of the accent


def _start(hits: _Hits) -> _State:
    """Each level the loudest hit of its group, accent 0.3, jitter 5, the prior shares."""
    level = np.zeros(hits.n_loops * len(pt.LEVEL_KNOBS))
    np.maximum.at(level, hits.loop * len(pt.LEVEL_KNOBS) + hits.group, hits.v)
    level = np.where(level > 0, level, 64.0).reshape(hits.n_loops, -1)
    n = hits.n_loops
    share = np.tile([EXTRA_KICK_SHARE[0], EXTRA_KICK_SHARE[2]], n)
    return _State(
        level=level,
        accent=np.full(n, 0.3),
        var=np.full(n, 25.0 + ROUNDING_VAR),
        share=share,
        r1=np.zeros_like(hits.v),
        den_level=np.zeros_like(level),
        den_accent=np.zeros(n),
    )


def _em_step(hits: _Hits, st: _State) -> _State:
    """One E step (layers of the ambiguous kicks, censored hits' moments) and M step."""
    lv, a, s = st.level[hits.loop, hits.group], st.accent[hits.loop], np.sqrt(st.var[hits.loop])
    w0, w1 = hits.w0, hits.w1
    p1 = np.where(hits.ambiguous, st.share[hits.share_cell], 0.0)
    l0, x0, q0 = _component_moments(hits.v, lv * (1 - a * w0), s, hits.high, hits.low)
    l1, x1, q1 = _component_moments(hits.v, lv * (1 - a * w1), s, hits.high, hits.low)
    with np.errstate(divide="ignore"):
        l0, l1 = l0 + np.log1p(-p1), l1 + np.log(p1)
    r1 = np.where(hits.ambiguous, 1 / (1 + np.exp(np.clip(l0 - l1, -700, 700))), 0.0)
    r0 = 1 - r1
    n = hits.n_loops
    n_share = np.bincount(hits.share_cell, hits.ambiguous.astype(float), minlength=2 * n)
    prior = SHARE_PSEUDO_HITS * np.tile([EXTRA_KICK_SHARE[0], EXTRA_KICK_SHARE[2]], n)
    share = (np.bincount(hits.share_cell, r1, minlength=2 * n) + prior) / (
        n_share + SHARE_PSEUDO_HITS
    )
    c0, c1 = 1 - a * w0, 1 - a * w1
    num = hits.per_group(r0 * c0 * x0 + r1 * c1 * x1)
    den_level = hits.per_group(r0 * c0**2 + r1 * c1**2)
    level = np.where(den_level > 0, num / np.where(den_level > 0, den_level, 1), st.level)
    level = np.clip(level, 1.0, 127.0)
    lv = level[hits.loop, hits.group]
    num_a = hits.per_loop(r0 * lv * w0 * (lv - x0) + r1 * lv * w1 * (lv - x1))
    den_a = hits.per_loop(r0 * (lv * w0) ** 2 + r1 * (lv * w1) ** 2)
    ok = den_a > 0
    accent = np.where(ok, np.clip(num_a / np.where(ok, den_a, 1), 0, 1), st.accent)
    a = accent[hits.loop]
    sq = hits.per_loop(
        r0 * (q0 + (x0 - lv * (1 - a * w0)) ** 2) + r1 * (q1 + (x1 - lv * (1 - a * w1)) ** 2)
    )
    fitted = (den_level > 0).sum(axis=1) + ok
    n_hits = hits.per_loop(np.ones_like(hits.v))
    var = np.maximum(sq / np.maximum(n_hits - fitted, 1), ROUNDING_VAR)
    return _State(level, accent, var, share, r1, den_level, den_a)


def _shown(hits: _Hits, st: _State) -> np.ndarray:
    """Which knobs each loop's hits inform (N, 6): a group with an accented and an
    unaccented hit (each more likely than not) shows the accent; a level needs an accented
    hit of its group, or an unaccented one and the accent shown; the jitter two hits."""
    soft = np.where(st.r1 > 0.5, hits.w1, hits.w0) > 0
    loud_g = hits.per_group((~soft).astype(float))
    soft_g = hits.per_group(soft.astype(float))
    accent_shown = ((loud_g >= 1) & (soft_g >= 1)).any(axis=1)
    level_shown = (loud_g >= 1) | ((soft_g >= 1) & accent_shown[:, None])
    n_hits = hits.per_loop(np.ones_like(hits.v))
    return np.column_stack([level_shown, accent_shown, n_hits >= 2])


def read_loops(velocity: np.ndarray, *, n_iter: int = 60) -> LoopReads:
    """Maximum-likelihood velocity knobs of each loop (see the module docstring).

    EM over the hits: the layer of a kick on an 8th note is latent (each loop learns its
    own share of extra kicks there, from a prior of :data:`EXTRA_KICK_SHARE` worth
    :data:`SHARE_PSEUDO_HITS` hits); velocities at 1 and 127 are censored; the variance is
    divided by the hits less the fitted levels and accent.

    Parameters
    ----------
    velocity : ndarray (N, 5, 64)
        Canonical clip velocities (0: no hit), as ``ClipBatch.velocity``.
    n_iter : int
        EM iterations, the same for every loop: a loop's read does not depend on the others
        read with it.
    """
    hits = _Hits.from_velocity(velocity)
    st = _start(hits)
    for _ in range(n_iter):
        st = _em_step(hits, st)
    shown = _shown(hits, st)
    n_hits = hits.per_loop(np.ones_like(hits.v))
    se = np.column_stack(
        [
            np.sqrt(st.var[:, None] / np.maximum(st.den_level, 1e-12)),
            np.sqrt(st.var / np.maximum(st.den_accent, 1e-12)),
            np.sqrt(st.var / (2.0 * np.maximum(n_hits, 1))),
        ]
    )
    jitter = np.sqrt(np.maximum(st.var - ROUNDING_VAR, 0.0))
    estimate = np.column_stack([st.level, st.accent, jitter])
    return LoopReads(estimate, np.where(shown, se, np.inf), shown)


MAD_TO_SD = 1.4826
"""Median absolute deviation of a normal sample × this = its standard deviation."""


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


def censored_location_spread(
    values: np.ndarray, weights: np.ndarray, low: float, high: float
) -> tuple[np.ndarray, np.ndarray]:
    """Location and spread of a normal censored to [low, high] from weighted values
    (m,) with weights (S, m) → two (S,) arrays, robustly.

    With less than a quarter of the weight on either bound, the median and the median
    absolute deviation × 1.4826 (the bounds do not reach the central half). Otherwise the
    shares on the bounds are the normal's tail probabilities there: with weight on both
    bounds these two give location and spread; with one bound, the bound's share and the
    quantile in the middle of the remaining weight do. All on a bound: that bound, spread 0.
    """
    e = np.clip(np.asarray(values, dtype=np.float64), low, high)[None]
    g = np.asarray(weights, dtype=np.float64)
    tol = 1e-9 * (high - low)
    f_lo = g @ (e[0] <= low + tol)
    f_hi = g @ (e[0] >= high - tol)
    centre = weighted_median(e, g)
    mad = weighted_median(np.abs(e - centre[:, None]), g)
    loc, spread = centre.copy(), MAD_TO_SD * mad
    clip_p = lambda p: np.clip(p, 1e-6, 1 - 1e-6)  # noqa: E731
    a, b = ndtri(clip_p(f_lo)), ndtri(clip_p(1 - f_hi))  # standardised bounds
    both = (np.maximum(f_lo, f_hi) >= 0.25) & (np.minimum(f_lo, f_hi) >= MIN_BOUND_SHARE)
    up = (f_hi >= 0.25) & ~both
    down = (f_lo >= 0.25) & ~both
    with np.errstate(divide="ignore", invalid="ignore"):
        s_both = (high - low) / (b - a)
        p_up = (1 - f_hi) / 2
        q_up = weighted_quantile(e, g, p_up)
        s_up = (high - q_up) / (b - ndtri(clip_p(p_up)))
        p_down = f_lo + (1 - f_lo) / 2
        q_down = weighted_quantile(e, g, p_down)
        s_down = (q_down - low) / (ndtri(clip_p(p_down)) - a)
    spread = np.where(both, s_both, np.where(up, s_up, np.where(down, s_down, spread)))
    loc = np.where(both | up, high - spread * b, np.where(down, low - spread * a, loc))
    on_bound = (f_lo + f_hi) >= 1 - 1e-9  # nothing in between: the heavier bound
    loc = np.where(on_bound, np.where(f_hi >= f_lo, high, low), loc)
    spread = np.where(on_bound | ~np.isfinite(spread), 0.0, spread)
    width = high - low
    spread = np.clip(spread, 0.0, SPREAD_MAX * width)
    loc = np.clip(loc, low - LOC_MARGIN * width, high + LOC_MARGIN * width)
    return loc, spread


def bootstrap_weights(
    clusters: np.ndarray | None, n_loops: int, n_samples: int, rng: np.random.Generator
) -> np.ndarray:
    """Bayesian-bootstrap weights of ``n_loops`` loops, (n_samples, n_loops), rows summing
    to 1: Dirichlet(1, …, 1) over the clusters (the loops' source files), each cluster's
    weight shared equally by its loops. Loops of one file are not independent draws of the
    pack's population, so the file is the unit; with fewer than two clusters (or none
    given) each loop is its own.
    """
    if clusters is None or len(np.unique(clusters)) < 2:
        return rng.dirichlet(np.ones(n_loops), size=n_samples)
    _, inverse, counts = np.unique(clusters, return_inverse=True, return_counts=True)
    g = rng.dirichlet(np.ones(len(counts)), size=n_samples)
    return g[:, inverse] / counts[inverse]


def draw_block(
    reads: LoopReads,
    n_samples: int,
    rng: np.random.Generator,
    clusters: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draws of the pack's velocity block by the Bayesian bootstrap over its loops: per
    knob the weighted median of the loops' estimates and their weighted median absolute
    deviation (module docstring). ``clusters`` (N,): each loop's source file, the
    bootstrap's unit (:func:`bootstrap_weights`).

    Returns ``(loc, spread, drawn)``: ``loc`` and ``spread`` (n_samples, 6) in knob units,
    and ``drawn`` (6,) of bool: whether each knob was drawn here; a knob shown by fewer than
    :data:`MIN_LOOPS` loops is left to the caller (its entries are NaN).
    """
    k = len(VELOCITY_KNOBS)
    bounds = knob_bounds()[[KNOB_NAMES.index(name) for name in VELOCITY_KNOBS]]
    loc = np.full((n_samples, k), np.nan)
    spread = np.full((n_samples, k), np.nan)
    drawn = np.zeros(k, dtype=bool)
    for j in range(k):
        which = np.flatnonzero(reads.shown[:, j])
        if len(which) < MIN_LOOPS:
            continue
        e, se2 = reads.estimate[which, j], reads.se[which, j] ** 2
        g = bootstrap_weights(
            None if clusters is None else np.asarray(clusters)[which], len(which), n_samples, rng
        )
        centre, width = censored_location_spread(e, g, *bounds[j])
        loc[:, j] = centre + rng.standard_normal(n_samples) * np.sqrt((g**2) @ se2)
        spread[:, j] = np.sqrt(np.maximum(width**2 - g @ se2, 0.0))
        drawn[j] = True
    return loc, spread, drawn


def draw_loops(
    reads: LoopReads,
    loc: np.ndarray,
    spread: np.ndarray,
    bounds: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Each loop's velocity knobs given population draws: (n_samples, N, J), knob units.

    Per draw, a loop that shows a knob gets the normal posterior of its value given its
    estimate (standard error ``se``) and the population (``loc``, ``spread``); one that does
    not gets a draw from the population. Clipped to ``bounds`` (J, 2); J = the reads' columns.
    """
    e, se2 = reads.estimate[None], reads.se[None] ** 2  # (1, N, 6)
    m, s2 = loc[:, None], np.maximum(spread[:, None], 1e-9) ** 2  # (S, 1, 6)
    shown = reads.shown[None]
    prec = 1 / s2 + np.where(shown, 1 / np.where(shown, se2, 1.0), 0.0)
    mean = (m / s2 + np.where(shown, e / np.where(shown, se2, 1.0), 0.0)) / prec
    z = mean + rng.standard_normal(np.broadcast_shapes(mean.shape)) / np.sqrt(prec)
    return np.clip(z, bounds[:, 0], bounds[:, 1])


def replace_block(
    hyper: np.ndarray,
    loops: np.ndarray | None,
    reads: LoopReads,
    population,
    rng: np.random.Generator,
    clusters: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """A group's posterior draws with the velocity block read from its hits.

    Parameters
    ----------
    hyper : ndarray (S, 2K)
        ψ draws of the group (a network's), knob units; not modified.
    loops : ndarray (S, N, K) or None
        Per-loop knob draws of the group's N loops (the reads' loops, in order), or None.
    reads : LoopReads
        :func:`read_loops` of the group's loops.
    population : technorhythm.inference.population.Population
        Names the columns.
    clusters : ndarray (N,), optional
        Each loop's source file: the bootstrap's unit (:func:`bootstrap_weights`).

    Returns copies of ``hyper`` and ``loops`` whose velocity-block columns are drawn by
    :func:`draw_block` and :func:`draw_loops`; a knob shown by fewer than :data:`MIN_LOOPS`
    loops keeps the network's draws.
    """
    hyper = np.array(hyper, dtype=np.float64)
    cols = np.array([population.names.index(k) for k in VELOCITY_KNOBS])
    k = population.n_knobs
    loc, spread, drawn = draw_block(reads, len(hyper), rng, clusters)
    cols = cols[drawn]
    hyper[:, cols], hyper[:, k + cols] = loc[:, drawn], spread[:, drawn]
    if loops is None:
        return hyper, None
    loops = np.array(loops, dtype=np.float64)
    if loops.shape[:2] != (len(hyper), len(reads)):
        raise ValueError(
            f"loops must be ({len(hyper)}, {len(reads)}, K) for these draws and reads; "
            f"got {loops.shape}"
        )
    drawn_loops = draw_loops(
        reads[:, drawn], loc[:, drawn], spread[:, drawn], population.bounds[cols], rng
    )
    loops[..., cols] = drawn_loops
    return hyper, loops
