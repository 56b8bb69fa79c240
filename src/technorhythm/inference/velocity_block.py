"""The velocity knobs of a pack, read from its hits through their likelihood.

Given where a loop's hits are, the simulator's velocity rule is closed-form
(:mod:`technorhythm.simulator.reference`): a hit of layer ``l`` at bar position ``p`` has
velocity ``rint(level × (1 − accent × WEAKNESS[l, p]) + jitter × z)``, clipped to 1..127.
The instrument row and the position of a hit fix its layer's weakness, except for kicks on
the 8th notes, which may be a base pulse (accented) or an extra kick (unaccented). So a
loop's ten velocity knobs (the four levels of
:data:`~technorhythm.simulator.patterns.LEVEL_KNOBS`, and the accent and jitter of each of
kick, snare and hats, :data:`~technorhythm.simulator.patterns.ACCENT_KNOBS` and
:data:`~technorhythm.simulator.patterns.JITTER_KNOBS`) have a likelihood: a Gaussian with
a two-way mixture for those kicks, censored at 1 and 127, its mean set by the hit's level
and its instrument's accent, its variance by its instrument's jitter. :func:`read_loops`
maximises it per loop by EM (the rounding's variance 1/12 added to each jitter's, each
variance divided by its instrument's hits less the parameters fitted to them). A loop's
kicks count as a mixture only where their velocities show one (a likelihood-ratio test
against every 8th-note kick a base pulse); the others are read as base pulses. A pack knows
more: its kick block reads from which steps play whether its bars have a base and which
kicks are its pulses, so a fit reads each loop's kicks again with those layers given
(:func:`read_kicks_given_layers`). Velocities alone read a pack without a base (every kick
an extra one, at ``kick_velocity × (1 − kick_accent)``) as base pulses at that level.

The pack's population of those knobs (the velocity block of ψ, a location and a spread per
knob) is then drawn by the Bayesian bootstrap
(:func:`technorhythm.inference.hit_blocks.draw_block`): each draw weighs the
pack's source files by Dirichlet(1, …, 1) weights, shared by each file's loops (loops cut
from one file are not independent draws of the population); the location is the weighted
*median* of the loops' estimates (plus their estimation noise), the spread the weighted
median absolute deviation × 1.4826 with the estimation noise taken out (where a knob's bound
holds a quarter of the weight or more, the bound's share is a tail probability of the
censored normal instead). For a normal
population these estimate its location and standard deviation as the mean and the sd do;
unlike them they follow the pack's main mode when its loops are a mixture of a few fixed
velocity sets, as a step sequencer's packs are (18 loops with the snare at 120 and 6 at 90
read as a location near 120 with a small spread, not 112 ± 13). Each loop's own knobs are
the normal partial-pooling compromise between its estimate and the population draw
(:func:`~technorhythm.inference.hit_blocks.draw_loops`).

Why: a network reads a level location from set summaries to about ±20 MIDI units (a pack
whose every kick plays 120 was read as 146 ± 19), whereas the hits pin it to about one
(``docs/inference.md``, "Velocity knobs read from the hits"). The assumption, stated: the
velocity knobs change no onset or timing, so their posterior given the hits does not depend
on the rest of ψ beyond the kick layers, which the mixture handles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from technorhythm.clips import INSTRUMENTS, KICK, N_STEPS, STEPS_PER_BAR
from technorhythm.inference.loop_reads import LoopReads, normal_tail
from technorhythm.simulator import patterns as pt

__all__ = [
    "VELOCITY_KNOBS",
    "LAYER_SURE",
    "read_kicks_given_layers",
    "read_loops",
    "weakness_candidates",
    "with_kick_layers",
]

VELOCITY_KNOBS: tuple[str, ...] = (*pt.LEVEL_KNOBS, *pt.ACCENT_KNOBS, *pt.JITTER_KNOBS)
"""The knobs of the velocity block, in the order of :class:`LoopReads`' columns."""
ROUNDING_VAR = 1.0 / 12.0
"""Variance of rounding a velocity to an integer."""
EXTRA_KICK_SHARE: dict[int, float] = {0: 0.15, 2: 0.4}
"""Prior probability that a kick on a beat (``pos % 4 == 0``) or an off-beat 8th (2) is an
extra kick rather than a base pulse: about the simulator's own shares with θ from the prior
(0.14 and 0.39 of such kicks, 20 000 clips)."""
SHARE_PSEUDO_HITS = 1.0
"""Weight of :data:`EXTRA_KICK_SHARE` in a loop's own share of extra kicks, in hits."""
N_DYNAMICS = len(pt.JITTER_KNOBS)
ACCENT_SEPARATION_MIN = 5.0
"""Least distance, in noise sds, between an instrument's accented and unaccented levels at
which an accent read from the mixture's unaccented hits alone counts as shown."""
MIXTURE_LR_MIN = 10.0
"""Least twice the log-likelihood ratio of a loop's kicks with extra kicks on the 8th notes
against every such kick a base pulse, for the loop to be read as a mixture."""
ACCENT_GRID = 51
"""Grid points over [0, 1] on which a loop's profile likelihood of the accent is maximised."""
CLIP_LOW, CLIP_HIGH = 1, 127
"""The velocities a hit is clipped to: a recorded 1 or 127 is censored."""
LAYER_SURE = 0.01
"""A kick whose given chance of being a base pulse (or an extra kick) is within this of 1 is
read as one (:func:`read_kicks_given_layers`)."""


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
DYNAMICS_OF_LEVEL: np.ndarray = np.array(
    [int(pt.DYNAMICS_OF_ROW[list(ROW_GROUP).index(g)]) for g in range(len(pt.LEVEL_KNOBS))]
)
"""Dynamics group (index into ACCENT_KNOBS and JITTER_KNOBS) of each level group's hits."""
LEVEL_IN_DYNAMICS: np.ndarray = (DYNAMICS_OF_LEVEL[:, None] == np.arange(N_DYNAMICS)).astype(float)
"""(4, 3) indicator: level group g's hits have dynamics group j."""
_KICK = int(pt.DYNAMICS_OF_ROW[KICK])
"""The kick's dynamics group (index into ACCENT_KNOBS and JITTER_KNOBS)."""
_KICK_LEVEL = int(np.flatnonzero(_KICK == DYNAMICS_OF_LEVEL)[0])
"""The kick's level group (index into LEVEL_KNOBS)."""


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
        log_tail, lam, rho = normal_tail(a)
        loglik[where] = log_tail
        mean[where] = m + sign * sd * lam
        var[where] = sd**2 * np.maximum(rho, 1e-9)
    return loglik, mean, var


