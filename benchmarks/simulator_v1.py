"""Simulator v1, frozen: the numba kernel of SIMULATOR_VERSION 1 and its 13-knob bounds.

Kept only so that ``benchmarks/simulator_capacity.py`` can compare v1 with the current
simulator in the same run. Not part of the package and not maintained: the rules are
copied verbatim from the v1 kernel (its stream layout, accents and constants included).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from scipy.special import ndtri

from technorhythm.clips import ClipBatch, canonicalize, step_ms

__all__ = ["V1_KNOBS", "V1_BOUNDS", "simulate_v1"]

V1_KNOBS = (
    "swing_16", "humanize_ms", "intensity", "kick_density", "kick_syncopation",
    "backbeat_strength", "snare_sync", "hat_density", "openness", "ratchet_prob",
    "ride_density", "crash_prob", "variation",
)  # fmt: skip
V1_BOUNDS = np.array(
    [[0, 0.45], [0, 30], [0, 1], [0, 8], [0, 1], [0, 1], [0, 1], [0, 1], [0, 1], [0, 1],
     [0, 1], [0, 1], [0, 1]], dtype=np.float64,
)  # fmt: skip
SWING, HUMANIZE, INTENSITY, KICK_D, KICK_S, BACKBEAT, SNARE_S = 0, 1, 2, 3, 4, 5, 6
HAT_D, OPEN, RATCHET, RIDE_D, CRASH, VARIATION = 7, 8, 9, 10, 11, 12
_WORDS, _BLOCKS = 232, 58
_NORMAL = ndtri((np.arange(65536) + 0.5) / 65536).astype(np.float32)
_POS = np.arange(16)
_ON, _OFF8 = _POS % 4 == 0, _POS % 4 == 2
_SNARE_W = np.array(
    [0.1, 0.2, 0.35, 0.9, 0.0, 0.7, 0.35, 0.6, 0.15, 0.2, 0.5, 0.9, 0.0, 0.7, 0.6, 0.8]
)
_EUCLID = np.stack([(np.arange(8) * k) % 8 < k for k in range(9)])
_ACCENT = np.empty((7, 16), np.float32)
_ACCENT[0] = np.where(_POS == 0, 1.0, np.where(_ON, 0.92, np.where(_OFF8, 0.85, 0.8)))
_ACCENT[1] = np.where(np.isin(_POS, (4, 12)), 1.0, np.where(np.isin(_POS, (7, 14, 15)), 0.55, 0.4))
_ACCENT[2] = np.where(_OFF8, 0.85, np.where(_ON, 0.7, 0.55))
_ACCENT[3] = 0.8
_ACCENT[4] = np.where(_ON, 0.6, np.where(_OFF8, 0.5, 0.45))
_ACCENT[5] = 0.42
_ACCENT[6] = 1.0
_ACCENT = _ACCENT.astype(np.float64)


def _thr(p):
    if p < 0.0:
        p = 0.0
    elif p > 1.0:
        p = 1.0
    return math.floor(p * 32768.0)


def _kernel(dec, timing, vbits, theta, spread, accent, snare_w, normal, euclid, limit, vel, off):
    n = dec.shape[0]
    per_clip = theta.shape[0] > 1
    src = np.zeros(4, np.int64)
    kick = np.zeros(64, np.bool_)
    snare = np.zeros(64, np.bool_)
    closed = np.zeros(64, np.bool_)
    opened = np.zeros(64, np.bool_)
    ride = np.zeros(64, np.bool_)
    crash = np.zeros(64, np.bool_)
    ratchet = np.zeros(64, np.bool_)
    late = np.zeros(8, np.bool_)
    early = np.zeros(8, np.bool_)
    t_snare = np.zeros(16, np.int64)
    t_hat = np.zeros(16, np.int64)
    t_ride = np.zeros(16, np.int64)
    base = np.zeros((7, 16), np.int64)
    lim = np.float32(limit)
    for c in range(n):
        r = c if per_clip else 0
        if c == 0 or per_clip:
            t_var = _thr(theta[r, VARIATION])
            t_ks = _thr(theta[r, KICK_S])
            t_open = _thr(theta[r, OPEN])
            t_rat = _thr(theta[r, RATCHET])
            kd = theta[r, KICK_D]
            h3 = 3.0 * theta[r, HAT_D]
            r3 = 3.0 * theta[r, RIDE_D]
            for p in range(16):
                if p == 4 or p == 12:
                    t_snare[p] = _thr(theta[r, BACKBEAT])
                else:
                    t_snare[p] = _thr(theta[r, SNARE_S] * snare_w[p])
                sub = p % 4
                if sub == 2:
                    t_hat[p] = _thr(h3)
                    t_ride[p] = _thr(r3 - 1.0)
                elif sub == 0:
                    t_hat[p] = _thr(h3 - 1.0)
                    t_ride[p] = _thr(r3)
                else:
                    t_hat[p] = _thr(h3 - 2.0)
                    t_ride[p] = _thr(r3 - 2.0)
            cp = theta[r, CRASH]
            t_crash0 = _thr(min(1.0, 2.0 * cp))
            t_crash = _thr(cp)
            scale = 30.0 + 97.0 * theta[r, INTENSITY]
            for layer in range(7):
                for p in range(16):
                    base[layer, p] = np.int64(np.rint(accent[layer, p] * scale))
            swing = np.float32(theta[r, SWING])
        for b in range(4):
            src[b] = b if (b == 0 or dec[c, b, 0, 0] < t_var) else 0
        for s in range(64):
            kick[s] = False
            ratchet[s] = False
        for b in range(4):
            sb = src[b]
            o = 16 * b
            count = math.floor(kd + dec[c, sb, 1, 0] * (1.0 / 32768.0))
            count = min(max(count, 0), 8)
            for j in range(8):
                late[j] = False
                early[j] = False
                if j > 0 and euclid[count, j] and dec[c, sb, 1, 2 * j] < t_ks:
                    if dec[c, sb, 1, 2 * j + 1] < 16384:
                        early[j] = True
                    else:
                        late[j] = True
            for j in range(1, 8):
                if early[j] and late[j - 1]:
                    early[j] = False
            for j in range(8):
                if euclid[count, j] and not (late[j] or early[j]):
                    kick[o + 2 * j] = True
                if late[j]:
                    kick[o + 2 * j + 1] = True
                if early[j]:
                    kick[o + 2 * j - 1] = True
            for p in range(16):
                s = o + p
                snare[s] = dec[c, sb, 2, p] < t_snare[p]
                hat = dec[c, sb, 3, p] < t_hat[p]
                is_open = hat and p % 4 == 2 and dec[c, sb, 4, p] < t_open
                opened[s] = is_open
                closed[s] = hat and not is_open
                ride[s] = dec[c, sb, 6, p] < t_ride[p]
            crash[o] = dec[c, b, 0, 1] < (t_crash0 if b == 0 else t_crash)
            if crash[o]:
                ride[o] = False
        for s in range(64):
            if closed[s] and dec[c, src[s // 16], 5, s % 16] < t_rat:
                t = (s + 1) % 64
                if not closed[t] and not opened[t]:
                    ratchet[t] = True
        sp = spread[c]
        for s in range(64):
            p = s % 16
            off16 = np.float32(1.0) if s % 2 == 1 else np.float32(0.0)
            for row in range(5):
                v = 0
                if row == 0 and kick[s]:
                    v = base[0, p]
                elif row == 1 and snare[s]:
                    v = base[1, p]
                elif row == 2 and closed[s]:
                    v = base[2, p]
                elif row == 2 and ratchet[s]:
                    v = base[5, p]
                elif row == 3 and opened[s]:
                    v = base[3, p]
                elif row == 4 and crash[s] and p == 0:
                    v = base[6, p]
                elif row == 4 and ride[s]:
                    v = base[4, p]
                if v == 0:
                    vel[c, row, s] = 0
                    off[c, row, s] = np.float32(0.0)
                    continue
                bits = vbits[c, row, s]
                v = v + (bits & 7) - ((bits >> 3) & 7)
                vel[c, row, s] = min(max(v, 1), 127)
                x = normal[timing[c, row, s]] * sp + swing * off16
                if x > lim:
                    x = lim
                elif x < -lim:
                    x = -lim
                off[c, row, s] = x


_thr = njit(cache=True, inline="always")(_thr)
_kernel = njit(cache=True, nogil=True)(_kernel)


def simulate_v1(theta: np.ndarray, *, seed: int, bpm: np.ndarray) -> ClipBatch:
    """One canonical v1 clip per row of ``theta`` (n, 13), clip i = stream index i of ``seed``."""
    theta = np.ascontiguousarray(theta, dtype=np.float64)
    n = len(theta)
    raw = np.random.Philox(key=seed, counter=0).random_raw(n * _WORDS).astype("<u8")
    raw = raw.reshape(n, _WORDS)
    u16 = raw.view("<u2")
    dec = (u16[:, :448] & 0x7FFF).reshape(n, 4, 7, 16).copy()
    timing = u16[:, 448:768].reshape(n, 5, 64).copy()
    vbits = raw[:, 192:].view(np.uint8).reshape(n, 5, 64).copy()
    bpm = np.broadcast_to(np.asarray(bpm, np.float64), (n,))
    spread = (theta[:, HUMANIZE] / step_ms(bpm)).astype(np.float32)
    vel = np.empty((n, 5, 64), np.uint8)
    off = np.empty((n, 5, 64), np.float32)
    _kernel(
        dec, timing, vbits, theta, spread, _ACCENT, _SNARE_W, _NORMAL, _EUCLID, 15 / 32, vel, off
    )
    v, o, _ = canonicalize(vel, off)
    return ClipBatch(v, o, bpm.copy())
