"""The kick row of the simulator as a sub-model with an exact likelihood.

A reference problem for the estimators: three knobs whose posterior can be computed
exactly (by MCMC on the likelihood below) and compared with NPE.

**The sub-model.** The full simulator (:func:`technorhythm.simulator.simulate`) with
every knob at its registry default except :data:`KNOBS` (``kick_pulses``, ``kick_extra``,
``variation``), which vary, and ``kick_jitter`` at 0; the observation is the kick row
of each clip, onsets only: a (4 bars, 16 steps) 0/1 pattern per clip. No rule is
copied: the clips come from the simulator itself. ``kick_late`` is not a parameter: it
stays at its registry default, read from the registry (:func:`fixed_value`).

**The likelihood** (the simulator's kick rules, :mod:`technorhythm.simulator.reference`,
v6), with ``v = variation``, ``ℓ = kick_late`` and, for beat class ``c = pos % 4``
(0 beat, 1 'e', 2 'and', 3 'a'), ``p_c = kick_extra × KICK_EXTRA_WEIGHT[c]`` (the weights
repeat every beat; the 'a' has weight 0) and ``p = p_2``:

* per bar, ``k = floor(a + u)`` base pulses, with ``a = acting_pulses(kick_pulses)`` (whole
  numbers on plateaus of ±0.25 around them, linear in between; v8), so k = j with
  probability ``max(0, 1 − |a − j|)``, placed as the k-pulse base B(k) of the simulator's
  ``KICK_BASES`` on the bar's 8th notes; base steps always sound (so the bar must contain
  B(k));
* extra kicks: each of beats 2–4 decides on its own with probability ``v²`` (own flags
  o ∈ {0, 1}³; beat 1 never does). The beats fall into *groups* that play the same
  decisions: the shared group (beat 1 and the beats that do not decide on their own) and
  one group per own beat. Per group G there is one decision for the beat, one for the
  'e', and a "whether" and a "where" decision for the off-beat pair:
  - beat and 'e' (c = 0, 1), on with probability p_c: a kick on the class-c step of every
    beat of G where the base does not play. The group's class-c steps off the base are
    all on (factor p_c), all off (1 − p_c), none (1; e.g. every beat's step is a base
    step) or mixed (0);
  - the pair: "whether" is on with probability p, "where" is late with probability ℓ.
    Whether off: no extra kick on the 'and' nor the 'a' (the 'and' sounds iff the base
    plays there); on and early: a kick on every 'and' of G (adding nothing where the
    base plays), none on the 'a'; on and late: a kick on every 'a' of G, none added on
    the 'and'. With ``n_j``, ``a_j`` the kicks on beat j's 'and' and 'a' and ``b_j``
    whether the base plays on the 'and', the group's pair factor is
    ``(1 − p)·[∀j∈G: a_j = 0, n_j = b_j] + p(1 − ℓ)·[∀j∈G: a_j = 0, n_j = 1]
    + pℓ·[∀j∈G: a_j = 1, n_j = b_j]``, that is: every 'a' on (and no extra on an 'and')
    → pℓ; no 'a', every 'and' on, one at least off the base → p(1 − ℓ); no 'a', every
    'and' off the base silent, one at least off the base → 1 − p; no 'a' and every 'and'
    a base kick → (1 − p) + p(1 − ℓ) = 1 − pℓ (whether off, or on and early: both);
    anything else → 0 (so a beat with kicks on both its 'and', off the base, and its 'a'
    is impossible, as is an 'a' in some beats of a group but not in all);
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

    L(bar) = Σ_k P(k) · 1[B(k) ⊆ bar] · Σ_o Π_{j=1..3} (v²)^{o_j} (1 − v²)^{1 − o_j}
             · Π_{groups G of o} g_0(G) · g_1(G) · g_pair(G),

with ``g_c`` the factor p_c, 1 − p_c, 1 or 0 and ``g_pair`` the pair's factor above
(each a function of the bar and k), and with
``f(X | X_ref) = (1 − v) · 1[X = X_ref] + v · L(X)``::

    p(Y) = Σ_{valid rotations r} L(X_0) · f(X_1 | X_0) · f(X_2 | X_0) · f(X_3 | X_1),
    X_j = Y_{(j − r) mod 4}.

Every term of L(bar) is a product of the factors of :data:`FACTORS` (their
probabilities: :func:`factor_probabilities`) raised to whole counts that depend on the
bar, k and o only. :func:`likelihood_data` reduces clips to these counts and the arrays
the phrases and rotations need; :func:`log_likelihood` evaluates the likelihood in numpy
(the PyMC model in :mod:`technorhythm.posteriors.kick_reference` writes the same in
PyTensor). :func:`summaries` are the observations given to NPE.
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
    "CLASSES",
    "FACTORS",
    "REPEATS",
    "OWN",
    "N_OWN",
    "BASE_STEPS",
    "LikelihoodData",
    "bounds",
    "fixed_value",
    "full_theta",
    "factor_probabilities",
    "simulate_rows",
    "simulate_summaries",
    "bar_terms",
    "likelihood_data",
    "log_likelihood",
    "summaries",
    "summary_names",
]

KNOBS: tuple[str, ...] = ("kick_pulses", "kick_extra", "variation")
"""The sub-model's parameters, in this order."""
FIXED: dict[str, float] = {"kick_jitter": 0.0}
"""Knobs fixed away from their default (every other knob is at its default)."""
CLASSES: tuple[str, ...] = ("beat", "e", "and", "a")
"""Names of the beat classes ``pos % 4``."""
BEAT, E, AND, A = range(STEPS_PER_BEAT)
FACTORS: tuple[str, ...] = (
    "beat_on",
    "beat_off",
    "e_on",
    "e_off",
    "pair_on",
    "pair_off",
    "pair_late",
    "pair_early",
    "pair_either",
    "own",
    "shared",
)
"""The factors of a bar's terms (module docstring), in the order of the last axis of
:attr:`LikelihoodData.factors`: a group's beat or 'e' extra on (p_c) or off (1 − p_c); a
pair's "whether" on (p) or off (1 − p), its "where" late (ℓ) or early (1 − ℓ), or either
of "off" and "on, early" (1 − pℓ); a beat deciding on its own (v²) or not (1 − v²)."""
REPEATS: tuple[int, ...] = pt.PHRASE_REPEATS
"""The bar each bar repeats when it is not drawn afresh (the simulator's
:data:`~technorhythm.simulator.patterns.PHRASE_REPEATS`)."""
OWN: np.ndarray = np.array(list(itertools.product((False, True), repeat=3)))
"""The 8 configurations of which of beats 2, 3, 4 decide their extra kicks on their own."""
N_OWN: np.ndarray = OWN.sum(axis=1)
"""Beats that decide on their own, per configuration of :data:`OWN`."""
_N_BEATS = STEPS_PER_BAR // STEPS_PER_BEAT
_N_K = pt.KICK_BASES.shape[0]  # k = 0..8 base pulses
_BASE = np.zeros((_N_K, STEPS_PER_BAR), dtype=bool)
_BASE[:, ::2] = pt.KICK_BASES  # B(k) on the bar's 8th notes
BASE_STEPS: np.ndarray = _BASE
"""(9, 16) bool: the steps of the k-pulse base B(k) in a bar."""
_WEIGHT = pt.KICK_EXTRA_WEIGHT[:STEPS_PER_BEAT]  # weight of each beat class
if not np.array_equal(pt.KICK_EXTRA_WEIGHT, np.tile(_WEIGHT, _N_BEATS)):
    raise ValueError("the likelihood needs KICK_EXTRA_WEIGHT to repeat every beat")
