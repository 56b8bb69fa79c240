"""The kick knobs read from a loop's hits: its bars' base pulses and extra kicks.

The simulator's kick (:mod:`technorhythm.simulator.reference`) plays, in every bar drawn
afresh, ``k`` base pulses on the bar's 8th notes (``k = floor(a + u)`` with
``a = acting_pulses(kick_pulses)``, so k = j with chance ``max(0, 1 − |a − j|)``) and extra
kicks off the base: per group of beats that share their decisions, one decision for the
beat, one for the 'e' (chances ``kick_extra`` × 0.8 and × 0.3) and one for the off-beat
pair (``kick_extra`` × 1.0), which sounds on the 'a' instead of the 'and' with chance
``kick_late``. :mod:`technorhythm.inference.kick_submodel` writes that bar's likelihood
exactly (:func:`~technorhythm.inference.kick_submodel.bar_terms` gives its terms: for
every base B(k) and configuration of beats deciding on their own, whether the bar is
possible and how often each factor multiplies the term); this block uses it per loop.

A loop's decisions are decoded as the onset block decodes them
(:mod:`technorhythm.inference.onset_block`): a bar whose pattern equals the bar it would
repeat is a repeat of it and says nothing new; the beats whose hats or ride differ from
beat 1's decide on their own. Each fresh bar's likelihood of
``(kick_pulses, kick_extra, kick_late)`` is then the exact one,

    L(bar) = Σ_k P(k | kick_pulses) · Σ_c w(c) · Π factors_k,c(kick_extra, kick_late),

summed over the configurations c of beats 2–4 deciding alone that include the decoded
ones, each weighted by its chance ``w(c) = E[(v²)^n (1 − v²)^(3 − n)]`` for n beats alone
(:func:`own_weights`) over the loops' ``variation`` v: the pack's, from the network's ψ
draws (``variation``, how often bars and beats decide afresh, stays with the network, which
sees every row), or the prior's for a loop read alone. Leaving that chance out makes an
explanation with beats deciding alone free: a six-pulse base with an extra kick on beat 2's
'and' alone explains a seven-pulse bar as well as the seven-pulse base does, and simulated
packs of 256 loops read ``kick_extra`` 0.19 for 0.001. The loop's likelihood is the product
over its fresh bars, on a joint grid of the three knobs (:data:`PULSES_GRID` ×
:data:`EXTRA_GRID` × :data:`LATE_GRID`); a knob value's is interpolated from it linearly (a
bar's likelihood, not its log, is linear in the acting pulse count between whole counts).

Real loops play bars the rules cannot make: a kick on both the 'and' and the 'a' of a
beat off the base, or a base pulse missing (about a fifth of the distinct kick bars of the
Groove sessions; a break in a techno loop). A base pulse the bar does not play costs a
chance :data:`DROP` each (the bar is read with it put back) rather than ruling the base out:
otherwise a four-on-the-floor pack with one dropped kick read fewer base pulses and extra
kicks instead, and its new loops played bases the pack never does. Each bar's likelihood
also has a floor, :data:`BAR_FLOOR`, so a bar impossible even so says nothing about the
knobs instead of ruling out every value.

Each distinct bar's terms are computed once (:class:`KickBars`, per number of beats deciding
alone, so that a pack's likelihoods given its ``variation`` need no bar computed again), and
each knob's likelihood is a loop's joint one summed over the other two knobs. Summed with
flat weights (each loop alone), wrong explanations can outweigh the right one: a bar of
eight 8th-note kicks is eight base pulses, or fewer and extra kicks on every 'and', and the
latter take most of the ``kick_pulses`` range. Taking each knob's profile (the joint at the
other two's best values) has the opposite fault: each loop picks the nuisance value that
suits it. A pack
(:meth:`KickBars.conditioned`) therefore sums each knob's joint likelihood over the pack's
population of the other two knobs: it pools one knob at a time with
:mod:`technorhythm.inference.grid_pool`, each given the others' latest populations (flat
before they are first pooled), :data:`ROUNDS` passes in all, a coordinate-wise search of
the independent populations' marginal likelihood (passes that pooled all three at once
from the pass before oscillated between explanations). ``kick_pulses`` is pooled under the
population model's hyperprior, which holds packs at rest on a whole number of pulses
(:func:`~technorhythm.inference.grid_pool.cell_log_prior`). The last likelihoods are
pooled and drawn as the onset knobs' are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from technorhythm.clips import KICK, N_BARS, STEPS_PER_BAR
from technorhythm.inference import kick_submodel as ks
from technorhythm.inference.grid_pool import (
    CELL_PROBABILITIES,
    GRID,
    GridReads,
    cell_log_prior,
    grid_log_posterior,
)
from technorhythm.inference.loop_reads import row_index
from technorhythm.inference.onset_block import fresh_bars, own_beats
from technorhythm.simulator import patterns as pt
from technorhythm.simulator.knobs import get_knob

__all__ = [
    "KICK_KNOBS",
    "PULSES_GRID",
    "EXTRA_GRID",
    "LATE_GRID",
    "BAR_FLOOR",
    "ROUNDS",
    "KickBars",
    "KickPack",
    "KickReads",
    "kick_loglik",
    "own_weights",
    "read_kicks",
]

KICK_KNOBS: tuple[str, ...] = ("kick_pulses", "kick_extra", "kick_late")
"""The knobs of the kick block, in its column order."""
_SCALE = np.array([get_knob(k).high for k in KICK_KNOBS], dtype=np.float64)
if any(get_knob(k).low != 0.0 for k in KICK_KNOBS):
    raise ValueError("the kick block keeps its likelihoods on GRID · range: every low must be 0")

PULSES_GRID: np.ndarray = np.arange(0.0, _SCALE[0] + 0.25, 0.5)
"""Acting pulse counts of the joint grid (17, 0.5 apart): every whole count, which a
plateau of ``kick_pulses`` values plays, and the even mixes between them; a knob value's
likelihood is interpolated at its acting count
(:func:`~technorhythm.simulator.patterns.acting_pulses`)."""
EXTRA_GRID: np.ndarray = GRID[::5] * _SCALE[1]
"""``kick_extra`` values of the joint grid (21, 0.05 apart)."""
LATE_GRID: np.ndarray = GRID[::10] * _SCALE[2]
"""``kick_late`` values of the joint grid (11, 0.1 apart)."""
DROP = 0.01
"""Chance that a loop leaves out one pulse of its bar's base (a producer's break, a
drummer's skipped kick): the simulator never does, real loops do. At 0.05 simulated packs
of 256 loops read ``kick_pulses`` high: a bar of fewer pulses read as a drop rather than a
smaller base."""
BAR_FLOOR = 1e-6
"""Least likelihood of a fresh bar at any knob values (module docstring)."""

_N_FACTORS = ks.FACTORS.index("own")  # the extras' factors; the own/shared ones are variation's
_OWN_CODE = np.array([4, 2, 1])  # beats 2–4 deciding alone → row of ks.OWN


def _log_factors() -> np.ndarray:
    """(E·L, F) log of the extras' factor probabilities at every (extra, late) of the grid."""
    extra, late = np.meshgrid(EXTRA_GRID, LATE_GRID, indexing="ij")
    probs = ks.factor_probabilities(extra.ravel(), 0.0, late.ravel())[:_N_FACTORS]
    with np.errstate(divide="ignore"):
        return np.log(np.stack(np.broadcast_arrays(*probs), axis=-1))


