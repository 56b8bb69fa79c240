"""The engine's fast path: the rules of :mod:`technorhythm.simulator.reference`, fused per clip.

:func:`simulate_kernel` is compiled with numba (a declared dependency; compiled code is
cached next to this file). It reproduces the reference clip by clip, bit for bit, which
``tests/simulator/test_reference.py`` checks; read the reference for what the rules are.

The knob layout is not written here: :data:`COLUMNS` maps the kernel's named slots to
the registry's columns by name, at import, and is passed to the kernel as an argument,
so reordering the registry cannot leave a stale compiled layout behind, and renaming or
dropping a knob the kernel reads fails at import with the knob's name.
"""

from __future__ import annotations

import math

import numpy as np

from technorhythm.simulator.knobs import KNOB_NAMES
from technorhythm.simulator.patterns import ACCENT_KNOBS, JITTER_KNOBS, LEVEL_KNOBS

try:  # numba is a declared dependency; without it the same function runs interpreted
    from numba import njit
except ImportError:  # pragma: no cover
    njit = None

__all__ = [
    "AVAILABLE",
    "KERNEL_KNOBS",
    "COLUMNS",
    "ACCENT_SLOTS",
    "JITTER_SLOTS",
    "LEVEL_SLOTS",
    "simulate_kernel",
]

AVAILABLE = njit is not None
"""Whether the kernel is compiled (the fast path) rather than interpreted."""

KERNEL_KNOBS: tuple[str, ...] = (
    "swing_16",
    "humanize_ms",
    "push_ms",
    "hat_push_ms",
    "snare_velocity",
    "kick_velocity",
    "hat_velocity",
    "open_hat_velocity",
    "snare_accent",
    "kick_accent",
    "hat_accent",
    "snare_jitter",
    "kick_jitter",
    "hat_jitter",
    "kick_pulses",
    "kick_extra",
    "kick_late",
    "backbeat",
    "snare_ghosts",
    "hat_beats",
    "hat_offbeats",
    "hat_16ths",
    "open_hat",
    "open_hat_other",
    "ride",
    "crash",
    "variation",
)
"""The knobs the kernel reads, in the order of its slots (the constants below)."""
(
    SWING,
    HUMANIZE,
    PUSH,
    HAT_PUSH,
    SNARE_VELOCITY,
    KICK_VELOCITY,
    HAT_VELOCITY,
    OPEN_HAT_VELOCITY,
    SNARE_ACCENT,
    KICK_ACCENT,
    HAT_ACCENT,
    SNARE_JITTER,
    KICK_JITTER,
    HAT_JITTER,
    PULSES,
    EXTRA,
    LATE,
    BACKBEAT,
    GHOSTS,
    HAT_BEATS,
    HAT_OFFBEATS,
    HAT_16,
    OPEN,
    OPEN_OTHER,
    RIDE,
    CRASH,
    VARIATION,
) = range(len(KERNEL_KNOBS))


def _columns() -> np.ndarray:
    missing = [name for name in KERNEL_KNOBS if name not in KNOB_NAMES]
    extra = [name for name in KNOB_NAMES if name not in KERNEL_KNOBS]
    if missing or extra:
        raise ImportError(
            f"the simulator kernel and the knob registry disagree: kernel knobs missing from "
            f"the registry {missing}, registry knobs the kernel ignores {extra}"
        )
    return np.array([KNOB_NAMES.index(name) for name in KERNEL_KNOBS], dtype=np.int64)


COLUMNS: np.ndarray = _columns()
"""Registry column of each kernel slot: ``theta[:, COLUMNS[SWING]]`` is ``swing_16``."""
LEVEL_SLOTS: np.ndarray = np.array([KERNEL_KNOBS.index(name) for name in LEVEL_KNOBS], np.int64)
"""Kernel slot of each velocity level's knob (:data:`~technorhythm.simulator.patterns.
LEVEL_KNOBS`, indexed by ``LEVEL_GROUP``)."""
ACCENT_SLOTS: np.ndarray = np.array([KERNEL_KNOBS.index(name) for name in ACCENT_KNOBS], np.int64)
"""Kernel slot of each accent knob (:data:`~technorhythm.simulator.patterns.ACCENT_KNOBS`,
indexed by ``DYNAMICS_OF_ROW``)."""
JITTER_SLOTS: np.ndarray = np.array([KERNEL_KNOBS.index(name) for name in JITTER_KNOBS], np.int64)
"""Kernel slot of each jitter knob (:data:`~technorhythm.simulator.patterns.JITTER_KNOBS`,
indexed by ``DYNAMICS_OF_ROW``)."""


def _thr(p):
    if p < 0.0:
        p = 0.0
    elif p > 1.0:
        p = 1.0
    return math.floor(p * 32768.0)


def _clip01(x):
    return min(max(x, 0.0), 1.0)


