"""Cutting a file's notes into 4-bar windows, within the per-file budgets.

Rules 3–7 of :mod:`technorhythm.corpus.read`: the time-signature map splits the
file into stretches; 4/4 stretches are cut into windows by global quantisation;
the loudest note of each (instrument, step) cell wins. Only windows with at least
``min_onsets`` distinct cells are built as arrays (fewer cannot reach
``min_onsets`` onsets after the choke): windows of silence cost nothing but a
count, and :func:`check_budget` refuses a file before its windows are allocated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from technorhythm.clips import N_INSTRUMENTS, N_STEPS, STEPS_PER_BAR, STEPS_PER_BEAT
from technorhythm.corpus.config import IngestConfig, MidiRejected
from technorhythm.corpus.drum_map import OTHER, TOM
from technorhythm.corpus.parse import MAX_DEN_EXPONENT, ParsedMidi

__all__ = ["Budget", "Stretch", "Tally", "Windows", "build_windows", "check_budget", "stretches"]

_MAX_OFFSET = np.nextafter(np.float32(0.5), np.float32(0.0))
_CLIP_BYTES = N_INSTRUMENTS * N_STEPS * 5  # uint8 velocity + float32 offset per clip
_NOTE_BYTES = 64  # working memory per note in clip building (a dozen int64 columns)


@dataclass(frozen=True)
class Stretch:
    """A run of ticks under one time signature."""

    start: int
    stop: int
    num: int
    den_exp: int

    @property
    def valid(self) -> bool:
        return self.num >= 1 and 0 <= self.den_exp <= MAX_DEN_EXPONENT

    @property
    def is_44(self) -> bool:
        return self.num == 4 and self.den_exp == 2

    @property
    def label(self) -> str:
        if self.den_exp < 0:
            return "a malformed time-signature event"
        if self.den_exp > 16:
            return f"{self.num}/2^{self.den_exp}"
        return f"{self.num}/{1 << self.den_exp}"


def stretches(parsed: ParsedMidi, end: int) -> list[Stretch]:
    """One :class:`Stretch` per time-signature run; 4/4 by default."""
    times, nums = parsed.ts_time.tolist(), parsed.ts_num.tolist()
    exps = parsed.ts_den_exp.tolist()
    if not times or times[0] > 0:
        times, nums, exps = [0, *times], [4, *nums], [2, *exps]
    out: list[Stretch] = []
    for i, (t0, n, d) in enumerate(zip(times, nums, exps, strict=True)):
        t1 = times[i + 1] if i + 1 < len(times) else max(end, t0)
        if t1 <= t0:
            continue
        if out and (out[-1].num, out[-1].den_exp) == (n, d) and out[-1].stop == t0:
            out[-1] = Stretch(out[-1].start, t1, n, d)  # repeated identical signature
        else:
            out.append(Stretch(t0, t1, n, d))
    return out


def check_budget(n_notes: int, n_windows: int, config: IngestConfig) -> None:
    """Reject before allocating when a file's windows exceed the per-file budgets."""
    if n_windows > config.max_clips_per_file:
        raise MidiRejected(
            f"{n_windows:,} windows with notes: over the per-file budget of "
            f"{config.max_clips_per_file:,} clips (max_clips_per_file)",
            "over-budget",
        )
    need = n_notes * _NOTE_BYTES + 4 * n_windows * _CLIP_BYTES
    if need > config.max_file_memory_mb * 2**20:
        raise MidiRejected(
            f"building {n_windows:,} clips from {n_notes:,} notes needs about "
            f"{need / 2**20:,.0f} MiB: over the per-file memory budget of "
            f"{config.max_file_memory_mb:g} MiB",
            "over-budget",
        )


@dataclass
class Windows:
    """Windows with enough notes of one stretch, built as arrays (see :func:`_cut`)."""

    velocity: np.ndarray
    offset: np.ndarray
    window: np.ndarray  # index within the stretch
    toms: np.ndarray
    other: np.ndarray
    merged: np.ndarray


