"""Per-clip pure-Python reference of the simulator's rules (the benchmark baseline).

The same mechanisms as :mod:`technorhythm.simulator.engine`, written the
straightforward way: one clip at a time, Python loops over bars and steps, Python
lists and floats. It reads each clip's random numbers from the same Philox stream
(numpy is used only to draw them and for the constant tables), so for the same
(θ, seed, index) it yields the same clip as the vectorised engine; a test checks
that (velocities and onsets exactly, offsets to float32 precision).

Usage as a module: ``simulate_clip(theta_dict, seed, index, bpm) -> (velocity, offset)``
with nested lists of shape (5, 64).
"""

from __future__ import annotations

import math
import struct

import numpy as np

from technorhythm.simulator import patterns as pt
from technorhythm.simulator.streams import BLOCKS_PER_CLIP, NORMAL_TABLE, WORDS_PER_CLIP

__all__ = ["simulate_clip", "simulate_reference"]

_ACCENT = pt.ACCENT.astype(float).tolist()  # the float32 table as Python floats
_SNARE_W = pt.SNARE_SYNC_WEIGHT.tolist()
_NORMAL = NORMAL_TABLE.astype(float).tolist()
_LIMIT = 15.0 / 32.0


def _thr(p: float) -> int:
    return math.floor(min(max(p, 0.0), 1.0) * 32768.0)


def _clip01(x: float) -> float:
    return min(max(x, 0.0), 1.0)


def simulate_clip(theta: dict, seed: int, index: int, bpm: float = 128.0):
    """One clip as (velocity, offset), lists of 5 rows × 64 steps, canonicalised."""
    raw = np.random.Philox(key=seed, counter=index * BLOCKS_PER_CLIP).random_raw(WORDS_PER_CLIP)
    data = raw.astype("<u8").tobytes()
    u16 = struct.unpack("<928H", data[:1856])
    dec = [
        [[u16[b * 112 + f * 16 + p] & 0x7FFF for p in range(16)] for f in range(7)]
        for b in range(4)
    ]
    timing = u16[448:768]
    vbits = data[1536:1856]

    # bars: repeated bars take bar 1's decisions
    for b in range(1, 4):
        if not dec[b][0][0] < _thr(theta["variation"]):
            for f in range(1, 7):
                dec[b][f] = list(dec[0][f])

    kick = [False] * 64
    snare = [False] * 64
    closed = [False] * 64
    opened = [False] * 64
    ride = [False] * 64
    crash = [False] * 64
    for b in range(4):
        k_u, s_u, h_u, o_u, _, r_u = dec[b][1], dec[b][2], dec[b][3], dec[b][4], None, dec[b][6]
        # kick
        count = math.floor(theta["kick_density"] + k_u[0] * (1.0 / 32768.0))
        count = min(max(count, 0), 8)
        pulses = [(j * count) % 8 < count for j in range(8)]
        late = [False] * 8
        early = [False] * 8
        for j in range(1, 8):
            moved = pulses[j] and k_u[2 * j] < _thr(theta["kick_syncopation"])
            is_early = k_u[2 * j + 1] < 16384
            late[j] = moved and not is_early
            early[j] = moved and is_early
        for j in range(1, 8):
            if early[j] and late[j - 1]:
                early[j] = False
        for j in range(8):
            if pulses[j] and not (late[j] or early[j]):
                kick[16 * b + 2 * j] = True
            if late[j]:
                kick[16 * b + 2 * j + 1] = True
            if early[j]:
                kick[16 * b + 2 * j - 1] = True
        for p in range(16):
            s = 16 * b + p
            # snare
            if p in (4, 12):
                snare[s] = s_u[p] < _thr(theta["backbeat_strength"])
            else:
                snare[s] = s_u[p] < _thr(theta["snare_sync"] * _SNARE_W[p])
            # hats
            h3 = 3.0 * theta["hat_density"]
            ph = h3 if p % 4 == 2 else (h3 - 1.0 if p % 4 == 0 else h3 - 2.0)
            hat = h_u[p] < _thr(_clip01(ph))
            if hat and p % 4 == 2 and o_u[p] < _thr(theta["openness"]):
                opened[s] = True
            elif hat:
                closed[s] = True
            # ride
            r3 = 3.0 * theta["ride_density"]
            pr = r3 if p % 4 == 0 else (r3 - 1.0 if p % 4 == 2 else r3 - 2.0)
            ride[s] = r_u[p] < _thr(_clip01(pr))
        c = theta["crash_prob"]
        crash[16 * b] = dec[b][0][1] < _thr(min(1.0, 2.0 * c) if b == 0 else c)
        if crash[16 * b]:
            ride[16 * b] = False
    ratchet = [False] * 64
    for s in range(64):
        if closed[s] and dec[s // 16][5][s % 16] < _thr(theta["ratchet_prob"]):
            t = (s + 1) % 64
            if not closed[t] and not opened[t]:
                ratchet[t] = True

    scale = 30.0 + 97.0 * theta["intensity"]
    layers = [kick, snare, closed, opened, ride, ratchet, crash]
    rows = [0, 1, 2, 3, 4, 2, 4]
    velocity = [[0] * 64 for _ in range(5)]
    offset = [[0.0] * 64 for _ in range(5)]
    spread = theta["humanize_ms"] / (60_000.0 / (bpm * 4))
    for layer, hits in enumerate(layers):
        row = rows[layer]
        for s in range(64):
            if not hits[s]:
                continue
            cell = row * 64 + s
            base = round(_ACCENT[layer][s] * scale)
            bits = vbits[cell]
            v = base + (bits & 7) - ((bits >> 3) & 7)
            velocity[row][s] = min(max(v, 1), 127)
            o = _NORMAL[timing[cell]] * spread + (theta["swing_16"] if s % 2 else 0.0)
            offset[row][s] = min(max(o, -_LIMIT), _LIMIT)

    # canonical rotation: first bar downbeat with a strong kick goes to step 0
    loudest = max(velocity[0])
    rotation = 0
    for b in range(4):
        v = velocity[0][16 * b]
        if v > 0 and v >= math.ceil(0.5 * loudest):
            rotation = 16 * b
            break
    if rotation:
        velocity = [r[rotation:] + r[:rotation] for r in velocity]
        offset = [r[rotation:] + r[:rotation] for r in offset]
    return velocity, offset


def simulate_reference(theta: dict, n: int, *, seed: int, start_index: int = 0, bpm=128.0):
    """``n`` clips, one Python call each; returns lists of (velocity, offset)."""
    return [simulate_clip(theta, seed, start_index + i, bpm) for i in range(n)]