if pt.LATE_PAIR != AND or _WEIGHT[A] != 0.0:
    raise ValueError("the likelihood needs the pair on the 'and' and no 'a' decision of its own")
_SUBSETS = np.array(list(itertools.product((False, True), repeat=_N_BEATS)))[1:]
"""(15, 4): every non-empty set of beats, a possible group."""


def _group_table() -> np.ndarray:
    """(8, 15): which sets of :data:`_SUBSETS` are the groups of each own configuration of
    :data:`OWN`: the shared group (beat 1 and the beats that do not decide on their own)
    and one group per own beat."""
    beats = np.arange(_N_BEATS)
    table = np.zeros((len(OWN), len(_SUBSETS)), dtype=bool)
    for o, own in enumerate(OWN):
        groups = [np.concatenate([[True], ~own])] + [beats == j + 1 for j in np.flatnonzero(own)]
        for group in groups:
            table[o] |= np.all(group == _SUBSETS, axis=1)
    return table


_GROUPS = _group_table()


def bounds() -> np.ndarray:
    """The prior box of :data:`KNOBS` (3, 2), from the knob registry."""
    return np.array([[get_knob(k).low, get_knob(k).high] for k in KNOBS], dtype=np.float64)


def fixed_value(name: str) -> float:
    """The value of a knob that is not a parameter of the sub-model: its value in
    :data:`FIXED`, else its registry default (``kick_late`` is read here)."""
    return float({**default_theta(), **FIXED}[name])