def _cut(time, cls, vel, start: int, n_win: int, tps: float, budget):
    """Quantise a stretch's notes; build only windows with enough distinct cells.

    ``budget(n_windows)`` is called with the number of windows to build before any
    is allocated (it raises when over the per-file budget). Returns the built
    windows and the stretch totals (toms, other, merged notes).
    """
    pos = (time - start) / tps
    step = np.floor(pos + 0.5).astype(np.int64)
    off = np.minimum((pos - step).astype(np.float32), _MAX_OFFSET)
    win = step // N_STEPS
    keep = (win >= 0) & (win < n_win)
    c, win, step, off, v = cls[keep], win[keep], step[keep] % N_STEPS, off[keep], vel[keep]
    totals = (int((c == TOM).sum()), int((c == OTHER).sum()))
    kept = c < N_INSTRUMENTS
    cell = (win[kept] * N_INSTRUMENTS + c[kept]) * N_STEPS + step[kept]
    # Loudest wins: sort by (cell, velocity); the last of each cell is the loudest
    # (ties: the later note in time, by the stable sort over time-ordered input).
    order = np.lexsort((v[kept], cell))
    cell_s = cell[order]
    last = np.ones(cell_s.size, bool)
    last[:-1] = cell_s[1:] != cell_s[:-1]
    merged_total = int((~last).sum())
    cells_per_win = np.unique(cell_s[last] // (N_INSTRUMENTS * N_STEPS), return_counts=True)
    built = cells_per_win[0][cells_per_win[1] >= budget.min_cells]
    budget(built.size)
    n = built.size
    if n:
        slot = np.searchsorted(built, win)  # window → row of the built arrays
        hit = built[np.minimum(slot, n - 1)] == win
    else:
        slot, hit = np.zeros(win.size, np.int64), np.zeros(win.size, bool)
    toms = np.bincount(slot[hit & (c == TOM)], minlength=n)
    other = np.bincount(slot[hit & (c == OTHER)], minlength=n)
    sel = np.flatnonzero(kept)[order]  # kept notes in (cell, velocity) order
    merged = np.bincount(slot[sel[~last]][hit[sel[~last]]], minlength=n)
    win_sel = sel[last][hit[sel[last]]]  # the loudest note of every cell of a built window
    vel_arr = np.zeros((n, N_INSTRUMENTS, N_STEPS), np.uint8)
    off_arr = np.zeros((n, N_INSTRUMENTS, N_STEPS), np.float32)
    vel_arr[slot[win_sel], c[win_sel], step[win_sel]] = v[win_sel]
    off_arr[slot[win_sel], c[win_sel], step[win_sel]] = off[win_sel]
    return Windows(vel_arr, off_arr, built, toms, other, merged), (*totals, merged_total)


class Budget:
    """Counts windows built so far in a file against :func:`check_budget`.

    A window with fewer distinct (instrument, step) cells than ``min_onsets`` cannot
    reach ``min_onsets`` onsets after the choke, so it is never built.
    """

    def __init__(self, n_notes: int, config: IngestConfig) -> None:
        self.n_notes, self.config, self.built = n_notes, config, 0
        self.min_cells = config.min_onsets

    def __call__(self, n_windows: int) -> None:
        self.built += n_windows
        check_budget(self.n_notes, self.built, self.config)


@dataclass
class Tally:
    """Per-file counts accumulated over the stretches."""

    windows: int = 0
    has_44: bool = False
    tail_bars: float = 0.0
    non44_bars: float = 0.0
    bad_beats: float = 0.0
    toms: int = 0
    other: int = 0
    merged: int = 0
    metres: set[str] = field(default_factory=set)
    bad_metres: set[str] = field(default_factory=set)


def _window_count(stretch: Stretch, tps: float, last: bool, eot: int) -> tuple[int, float]:
    """(complete windows, steps) of a 4/4 stretch; see rule 6 of the module notes."""
    length_steps = (stretch.stop - stretch.start) / tps
    n_win = int(np.floor((length_steps + STEPS_PER_BEAT) / N_STEPS))
    short = (n_win + 1) * N_STEPS - length_steps  # steps missing from the next window
    if last and short <= STEPS_PER_BAR and eot > stretch.stop:
        length_steps = (eot - stretch.start) / tps  # a loop may end after a silent beat
        n_win = int(np.floor((length_steps + STEPS_PER_BEAT) / N_STEPS))
    return n_win, length_steps


def build_windows(parsed: ParsedMidi, config: IngestConfig, notes) -> tuple[list, Tally, list]:
    """Cut every 4/4 stretch into windows; returns (built windows per stretch, tally, starts)."""
    time, cls, vel = notes
    tps = parsed.tpq / STEPS_PER_BEAT
    half = tps / 2.0
    end = max(parsed.end, int(time.max()) + 1 if time.size else 0)
    runs = stretches(parsed, end)
    tally, built, starts = Tally(), [], []
    budget = Budget(time.size, config)
    for i, st in enumerate(runs):
        last = i + 1 == len(runs)
        if not st.valid:
            tally.bad_beats += (st.stop - st.start) / parsed.tpq
            tally.bad_metres.add(f"{st.label} at tick {st.start}")
            continue
        if not st.is_44:
            tally.non44_bars += (st.stop - st.start) / (parsed.tpq * st.num * 4 / (1 << st.den_exp))
            tally.metres.add(st.label)
            continue
        tally.has_44 = True
        n_win, length_steps = _window_count(st, tps, last, parsed.eot)
        tally.tail_bars += max(0.0, length_steps - n_win * N_STEPS) / 16.0
        if n_win == 0:
            continue
        # a note within half a 16th before a stretch boundary belongs to the next stretch
        lo = np.searchsorted(time, st.start - half, side="left")
        hi = time.size if last else np.searchsorted(time, st.stop - half, side="left")
        if hi == lo:  # no notes: every window is near-empty, none is built
            tally.windows += n_win
            continue
        windows, (toms, other, merged) = _cut(
            time[lo:hi], cls[lo:hi], vel[lo:hi], st.start, n_win, tps, budget
        )
        tally.toms += toms
        tally.other += other
        tally.merged += merged
        windows.window = windows.window + tally.windows
        built.append(windows)
        starts.append(st.start + (windows.window - tally.windows) * N_STEPS * tps)
        tally.windows += n_win
    return built, tally, starts
