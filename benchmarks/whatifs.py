"""Mechanism what-ifs: a simulator mechanism sketched by editing new loops, before it is built.

Used by ``clip_oracles.py --oracles`` (which fits the packs, simulates their new loops and
checks every variant with the same seeds). Unlike its oracles, a what-if takes nothing from
the pack's own loops: it changes the new loops the way a candidate mechanism would, with one
strength for every pack (a fixed knob value, not a fitted one), so its figure says whether
the mechanism could move the checks at all. Specs:

``edits:INSTRUMENTS:P``
    bars whose row (each instrument of the comma-separated list) differs from bar 1's on
    three steps or more become, with chance ``P``, bar 1's row with one or two random steps
    flipped (a drummer's edit of the bar, where the simulator redraws the whole bar); an
    added hit takes the velocity and timing offset of a random hit of the loop's row.
``halves:INSTRUMENTS:P``
    each bar's second half of the row replays its first half (onsets, velocities, offsets)
    with chance ``P`` per bar and instrument (a two-beat figure repeated within the bar).
``yield:P``
    a kick on the same step as a snare on beat 2 or 4 is dropped with chance ``P`` (the kick
    making room for the backbeat, as drummers mostly do).
``tails:C``
    per loop, instrument and beat class (beat, off-beat 8th, off-beat 16th; two hits or
    more), each velocity's distance from the class median is scaled by ``C`` for 85 % of the
    hits and by ``sqrt((1 − 0.85 C²) / 0.15)`` for the rest: the same variance with a tighter
    core and heavier tails (drummers' velocities around their level are heavy-tailed).
"""

from __future__ import annotations

import numpy as np

from technorhythm.clips import INSTRUMENTS, N_BARS, STEPS_PER_BAR, STEPS_PER_BEAT, ClipBatch

__all__ = ["KINDS", "BEAT_CLASS", "instrument_rows", "parse_whatif", "apply_whatif"]

KINDS: tuple[str, ...] = ("edits", "halves", "yield", "tails")
"""The what-if kinds, the first field of a spec."""
TAIL_SHARE = 0.15
"""Share of a class's hits that ``tails`` moves away from the class median."""
_BACKBEAT = np.isin(np.arange(N_BARS * STEPS_PER_BAR) % STEPS_PER_BAR, (4, 12))
BEAT_CLASS = np.array([0, 2, 1, 2])[np.arange(N_BARS * STEPS_PER_BAR) % STEPS_PER_BEAT]
"""Beat class of each step of a clip: 0 beat, 1 off-beat 8th, 2 off-beat 16th."""
_KICK, _SNARE = INSTRUMENTS.index("kick"), INSTRUMENTS.index("snare")


def _chance(text: str, spec: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"what-if {spec!r}: the strength must be in [0, 1]; got {value}")
    return value


def instrument_rows(names: str) -> list[int]:
    """``kick,snare`` → [0, 1] (rows of :data:`~technorhythm.clips.INSTRUMENTS`); raises
    ValueError naming the unknown ones."""
    rows = names.split(",")
    unknown = [n for n in rows if n not in INSTRUMENTS]
    if not names or unknown:
        raise ValueError(f"instruments of {INSTRUMENTS}; got {unknown or names!r}")
    return [INSTRUMENTS.index(n) for n in rows]


def parse_whatif(spec: str) -> tuple[str, object]:
    """``edits:kick:0.5`` → ("edits", ([0], 0.5)); ``halves:ROWS:P`` likewise; ``yield:P`` and
    ``tails:C`` → (kind, float). Raises ValueError naming the spec."""
    kind, _, rest = spec.partition(":")
    if kind in ("edits", "halves"):
        names, _, strength = rest.rpartition(":")
        try:
            rows = instrument_rows(names)
        except ValueError as err:
            raise ValueError(f"what-if {spec!r}: {err}") from None
        return kind, (rows, _chance(strength, spec))
    if kind in ("yield", "tails"):
        return kind, _chance(rest, spec)
    raise ValueError(f"unknown what-if {spec!r}: one of {', '.join(KINDS)}")


def apply_whatif(new: ClipBatch, whatif: tuple[str, object], rng) -> ClipBatch:
    """``new`` changed by one what-if of :func:`parse_whatif` (a copy; ``new`` is kept)."""
    kind, arg = whatif
    velocity, offset = new.velocity.copy(), new.offset.copy()
    if kind == "edits":
        _edit_bars(velocity, offset, *arg, rng)
    elif kind == "halves":
        _repeat_halves(velocity, offset, *arg, rng)
    elif kind == "yield":
        _yield_to_backbeat(velocity, offset, arg, rng)
    else:
        velocity = _heavy_tails(velocity, arg, rng)
    return ClipBatch(velocity, offset, new.bpm, new.meta)


def _bars(a: np.ndarray) -> np.ndarray:
    """(N, rows, 64) → a (N, rows, bars, 16) view."""
    return a.reshape(len(a), a.shape[1], N_BARS, STEPS_PER_BAR)


def _edit_bars(velocity, offset, rows, p, rng) -> None:
    v, o = _bars(velocity), _bars(offset)
    for r in rows:
        first = v[:, r, :1] > 0
        far = ((v[:, r, 1:] > 0) != first).sum(axis=-1) >= 3  # (N, bars − 1)
        loops, bars = np.nonzero(far & (rng.random(far.shape) < p))
        for i, b in zip(loops, bars + 1, strict=True):
            v[i, r, b], o[i, r, b] = v[i, r, 0], o[i, r, 0]
            hits = np.flatnonzero(velocity[i, r] > 0)
            for s in rng.choice(STEPS_PER_BAR, size=rng.integers(1, 3), replace=False):
                if v[i, r, b, s] > 0 or not len(hits):
                    v[i, r, b, s], o[i, r, b, s] = 0, 0.0
                    continue
                like = rng.choice(hits)  # an added hit plays like one of the row's hits
                v[i, r, b, s], o[i, r, b, s] = velocity[i, r, like], offset[i, r, like]


def _repeat_halves(velocity, offset, rows, p, rng) -> None:
    v, o = _bars(velocity), _bars(offset)
    half = STEPS_PER_BAR // 2
    for r in rows:
        loops, bars = np.nonzero(rng.random(v.shape[:1] + v.shape[2:3]) < p)
        v[loops, r, bars, half:] = v[loops, r, bars, :half]
        o[loops, r, bars, half:] = o[loops, r, bars, :half]


def _yield_to_backbeat(velocity, offset, p, rng) -> None:
    both = (velocity[:, _KICK] > 0) & (velocity[:, _SNARE] > 0) & _BACKBEAT
    drop = both & (rng.random(both.shape) < p)
    velocity[:, _KICK][drop] = 0
    offset[:, _KICK][drop] = 0.0


def _heavy_tails(velocity, core, rng) -> np.ndarray:
    wide = np.sqrt((1.0 - (1.0 - TAIL_SHARE) * core**2) / TAIL_SHARE)
    out = velocity.astype(np.float64)
    for i in range(len(out)):
        for r in range(out.shape[1]):
            for c in range(3):
                hit = (velocity[i, r] > 0) & (c == BEAT_CLASS)
                if hit.sum() < 2:
                    continue
                x = out[i, r, hit]
                centre = np.median(x)
                scale = np.where(rng.random(len(x)) < TAIL_SHARE, wide, core)
                out[i, r, hit] = centre + (x - centre) * scale
    return np.where(velocity > 0, np.clip(np.rint(out), 1, 127), 0).astype(velocity.dtype)