def _kernel(
    dec, z_time, z_vel, theta, cols, step, extra_w, ghost_w, open_w, open_other_w, weakness,
    row_layers, level_group, level_slots, dynamics_of_row, accent_slots, jitter_slots, normal,
    bases, limit, repeats, late_pair, vel, off,
):  # fmt: skip
    n = dec.shape[0]
    per_clip = theta.shape[0] > 1
    src = np.zeros(4, np.int64)
    own = np.zeros(4, np.bool_)
    on = np.zeros((8, 64), np.bool_)
    t_extra = np.zeros(16, np.int64)
    t_ghost = np.zeros(16, np.int64)
    t_open = np.zeros(16, np.int64)
    t_hat = np.zeros(4, np.int64)
    t_ride = np.zeros(4, np.int64)
    push = np.zeros(5, np.float32)
    levels = np.zeros(level_slots.shape[0], np.float64)
    jitters = np.zeros(jitter_slots.shape[0], np.float64)
    accents = np.zeros(accent_slots.shape[0], np.float64)
    lim = np.float32(limit)
    for c in range(n):
        r = c if per_clip else 0
        if c == 0 or per_clip:
            th = theta[r]
            for p in range(16):
                t_extra[p] = _thr(th[cols[EXTRA]] * extra_w[p])
                t_ghost[p] = _thr(th[cols[GHOSTS]] * ghost_w[p])
                t_open[p] = _thr(
                    th[cols[OPEN]] * open_w[p] + th[cols[OPEN_OTHER]] * open_other_w[p]
                )
            t_hat[0] = _thr(th[cols[HAT_BEATS]])
            t_hat[1] = _thr(th[cols[HAT_16]])
            t_hat[2] = _thr(th[cols[HAT_OFFBEATS]])
            t_hat[3] = t_hat[1]
            q = 3.0 * th[cols[RIDE]]
            t_ride[0] = _thr(_clip01(q))
            t_ride[1] = _thr(_clip01(q - 2.0))
            t_ride[2] = _thr(_clip01(q - 1.0))
            t_ride[3] = t_ride[1]
            t_late = _thr(th[cols[LATE]])
            t_back = _thr(th[cols[BACKBEAT]])
            t_var = _thr(th[cols[VARIATION]])
            t_own = _thr(th[cols[VARIATION]] * th[cols[VARIATION]])
            t_crash0 = _thr(min(1.0, 2.0 * th[cols[CRASH]]))
            t_crash = _thr(th[cols[CRASH]])
            pulses = th[cols[PULSES]]
            for g in range(levels.shape[0]):
                levels[g] = th[cols[level_slots[g]]]
            for g in range(jitters.shape[0]):
                jitters[g] = th[cols[jitter_slots[g]]]
                accents[g] = th[cols[accent_slots[g]]]
            swing = np.float32(th[cols[SWING]])
            humanize_ms = th[cols[HUMANIZE]]
            push_ms = th[cols[PUSH]]
            hat_push_ms = th[cols[HAT_PUSH]]
        # timing in steps at this clip's tempo (float32, like the reference)
        sp = np.float32(humanize_ms / step[c])
        push[0] = np.float32(push_ms / step[c])
        push[1] = push[0]
        push[2] = np.float32(hat_push_ms / step[c])
        push[3] = push[2]
        push[4] = push[2]
        src[0] = 0
        for b in range(1, 4):
            src[b] = b if dec[c, b, 0, 0] < t_var else src[repeats[b]]
        for b in range(4):
            sb = src[b]
            o = 16 * b
            k = math.floor(pulses + dec[c, sb, 0, 2] / 32768.0)
            k = min(max(k, 0), bases.shape[0] - 1)
            own[0] = False
            for j in range(1, 4):
                own[j] = dec[c, sb, 0, 2 + j] < t_own
            for p in range(16):
                s = o + p
                cls = p % 4
                grid = p if own[p // 4] else cls
                is_base = p % 2 == 0 and bases[k, p // 2]
                on[0, s] = is_base
                if cls == late_pair:  # the off-beat pair: on the 8th, or late on the 'a'
                    extra = dec[c, sb, 1, grid] < t_extra[p]
                    extra = extra and not dec[c, sb, 1, grid + 1] < t_late
                elif cls == late_pair + 1:
                    extra = dec[c, sb, 1, grid - 1] < t_extra[p - 1]
                    extra = extra and dec[c, sb, 1, grid] < t_late
                else:
                    extra = dec[c, sb, 1, grid] < t_extra[p]
                on[1, s] = (not is_base) and extra
                if p == 4 or p == 12:
                    on[2, s] = dec[c, sb, 2, p] < t_back
                    on[3, s] = False
                else:
                    on[2, s] = False
                    on[3, s] = dec[c, sb, 2, p] < t_ghost[p]
                on[5, s] = dec[c, sb, 4, p] < t_open[p]
                on[4, s] = dec[c, sb, 3, grid] < t_hat[cls] and not on[5, s]
                on[6, s] = dec[c, sb, 5, grid] < t_ride[cls]
                on[7, s] = False
            crash = dec[c, b, 0, 1] < (t_crash0 if b == 0 else t_crash)
            on[7, o] = crash
            if crash:
                on[6, o] = False
        # every cell written once: each row has at most one sounding layer per step
        for row in range(5):
            jitter = jitters[dynamics_of_row[row]]
            accent = accents[dynamics_of_row[row]]
            first = row_layers[row, 0]
            second = row_layers[row, 1]
            for s in range(64):
                layer = -1
                if on[first, s]:
                    layer = first
                elif second >= 0 and on[second, s]:
                    layer = second
                if layer < 0:
                    vel[c, row, s] = 0
                    off[c, row, s] = np.float32(0.0)
                    continue
                v = levels[level_group[layer]] * (1.0 - accent * weakness[layer, s % 16])
                v = v + jitter * np.float64(normal[z_vel[c, row, s]])
                vel[c, row, s] = min(max(np.int64(np.rint(v)), 1), 127)
                x = normal[z_time[c, row, s]] * sp + swing * np.float32(s % 2) + push[row]
                if x > lim:
                    x = lim
                elif x < -lim:
                    x = -lim
                off[c, row, s] = x


simulate_kernel = njit(cache=True, nogil=True)(_kernel) if AVAILABLE else _kernel
"""Fill ``vel`` (n, 5, 64) uint8 and ``off`` (n, 5, 64) float32 with raw (uncanonical) clips."""
_thr = njit(cache=True, inline="always")(_thr) if AVAILABLE else _thr
_clip01 = njit(cache=True, inline="always")(_clip01) if AVAILABLE else _clip01