@dataclass(frozen=True)
class _Hits:
    """The hits of N loops, one entry per hit: what EM needs to know about each."""

    n_loops: int
    loop: np.ndarray  # which loop
    v: np.ndarray  # recorded velocity
    group: np.ndarray  # level group (index into LEVEL_KNOBS)
    dynamics: np.ndarray  # dynamics group (index into ACCENT_KNOBS and JITTER_KNOBS)
    w0: np.ndarray  # weakness of the first candidate layer
    w1: np.ndarray  # … of the second (= w0 where the position fixes the layer)
    ambiguous: np.ndarray  # a kick on an 8th note: base pulse or extra kick
    share_cell: np.ndarray  # loop × (beat, off-beat 8th): whose share of extra kicks
    high: np.ndarray  # recorded 127: at least 126.5
    low: np.ndarray  # recorded 1: at most 1.5
    n_hits: np.ndarray  # (N,) hits per loop
    n_dynamics_hits: np.ndarray  # (N, 3) hits per loop and dynamics group
    n_dynamics_censored: np.ndarray  # (N, 3) of them recorded at 1 or 127
    n_ambiguous: np.ndarray  # (2N,) ambiguous kicks per share cell
    prior_share: np.ndarray  # (2N,) EXTRA_KICK_SHARE of each share cell
    fixed_p1: np.ndarray | None = None  # per hit, its given chance of the second layer

    @classmethod
    def from_velocity(
        cls,
        velocity: np.ndarray,
        *,
        extra_kicks: bool = True,
        base_chance: np.ndarray | None = None,
    ) -> _Hits:
        """The hits of ``velocity`` (N, 5, 64); without ``extra_kicks`` every kick on an 8th
        note is a base pulse (the share of extra kicks there is 0). ``base_chance`` (N, 64):
        each step's chance that a kick there is a base pulse, given instead of learned
        (:func:`read_kicks_given_layers`); a kick whose layer it makes sure to within
        :data:`LAYER_SURE` is that layer's."""
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
        w0, w1, fixed_p1 = w_tab0[row, pos], w_tab1[row, pos], None
        if base_chance is not None:
            p1 = 1.0 - np.asarray(base_chance, dtype=np.float64)[loop, step]
            sure_base, sure_extra = (
                ambiguous & (p1 <= LAYER_SURE),
                ambiguous & (p1 >= 1 - LAYER_SURE),
            )
            w0, w1 = np.where(sure_extra, w1, w0), np.where(sure_base, w0, w1)
            ambiguous = ambiguous & ~sure_base & ~sure_extra
            fixed_p1 = np.where(ambiguous, p1, 0.0)
        share_class = np.where(ambiguous, pos % 4 // 2, 0)  # 0: beat, 1: off-beat 8th
        share_cell = loop * 2 + share_class
        n = len(v_all)
        return cls(
            n_loops=len(v_all),
            loop=loop,
            v=v,
            group=ROW_GROUP[row],
            dynamics=pt.DYNAMICS_OF_ROW[row],
            w0=w0,
            w1=w1,
            ambiguous=ambiguous,
            share_cell=share_cell,
            high=v >= CLIP_HIGH,
            low=v <= CLIP_LOW,
            n_hits=np.bincount(loop, minlength=n).astype(np.float64),
            n_dynamics_hits=np.bincount(
                loop * N_DYNAMICS + pt.DYNAMICS_OF_ROW[row], minlength=n * N_DYNAMICS
            )
            .reshape(n, N_DYNAMICS)
            .astype(np.float64),
            n_dynamics_censored=np.bincount(
                loop * N_DYNAMICS + pt.DYNAMICS_OF_ROW[row],
                (v >= CLIP_HIGH) | (v <= CLIP_LOW),
                minlength=n * N_DYNAMICS,
            ).reshape(n, N_DYNAMICS),
            n_ambiguous=np.bincount(share_cell, ambiguous.astype(float), minlength=2 * n),
            prior_share=np.tile([EXTRA_KICK_SHARE[0], EXTRA_KICK_SHARE[2]], n) * extra_kicks,
            fixed_p1=fixed_p1,
        )

    def second_layer_chance(self, share: np.ndarray) -> np.ndarray:
        """Per hit, the prior chance of its second candidate layer: the given one
        (``fixed_p1``), or else its loop's ``share`` (2N,) of extra kicks where the hit is
        ambiguous; 0 for the others."""
        if self.fixed_p1 is not None:
            return self.fixed_p1
        return np.where(self.ambiguous, share[self.share_cell], 0.0)

    def per_group(self, x: np.ndarray) -> np.ndarray:
        """Per-hit values → sums per loop and level group (N, 4)."""
        k = len(pt.LEVEL_KNOBS)
        cell = self.loop * k + self.group
        return np.bincount(cell, x, minlength=self.n_loops * k).reshape(self.n_loops, k)

    def per_dynamics(self, x: np.ndarray) -> np.ndarray:
        """Per-hit values → sums per loop and dynamics group (N, 3)."""
        cell = self.loop * N_DYNAMICS + self.dynamics
        return np.bincount(cell, x, minlength=self.n_loops * N_DYNAMICS).reshape(
            self.n_loops, N_DYNAMICS
        )

    def per_loop(self, x: np.ndarray) -> np.ndarray:
        """Per-hit values → sums per loop (N,)."""
        return np.bincount(self.loop, x, minlength=self.n_loops)


@dataclass
class _State:
    """EM's current read of every loop."""

    level: np.ndarray  # (N, 4)
    accent: np.ndarray  # (N, 3), per dynamics group
    var: np.ndarray  # (N, 3), jitter² + rounding, per dynamics group
    share: np.ndarray  # (2N,), each loop's share of extra kicks on beats / off-beat 8ths
    r1: np.ndarray  # per hit, the responsibility of the second candidate layer
    den_level: np.ndarray  # (N, 4), Σ c² per level: its Fisher information × its variance
    cross: np.ndarray  # (N, 4), Σ c·w per level: how its estimate leans on the accent
    info_accent: np.ndarray  # (N, 3), profile Fisher information of each accent
    dof: np.ndarray  # (N, 3), degrees of freedom of each variance


def _start(hits: _Hits) -> _State:
    """Each level the loudest hit of its group, accents 0.3, jitters 5, the prior shares."""
    level = np.zeros(hits.n_loops * len(pt.LEVEL_KNOBS))
    np.maximum.at(level, hits.loop * len(pt.LEVEL_KNOBS) + hits.group, hits.v)
    level = np.where(level > 0, level, 64.0).reshape(hits.n_loops, -1)
    n = hits.n_loops
    return _State(
        level=level,
        accent=np.full((n, N_DYNAMICS), 0.3),
        var=np.full((n, N_DYNAMICS), 25.0 + ROUNDING_VAR),
        share=hits.prior_share.copy(),
        r1=np.zeros_like(hits.v),
        den_level=np.zeros_like(level),
        cross=np.zeros_like(level),
        info_accent=np.zeros((n, N_DYNAMICS)),
        dof=np.zeros((n, N_DYNAMICS)),
    )


def _em_step(hits: _Hits, st: _State) -> _State:
    """One E step (layers of the ambiguous kicks, censored hits' moments) and M step."""
    lv, a = st.level[hits.loop, hits.group], st.accent[hits.loop, hits.dynamics]
    s = np.sqrt(st.var[hits.loop, hits.dynamics])
    w0, w1 = hits.w0, hits.w1
    p1 = hits.second_layer_chance(st.share)
    l0, x0, q0 = _component_moments(hits.v, lv * (1 - a * w0), s, hits.high, hits.low)
    l1, x1, q1 = _component_moments(hits.v, lv * (1 - a * w1), s, hits.high, hits.low)
    with np.errstate(divide="ignore"):
        l0, l1 = l0 + np.log1p(-p1), l1 + np.log(p1)
    r1 = np.where(hits.ambiguous, 1 / (1 + np.exp(np.clip(l0 - l1, -700, 700))), 0.0)
    r0 = 1 - r1
    extra = np.bincount(hits.share_cell, r1, minlength=2 * hits.n_loops)
    share = (extra + SHARE_PSEUDO_HITS * hits.prior_share) / (hits.n_ambiguous + SHARE_PSEUDO_HITS)
    accent, info = _profile_accent(hits, r0, r1, x0, x1, st.var)
    a = accent[hits.loop, hits.dynamics]
    c0, c1 = 1 - a * w0, 1 - a * w1
    num = hits.per_group(r0 * c0 * x0 + r1 * c1 * x1)
    den_level = hits.per_group(r0 * c0**2 + r1 * c1**2)
    cross = hits.per_group(r0 * c0 * w0 + r1 * c1 * w1)
    level = np.where(den_level > 0, num / np.where(den_level > 0, den_level, 1), st.level)
    level = np.clip(level, 1.0, 127.0)
    lv = level[hits.loop, hits.group]
    sq = hits.per_dynamics(
        r0 * (q0 + (x0 - lv * (1 - a * w0)) ** 2) + r1 * (q1 + (x1 - lv * (1 - a * w1)) ** 2)
    )
    var, dof = _variances(hits, sq, den_level > 0, info > 0)
    return _State(level, accent, var, share, r1, den_level, cross, info, dof)


def _profile_accent(
    hits: _Hits,
    r0: np.ndarray,
    r1: np.ndarray,
    x0: np.ndarray,
    x1: np.ndarray,
    var: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Each dynamics group's accent with its levels profiled out (at their best for that
    accent), and the accent's profile Fisher information, both (N, 3).

    For level group g, given the accent ``a`` the best level leaves the residual sum
    ``Σx² − (Sx − a·Swx)² / (S1 − 2a·Sw + a²·Sww)`` (expected sufficient statistics of the
    hits, weighted by their layer's responsibility), so a dynamics group's profile is a sum
    of ratios of quadratics in ``a`` (the hats': the closed hats' level and the open hats'):
    maximised on a grid of :data:`ACCENT_GRID` points over [0, 1] and refined by a parabola
    through the best point and its neighbours. Solving level and accent jointly converges
    where alternating updates crawl: a group without accent contrast (a snare of ghosts
    only) fits any accent through its level.
    """
    w_pow = ((1.0, 1.0), (hits.w0, hits.w1), (hits.w0**2, hits.w1**2))
    s1, sw, sww = (hits.per_group(r0 * p0 + r1 * p1) for p0, p1 in w_pow)
    sx = hits.per_group(r0 * x0 + r1 * x1)
    swx = hits.per_group(r0 * hits.w0 * x0 + r1 * hits.w1 * x1)
    grid = np.linspace(0.0, 1.0, ACCENT_GRID)
    num = sx[..., None] - grid * swx[..., None]
    den = s1[..., None] - 2 * grid * sw[..., None] + grid**2 * sww[..., None]
    gain = np.where(den > 1e-12, num**2 / np.where(den > 1e-12, den, 1.0), 0.0)
    gain = np.einsum("nga,gj->nja", gain, LEVEL_IN_DYNAMICS) / var[..., None]  # (N, 3, grid)
    best = np.argmax(gain, axis=2)
    k = np.clip(best, 1, ACCENT_GRID - 2)[..., None]
    g_lo, g_mid, g_hi = (np.take_along_axis(gain, k + d, axis=2)[..., 0] for d in (-1, 0, 1))
    k = k[..., 0]
    h = grid[1] - grid[0]
    curvature = (g_hi - 2 * g_mid + g_lo) / h**2  # d²gain/da²; the information is −½ of it
    concave = curvature < -1e-9
    vertex = grid[k] - (g_hi - g_lo) / (2 * h) / np.where(concave, curvature, -1.0)
    accent = np.where(concave, np.clip(vertex, grid[k - 1], grid[k + 1]), grid[best])
    # without two weaknesses within one of its levels, a group's accent trades off exactly
    # against its levels (a snare of ghosts only): its profile is flat and the accent
    # unread; 0 lets the levels fit the hits exactly (a level is at most 127, so an accent
    # kept from before could force a misfit, which would read as jitter)
    contrast = (s1 * sww - sw**2) @ LEVEL_IN_DYNAMICS
    flat = contrast <= 1e-9 * np.maximum((s1 @ LEVEL_IN_DYNAMICS) ** 2, 1e-300)
    accent = np.where(flat, 0.0, np.clip(accent, 0.0, 1.0))
    return accent, np.where(concave & ~flat, -0.5 * curvature, 0.0)


def _variances(
    hits: _Hits, sq: np.ndarray, fitted_level: np.ndarray, fitted_accent: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each dynamics group's variance (N, 3): its squared residuals over its hits less the
    parameters fitted to them (its levels and its accent). A group with less than one
    degree of freedom takes the loop's pooled variance, which only its levels' standard
    errors use (its jitter is not shown). Returns the variances and their degrees of
    freedom.

    The residuals are divided by no fewer than the group's censored hits (at 1 or 127) plus
    one: each censored hit's expected squared residual is about the variance itself, so
    with more of them than degrees of freedom EM grew the variance every step without end
    (a loop whose every snare plays 127 read a jitter of 10⁴, and a pack of them the top of
    the range, 30; a level of at most 127 with every hit at least 126.5 wants about 0)."""
    fitted = fitted_level.astype(float) @ LEVEL_IN_DYNAMICS + fitted_accent
    dof = hits.n_dynamics_hits - fitted
    divisor = np.maximum(dof, hits.n_dynamics_censored + 1)
    pooled = sq.sum(axis=1) / np.maximum(divisor.sum(axis=1), 1)
    var = np.where(dof >= 1, sq / np.maximum(divisor, 1), pooled[:, None])
    return np.maximum(var, ROUNDING_VAR), dof


def _shown(hits: _Hits, st: _State) -> np.ndarray:
    """Which knobs each loop's hits inform (N, 10): an instrument with an accented and an
    unaccented hit (each more likely than not) shows its accent; a level needs an accented
    hit of its group, or an unaccented one and its instrument's accent shown; an
    instrument's jitter two of its hits, fewer of them censored (at 1 or 127) than its
    variance's degrees of freedom: with more, the hits say the level and not the noise
    (:func:`_variances`).

    Where every unaccented hit of an instrument is one only by the mixture (a kick on an 8th
    note read as an extra kick), its accent counts as shown only when its two levels lie
    :data:`ACCENT_SEPARATION_MIN` noise sds apart or more: with a free accent the mixture
    splits one level's noise into two (a pack without extra kicks, every kick 102 ± 2, read
    accents of 0.03–0.06 in 8 of 64 loops, 1.9–4.1 sds apart, and the pack's accent 0.04
    where its preset says 0.3, which no kick of the pack can show; kicks with real extras
    read 9.5–12 sds apart)."""
    soft = np.where(st.r1 > 0.5, hits.w1, hits.w0) > 0
    loud_g = hits.per_group((~soft).astype(float))
    soft_g = hits.per_group(soft.astype(float))
    fixed_soft = hits.per_group((soft & ~hits.ambiguous).astype(float)) @ LEVEL_IN_DYNAMICS
    top_level = (st.level[:, :, None] * LEVEL_IN_DYNAMICS).max(axis=1)  # (N, 3)
    apart = st.accent * top_level >= ACCENT_SEPARATION_MIN * np.sqrt(st.var)
    accent_shown = (loud_g @ LEVEL_IN_DYNAMICS >= 1) & (soft_g @ LEVEL_IN_DYNAMICS >= 1)
    accent_shown &= (fixed_soft >= 1) | apart
    level_shown = (loud_g >= 1) | ((soft_g >= 1) & accent_shown[:, DYNAMICS_OF_LEVEL])
    jitter_shown = (hits.n_dynamics_hits >= 2) & (hits.n_dynamics_censored < st.dof)
    return np.column_stack([level_shown, accent_shown, jitter_shown])


def _median_unbiasing(dof: np.ndarray) -> np.ndarray:
    """Factor that makes a variance with ``dof`` degrees of freedom median-unbiased:
    ``dof / chi2.median(dof)``. A pack's jitter location is the median of its loops' reads,
    and a snare with 8 hits a loop reads a jitter of 3 as 2.8 without it."""
    d = np.maximum(dof, 1.0)
    return d / stats.chi2.ppf(0.5, d)


def read_loops(velocity: np.ndarray, *, n_iter: int = 60, kicks_again: bool = True) -> LoopReads:
    """Maximum-likelihood velocity knobs of each loop (see the module docstring).

    EM over the hits: the layer of a kick on an 8th note is latent (each loop learns its
    own share of extra kicks there, from a prior of :data:`EXTRA_KICK_SHARE` worth
    :data:`SHARE_PSEUDO_HITS` hits); velocities at 1 and 127 are censored; the variance
    of each instrument (dynamics group) is divided by its hits less the levels and the
    accent fitted to them.

    Each loop with kicks on the 8th notes is also read with every such kick a base pulse,
    and keeps the mixture's kick reads only where the hits show extra kicks
    (:func:`_read_kicks_again`). Left to itself, the mixture calls the softer half of one
    level's noise "extra kicks": a pack whose every kick is a base pulse at 100 ± 10 read its
    level about one standard error too loud and its jitter 8.2, with the level's scatter 2.6
    times its standard error. Where the mixture stays, its kick reads take the standard
    errors of the observed information (:func:`_kick_observed_se`).

    Parameters
    ----------
    velocity : ndarray (N, 5, 64)
        Canonical clip velocities (0: no hit), as ``ClipBatch.velocity``.
    n_iter : int
        EM iterations, the same for every loop: a loop's read does not depend on the others
        read with it.
    kicks_again : bool
        False leaves the kick's reads as the mixture's, not decided against base pulses: for
        a fit, which reads every pack's kicks again given its base pulses
        (:func:`with_kick_layers`).
    """
    velocity = np.asarray(velocity)
    hits = _Hits.from_velocity(velocity)
    st = _fit(hits, n_iter)
    estimate, se, shown = _reads(hits, st)
    ambiguous = np.flatnonzero(np.bincount(hits.loop, hits.ambiguous, minlength=hits.n_loops))
    if len(ambiguous) and kicks_again:
        _read_kicks_again(velocity[ambiguous], n_iter, hits, st, ambiguous, estimate, se, shown)
    return LoopReads(estimate, np.where(shown, se, np.inf), shown)


def read_kicks_given_layers(
    velocity: np.ndarray, base_chance: np.ndarray, *, n_iter: int = 60
) -> LoopReads:
    """Each loop's kick reads (level, accent and jitter; the other columns not shown) with
    the layers of its kicks on the 8th notes given: ``base_chance`` (N, 64), each step's
    chance that a kick there is a base pulse (the kick block's, from which steps play and
    the pack's population of the kick knobs:
    :meth:`~technorhythm.inference.kick_block.KickPack.base_chances`), instead of each
    loop's share of extra kicks learned from the velocities.

    The velocities alone cannot tell a pack without base pulses (every kick an extra one)
    from one whose kicks are all base pulses: both play one level, which the first reads as
    ``kick_velocity × (1 − kick_accent)`` and the second as ``kick_velocity``. Which steps
    play can: the kick block reads whether the pack's bars have a base. A kick whose chance
    is within :data:`LAYER_SURE` of 0 or 1 is read as that layer; the others stay a mixture
    with their given chance, and their loops' reads take the standard errors of its observed
    information. Every kick an extra one, a loop shows its kick level only through the
    accent, and neither without a base pulse to contrast (:func:`_shown`).

    Parameters
    ----------
    velocity : ndarray (N, 5, 64)
        Canonical clip velocities, as ``ClipBatch.velocity`` (only the kick row is read).
    base_chance : ndarray (N, 64)
        Per loop and step, the chance that a kick sounding there is a base pulse.
    n_iter : int
        EM iterations.
    """
    kicks = _kicks_only(np.asarray(velocity))
    base_chance = np.asarray(base_chance, dtype=np.float64)
    if base_chance.shape != (len(kicks), N_STEPS):
        raise ValueError(
            f"base_chance must be ({len(kicks)}, {N_STEPS}) for these loops; "
            f"got {base_chance.shape}"
        )
    hits = _Hits.from_velocity(kicks, base_chance=base_chance)
    st = _fit(hits, n_iter)
    estimate, se, shown = _reads(hits, st)
    mixed = np.flatnonzero(np.bincount(hits.loop, hits.ambiguous, minlength=hits.n_loops))
    cols = _kick_columns()
    if len(mixed):
        sub = _Hits.from_velocity(kicks[mixed], base_chance=base_chance[mixed])
        _widen_to_observed(se, sub, mixed, st)
    others = np.setdiff1d(np.arange(len(VELOCITY_KNOBS)), cols)
    shown[:, others] = False
    return LoopReads(estimate, np.where(shown, se, np.inf), shown)


def with_kick_layers(reads: LoopReads, velocity: np.ndarray, base_chance: np.ndarray) -> LoopReads:
    """``reads`` (:func:`read_loops` of ``velocity``) with the kick's columns read again
    given its kicks' layers (:func:`read_kicks_given_layers`); the other instruments' reads
    do not depend on the kick's."""
    kick = read_kicks_given_layers(velocity, base_chance)
    cols = _kick_columns()
    estimate, se, shown = reads.estimate.copy(), reads.se.copy(), reads.shown.copy()
    estimate[:, cols], se[:, cols], shown[:, cols] = (
        kick.estimate[:, cols],
        kick.se[:, cols],
        kick.shown[:, cols],
    )
    return LoopReads(estimate, se, shown)


def _widen_to_observed(se: np.ndarray, sub: _Hits, loops: np.ndarray, st: _State) -> None:
    """Give the kick reads of ``loops`` (rows of ``se`` and of EM's state ``st``; ``sub``:
    their kicks' hits) at least the standard errors of the mixture's observed information
    (:func:`_kick_observed_se`), in place."""
    observed = _kick_observed_se(sub, _kick_eta(st)[loops], st.var[loops, _KICK])
    where = np.ix_(loops, _kick_columns())
    se[where] = np.fmax(se[where], observed)


def _kick_columns() -> list[int]:
    """The kick's columns of :data:`VELOCITY_KNOBS`: its level, accent and jitter."""
    accent = len(pt.LEVEL_KNOBS) + _KICK
    return [_KICK_LEVEL, accent, accent + N_DYNAMICS]


def _kicks_only(velocity: np.ndarray) -> np.ndarray:
    """``velocity`` with every row but the kick's silenced: the kick's reads depend on its
    hits alone (its level, accent and jitter are its own)."""
    out = np.zeros_like(velocity)
    out[:, KICK] = velocity[:, KICK]
    return out


def _read_kicks_again(velocity, n_iter, hits, st, rows, estimate, se, shown) -> None:
    """Decide, for the loops ``rows`` with kicks on the 8th notes (``velocity``: theirs),
    between the mixture's kick reads and reads with every such kick a base pulse, and give
    the mixture's reads the standard errors of its observed information (in place).

    The mixture stays where the kick's accent is shown (:func:`_shown`) and either an
    unaccented kick is one by its position alone or the mixture's log-likelihood beats the
    base pulses' by :data:`MIXTURE_LR_MIN` / 2. A loop whose kicks the base-pulse fit
    leaves without a degree of freedom (one kick) keeps the mixture's reads."""
    kicks = _kicks_only(velocity)
    base = _Hits.from_velocity(kicks, extra_kicks=False)
    base_st = _fit(base, n_iter)
    gain = _kick_log_likelihood(hits, _kick_eta(st), prior=False)[rows]
    gain -= _kick_log_likelihood(base, _kick_eta(base_st), prior=False)
    is_kick = hits.dynamics == _KICK
    surely_soft = np.bincount(hits.loop, is_kick & ~hits.ambiguous & (hits.w0 > 0), hits.n_loops)
    accent = len(pt.LEVEL_KNOBS) + _KICK
    cols = _kick_columns()
    mixed = shown[rows, accent] & ((surely_soft[rows] > 0) | (2 * gain > MIXTURE_LR_MIN))
    if mixed.any():
        _widen_to_observed(se, _Hits.from_velocity(kicks[mixed]), rows[mixed], st)
    again = ~mixed & (base_st.dof[:, _KICK] >= 1)
    base_estimate, base_se, base_shown = _reads(base, base_st)
    where = np.ix_(rows[again], cols)
    estimate[where], se[where] = base_estimate[again][:, cols], base_se[again][:, cols]
    shown[where] = base_shown[again][:, cols]


def _fit(hits: _Hits, n_iter: int) -> _State:
    """``n_iter`` EM steps from :func:`_start`."""
    st = _start(hits)
    for _ in range(n_iter):
        st = _em_step(hits, st)
    return st


def _reads(hits: _Hits, st: _State) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each loop's estimate, standard error and shown flags (N, 10) from EM's state."""
    shown = _shown(hits, st)
    accent_var = np.where(st.info_accent > 0, 1.0 / np.maximum(st.info_accent, 1e-300), 0.0)
    den = np.maximum(st.den_level, 1e-12)
    # a level's variance given the accent, plus what the accent's own uncertainty adds
    # (the inverse of the joint information: ∂level/∂accent = level·Σcw / Σc²). No floor
    # for the rounding: without jitter, rint(88.2) is 88 in every hit and the read is 88
    # ± little, which is what new loops must play; a floor of 1/12 made a quarter of them
    # play 87 or 89 where a pack of exact loops has none, and the verdict flag them
    level_var = st.var[:, DYNAMICS_OF_LEVEL] / den
    level_var += (st.level * st.cross / den) ** 2 * accent_var[:, DYNAMICS_OF_LEVEL]
    se = np.column_stack(
        [
            np.sqrt(level_var),
            np.sqrt(1.0 / np.maximum(st.info_accent, 1e-12)),
            np.sqrt(st.var / (2.0 * np.maximum(st.dof, 1))),
        ]
    )
    jitter = np.sqrt(np.maximum(st.var * _median_unbiasing(st.dof) - ROUNDING_VAR, 0.0))
    estimate = np.column_stack([st.level, st.accent, jitter])
    return estimate, se, shown


_KICK_STEPS = np.array([1e-3, 1e-4, 1e-3, 1e-3, 1e-3])
"""Finite-difference steps of :func:`_kick_observed_se`'s parameters: the kick level (in
units of the kick's noise sd), its accent, log variance and the two logit shares."""


def _kick_eta(st: _State) -> np.ndarray:
    """EM's state as the kick's parameters (N, 5): level, accent, log variance and the
    logit shares of extra kicks on beats and off-beat 8ths."""
    share = st.share.reshape(-1, 2)
    with np.errstate(divide="ignore"):
        logit = np.log(share) - np.log1p(-share)
    return np.column_stack(
        [st.level[:, _KICK_LEVEL], st.accent[:, _KICK], np.log(st.var[:, _KICK]), logit]
    )


def _kick_log_likelihood(hits: _Hits, eta: np.ndarray, *, prior: bool = True) -> np.ndarray:
    """Each loop's log-likelihood of its kicks (N,) at ``eta`` (N, 5, :func:`_kick_eta`),
    up to a constant; with ``prior``, plus the shares' prior worth
    :data:`SHARE_PSEUDO_HITS` hits. Where the hits' layer chances are given
    (``hits.fixed_p1``), the shares are not parameters: ``eta``'s last two columns and the
    prior are ignored."""
    kick = hits.dynamics == _KICK
    loop = hits.loop[kick]
    lv, a, s = eta[loop, 0], eta[loop, 1], np.exp(0.5 * eta[loop, 2])
    share = 1.0 / (1.0 + np.exp(-eta[:, 3:5]))  # (N, 2)
    p1 = hits.second_layer_chance(share.reshape(-1))[kick]
    prior = prior and hits.fixed_p1 is None
    v, high, low = hits.v[kick], hits.high[kick], hits.low[kick]
    l0 = _component_moments(v, lv * (1 - a * hits.w0[kick]), s, high, low)[0]
    l1 = _component_moments(v, lv * (1 - a * hits.w1[kick]), s, high, low)[0]
    with np.errstate(divide="ignore"):
        per_hit = np.logaddexp(l0 + np.log1p(-p1), l1 + np.log(p1))
    out = np.bincount(loop, per_hit, minlength=hits.n_loops)
    if prior:
        q = hits.prior_share.reshape(-1, 2)
        out += SHARE_PSEUDO_HITS * (q * np.log(share) + (1 - q) * np.log1p(-share)).sum(axis=1)
    return out


def _kick_observed_se(hits: _Hits, eta: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Standard errors (N, 3) of each loop's kick level, accent and jitter from the observed
    information of the mixture: a numerical Hessian of :func:`_kick_log_likelihood` at EM's
    state ``eta`` (N, 5, :func:`_kick_eta`; ``var`` (N,): the kick's variance).

    EM's own standard errors use the complete-data information, as if every kick on an 8th
    note were known to be a base pulse or an extra kick; the observed information is the
    complete one less what the unknown layers take away (Louis, 1982). NaN where the
    Hessian is not negative definite."""
    step = np.tile(_KICK_STEPS, (hits.n_loops, 1))
    step[:, 0] *= np.sqrt(var)
    n_par = eta.shape[1] if hits.fixed_p1 is None else 3  # given layer chances: no shares
    hess = np.empty((hits.n_loops, n_par, n_par))
    f0 = _kick_log_likelihood(hits, eta)

    def f(*moves: tuple[int, float]) -> np.ndarray:
        moved = eta.copy()
        for i, sign in moves:
            moved[:, i] += sign * step[:, i]
        return _kick_log_likelihood(hits, moved)

    for i in range(n_par):
        hess[:, i, i] = (f((i, 1)) - 2 * f0 + f((i, -1))) / step[:, i] ** 2
        for j in range(i):
            d = f((i, 1), (j, 1)) - f((i, 1), (j, -1)) - f((i, -1), (j, 1)) + f((i, -1), (j, -1))
            hess[:, i, j] = hess[:, j, i] = d / (4 * step[:, i] * step[:, j])
    out = np.full((hits.n_loops, 3), np.nan)
    ok = np.all(np.isfinite(hess), axis=(1, 2))
    ok[ok] = np.all(np.linalg.eigvalsh(-hess[ok]) > 0, axis=1)
    if ok.any():
        sd = np.sqrt(np.diagonal(np.linalg.inv(-hess[ok]), axis1=1, axis2=2))
        # jitter ≈ sqrt(variance): d jitter / d log variance = jitter / 2
        jitter_sd = 0.5 * np.sqrt(var[ok]) * sd[:, 2]
        out[ok] = np.column_stack([sd[:, 0], sd[:, 1], jitter_sd])
    return out
