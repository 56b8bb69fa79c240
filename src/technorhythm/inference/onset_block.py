"""The onset knobs read from a loop's hits: which steps play, counted as the simulator decides.

The simulator's :data:`~technorhythm.simulator.patterns.RAMPED` knobs (:data:`ONSET_KNOBS`)
set the chance of a hit where a layer may play: the backbeat on beats 2 and 4, ghost snares
(times :data:`~technorhythm.simulator.patterns.GHOST_WEIGHT`), closed hats per beat class,
open hats per step, the ride per beat class (quarters, then 8ths, then 16ths as the knob
rises through thirds) and a crash per bar downbeat. Each knob acts through
:func:`~technorhythm.simulator.patterns.ramp`, so a chance ``a`` is the knob value
``x`` with ``ramp(x) = a``.

A loop's decisions are not all its own. Bars 2–4 repeat their phrase's first bar unless
drawn afresh (``variation``), and within a bar beats 2–4 repeat beat 1's hat, ride and
extra-kick decisions unless they decide alone. Every step where a layer can be seen counts
(so the read is unbiased however many repeat), and the likelihood is that of the decisions
actually made:

* a bar whose pattern equals the bar it would repeat (every row, the cymbal's downbeat
  aside, where a crash is the bar's own) is a repeat of it;
* a beat whose closed hats or ride differ from beat 1's (where both can be seen) decided
  alone; the others share one decision per beat class with beat 1;
* a closed hat under an open hat on its step is not seen (the open hat chokes it), nor is
  the ride on a bar's downbeat (it may be a crash);
* a crash counts on the downbeat of every bar (the bar's own) of a loop whose cymbals play
  on bar downbeats only: there the ride is off (or so rare that its beat-1 decision hardly
  ever sounds alone). Bar 1 crashes with ``min(1, 2·a)``, the others with ``a``. Where the
  ride plays, a downbeat cymbal may be either and the loop does not show the crash. (A
  loop whose beats vary nearly always and whose ride is rare but not off still reads a few
  of its downbeat rides as crashes: ``live-kit``'s crash of 0.15 reads about 0.2.)

A decision played by ``c`` seen steps weighs ``c`` in the steps' mean, whose variance is
that of ``(Σc)² / Σc²`` decisions; the log-likelihood of all seen steps is scaled by that
number over ``Σc`` (a composite likelihood as wide as the decisions made). A fresh bar (or a
beat deciding alone) that happens to equal the one it would repeat counts as a copy: the
read keeps its value, its width is a little too wide. Hits and trials per decision class
give each loop's likelihood of every knob value on :data:`GRID` (:func:`read_onsets`),
which :mod:`technorhythm.inference.grid_pool` turns into a pack's location and spread and
each loop's own value.
"""

from __future__ import annotations

import numpy as np

from technorhythm.clips import CYMBAL, HH_CLOSED, HH_OPEN, N_BARS, SNARE, STEPS_PER_BAR
from technorhythm.clips import STEPS_PER_BEAT as BEAT
from technorhythm.inference.grid_pool import GRID, GridReads
from technorhythm.simulator import patterns as pt

__all__ = ["ONSET_KNOBS", "bar_copies", "fresh_bars", "onset_counts", "own_beats", "read_onsets"]

ONSET_KNOBS: tuple[str, ...] = pt.RAMPED
"""The knobs of the onset block, in its column order (the ramped probability knobs)."""

_EPS = 1e-6  # smallest chance a likelihood gives a hit (real loops play what the rules don't)
_GHOST_WEIGHTS = np.unique(pt.GHOST_WEIGHT[pt.GHOST_WEIGHT > 0])
_OTHER_WEIGHTS = np.unique(pt.OPEN_OTHER_WEIGHT[pt.OPEN_OTHER_WEIGHT > 0])


def fresh_bars(on: np.ndarray) -> np.ndarray:
    """(N, 4) bool: whether each bar's decisions are its own (bar 1 always)."""
    pattern = on.copy()
    pattern[:, CYMBAL, :, 0] = False  # a crash is each bar's own
    flat = pattern.transpose(0, 2, 1, 3).reshape(len(on), N_BARS, -1)
    source = np.asarray(pt.PHRASE_REPEATS)
    fresh = (flat != flat[:, source]).any(axis=2)
    fresh[:, 0] = True
    return fresh


