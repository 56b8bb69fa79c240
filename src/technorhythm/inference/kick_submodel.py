"""The kick row of the simulator as a sub-model with an exact likelihood.

A reference problem for the estimators: three knobs whose posterior can be computed
exactly (by MCMC on the likelihood below) and compared with NPE.

**The sub-model.** The full simulator (:func:`technorhythm.simulator.simulate`) with
every knob at its registry default except :data:`KNOBS` (``kick_pulses``, ``kick_extra``,
``variation``), which vary, and ``velocity_jitter`` at 0; the observation is the kick row
of each clip, onsets only: a (4 bars, 16 steps) 0/1 pattern per clip. No rule is
copied: the clips come from the simulator itself.

**The likelihood** (the simulator's kick rules, :mod:`technorhythm.simulator.reference`),
with ``v = variation`` and ``p_c = kick_extra × KICK_EXTRA_WEIGHT[c]`` for beat class
``c = pos % 4`` (the weights repeat every beat and differ between classes):

* per bar, ``k = floor(kick_pulses + u)`` base pulses, so k = j with probability
  ``max(0, 1 − |kick_pulses − j|)``, placed as the Euclidean E(k, 8) on the bar's 8th
  notes; base steps always sound;
* extra kicks, on the steps off the base only: beat 1 makes one decision per beat class
  c, 'on' with probability p_c; each of beats 2–4 decides on its own with probability
  ``v²`` (own flags o ∈ {0, 1}³), and then each of its steps off the base gets an extra
  kick with probability p_c, independently; otherwise its step of class c has one iff
  beat 1's class-c decision is 'on'. So, for each class c, the *shared* steps off the
  base (beat 1's and those of the beats that do not decide on their own) are all on
  (factor p_c), all off (factor 1 − p_c), none (factor 1), or mixed (impossible);
* the four bars are two 2-bar phrases: bar 1 is drawn; each of bars 2–4 is drawn afresh
  with probability v and otherwise repeats its phrase's first bar: bars 2 and 3 repeat
  bar 1, bar 4 repeats bar 2 (which is bar 1 when bar 2 repeated). A repeated bar copies
  everything above (k, the own flags, the decisions);
* the clip is then rotated by whole bars so that the first bar with a strong kick on its
  downbeat becomes bar 1 (:func:`technorhythm.clips.canonicalize`). Without velocity
  jitter, at the default accent, every kick is at least half as loud as the loudest, so
  a bar's downbeat kick is strong whenever there is one. An observed clip whose bar 1
  has a downbeat kick came from one of the rotations that put only downbeat-less bars in
  front of it, and the likelihood sums over them; one with no downbeat kick at all was
  not rotated; one whose bar 1 has none while a later bar has one is impossible.

Every decision of the simulator is ``u < floor(p · 2¹⁵)`` for a 15-bit uniform ``u``
(and the pulse count is ``floor(kick_pulses + u / 2¹⁵)``): the probabilities below are
the simulator's up to that quantisation, at most 2⁻¹⁵ per decision.

So for an observed clip Y with bars Y_0..Y_3, the probability of a freshly drawn bar is::

    L(bar) = Σ_k P(k) · 1[E(k) ⊆ bar] · Σ_o Π_{j=1..3} (v²)^{o_j} (1 − v²)^{1 − o_j}
             · Π_{own beats' steps off E(k)} Bernoulli(onset; p_c)
             · Π_c shared(c; bar, k, o),

with ``shared`` the factor p_c, 1 − p_c, 1 or 0 above, and with
``f(X | X_ref) = (1 − v) · 1[X = X_ref] + v · L(X)``::

    p(Y) = Σ_{valid rotations r} L(X_0) · f(X_1 | X_0) · f(X_2 | X_0) · f(X_3 | X_1),
    X_j = Y_{(j − r) mod 4}.

:func:`likelihood_data` reduces clips to the arrays this needs; :func:`log_likelihood`
evaluates it in numpy (the PyMC model in :mod:`technorhythm.posteriors.kick_reference`
writes the same in PyTensor). :func:`summaries` are the observations given to NPE.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from technorhythm.clips import KICK, N_BARS, STEPS_PER_BAR, STEPS_PER_BEAT
from technorhythm.simulator import patterns as pt
from technorhythm.simulator.knobs import KNOB_NAMES, default_theta, get_knob

__all__ = [
    "KNOBS",
    "FIXED",
    "WEIGHT_CLASSES",
    "REPEATS",
    "OWN",
    "N_OWN",
    "LikelihoodData",
    "bounds",
    "full_theta",
    "simulate_rows",
    "simulate_summaries",
    "likelihood_data",
    "log_likelihood",
    "summaries",
    "summary_names",
]

KNOBS: tuple[str, ...] = ("kick_pulses", "kick_extra", "variation")
"""The sub-model's parameters, in this order."""
FIXED: dict[str, float] = {"velocity_jitter": 0.0}
"""Knobs fixed away from their default (every other knob is at its default)."""
WEIGHT_CLASSES: np.ndarray = np.unique(pt.KICK_EXTRA_WEIGHT)
"""The distinct extra-kick weights; off-base steps are counted per class."""
REPEATS: tuple[int, ...] = pt.PHRASE_REPEATS
"""The bar each bar repeats when it is not drawn afresh (the simulator's
:data:`~technorhythm.simulator.patterns.PHRASE_REPEATS`)."""
OWN: np.ndarray = np.array(list(itertools.product((False, True), repeat=3)))
"""The 8 configurations of which of beats 2, 3, 4 decide their extra kicks on their own."""
N_OWN: np.ndarray = OWN.sum(axis=1)
"""Beats that decide on their own, per configuration of :data:`OWN`."""
_N_K = pt.EUCLID_8THS.shape[0]  # k = 0..8 base pulses
_BASE = np.zeros((_N_K, STEPS_PER_BAR), dtype=bool)
_BASE[:, ::2] = pt.EUCLID_8THS  # E(k, 8) on the bar's 8th notes
_CLASS = np.searchsorted(WEIGHT_CLASSES, pt.KICK_EXTRA_WEIGHT)  # weight class of each step
if not np.array_equal(_CLASS, np.tile(_CLASS[:STEPS_PER_BEAT], STEPS_PER_BAR // STEPS_PER_BEAT)):
    raise ValueError("the likelihood needs KICK_EXTRA_WEIGHT to repeat every beat")
# does step p decide on its own in own-configuration o: (8, 16); beat 1 never does
_OWN_STEP = np.concatenate([np.zeros((len(OWN), 1), bool), OWN], axis=1)[
    :, np.arange(STEPS_PER_BAR) // STEPS_PER_BEAT
]
_OFF = ~_BASE[:, None, :]  # (9, 1, 16): steps off the base E(k, 8)
_OWN_OFF = _OFF & _OWN_STEP[None]  # (9, 8, 16): off-base steps that decide on their own
_OF_CLASS = np.arange(STEPS_PER_BEAT)[:, None] == pt.BEAT_CLASS  # (4, 16)
# (9, 8, 4, 16): off-base steps that play beat 1's decision of class c
_SHARED_OFF = (_OFF & ~_OWN_STEP[None])[:, :, None, :] & _OF_CLASS
_N_SHARED = _SHARED_OFF.sum(axis=-1)  # (9, 8, 4)


def bounds() -> np.ndarray:
    """The prior box of :data:`KNOBS` (3, 2), from the knob registry."""
    return np.array([[get_knob(k).low, get_knob(k).high] for k in KNOBS], dtype=np.float64)


def full_theta(theta: np.ndarray) -> np.ndarray:
    """Sub-model θ (M, 3) → full simulator θ (M, K): defaults, :data:`FIXED`, then θ."""
    theta = np.atleast_2d(np.asarray(theta, dtype=np.float64))
    values = {**default_theta(), **FIXED}
    full = np.tile([values[n] for n in KNOB_NAMES], (len(theta), 1))
    for j, name in enumerate(KNOBS):
        full[:, KNOB_NAMES.index(name)] = theta[:, j]
    return full


def simulate_rows(theta: np.ndarray, n_clips: int, *, seed: int, start_index: int = 0):
    """Kick onsets of ``n_clips`` clips per θ row: bool (M, n_clips, 4, 16).

    Set m uses clips ``start_index + m·n_clips …`` of the simulator's stream ``seed``.
    """
    from technorhythm.simulator import simulate

    full = np.repeat(full_theta(theta), int(n_clips), axis=0)
    batch = simulate(full, seed=seed, start_index=start_index)
    rows = batch.velocity[:, KICK] > 0
    return rows.reshape(len(full) // n_clips, n_clips, N_BARS, STEPS_PER_BAR)


def simulate_summaries(
    theta: np.ndarray,
    n_clips: int,
    *,
    seed: int,
    start_index: int = 0,
    chunk_clips: int = 65536,
) -> np.ndarray:
    """:func:`summaries` (M, D) of sets of ``n_clips`` clips simulated at each θ row (M, 3),
    in chunks of about ``chunk_clips`` clips (memory stays bounded); clips as in
    :func:`simulate_rows`."""
    theta = np.atleast_2d(np.asarray(theta, dtype=np.float64))
    per_chunk = max(1, chunk_clips // int(n_clips))
    out = []
    for i in range(0, len(theta), per_chunk):
        rows = simulate_rows(
            theta[i : i + per_chunk], n_clips, seed=seed, start_index=start_index + i * n_clips
        )
        out.append(summaries(rows))
    return np.concatenate(out)


@dataclass(frozen=True)
class LikelihoodData:
    """What the likelihood needs of C clips (see the module docstring).

    Identical clips are kept once: C distinct clips, ``count`` (C,) times each; their B
    distinct bars likewise: ``bar`` (C, 4) is the index of each bar among them.
    Per distinct bar, base E(k, 8) and own configuration o (:data:`OWN`): ``feasible``
    (B, 9, 8): the bar contains the base and no class's shared steps are mixed;
    ``n_on``/``n_off`` (B, 9, 8, W): kicks and rests per weight class, counting each
    own beat's off-base steps and each class's shared steps once (all on, or all off);
    ``same`` (C, 4, 4): bar equality; ``rotations`` (C, 4): rotation r is possible.
    """

    count: np.ndarray
    bar: np.ndarray
    feasible: np.ndarray
    n_on: np.ndarray
    n_off: np.ndarray
    same: np.ndarray
    rotations: np.ndarray

    def __len__(self) -> int:
        return len(self.count)

    @property
    def n_clips(self) -> int:
        """Clips observed (distinct ones counted as often as they occur)."""
        return int(self.count.sum())

    @property
    def base_fits(self) -> np.ndarray:
        """(B, 9): the distinct bar contains the base E(k, 8)."""
        return self.feasible.any(axis=-1)  # with every beat on its own nothing is shared

    @cached_property
    def counts(self) -> np.ndarray:
        """(B·9·8, 2W + 2) float: per (distinct bar, base, own configuration), the counts
        that multiply log p_w, log(1 − p_w), log v² and log(1 − v²); computed once."""
        n_own = np.broadcast_to(N_OWN, self.feasible.shape)
        counts = np.concatenate(
            [self.n_on, self.n_off, n_own[..., None], (OWN.shape[1] - n_own)[..., None]],
            axis=-1,
        )  # (B, 9, 8, 2W + 2)
        return counts.reshape(-1, counts.shape[-1]).astype(np.float64)


def likelihood_data(rows: np.ndarray) -> LikelihoodData:
    """Reduce kick rows (C, 4, 16) (bool) of one observation to :class:`LikelihoodData`."""
    rows = np.asarray(rows, dtype=bool)
    if rows.ndim != 3 or rows.shape[1:] != (N_BARS, STEPS_PER_BAR) or not len(rows):
        raise ValueError(f"rows must have shape (C, {N_BARS}, {STEPS_PER_BAR}); got {rows.shape}")
    flat, count = np.unique(rows.reshape(len(rows), -1), axis=0, return_counts=True)
    rows = flat.reshape(-1, N_BARS, STEPS_PER_BAR)
    bars, bar = np.unique(rows.reshape(-1, STEPS_PER_BAR), axis=0, return_inverse=True)
    bar = bar.reshape(len(rows), N_BARS)
    y = bars.astype(np.int64)  # (B, 16)
    holds = ~np.any(_BASE[None] & ~bars[:, None, :], axis=-1)  # (B, 9)
    onehot = np.eye(len(WEIGHT_CLASSES), dtype=np.int64)[_CLASS]  # (16, W)
    own_on = np.einsum("bp,kop,pw->bkow", y, _OWN_OFF.astype(np.int64), onehot)
    own_off = np.einsum("bp,kop,pw->bkow", 1 - y, _OWN_OFF.astype(np.int64), onehot)
    shared_on = np.einsum("bp,kocp->bkoc", y, _SHARED_OFF.astype(np.int64))  # (B, 9, 8, 4)
    some = _N_SHARED[None] > 0
    all_on = some & (shared_on == _N_SHARED[None])
    all_off = some & (shared_on == 0)
    mixed = some & ~all_on & ~all_off
    class_onehot = onehot[:STEPS_PER_BEAT]  # (4, W): weight class of each beat class
    n_on = own_on + np.einsum("bkoc,cw->bkow", all_on.astype(np.int64), class_onehot)
    n_off = own_off + np.einsum("bkoc,cw->bkow", all_off.astype(np.int64), class_onehot)
    feasible = holds[:, :, None] & ~mixed.any(axis=-1)
    same = bar[:, :, None] == bar[:, None, :]
    down = rows[:, :, 0]
    rotations = np.zeros((len(rows), N_BARS), dtype=bool)
    # not rotated: bar 1 has the first downbeat, or no bar has one
    rotations[:, 0] = down[:, 0] | ~down.any(axis=1)
    for r in range(1, N_BARS):  # bars N_BARS - r .. N_BARS - 1 of the observation lead
        rotations[:, r] = down[:, 0] & ~down[:, N_BARS - r :].any(axis=1)
    return LikelihoodData(count, bar, feasible, n_on, n_off, same, rotations)


def _finite_log(x: np.ndarray) -> np.ndarray:
    """log x with log 0 as −1e300 (so that a count of 0 times it stays 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(x)
    return np.where(np.isfinite(out), out, -1e300)


def _bar_log_lik(data: LikelihoodData, theta: np.ndarray) -> np.ndarray:
    """log L(bar) (n, B) of the distinct bars for θ (n, 3)."""
    pulses, extra, variation = theta[:, 0], theta[:, 1], theta[:, 2]
    prob_k = np.maximum(0.0, 1.0 - np.abs(pulses[:, None] - np.arange(_N_K)))  # (n, 9)
    p = extra[:, None] * WEIGHT_CLASSES  # (n, W)
    own = variation**2
    logs = np.column_stack(  # (n, 2W + 2): per kick, rest, own beat, shared beat
        [_finite_log(p), _finite_log(1.0 - p), _finite_log(own), _finite_log(1.0 - own)]
    )
    terms = (logs @ data.counts.T).reshape((len(theta),) + data.feasible.shape)
    terms = terms + _finite_log(prob_k)[:, None, :, None]
    terms = np.where(data.feasible[None] & (terms > -1e299), terms, -np.inf)
    return _logsumexp(terms.reshape(terms.shape[:2] + (-1,)), axis=-1)


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    top = np.max(a, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.sum(np.exp(a - top), axis=axis)) + np.squeeze(top, axis)


_CHUNK_ELEMENTS = 1 << 22
"""Bound on the elements of one per-θ array of a chunk in :func:`log_likelihood`."""


def log_likelihood(data: LikelihoodData, theta: np.ndarray, *, chunk: int = 256):
    """Exact log p(clips | θ) of the sub-model, in numpy: θ (3,) in :data:`KNOBS` order →
    float, or θ (n, 3) → (n,). −inf where the clips are impossible. θ is evaluated
    ``chunk`` rows at a time (fewer when the clips have many distinct bars)."""
    theta = np.asarray(theta, dtype=np.float64)
    if theta.ndim == 1:
        return float(log_likelihood(data, theta[None], chunk=chunk)[0])
    per_theta = data.feasible.size + data.bar.size  # array elements per θ row
    chunk = max(1, min(int(chunk), _CHUNK_ELEMENTS // per_theta))
    return np.concatenate(
        [_log_likelihood(data, theta[i : i + chunk]) for i in range(0, len(theta), chunk)]
    )


def _log_likelihood(data: LikelihoodData, theta: np.ndarray) -> np.ndarray:
    bar = _bar_log_lik(data, theta)[:, data.bar]  # (n, C, 4)
    with np.errstate(divide="ignore"):
        log_repeat = np.log1p(-theta[:, 2])[:, None]
        log_fresh = np.log(theta[:, 2])[:, None]
    per_rotation = []
    for r in range(N_BARS):
        order = [(j - r) % N_BARS for j in range(N_BARS)]  # X_j = Y_order[j]
        rest = sum(
            np.logaddexp(
                np.where(data.same[None, :, order[REPEATS[j]], order[j]], log_repeat, -np.inf),
                log_fresh + bar[:, :, order[j]],
            )
            for j in range(1, N_BARS)
        )
        per_rotation.append(
            np.where(data.rotations[None, :, r], bar[:, :, order[0]] + rest, -np.inf)
        )
    clip = _logsumexp(np.stack(per_rotation, axis=-1), axis=-1)  # (n, C)
    with np.errstate(invalid="ignore"):
        return np.where(np.isneginf(clip).any(axis=1), -np.inf, clip @ data.count)


def summary_names() -> tuple[str, ...]:
    """Names of the entries of :func:`summaries`."""
    classes = [f"{w:g}" for w in WEIGHT_CLASSES]
    return (
        *(f"onset_{p}" for p in range(STEPS_PER_BAR)),
        *(f"holds_base_{k}" for k in range(_N_K)),
        *(f"extras_base_{k}_w{c}" for k in range(_N_K) for c in classes),
        *(f"base_{k}" for k in range(_N_K)),
        "base_none",
        "bars_equal_first",
        *(f"distinct_bars_{n}" for n in range(1, N_BARS + 1)),
    )


def summaries(rows: np.ndarray) -> np.ndarray:
    """NPE observation of sets of clips: rows (M, N, 4, 16) → (M, 76).

    Bars that repeat within a clip carry no new information, so the bar statistics weigh
    every *distinct* bar of a clip once. Over the set's distinct bars: the onset frequency
    at each bar position; for each base E(k, 8), the share of bars that hold it and the
    mean number of kicks off that base per extra-kick weight class (in the bars that hold
    it); the share of bars whose 8th notes are exactly E(k, 8) (or none). Per clip: the
    share of bars 2–4 equal to bar 1 and the histogram of distinct bars.
    """
    rows = np.asarray(rows, dtype=bool)
    if rows.ndim != 4 or rows.shape[2:] != (N_BARS, STEPS_PER_BAR):
        raise ValueError(
            f"rows must have shape (M, N, {N_BARS}, {STEPS_PER_BAR}); got {rows.shape}"
        )
    equal = np.all(rows[:, :, :, None, :] == rows[:, :, None, :, :], axis=-1)  # (M, N, 4, 4)
    weight = 1.0 / equal.sum(axis=-1)  # each distinct bar of a clip counts once
    total = weight.sum(axis=(1, 2))[:, None]  # distinct bars per set

    def mean(values: np.ndarray) -> np.ndarray:  # (M, N, 4, ...) → (M, ...)
        return np.einsum("mnb,mnb...->m...", weight, values) / total.reshape(
            (-1,) + (1,) * (values.ndim - 3)
        )

    onset = mean(rows.astype(np.float64))
    holds = ~np.any(_BASE[None, None, None] & ~rows[:, :, :, None, :], axis=-1)  # (M,N,4,9)
    off_on = rows[:, :, :, None, :] & ~_BASE[None, None, None]  # kicks off base k
    onehot = np.eye(len(WEIGHT_CLASSES))[_CLASS]  # (16, W)
    extras = np.einsum("mnbkp,pw->mnbkw", off_on.astype(np.float64), onehot)
    held = mean(holds.astype(np.float64))  # (M, 9)
    extras_held = mean(extras * holds[..., None]) / np.maximum(held, 1e-12)[..., None]
    eighths = rows[..., ::2]
    exact = np.all(eighths[..., None, :] == pt.EUCLID_8THS, axis=-1)  # (M, N, 4, 9)
    base_share = mean(exact.astype(np.float64))
    none = 1.0 - base_share.sum(axis=1)
    same_first = equal[:, :, 0, 1:].mean(axis=(1, 2))
    distinct = np.rint(weight.sum(axis=-1)).astype(int)  # (M, N)
    distinct_hist = (distinct[..., None] == np.arange(1, N_BARS + 1)).mean(axis=1)
    return np.column_stack(
        [
            onset,
            held,
            extras_held.reshape(len(rows), -1),
            base_share,
            none,
            same_first,
            distinct_hist,
        ]
    )