def _base_chances() -> np.ndarray:
    """(X, 9) chance of each base pulse count k at every acting count of the grid."""
    k = np.arange(len(pt.KICK_BASES))
    return np.maximum(0.0, 1.0 - np.abs(PULSES_GRID[:, None] - k))


_LOG_FACTORS = _log_factors()
_FINITE_LOG_FACTORS = np.where(np.isfinite(_LOG_FACTORS), _LOG_FACTORS, -1e300)
_BASE = _base_chances()
_BASE32 = _BASE.astype(np.float32)
_CHUNK = 256  # distinct bars whose likelihoods on the joint grid are computed at once


def _interpolation(coarse: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(len(values), len(coarse)) linear interpolation from ``coarse`` to ``values``."""
    eye = np.eye(len(coarse))
    return np.stack([np.interp(values, coarse, row) for row in eye], axis=1)


_TO_GRID = (
    _interpolation(PULSES_GRID, pt.acting_pulses(GRID * _SCALE[0])),
    _interpolation(EXTRA_GRID, GRID * _SCALE[1]),
    _interpolation(LATE_GRID, GRID * _SCALE[2]),
)


def _bar_terms(bars: np.ndarray, decided: np.ndarray) -> np.ndarray:
    """The terms of L(bar) (U, 9, 4, E·L) (float32) of kick bars (U, 16) whose beats 2–4
    ``decided`` (U, 3) their hats or ride alone: per base B(k) and number n of beats 2–4
    deciding alone, the bar's probability summed over the configurations with n beats alone
    that include the ``decided`` ones, at every (extra, late) of the grid (drops included).
    A term below float32's range is far below :data:`BAR_FLOOR`."""
    feasible, factors, missing = _terms_with_drops(bars)
    superset = (ks.OWN[None] >= decided[:, None]).all(axis=-1)  # (U, 8): configurations allowed
    allowed = feasible & superset[:, None, :]  # (U, 9, 8)
    counts = factors[..., :_N_FACTORS].astype(np.float64)  # (U, 9, 8, F)
    log_h = counts @ _FINITE_LOG_FACTORS.T  # (U, 9, 8, E·L); a count of 0 times log 0 is 0
    log_h += missing[..., None, None] * np.log(DROP)
    h = np.where(allowed[..., None], np.exp(log_h), 0.0)  # exp(−1e300): an impossible factor
    out = np.stack([h[:, :, n == ks.N_OWN].sum(axis=2) for n in range(4)], axis=2)
    return out.astype(np.float32)


def _bar_loglik(terms: np.ndarray, log_own: np.ndarray) -> np.ndarray:
    """log L(bar) (U, X, E·L) from :func:`_bar_terms` (U, 9, 4, E·L), floored at
    :data:`BAR_FLOOR`: each number of beats deciding alone weighted by ``exp(log_own[n])``
    (:func:`own_weights`), the base summed over with P(k | acting pulses)."""
    per_k = np.einsum("uknz,n->ukz", terms, np.exp(log_own).astype(np.float32))
    summed = _BASE32 @ per_k  # (U, X, E·L), batched matrix products
    summed += np.float32(BAR_FLOOR)
    return np.log(summed)


def _terms_with_drops(bars: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`~technorhythm.inference.kick_submodel.bar_terms` of each bar with base B(k)'s
    missing pulses put back, for every k: ``feasible`` (U, 9, 8), ``factors`` (U, 9, 8, F)
    and how many pulses of B(k) the bar does not play (U, 9), each costing :data:`DROP`."""
    base = ks.BASE_STEPS  # (9, 16)
    feasible = np.zeros((len(bars), len(base), len(ks.OWN)), dtype=bool)
    factors = np.zeros((len(bars), len(base), len(ks.OWN), len(ks.FACTORS)), dtype=np.int64)
    for k in range(len(base)):
        f, c = ks.bar_terms(bars | base[k], k)
        feasible[:, k], factors[:, k] = f[:, 0], c[:, 0]
    missing = (base[None] & ~bars[:, None, :]).sum(axis=-1)
    return feasible, factors, missing.astype(np.float64)


def own_weights(variation: np.ndarray | None = None) -> np.ndarray:
    """log of the weight (4,) of a bar in which n = 0..3 of beats 2–4 decide alone, given
    draws of the loops' ``variation`` (each beat decides alone with chance variation²): the
    mean over the draws of ``(v²)^n · (1 − v²)^(3 − n)``. None: variation uniform on its range
    (the prior's, for a loop read alone)."""
    if variation is None:
        variation = _PRIOR_VARIATION
    r = np.clip(np.asarray(variation, dtype=np.float64).ravel(), 0.0, 1.0) ** 2
    if not len(r):
        raise ValueError("own_weights needs at least one draw of variation")
    n = np.arange(4)
    w = (r[:, None] ** n * (1.0 - r[:, None]) ** (3 - n)).mean(axis=0)
    with np.errstate(divide="ignore"):
        return np.log(w)


_PRIOR_VARIATION = (np.arange(256) + 0.5) / 256 * get_knob("variation").high


_GRID_FIELDS = ("estimate", "se", "shown", "loglik", "scale", "log_prior")
ROUNDS = 3
"""Passes of :meth:`KickBars.conditioned`: each pools the three knobs one at a time, each
given the others' latest populations (flat ones before they are first pooled)."""
_AXES = (PULSES_GRID, EXTRA_GRID, LATE_GRID)
_LOG_PRIOR = np.stack(
    [cell_log_prior(np.asarray(pt.PLATEAUS[k][0]) / s, pt.PLATEAUS[k][1] / s)
     if k in pt.PLATEAUS else cell_log_prior() for k, s in zip(KICK_KNOBS, _SCALE, strict=True)]
)  # fmt: skip
"""(3, G) each kick knob's hyperprior on the pool's cells: the population model's, whose
packs may be at rest on a whole number of pulses (:func:`~technorhythm.inference.grid_pool.
cell_log_prior`)."""


@dataclass(frozen=True)
class KickBars:
    """A set of loops' kick bars as the block reads them: the distinct (bar, beats deciding
    alone) pairs of their fresh bars and each one's terms (:func:`_bar_terms`; ``terms``
    (U, 9, 4, E·L), shared by every slice), and which pair each loop's bars are (``keys``
    (N, 4); −1: a bar that repeats one before it and says nothing new). A pack's
    likelihoods given its ``variation`` (:meth:`loglik`) come from them without the bars'
    terms being computed again."""

    terms: np.ndarray
    keys: np.ndarray

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, rows) -> KickBars:
        return KickBars(self.terms, self.keys[rows])

    @classmethod
    def from_velocity(cls, velocity: np.ndarray) -> KickBars:
        """Decode loops (N, 5, 64) (canonical velocities) as the onset block decodes them
        (:mod:`technorhythm.inference.onset_block`): a bar whose pattern equals the bar it
        would repeat is a repeat and says nothing new; the beats whose hats or ride differ
        from beat 1's decide on their own."""
        velocity = np.asarray(velocity)
        n = len(velocity)
        on = velocity.reshape(n, velocity.shape[1], N_BARS, STEPS_PER_BAR) > 0
        fresh = fresh_bars(on).reshape(-1)  # (N·4,)
        decided = own_beats(on)[:, :, 1:].reshape(-1, 3)  # (N·4, 3)
        bars, bar_of = np.unique(on[:, KICK].reshape(-1, STEPS_PER_BAR), axis=0,
                                 return_inverse=True)  # fmt: skip
        pair = bar_of.reshape(-1) * 8 + decided @ _OWN_CODE
        unique, key_of = np.unique(pair[fresh], return_inverse=True)
        terms = np.zeros((len(unique), len(ks.BASE_STEPS), 4, len(_LOG_FACTORS)), np.float32)
        for part in np.array_split(np.arange(len(unique)), max(1, -(-len(unique) // _CHUNK))):
            terms[part] = _bar_terms(bars[unique[part] // 8], ks.OWN[unique[part] % 8])
        keys = np.full(n * N_BARS, -1)
        keys[fresh] = key_of.reshape(-1)
        return cls(terms, keys.reshape(n, N_BARS))

    def loglik(self, log_own: np.ndarray | None = None) -> np.ndarray:
        """Each loop's log-likelihood (N, X, E, L) of the joint grid of :data:`KICK_KNOBS`:
        the sum over its fresh bars. ``log_own``: :func:`own_weights` (None: the prior's)."""
        log_own = own_weights() if log_own is None else log_own
        n = len(self.keys)
        used, row = np.unique(self.keys, return_inverse=True)
        row = row.reshape(self.keys.shape)
        fresh = used >= 0
        log_bar = np.zeros((len(used), len(PULSES_GRID), len(_LOG_FACTORS)), np.float32)
        log_bar[fresh] = _bar_loglik(self.terms[used[fresh]], log_own)  # a repeat adds 0
        out = log_bar[row[:, 0]]  # bar 1 is always drawn afresh
        for b in range(1, N_BARS):  # bar by bar: memory stays that of the loops' grids
            out += log_bar[row[:, b]]
        return out.reshape(n, len(PULSES_GRID), len(EXTRA_GRID), len(LATE_GRID))

    def conditioned(
        self,
        clusters: np.ndarray | None = None,
        rounds: int = ROUNDS,
        log_own: np.ndarray | None = None,
    ) -> KickPack:
        """The pack's reads (these loops are one pack): each knob's likelihood summed over
        the other two knobs' population in the pack, found by ``rounds`` passes that pool
        each knob (:func:`~technorhythm.inference.grid_pool.grid_log_posterior`, the loops of
        one source file ``clusters`` counting as one loop) and weigh the others by the
        pooled population's predictive on the joint grid. ``log_own``: the pack's
        :func:`own_weights` (its loops' ``variation``); None: the prior's. The reads keep
        the pooled population (:class:`KickPack`)."""
        weights = [np.full(len(g), 1.0 / len(g)) for g in _AXES]
        log_own = own_weights() if log_own is None else np.asarray(log_own)
        if len(self) == 0:
            empty = _no_reads()
            fields = (getattr(empty, f) for f in _GRID_FIELDS)
            return KickPack(*fields, bars=self, population=tuple(weights), log_own=log_own)
        scaled, loglik, shown = _flat_reads(self.loglik(log_own))
        for _ in range(int(rounds)):  # one knob at a time, each given the others' latest
            for j in range(len(KICK_KNOBS)):
                loglik[:, j] = _marginal(scaled, weights, j)
                weights[j] = _population_weights(loglik[:, j], shown[:, j], clusters, j)
        base = GridReads.from_loglik(loglik, shown, _SCALE, _LOG_PRIOR)
        return KickPack(
            *(getattr(base, f) for f in _GRID_FIELDS),
            bars=self,
            population=tuple(weights),
            log_own=log_own,
        )

    def base_chances(
        self, population: tuple[np.ndarray, ...], log_own: np.ndarray | None = None
    ) -> np.ndarray:
        """(N, 64) the chance that a kick sounding on each step of each loop is a base
        pulse rather than an extra kick, given the loop's bars and the pack's
        ``population`` of the kick knobs (the pooled predictive on the joint grid's axes,
        :attr:`KickPack.population`) and ``log_own`` (:func:`own_weights`; None: the
        prior's).

        Each fresh bar's base count k is weighed by P(k | knobs) times the bar's chance
        given B(k) (its terms), summed over the knobs' posterior for the loop: the pack's
        population times the likelihood of the loop's other fresh bars. A bar that repeats
        another plays its kicks, and takes its chances. Where no base that the loop's
        posterior allows can play the bar (a bar the rules cannot make, each term 0 there),
        the chances follow the population's P(k) alone."""
        log_own = own_weights() if log_own is None else log_own
        n = len(self.keys)
        out = np.zeros((n, N_BARS, STEPS_PER_BAR))
        if n == 0:
            return out.reshape(n, -1)
        used, row = np.unique(self.keys, return_inverse=True)  # only these loops' bars
        all_keys = row.reshape(self.keys.shape) - int(used[0] < 0)  # −1 stays a repeat
        terms = self.terms[used[used >= 0]]
        per_k = np.einsum("uknz,n->ukz", terms, np.exp(log_own).astype(np.float32))
        log_bar = np.log(np.einsum("xk,ukz->uxz", _BASE32, per_k) + np.float32(BAR_FLOOR))
        w_x, w_e, w_l = (np.asarray(w, dtype=np.float64) for w in population)
        with np.errstate(divide="ignore"):
            log_prior = np.log(np.outer(w_x, np.outer(w_e, w_l).ravel()))  # (X, E·L)
        steps = ks.BASE_STEPS.astype(np.float64)
        base_prior = w_x @ _BASE / max(float(w_x @ _BASE.sum(axis=1)), 1e-300)  # P(k)
        for part in np.array_split(np.arange(n), max(1, -(-n // _CHUNK))):
            keys = np.where(self.keys[part] >= 0, all_keys[part], -1)
            fresh = keys >= 0
            loop = np.zeros((len(part), *log_bar.shape[1:]))
            for b in range(N_BARS):
                loop[fresh[:, b]] += log_bar[keys[fresh[:, b], b]]
            for b in range(N_BARS):
                rows = np.flatnonzero(fresh[:, b])
                u = keys[rows, b]
                rest = loop[rows] - log_bar[u] + log_prior  # the loop's other bars
                rest -= rest.max(axis=(1, 2), keepdims=True)
                pk = np.einsum("mxz,xk,mkz->mk", np.exp(rest), _BASE, per_k[u], optimize=True)
                total = pk.sum(axis=1, keepdims=True)
                pk = np.where(total > 0, pk / np.where(total > 0, total, 1.0), base_prior)
                out[part[rows], b] = pk @ steps
        for b, source in enumerate(pt.PHRASE_REPEATS):
            repeat = self.keys[:, b] < 0
            out[repeat, b] = out[repeat, source]
        return out.reshape(n, N_BARS * STEPS_PER_BAR)


@dataclass(frozen=True)
class KickPack(GridReads):
    """:class:`GridReads` of one pack's kick block (:meth:`KickBars.conditioned`) that also
    keep what the pack's pooling found: its loops' ``bars``, the ``population`` of each kick
    knob (the pooled predictive for a loop of the pack on the joint grid's axes,
    :data:`PULSES_GRID`, :data:`EXTRA_GRID`, :data:`LATE_GRID`) and ``log_own``
    (:func:`own_weights`), from which :meth:`base_chances` says which of the loops' kicks
    are base pulses."""

    bars: KickBars | None = None
    population: tuple[np.ndarray, ...] | None = None
    log_own: np.ndarray | None = None

    def base_chances(self) -> np.ndarray:
        """(N, 64) :meth:`KickBars.base_chances` of the pack's loops under its population."""
        if self.bars is None or self.population is None:
            raise ValueError("base_chances needs a pack's bars and population")
        return self.bars.base_chances(self.population, self.log_own)


def kick_loglik(velocity: np.ndarray, log_own: np.ndarray | None = None) -> np.ndarray:
    """Each loop's log-likelihood (N, X, E, L) of the joint grid of :data:`KICK_KNOBS`
    from its fresh bars (module docstring). ``velocity`` (N, 5, 64), canonical; ``log_own``:
    :func:`own_weights` (None: the prior's)."""
    return KickBars.from_velocity(velocity).loglik(log_own)


@dataclass(frozen=True)
class KickReads(GridReads):
    """:class:`GridReads` of the kick block that also keep the loops' bars as the block
    reads them (``bars``: :class:`KickBars`), read again when a pack knows its loops'
    ``variation``. The per-knob likelihoods (``loglik``) are each loop's joint likelihood
    given the prior's ``variation``, summed over the other two knobs with flat weights; a
    pack pools its bars' :meth:`KickBars.conditioned` ones instead, each knob's summed over
    the other two knobs' population in the pack (module docstring)."""

    bars: KickBars | None = None

    def __getitem__(self, index) -> KickReads | GridReads:
        part, rows = super().__getitem__(index), row_index(index)
        if rows is None:
            return part  # some columns only: no bars
        return KickReads(*(getattr(part, f) for f in _GRID_FIELDS), bars=self.bars[rows])


def _marginals(scaled: np.ndarray, weights: list[np.ndarray]) -> np.ndarray:
    """(N, 3, len(GRID)) log-likelihood of each knob on the grid: the joint likelihoods
    ``scaled`` (N, X, E, L; each loop's divided by its largest) summed over the other two
    knobs with ``weights`` (each knob's weights on its joint-grid axis), interpolated."""
    return np.stack([_marginal(scaled, weights, j) for j in range(len(KICK_KNOBS))], axis=1)


def _marginal(scaled: np.ndarray, weights: list[np.ndarray], j: int) -> np.ndarray:
    """(N, len(GRID)) knob ``j``'s log-likelihood of :func:`_marginals`."""
    w_x, w_e, w_l = (np.asarray(w, dtype=scaled.dtype) for w in weights)
    n = len(scaled)
    with np.errstate(divide="ignore"):
        if j == 0:
            m = np.log(scaled.reshape(n, len(w_x), -1) @ np.outer(w_e, w_l).ravel())
        elif j == 1:
            m = np.log(np.tensordot(scaled, w_x, axes=([1], [0])) @ w_l)
        else:
            m = np.log(np.einsum("nxel,x,e->nl", scaled, w_x, w_e, optimize=True))
    m = np.maximum(m, np.log(BAR_FLOOR) * N_BARS)  # finite: every bar floored
    # the likelihood, not its log, is interpolated: a bar's is linear in the acting pulse
    # count between whole counts (P(k | x) is), so its log is not
    g = np.log(np.exp(m - m.max(axis=1, keepdims=True)) @ _TO_GRID[j].T)
    return g - g.max(axis=1, keepdims=True)


def _population_weights(loglik, shown, clusters, j: int) -> np.ndarray:
    """Knob ``j``'s predictive for a loop of the pack on its joint-grid axis: the population
    of each (location, spread) cell weighted by its posterior from the loops that show the
    knob (flat when fewer than three do), mapped from the grid onto the axis."""
    which = np.flatnonzero(shown)
    if len(which) < 3:
        return np.full(len(_AXES[j]), 1.0 / len(_AXES[j]))
    files = None if clusters is None else np.asarray(clusters)[which]
    logp = grid_log_posterior(loglik[which], files, _LOG_PRIOR[j])
    p = np.exp(logp - logp.max())
    on_grid = (p / p.sum()) @ CELL_PROBABILITIES  # (len(GRID),)
    w = _TO_GRID[j].T @ on_grid
    return w / w.sum()


def _flat_reads(joint: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The joint likelihoods (N, X, E, L) divided by each loop's largest, each knob's
    likelihood summed over the other two with flat weights (N, 3, len(GRID)), and which
    knobs each loop shows (its likelihood of the knob is not flat)."""
    scaled = np.exp(joint - joint.max(axis=(1, 2, 3), keepdims=True))
    loglik = _marginals(scaled, [np.full(len(g), 1.0 / len(g)) for g in _AXES])
    return scaled, loglik, loglik.min(axis=2) < -1e-6


def _no_reads() -> GridReads:
    """The reads of no loops."""
    empty = np.zeros((0, len(KICK_KNOBS), len(GRID)))
    return GridReads.from_loglik(empty, np.zeros((0, len(KICK_KNOBS)), bool), _SCALE, _LOG_PRIOR)


def read_kicks(velocity: np.ndarray, log_own: np.ndarray | None = None) -> KickReads:
    """The kick block's reads of every loop (:class:`KickReads`, columns
    :data:`KICK_KNOBS`, likelihoods on ``GRID`` times each knob's range): per knob, the
    joint likelihood summed over the other two knobs' joint-grid values (flat weights; a
    pack pools :meth:`KickBars.conditioned` ones). A knob is shown by a loop whose
    likelihood of it is not flat (``kick_late`` by a loop with a pair of extra kicks, or a
    bar that rules one out). ``log_own``: :func:`own_weights` (None: the prior's)."""
    bars = KickBars.from_velocity(velocity)
    base = _no_reads()
    if len(bars):
        _, loglik, shown = _flat_reads(bars.loglik(log_own))
        base = GridReads.from_loglik(loglik, shown, _SCALE, _LOG_PRIOR)
    return KickReads(*(getattr(base, f) for f in _GRID_FIELDS), bars=bars)