def own_beats(on: np.ndarray) -> np.ndarray:
    """(N, 4 bars, 4 beats) bool: beats that decide their hats and ride alone (beat 1 never):
    their closed hats or ride differ from beat 1's where both can be seen."""
    beats = _by_beat(on)  # (N, row, bar, beat, class)
    closed, opened, ride = beats[:, HH_CLOSED], beats[:, HH_OPEN], beats[:, CYMBAL]
    seen = ~opened & ~opened[:, :, :1]  # neither step choked
    hat_differs = ((closed != closed[:, :, :1]) & seen).any(axis=3)
    ride_differs = (ride[..., 1:] != ride[:, :, :1, 1:]).any(axis=3)  # the downbeat aside
    own = hat_differs | ride_differs
    own[:, :, 0] = False
    return own


def _by_beat(on: np.ndarray) -> np.ndarray:
    """(N, row, bar, pos) → (N, row, bar, beat, beat class)."""
    return on.reshape(*on.shape[:3], STEPS_PER_BAR // BEAT, BEAT)


def bar_copies(fresh: np.ndarray) -> np.ndarray:
    """(N, 4): how many bars play each bar's decisions (0 for a repeat; bar 1 plays in
    itself and in every bar that repeats it, directly or through bar 2)."""
    source = np.zeros(fresh.shape, dtype=np.int64)
    for b in range(1, fresh.shape[1]):
        source[:, b] = np.where(fresh[:, b], b, source[:, pt.PHRASE_REPEATS[b]])
    return (source[:, :, None] == np.arange(fresh.shape[1])).sum(axis=1)


def _share(copies_sum: np.ndarray, copies_sq: np.ndarray) -> np.ndarray:
    """The effective share of distinct decisions among ``copies_sum`` seen steps, whose
    decisions are played ``copies`` times each: (Σc)² / Σc² effective decisions (the
    weighted mean of the steps has the variance of that many), over Σc."""
    return np.where(copies_sum > 0, copies_sum / np.maximum(copies_sq, 1.0), 1.0)


def _class_counts(
    values: np.ndarray, seen: np.ndarray, own: np.ndarray, copies: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hits and trials (N, 4 classes) of decisions shared by the beats of a bar unless they
    decide alone, every seen step counted, and the effective share of distinct decisions
    among them (N, 4; :func:`_share`): ``values``/``seen`` (N, bar, beat, class) bool,
    ``own`` (N, bar, beat), ``copies`` (N, bar; :func:`bar_copies`). A drawn bar's shared
    decision is played by
    each of its sharing beats that shows it, in each bar that repeats it; each beat deciding
    alone, in each bar that repeats it."""
    hits = (values & seen).sum(axis=(1, 2)).astype(np.float64)
    trials = seen.sum(axis=(1, 2)).astype(np.float64)
    copies = copies[..., None]  # (N, bar, 1)
    sharing = (~own[..., None] & seen).sum(axis=2)  # (N, bar, class): beats showing it
    alone = (own[..., None] & seen).sum(axis=2)
    total = (copies * (sharing + alone)).sum(axis=1)  # = trials
    square = (copies**2 * (sharing**2 + alone)).sum(axis=1)
    return hits, trials, _share(total, square)


def _weighted_counts(
    values: np.ndarray, copies: np.ndarray, weight: np.ndarray, classes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hits and trials (N, len(classes)) of per-step decisions of every bar, pooled by the
    steps' weight (``weight`` (16,): a hit's chance is the knob's times it), and the
    effective share of distinct decisions among them (N, 1; :func:`_share`), each bar drawn
    afresh playing its decisions in every bar that repeats it (``copies`` (N, bar))."""
    n_bars = values.shape[1]
    hits = np.stack([values[..., weight == w].sum(axis=(1, 2)) for w in classes], axis=1)
    per_bar = np.array([np.count_nonzero(weight == w) for w in classes], dtype=np.float64)
    trials = np.broadcast_to(n_bars * per_bar, (len(values), len(classes)))
    share = _share(copies.sum(axis=1), (copies**2).sum(axis=1))[:, None]
    return hits.astype(np.float64), trials.astype(np.float64), share


def onset_counts(velocity: np.ndarray) -> dict[str, tuple[np.ndarray, ...]]:
    """Each onset knob's decisions in each loop, as ``knob → (hits, trials, share,
    weights)``: hits and trials (N, C) of C classes of steps whose chance of a hit is
    ``weights[c]`` times the knob's acting value (for ``ride``, ``weights`` are the beat
    classes, see :func:`_chance`), every step where the layer can be seen counted, and
    ``share`` (N, 1 or C), the effective share of distinct decisions among those steps
    (module docstring). ``velocity`` (N, 5, 64), canonical (0: no hit)."""
    velocity = np.asarray(velocity)
    n = len(velocity)
    on = velocity.reshape(n, velocity.shape[1], N_BARS, STEPS_PER_BAR) > 0  # (N, row, bar, pos)
    copies = bar_copies(fresh_bars(on)).astype(np.float64)
    own = own_beats(on)
    beats = _by_beat(on)
    one = np.ones(1)
    out: dict[str, tuple[np.ndarray, ...]] = {}
    snare, opened = on[:, SNARE], on[:, HH_OPEN]
    out["backbeat"] = (*_weighted_counts(snare, copies, pt.BACKBEAT.astype(float), one), one)
    ghost = np.where(pt.BACKBEAT, 0.0, pt.GHOST_WEIGHT)
    out["snare_ghosts"] = (
        *_weighted_counts(snare, copies, ghost, _GHOST_WEIGHTS),
        _GHOST_WEIGHTS,
    )
    out["open_hat"] = (*_weighted_counts(opened, copies, pt.OPEN_WEIGHT, one), one)
    out["open_hat_other"] = (
        *_weighted_counts(opened, copies, pt.OPEN_OTHER_WEIGHT, _OTHER_WEIGHTS),
        _OTHER_WEIGHTS,
    )
    hat = _class_counts(beats[:, HH_CLOSED], ~beats[:, HH_OPEN], own, copies)
    for name, classes in (("hat_beats", [0]), ("hat_offbeats", [2]), ("hat_16ths", [1, 3])):
        h, t = hat[0][:, classes].sum(axis=1), hat[1][:, classes].sum(axis=1)
        d = (hat[2][:, classes] * hat[1][:, classes]).sum(axis=1)
        out[name] = (h[:, None], t[:, None], (d / np.maximum(t, 1.0))[:, None], one)
    ride_seen = np.ones_like(beats[:, CYMBAL])
    ride_seen[:, :, 0, 0] = False  # a bar's downbeat may be a crash
    out["ride"] = (*_class_counts(beats[:, CYMBAL], ride_seen, own, copies), np.arange(4.0))
    # a crash is seen in a loop whose cymbals play only on bar downbeats (no ride elsewhere)
    cymbal = on[:, CYMBAL]
    ride_free = ~cymbal[..., 1:].any(axis=(1, 2))  # (N,)
    crash = cymbal[..., 0] & ride_free[:, None]
    out["crash"] = (
        np.column_stack([crash[:, 0], crash[:, 1:].sum(axis=1)]),
        ride_free[:, None] * np.array([[1.0, N_BARS - 1.0]]),
        np.ones((n, 1)),  # every bar's own
        np.array([2.0, 1.0]),
    )
    return {k: tuple(np.asarray(a, dtype=np.float64) for a in v) for k, v in out.items()}


def _chance(name: str, acting: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(X, C) chance of a hit of each class of :func:`onset_counts` for acting values (X,)."""
    a = acting[:, None]
    if name == "ride":  # beat classes: quarters, then 8ths, then 16ths (patterns.py)
        return np.column_stack([pt.ride_class_probabilities(v) for v in acting]).T
    return np.clip(a * weights[None], 0.0, 1.0)


def loglik_grid(name: str, hits, trials, share, weights) -> np.ndarray:
    """Log-likelihood (N, X) of every value of :data:`GRID` for knob ``name`` from its
    counts (:func:`onset_counts`): every seen step's, scaled by the effective share of
    distinct decisions among them (a composite likelihood: its peak is where all the steps
    put it, its width that of the decisions actually made)."""
    p = np.clip(_chance(name, pt.ramp(GRID), weights), _EPS, 1.0 - _EPS)  # (X, C)
    return (share * hits) @ np.log(p).T + (share * (trials - hits)) @ np.log1p(-p).T


def read_onsets(velocity: np.ndarray) -> GridReads:
    """The onset block's reads of every loop (:class:`GridReads`, columns
    :data:`ONSET_KNOBS`): each knob's log-likelihood on :data:`GRID`, summarised as
    :meth:`GridReads.from_loglik` does; a knob is shown by a loop with at least one seen
    step of it."""
    counts = onset_counts(velocity)
    loglik = np.stack([loglik_grid(k, *counts[k]) for k in ONSET_KNOBS], axis=1)
    shown = np.column_stack([counts[k][1].sum(axis=1) > 0 for k in ONSET_KNOBS])
    return GridReads.from_loglik(loglik, shown)