def full_theta(theta: np.ndarray) -> np.ndarray:
    """Sub-model θ (M, 3) → full simulator θ (M, K): defaults, :data:`FIXED`, then θ."""
    theta = np.atleast_2d(np.asarray(theta, dtype=np.float64))
    full = np.tile([fixed_value(n) for n in KNOB_NAMES], (len(theta), 1))
    for j, name in enumerate(KNOBS):
        full[:, KNOB_NAMES.index(name)] = theta[:, j]
    return full


def factor_probabilities(extra, variation, late) -> list:
    """The probabilities of :data:`FACTORS`, in that order, for ``kick_extra``,
    ``variation`` and ``kick_late``: arithmetic only, so that numpy arrays and PyTensor
    tensors both work."""
    p_beat = extra * float(_WEIGHT[BEAT])
    p_e = extra * float(_WEIGHT[E])
    p = extra * float(_WEIGHT[AND])
    own = variation * variation
    return [p_beat, 1 - p_beat, p_e, 1 - p_e, p, 1 - p, late, 1 - late, 1 - p * late, own, 1 - own]


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
    Per distinct bar, base B(k) and own configuration o (:data:`OWN`): ``feasible``
    (B, 9, 8): the bar contains the base and no group's factor is 0; ``factors``
    (B, 9, 8, F): how often each factor of :data:`FACTORS` multiplies the term;
    ``same`` (C, 4, 4): bar equality; ``rotations`` (C, 4): rotation r is possible.
    """

    count: np.ndarray
    bar: np.ndarray
    feasible: np.ndarray
    factors: np.ndarray
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
        """(B, 9): the distinct bar is possible with the base B(k) (with some own
        configuration)."""
        return self.feasible.any(axis=-1)

    @cached_property
    def counts(self) -> np.ndarray:
        """(B·9·8, F) float: :attr:`factors` as rows, one per (distinct bar, base, own
        configuration), that multiply the logs of the factors; computed once."""
        return self.factors.reshape(-1, self.factors.shape[-1]).astype(np.float64)


def _group_factors(bars: np.ndarray, bases: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per distinct bar (B, 16), base (``bases`` (K, 16)) and set of beats G
    (:data:`_SUBSETS`) as one group: the counts of the factors :data:`FACTORS` up to
    ``pair_either`` (B, K, 15, 9) and whether no factor is 0 (B, K, 15)."""
    y = bars.reshape(len(bars), 1, _N_BEATS, STEPS_PER_BEAT)  # (B, 1, beat, class)
    base = bases.reshape(1, len(bases), _N_BEATS, STEPS_PER_BEAT)  # (1, K, beat, class)
    in_group = _SUBSETS.T.astype(np.int64)  # (4, 15)
    size = in_group.sum(axis=0)  # (15,)

    def beats(x: np.ndarray) -> np.ndarray:  # (..., 4) per beat → (..., 15) per group
        return x.astype(np.int64) @ in_group

    columns = []
    ok = np.ones((len(bars), len(bases), len(_SUBSETS)), dtype=bool)
    for c in (BEAT, E):  # one decision per group: its steps off the base all on or all off
        off = ~base[..., c]
        n_off, n_on = beats(off), beats(y[..., c] & off)
        some = n_off > 0
        all_on, all_off = some & (n_on == n_off), some & (n_on == 0)
        ok &= ~some | all_on | all_off
        columns += [all_on, all_off]
    kick_and, kick_a, base_and = y[..., AND], y[..., A], base[..., AND]
    off = beats(~kick_a & (kick_and == base_and)) == size  # whether off
    early = beats(~kick_a & kick_and) == size  # whether on, early: on the 'and'
    late = beats(kick_a & (kick_and == base_and)) == size  # whether on, late: on the 'a'
    ok &= off | early | late
    only_early = early & ~off
    columns += [late | only_early, off & ~early, late, only_early, off & early]
    factors = np.stack(np.broadcast_arrays(*columns), axis=-1).astype(np.int64)
    return factors, ok


