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

from technorhythm.clips import INSTRUMENTS, N_STEPS, STEPS_PER_BAR
from technorhythm.inference.loop_reads import LoopReads, normal_tail
from technorhythm.simulator import patterns as pt

__all__ = [
    "VELOCITY_KNOBS",
    "read_loops",
    "weakness_candidates",
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
    w0: np.ndarray  # weakness of the first candidate layer
    w1: np.ndarray  # … of the second (= w0 where the position fixes the layer)
    ambiguous: np.ndarray  # a kick on an 8th note: base pulse or extra kick
    share_cell: np.ndarray  # loop × (beat, off-beat 8th): whose share of extra kicks
    high: np.ndarray  # recorded 127: at least 126.5
    low: np.ndarray  # recorded 1: at most 1.5
    n_hits: np.ndarray  # (N,) hits per loop
    n_ambiguous: np.ndarray  # (2N,) ambiguous kicks per share cell
    prior_share: np.ndarray  # (2N,) EXTRA_KICK_SHARE of each share cell

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
        share_cell = loop * 2 + share_class
        n = len(v_all)
        return cls(
            n_loops=len(v_all),
            loop=loop,
            v=v,
            group=ROW_GROUP[row],
            w0=w_tab0[row, pos],
            w1=w_tab1[row, pos],
            ambiguous=ambiguous,
            share_cell=share_cell,
            high=v >= CLIP_HIGH,
            low=v <= CLIP_LOW,
            n_hits=np.bincount(loop, minlength=n).astype(np.float64),
            n_ambiguous=np.bincount(share_cell, ambiguous.astype(float), minlength=2 * n),
            prior_share=np.tile([EXTRA_KICK_SHARE[0], EXTRA_KICK_SHARE[2]], n),
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
    return _State(
        level=level,
        accent=np.full(n, 0.3),
        var=np.full(n, 25.0 + ROUNDING_VAR),
        share=hits.prior_share.copy(),
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
    extra = np.bincount(hits.share_cell, r1, minlength=2 * hits.n_loops)
    share = (extra + SHARE_PSEUDO_HITS * hits.prior_share) / (hits.n_ambiguous + SHARE_PSEUDO_HITS)
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
    var = np.maximum(sq / np.maximum(hits.n_hits - fitted, 1), ROUNDING_VAR)
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
    return np.column_stack([level_shown, accent_shown, hits.n_hits >= 2])


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
    se = np.column_stack(
        [
            np.sqrt(st.var[:, None] / np.maximum(st.den_level, 1e-12)),
            np.sqrt(st.var / np.maximum(st.den_accent, 1e-12)),
            np.sqrt(st.var / (2.0 * np.maximum(hits.n_hits, 1))),
        ]
    )
    jitter = np.sqrt(np.maximum(st.var - ROUNDING_VAR, 0.0))
    estimate = np.column_stack([st.level, st.accent, jitter])
    return LoopReads(estimate, np.where(shown, se, np.inf), shown)
