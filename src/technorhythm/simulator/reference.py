"""The simulator's rules, written once to be read: one clip at a time, in plain Python.

This is the definition of what a clip is for knob settings θ, a seed and a clip index.
The engine's fast path (the numba kernel of :mod:`technorhythm.simulator._kernel`) must
produce the very same clip; ``tests/simulator/test_reference.py`` checks that, clip by
clip, for θ drawn from the whole prior and at the knobs' bounds. The benchmark uses this
module as its baseline.

Per bar of 16 sixteenths (``pos % 4``: 0 beat, 2 off-beat 8th, 1 and 3 off-beat 16ths),
every decision is ``u < floor(p · 32768)`` for one 15-bit uniform ``u`` of the clip's own
stream (:mod:`technorhythm.simulator.streams`). Knobs act through
:func:`~technorhythm.simulator.patterns.acting_value` first: those of snare, hats and cymbals
(:data:`~technorhythm.simulator.patterns.RAMPED`) through a ramp (none up to 0.1, every hit
from 0.9), ``kick_pulses`` through plateaus around whole numbers (±0.25), the knobs of
:data:`~technorhythm.simulator.patterns.SNAPPED` (swing, humanize, both pushes, velocity
jitter) through a dead zone at 0; below, the names stand for the acting values:

bars
    the four bars are two 2-bar phrases. Bar 1 is drawn; each of bars 2–4 is drawn afresh
    with probability ``variation`` and otherwise repeats the pattern decisions of its
    phrase's first bar: bars 2 and 3 repeat bar 1, bar 4 repeats bar 2 (itself bar 1 when
    bar 2 repeated). Crashes, velocity and timing noise stay each bar's own. Within a bar,
    each of beats 2–4 plays the extra-kick, hat and ride decisions of beat 1 unless, with
    probability ``variation²``, it decides on its own (a drummer's beats differ; those of a
    loop, even one whose bars vary, hardly ever do).
kick
    a metric base of ``k = floor(kick_pulses + u)`` pulses, the k-pulse pattern of
    ``KICK_BASES`` on the bar's 8th notes (accented), plus extra kicks (unaccented) with
    ``kick_extra × KICK_EXTRA_WEIGHT[pos]``, one decision per beat class shared by the
    beats as above (an extra kick on the 'e' of one beat is on the 'e' of every beat that
    does not decide on its own), adding nothing where the base already plays. The off-beat
    8th's decision is the beat's off-beat pair: its kick moves to the 'a' when the 'a''s
    uniform is below ``kick_late`` (shared likewise), so no beat has extra kicks on both.
snare
    beats 2 and 4 with ``backbeat`` (accented); ghost notes on every other step with
    ``snare_ghosts × GHOST_WEIGHT[pos]`` (unaccented).
closed hats
    one decision per beat class, shared by the beats of the bar that do not decide on
    their own (see bars): the beat follows ``hat_beats``, the off-beat 8th
    ``hat_offbeats``, the 'e' and the 'a' ``hat_16ths``.
open hats
    each off-beat 8th with ``open_hat``, each other step with
    ``open_hat_other × OPEN_OTHER_WEIGHT[pos]``; an open hat chokes the closed hat on its
    step.
cymbals
    ride per beat class, shared like the hats: quarters, 8ths, 16ths as
    ``ride`` rises through thirds; a crash on each bar downbeat with ``crash``
    (``min(1, 2·crash)`` on bar 1), replacing the ride there.
velocity
    ``rint(level × (1 − accent × WEAKNESS[layer, pos]) + jitter × z)``, clipped to
    1..127, with level ``snare_velocity`` for the snare, ``kick_velocity`` for the kick,
    ``hat_velocity`` for closed hats and cymbals and ``open_hat_velocity`` for open hats
    (:data:`~technorhythm.simulator.patterns.LEVEL_KNOBS`), accent and jitter the
    instrument's (``snare_accent``/``snare_jitter``, ``kick_accent``/``kick_jitter``, and for
    closed and open hats and cymbals ``hat_accent``/``hat_jitter``,
    :data:`~technorhythm.simulator.patterns.DYNAMICS_OF_ROW`); ``z`` is standard normal.
timing
    ``swing_16 · [off-beat 16th] + humanize · z' + push``, in steps, with humanize and
    push (``push_ms`` for kick and snare, ``hat_push_ms`` for hats and cymbals) converted
    from ms at the clip's tempo, computed in float32 and clipped to ±15/32 of a step.

Finally the clip goes through :func:`technorhythm.clips.canonicalize`, like ingested clips.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from technorhythm.clips import N_BARS, N_INSTRUMENTS, N_STEPS, STEPS_PER_BAR, canonicalize, step_ms
from technorhythm.simulator import patterns as pt
from technorhythm.simulator.knobs import validate_theta
from technorhythm.simulator.streams import NORMAL_TABLE, PULSE_UNIFORM, clip_streams

__all__ = ["OFFSET_LIMIT", "simulate_clip", "thresholds"]

OFFSET_LIMIT = 15.0 / 32.0
"""Timing offsets are clipped to ±15/32 of a step, so every onset keeps a unique nearest grid
step even after MIDI tick quantisation (and stays inside the clip type's [-0.5, 0.5))."""

BAR, KICK, SNARE, HAT, OPEN, RIDE = range(6)  # decision fields, as in streams.FIELDS
VARIATION_U, CRASH_U = 0, 1  # positions in the bar field (PULSE_UNIFORM is 2)
OWN_BEAT_U = 3  # bar field positions 3, 4, 5: does beat 2, 3, 4 decide hats and ride alone


def threshold(p: float) -> int:
    """``u < threshold(p)`` has probability ``p`` for a 15-bit uniform ``u``."""
    return math.floor(min(max(p, 0.0), 1.0) * 32768.0)


def thresholds(p: np.ndarray) -> list[int]:
    """:func:`threshold` of every entry of ``p``."""
    return [threshold(float(x)) for x in np.ravel(p)]


def _bar_sources(dec: np.ndarray, variation: float) -> list[int]:
    """Which bar's pattern decisions each bar uses: its own, or, when it repeats, those of
    its phrase's first bar (:data:`~technorhythm.simulator.patterns.PHRASE_REPEATS`)."""
    sources = [0]
    for b in range(1, N_BARS):
        repeats = dec[b, BAR, VARIATION_U] >= threshold(variation)
        sources.append(sources[pt.PHRASE_REPEATS[b]] if repeats else b)
    return sources


def _extra_kick(u: np.ndarray, grid: int, pos: int, t_extra: list[int], t_late: int) -> bool:
    """Whether bar position ``pos``, whose decisions are ``u[grid]``, gets an extra kick
    (before the base is taken into account): its own decision, except for the beat's
    off-beat pair (:data:`~technorhythm.simulator.patterns.LATE_PAIR`), whose one decision
    sounds on the off-beat 8th or, when late, on the 'a' one step later."""
    cls = pos % 4
    if cls == pt.LATE_PAIR:
        return u[grid] < t_extra[pos] and not u[grid + 1] < t_late
    if cls == pt.LATE_PAIR + 1:
        return u[grid - 1] < t_extra[pos - 1] and u[grid] < t_late
    return u[grid] < t_extra[pos]


def _onsets(theta: Mapping[str, float], dec: np.ndarray) -> np.ndarray:
    """Onset layers, bool (len(LAYERS), 64): which layer sounds on which step."""
    on = np.zeros((len(pt.LAYERS), N_STEPS), dtype=bool)
    t_hat = thresholds(
        pt.hat_class_probabilities(theta["hat_beats"], theta["hat_offbeats"], theta["hat_16ths"])
    )
    t_ride = thresholds(pt.ride_class_probabilities(theta["ride"]))
    t_extra = thresholds(theta["kick_extra"] * pt.KICK_EXTRA_WEIGHT)
    t_late = threshold(theta["kick_late"])
    t_ghost = thresholds(theta["snare_ghosts"] * pt.GHOST_WEIGHT)
    t_open = thresholds(
        theta["open_hat"] * pt.OPEN_WEIGHT + theta["open_hat_other"] * pt.OPEN_OTHER_WEIGHT
    )
    crash_p = [min(1.0, 2.0 * theta["crash"])] + [theta["crash"]] * (N_BARS - 1)
    for b, src in enumerate(_bar_sources(dec, theta["variation"])):
        d = dec[src]
        pulses = math.floor(theta["kick_pulses"] + d[BAR, PULSE_UNIFORM] / 32768.0)
        base = pt.KICK_BASES[min(max(pulses, 0), len(pt.KICK_BASES) - 1)]
        t_own = threshold(theta["variation"] * theta["variation"])
        own_beat = [False] + [d[BAR, OWN_BEAT_U + j] < t_own for j in range(3)]
        for pos in range(STEPS_PER_BAR):
            s = STEPS_PER_BAR * b + pos
            cls = pos % 4
            grid = pos if own_beat[pos // 4] else cls  # which hat/ride uniform decides
            is_base = pos % 2 == 0 and bool(base[pos // 2])
            on[0, s] = is_base
            on[1, s] = not is_base and _extra_kick(d[KICK], grid, pos, t_extra, t_late)
            if pos in (4, 12):
                on[2, s] = d[SNARE, pos] < threshold(theta["backbeat"])
            else:
                on[3, s] = d[SNARE, pos] < t_ghost[pos]
            on[5, s] = d[OPEN, pos] < t_open[pos]
            on[4, s] = d[HAT, grid] < t_hat[cls] and not on[5, s]  # the open hat chokes
            on[6, s] = d[RIDE, grid] < t_ride[cls]
        crash = dec[b, BAR, CRASH_U] < threshold(crash_p[b])  # the bar's own, never repeated
        on[7, STEPS_PER_BAR * b] = crash
        if crash:
            on[6, STEPS_PER_BAR * b] = False
    return on


def _levels(theta: Mapping[str, float]) -> list[float]:
    """Velocity of an accented hit of each layer (before jitter)."""
    return [theta[pt.LEVEL_KNOBS[group]] for group in pt.LEVEL_GROUP]


def simulate_clip(
    theta: Mapping[str, float], seed: int, index: int, bpm: float = 128.0
) -> tuple[np.ndarray, np.ndarray]:
    """Clip ``index`` of ``seed`` for knob settings ``theta`` (a mapping; defaults fill in).

    Returns the canonical ``velocity`` (5, 64) uint8 and ``offset`` (5, 64) float32.
    """
    theta = validate_theta(theta, partial=True)
    theta = {name: float(pt.acting_value(name, value)) for name, value in theta.items()}
    streams = clip_streams(seed, index, 1)
    dec, z_time, z_vel = streams.decisions[0], streams.timing[0], streams.velocity[0]
    on = _onsets(theta, dec)
    levels = _levels(theta)
    spread = np.float32(theta["humanize_ms"] / step_ms(bpm))
    push = [np.float32(theta["push_ms"] / step_ms(bpm))] * 2
    push += [np.float32(theta["hat_push_ms"] / step_ms(bpm))] * 3
    swing = np.float32(theta["swing_16"])
    limit = np.float32(OFFSET_LIMIT)
    velocity = np.zeros((N_INSTRUMENTS, N_STEPS), np.uint8)
    offset = np.zeros((N_INSTRUMENTS, N_STEPS), np.float32)
    for layer in range(len(pt.LAYERS)):
        row = int(pt.ROW_OF_LAYER[layer])
        for s in np.flatnonzero(on[layer]):
            weak = pt.WEAKNESS[layer, s % STEPS_PER_BAR]
            dynamics = pt.DYNAMICS_OF_ROW[row]
            accent = theta[pt.ACCENT_KNOBS[dynamics]]
            v = levels[layer] * (1.0 - accent * weak)
            jitter = theta[pt.JITTER_KNOBS[dynamics]]
            v += jitter * float(NORMAL_TABLE[z_vel[row, s]])
            velocity[row, s] = min(max(int(np.rint(v)), 1), 127)
            x = NORMAL_TABLE[z_time[row, s]] * spread + swing * np.float32(s % 2) + push[row]
            offset[row, s] = min(max(x, -limit), limit)
    v, o, _ = canonicalize(velocity[None], offset[None])
    return v[0], o[0]