def bar_terms(bars: np.ndarray, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The terms of L(bar) of kick bars (B, 16) (bool): for each base B(k) and own
    configuration o (:data:`OWN`), whether the term can be non-zero (``feasible`` (B, 9, 8):
    the bar contains the base and no group's factor is 0) and how often each factor of
    :data:`FACTORS` multiplies it (``factors`` (B, 9, 8, F), int). ``k``: that base alone
    (the second axis of length 1)."""
    bars = np.asarray(bars, dtype=bool)
    bases = _BASE if k is None else _BASE[k : k + 1]
    holds = ~np.any(bases[None] & ~bars[:, None, :], axis=-1)  # (B, K)
    group, group_ok = _group_factors(bars, bases)  # per set of beats as one group
    groups = _GROUPS.astype(np.int64)  # (8, 15): the groups of each own configuration
    factors = np.einsum("bksf,os->bkof", group, groups)  # (B, K, 8, 9)
    bad = np.einsum("bks,os->bko", (~group_ok).astype(np.int64), groups) > 0
    feasible = holds[:, :, None] & ~bad
    n_own = np.broadcast_to(N_OWN, feasible.shape)
    factors = np.concatenate(
        [factors, n_own[..., None], (OWN.shape[1] - n_own)[..., None]], axis=-1
    )  # (B, 9, 8, F)
    return feasible, factors


def likelihood_data(rows: np.ndarray) -> LikelihoodData:
    """Reduce kick rows (C, 4, 16) (bool) of one observation to :class:`LikelihoodData`."""
    rows = np.asarray(rows, dtype=bool)
    if rows.ndim != 3 or rows.shape[1:] != (N_BARS, STEPS_PER_BAR) or not len(rows):
        raise ValueError(f"rows must have shape (C, {N_BARS}, {STEPS_PER_BAR}); got {rows.shape}")
    flat, count = np.unique(rows.reshape(len(rows), -1), axis=0, return_counts=True)
    rows = flat.reshape(-1, N_BARS, STEPS_PER_BAR)
    bars, bar = np.unique(rows.reshape(-1, STEPS_PER_BAR), axis=0, return_inverse=True)
    bar = bar.reshape(len(rows), N_BARS)
    feasible, factors = bar_terms(bars)
    same = bar[:, :, None] == bar[:, None, :]
    down = rows[:, :, 0]
    rotations = np.zeros((len(rows), N_BARS), dtype=bool)
    # not rotated: bar 1 has the first downbeat, or no bar has one
    rotations[:, 0] = down[:, 0] | ~down.any(axis=1)
    for r in range(1, N_BARS):  # bars N_BARS - r .. N_BARS - 1 of the observation lead
        rotations[:, r] = down[:, 0] & ~down[:, N_BARS - r :].any(axis=1)
    return LikelihoodData(count, bar, feasible, factors, same, rotations)


def _finite_log(x: np.ndarray) -> np.ndarray:
    """log x with log 0 as −1e300 (so that a count of 0 times it stays 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(x)
    return np.where(np.isfinite(out), out, -1e300)


def _bar_log_lik(data: LikelihoodData, theta: np.ndarray) -> np.ndarray:
    """log L(bar) (n, B) of the distinct bars for θ (n, 3)."""
    pulses, extra, variation = theta[:, 0], theta[:, 1], theta[:, 2]
    acting = pt.acting_pulses(pulses)  # the plateaus around whole pulse counts (v8)
    prob_k = np.maximum(0.0, 1.0 - np.abs(acting[:, None] - np.arange(_N_K)))  # (n, 9)
    probs = factor_probabilities(extra, variation, fixed_value("kick_late"))
    logs = _finite_log(np.stack(np.broadcast_arrays(*probs), axis=-1))  # (n, F)
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
    return (
        *(f"onset_{p}" for p in range(STEPS_PER_BAR)),
        *(f"holds_base_{k}" for k in range(_N_K)),
        *(f"extras_base_{k}_{c}" for k in range(_N_K) for c in CLASSES),
        *(f"base_{k}" for k in range(_N_K)),
        "base_none",
        "bars_equal_first",
        *(f"distinct_bars_{n}" for n in range(1, N_BARS + 1)),
        *(f"beats_agree_base_{k}" for k in range(_N_K)),
        "beats_agree_16ths",
        "beats_agree_16ths_sd",
    )


_OFF_BOTH = ~_BASE.reshape(_N_K, _N_BEATS, STEPS_PER_BEAT)
_OFF_BOTH = _OFF_BOTH[:, :1] & _OFF_BOTH[:, 1:]  # (9, 3, 4): off B(k) in beat 1 and beat j
_SIXTEENTHS = pt.OFF_16TH[:STEPS_PER_BEAT]  # the 'e' and the 'a': never a base step


def summaries(rows: np.ndarray) -> np.ndarray:
    """NPE observation of sets of clips: rows (M, N, 4, 16) → (M, 87).

    Bars that repeat within a clip carry no new information, so the bar statistics weigh
    every *distinct* bar of a clip once. Over the set's distinct bars: the onset frequency
    at each bar position; for each base B(k), the share of bars that hold it, the mean
    number of kicks off that base per beat class (in the bars that hold it) and the mean
    share of beats 2–4 that agree with beat 1 on every step off that base in both beats
    (in the bars that hold it: extra kicks are one decision per beat class shared by the
    beats unless a beat decides on its own, with probability variation²); the share of
    bars whose 8th notes are exactly B(k) (or none); the mean share of beats 2–4 that
    agree with beat 1 on the 16ths ('e' and 'a', never base steps), and the standard
    deviation over the set's clips of its mean per clip. Per clip: the share of bars 2–4
    equal to bar 1 and the histogram of distinct bars.
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
    of_class = np.eye(STEPS_PER_BEAT)[pt.BEAT_CLASS]  # (16, 4)
    extras = np.einsum("mnbkp,pc->mnbkc", off_on.astype(np.float64), of_class)
    held = mean(holds.astype(np.float64))  # (M, 9)
    extras_held = mean(extras * holds[..., None]) / np.maximum(held, 1e-12)[..., None]
    eighths = rows[..., ::2]
    exact = np.all(eighths[..., None, :] == pt.KICK_BASES, axis=-1)  # (M, N, 4, 9)
    base_share = mean(exact.astype(np.float64))
    none = 1.0 - base_share.sum(axis=1)
    same_first = equal[:, :, 0, 1:].mean(axis=(1, 2))
    distinct = np.rint(weight.sum(axis=-1)).astype(int)  # (M, N)
    distinct_hist = (distinct[..., None] == np.arange(1, N_BARS + 1)).mean(axis=1)
    by_beat = rows.reshape(rows.shape[:3] + (_N_BEATS, STEPS_PER_BEAT))
    differ = by_beat[..., 1:, :] != by_beat[..., :1, :]  # (M, N, 4, 3, 4): beat j vs beat 1
    agree_k = (~np.any(differ[:, :, :, None] & _OFF_BOTH, axis=-1)).mean(axis=-1)  # (M,N,4,9)
    agree_held = mean(agree_k * holds) / np.maximum(held, 1e-12)
    agree_16 = (~np.any(differ & _SIXTEENTHS, axis=-1)).mean(axis=-1)  # (M, N, 4)
    agree_16_mean = mean(agree_16)
    per_clip = np.sum(weight * agree_16, axis=-1) / weight.sum(axis=-1)  # (M, N)
    return np.column_stack(
        [
            onset,
            held,
            extras_held.reshape(len(rows), -1),
            base_share,
            none,
            same_first,
            distinct_hist,
            agree_held,
            agree_16_mean,
            per_clip.std(axis=1),
        ]
    )
