"""One MIDI file → canonical 4-bar clips (:func:`read_midi`).

Rules, in order (``docs/data_pipeline.md`` is the full specification):

1. Notes on channel 10 are the drums. A file without any falls back to its other
   channels when they look like a drum kit (``IngestConfig.drum_channel_fallback``).
   Drum notes none of which is in the drum map (a melody on channel 10) reject the
   file (``not-in-drum-map``); so do drum notes that are all toms or other
   percussion (``only-dropped-notes``).
2. Pitches map through :data:`~technorhythm.corpus.drum_map.DRUM_MAP`; toms and
   other percussion are dropped and counted.
3. The time-signature map splits the file into stretches; only 4/4 stretches are
   cut into windows, bars in other metres are counted (``non_4_4_bars``). Beats
   under an impossible time signature (numerator 0, denominator beyond 1/64, a
   malformed event) are skipped and counted (``bad_metre_beats``).
4. Quantisation is global over a stretch: a note at ``t`` ticks lands on step
   ``floor(t / tps + 0.5)`` (``tps`` = ticks per 16th) with offset
   ``t / tps - step`` in [-0.5, 0.5). A note just before a window boundary
   therefore lands on step 0 of the next window with a negative offset.
5. Several notes on one (instrument, step) cell: the loudest wins; the others are
   counted as ``merged_notes``.
6. Consecutive 4-bar (64-step) windows from the stretch start. When the notes
   stop at most one bar short of a window end, the file ends at the later of its
   content end and its end-of-track event (a loop may end after a silent final
   beat). A final window missing less than one beat is kept
   (recordings stop right after the last hit); a shorter tail is dropped and
   counted (``tail_bars_dropped``). Stretches shorter than one window yield
   nothing (short fills).
7. Choke and rotation by :func:`technorhythm.clips.canonicalize`; windows with
   fewer than ``min_onsets`` onsets afterwards are near-empty: dropped and counted.
   Windows with fewer than ``min_onsets`` distinct cells cannot reach it and are
   counted without ever being built, so a file of long silences costs memory for
   its notes only. A file whose remaining windows exceed the per-file budgets
   (``max_clips_per_file``, ``max_file_memory_mb``) is rejected (``over-budget``)
   before anything is allocated.
8. Each window's tempo is its average through the tempo map: 16 beats divided by
   the window's duration in minutes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from technorhythm.clips import (
    N_INSTRUMENTS,
    N_STEPS,
    STEPS_PER_BAR,
    STEPS_PER_BEAT,
    ClipBatch,
    canonicalize,
)
from technorhythm.corpus.config import IngestConfig, MidiRejected
from technorhythm.corpus.dedupe import onset_hash
from technorhythm.corpus.drum_map import OTHER, TOM, classify_pitches
from technorhythm.corpus.parse import MAX_DEN_EXPONENT, ParsedMidi, parse_midi_file

__all__ = ["FileStats", "check_budget", "clip_arrays", "clips_from_parsed", "read_midi"]

_MAX_OFFSET = np.nextafter(np.float32(0.5), np.float32(0.0))
_CLIP_BYTES = N_INSTRUMENTS * N_STEPS * 5  # uint8 velocity + float32 offset per clip
_NOTE_BYTES = 64  # working memory per note in clip building (a dozen int64 columns)
_WINDOW_COLUMNS = ("window", "start_tick", "dropped_toms", "dropped_other", "merged_notes")


@dataclass(frozen=True)
class FileStats:
    """Per-file counts of what did not become a clip (for the manifest)."""

    n_notes: int
    drum_channel: str
    windows_total: int
    near_empty_windows: int
    tail_bars_dropped: float
    non_4_4_bars: float
    other_metres: str
    dropped_toms: int
    dropped_other: int
    merged_notes: int
    bad_metre_beats: float = 0.0
    bad_metres: str = ""
    unreleased_notes: int = 0

    def note(self) -> str:
        """A short human summary of what was dropped or unusual ('' when nothing)."""
        parts = []
        if self.drum_channel != "10":
            parts.append("drums read from channels other than 10")
        if self.non_4_4_bars:
            parts.append(f"{self.non_4_4_bars:g} bars in {self.other_metres} skipped")
        if self.bad_metre_beats:
            parts.append(
                f"{self.bad_metre_beats:g} beats under an impossible time signature "
                f"({self.bad_metres}) skipped"
            )
        if self.near_empty_windows:
            parts.append(f"{self.near_empty_windows} near-empty windows dropped")
        if self.unreleased_notes:
            parts.append(f"{self.unreleased_notes} notes never released (kept)")
        return "; ".join(parts)


@dataclass(frozen=True)
class _Stretch:
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


def _seconds_at(ticks: np.ndarray, parsed: ParsedMidi) -> np.ndarray:
    """Seconds from the file start at each tick, through the tempo map (default 120 qpm)."""
    t_time, qpm = parsed.tempo_time, parsed.tempo_qpm
    if t_time.size == 0 or t_time[0] > 0:
        t_time = np.concatenate([[0], t_time])
        qpm = np.concatenate([[120.0], qpm])
    sec_per_tick = 60.0 / (qpm * parsed.tpq)
    seg_start_sec = np.concatenate([[0.0], np.cumsum(np.diff(t_time) * sec_per_tick[:-1])])
    idx = np.searchsorted(t_time, ticks, side="right") - 1
    return seg_start_sec[idx] + (ticks - t_time[idx]) * sec_per_tick[idx]


def _stretches(parsed: ParsedMidi, end: int) -> list[_Stretch]:
    """One :class:`_Stretch` per time-signature run; 4/4 by default."""
    times, nums = parsed.ts_time.tolist(), parsed.ts_num.tolist()
    exps = parsed.ts_den_exp.tolist()
    if not times or times[0] > 0:
        times, nums, exps = [0, *times], [4, *nums], [2, *exps]
    out: list[_Stretch] = []
    for i, (t0, n, d) in enumerate(zip(times, nums, exps, strict=True)):
        t1 = times[i + 1] if i + 1 < len(times) else max(end, t0)
        if t1 <= t0:
            continue
        if out and (out[-1].num, out[-1].den_exp) == (n, d) and out[-1].stop == t0:
            out[-1] = _Stretch(out[-1].start, t1, n, d)  # repeated identical signature
        else:
            out.append(_Stretch(t0, t1, n, d))
    return out


def _check_header(parsed: ParsedMidi, config: IngestConfig) -> None:
    if parsed.tpq < config.min_ticks_per_beat:
        raise MidiRejected(f"ticks per beat is {parsed.tpq}", "absurd-ticks-per-beat")
    qpm = parsed.tempo_qpm
    if np.isnan(qpm).any():
        tick = parsed.tempo_time[np.isnan(qpm)][0]
        raise MidiRejected(
            f"malformed tempo event at tick {tick} (not 3 data bytes)", "absurd-tempo"
        )
    bad = (qpm < config.min_bpm) | (qpm > config.max_bpm)
    if bad.any():
        raise MidiRejected(
            f"absurd tempo {qpm[bad][0]:.6g} bpm at tick "
            f"{parsed.tempo_time[bad][0]} (allowed {config.min_bpm:g}–{config.max_bpm:g})",
            "absurd-tempo",
        )


def _pitch_list(pitch: np.ndarray) -> str:
    values = np.unique(pitch).tolist()
    shown = ", ".join(map(str, values[:8]))
    return shown + (f" and {len(values) - 8} more" if len(values) > 8 else "")


def _select_notes(parsed: ParsedMidi, config: IngestConfig):
    if parsed.drum_time.size:
        time, pitch, vel, channel = (
            parsed.drum_time, parsed.drum_pitch, parsed.drum_velocity, "10",
        )  # fmt: skip
        where = "on channel 10"
    else:
        n_other = parsed.other_time.size
        if n_other == 0:
            raise MidiRejected("no notes at all", "no-notes")
        frac = float((classify_pitches(parsed.other_pitch) != OTHER).mean())
        if not (config.drum_channel_fallback and frac >= config.fallback_kit_fraction):
            raise MidiRejected(
                f"no drum notes on channel 10; the {n_other} notes on other channels "
                f"{'' if config.drum_channel_fallback else '(fallback disabled) '}"
                f"hit drum-kit pitches only {frac:.0%} of the time "
                f"(need {config.fallback_kit_fraction:.0%} to read them as drums)",
                "no-drum-notes",
            )
        time, pitch, vel, channel = (
            parsed.other_time, parsed.other_pitch, parsed.other_velocity, "other",
        )  # fmt: skip
        where = "read as drums from other channels"
    cls = classify_pitches(pitch)
    if not (cls < N_INSTRUMENTS).any():
        if (cls == OTHER).all():
            raise MidiRejected(
                f"no notes in the drum map: the {time.size} notes {where} have pitches "
                f"{_pitch_list(pitch)}, none of them a drum-kit sound (a melody?)",
                "not-in-drum-map",
            )
        raise MidiRejected(
            f"only toms and other percussion (dropped): none of the {time.size} notes {where} "
            f"is a kick, snare, hi-hat or cymbal (pitches {_pitch_list(pitch)})",
            "only-dropped-notes",
        )
    return time, pitch, vel, channel


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
class _Windows:
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
    return _Windows(vel_arr, off_arr, built, toms, other, merged), (*totals, merged_total)


class _Budget:
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
class _Tally:
    """Per-file counts accumulated over the stretches."""

    windows: int = 0
    has_44: bool = False
    tail_bars: float = 0.0
    non44_bars: float = 0.0
    bad_beats: float = 0.0
    toms: int = 0
    other: int = 0
    merged: int = 0

    def __post_init__(self) -> None:
        self.metres: set[str] = set()
        self.bad_metres: set[str] = set()


def _window_count(stretch: _Stretch, tps: float, last: bool, eot: int) -> tuple[int, float]:
    """(complete windows, steps) of a 4/4 stretch; see rule 6 of the module notes."""
    length_steps = (stretch.stop - stretch.start) / tps
    n_win = int(np.floor((length_steps + STEPS_PER_BEAT) / N_STEPS))
    short = (n_win + 1) * N_STEPS - length_steps  # steps missing from the next window
    if last and short <= STEPS_PER_BAR and eot > stretch.stop:
        length_steps = (eot - stretch.start) / tps  # a loop may end after a silent beat
        n_win = int(np.floor((length_steps + STEPS_PER_BEAT) / N_STEPS))
    return n_win, length_steps


def _build(parsed: ParsedMidi, config: IngestConfig, notes) -> tuple[list, _Tally, list]:
    """Cut every 4/4 stretch into windows; returns (built windows per stretch, tally, starts)."""
    time, cls, vel = notes
    tps = parsed.tpq / STEPS_PER_BEAT
    half = tps / 2.0
    end = max(parsed.end, int(time.max()) + 1 if time.size else 0)
    stretches = _stretches(parsed, end)
    tally, built, starts = _Tally(), [], []
    budget = _Budget(time.size, config)
    for i, st in enumerate(stretches):
        last = i + 1 == len(stretches)
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


def _no_windows(tally: _Tally) -> MidiRejected:
    """Why a file gave no complete window."""
    has_44 = tally.has_44
    metres = ", ".join(sorted(tally.metres))
    bad = ", ".join(sorted(tally.bad_metres))
    if not has_44 and tally.bad_metres:
        return MidiRejected(
            f"impossible time signature ({bad}): {tally.bad_beats:g} beats skipped"
            + (f"; {tally.non44_bars:g} bars in {metres}" if metres else "")
            + "; no 4/4 section left",
            "bad-time-signature",
        )
    if not has_44 and tally.metres:
        return MidiRejected(f"no 4/4 section: {tally.non44_bars:g} bars in {metres}", "no-4-4")
    skipped = f"; {tally.non44_bars:g} bars in {metres} skipped" if metres else ""
    if bad:
        skipped += f"; {tally.bad_beats:g} beats under an impossible time signature ({bad})"
    return MidiRejected(
        f"shorter than one 4-bar window: {tally.tail_bars:g} bars of 4/4{skipped}", "too-short"
    )


def clip_arrays(parsed: ParsedMidi, config: IngestConfig):
    """The numpy core: (velocity, offset, bpm, column arrays, FileStats) of kept windows.

    Raises :class:`MidiRejected` when the file yields no clip or is over budget.
    """
    _check_header(parsed, config)
    time, pitch, vel, channel = _select_notes(parsed, config)
    notes = (time, classify_pitches(pitch), vel)
    built, tally, starts = _build(parsed, config, notes)
    if not tally.windows:
        raise _no_windows(tally)
    stats = FileStats(
        n_notes=int(time.size),
        drum_channel=channel,
        windows_total=tally.windows,
        near_empty_windows=tally.windows,  # corrected below once windows are kept
        tail_bars_dropped=round(tally.tail_bars, 3),
        non_4_4_bars=round(tally.non44_bars, 3),
        other_metres=", ".join(sorted(tally.metres)),
        dropped_toms=tally.toms,
        dropped_other=tally.other,
        merged_notes=tally.merged,
        bad_metre_beats=round(tally.bad_beats, 3),
        bad_metres=", ".join(sorted(tally.bad_metres)),
        unreleased_notes=parsed.unreleased_notes,
    )
    if not built:
        raise MidiRejected(
            f"all {tally.windows} windows near-empty (fewer than {config.min_onsets} onsets)",
            "near-empty",
        )
    velocity = np.concatenate([b.velocity for b in built])
    offset = np.concatenate([b.offset for b in built])
    velocity, offset, rotation = canonicalize(velocity, offset, config.canonical)
    n_onsets = (velocity > 0).sum(axis=(1, 2))
    full = n_onsets >= config.min_onsets
    stats = replace(stats, near_empty_windows=tally.windows - int(full.sum()))
    if not full.any():
        raise MidiRejected(
            f"all {tally.windows} windows near-empty (fewer than {config.min_onsets} onsets)",
            "near-empty",
        )
    w_start = np.concatenate(starts)[full]
    tps = parsed.tpq / STEPS_PER_BEAT
    secs = _seconds_at(np.concatenate([w_start, w_start + N_STEPS * tps]), parsed)
    n = int(full.sum())
    bpm = (N_STEPS / STEPS_PER_BEAT) / ((secs[n:] - secs[:n]) / 60.0)
    meta = {
        "window": np.concatenate([b.window for b in built])[full].astype(np.int32),
        "start_tick": np.rint(w_start).astype(np.int64),
        "dropped_toms": np.concatenate([b.toms for b in built])[full].astype(np.int32),
        "dropped_other": np.concatenate([b.other for b in built])[full].astype(np.int32),
        "merged_notes": np.concatenate([b.merged for b in built])[full].astype(np.int32),
        "rotation": rotation[full].astype(np.int16),
        "n_onsets": n_onsets[full].astype(np.int32),
    }
    return velocity[full], offset[full], bpm, meta, stats


def clips_from_parsed(
    parsed: ParsedMidi, source: str, config: IngestConfig | None = None
) -> tuple[ClipBatch, FileStats]:
    """Apply the module rules to a parsed file; returns its clips and file counts.

    Raises :class:`MidiRejected` when the file yields no clip (reason in the message).
    """
    velocity, offset, bpm, cols, stats = clip_arrays(parsed, config or IngestConfig())
    n = len(velocity)
    meta = pd.DataFrame(
        {
            "source": np.full(n, source, dtype=object),
            "window": cols["window"],
            "start_tick": cols["start_tick"],
            "rotation": cols["rotation"],
            "bpm": bpm,
            "time_signature": np.full(n, "4/4", dtype=object),
            "n_onsets": cols["n_onsets"],
            "dropped_toms": cols["dropped_toms"],
            "dropped_other": cols["dropped_other"],
            "merged_notes": cols["merged_notes"],
            "drum_channel": np.full(n, stats.drum_channel, dtype=object),
            "content_hash": onset_hash(velocity),
        }
    )
    return ClipBatch(velocity, offset, bpm, meta), stats


def read_midi(path: str | Path, *, config: IngestConfig | None = None) -> ClipBatch:
    """Read one MIDI file as canonical 4-bar 4/4 clips (see the module rules).

    Parameters
    ----------
    path : str or Path
        A Standard MIDI File (optionally RIFF-wrapped, ``.rmi``).
    config : IngestConfig, optional

    Returns
    -------
    ClipBatch
        One clip per kept window; ``meta`` columns: ``source``, ``window``,
        ``start_tick``, ``dropped_toms``, ``dropped_other``, ``merged_notes``,
        ``rotation``, ``bpm``, ``time_signature``, ``n_onsets``, ``drum_channel``,
        ``content_hash``.

    Raises
    ------
    MidiRejected
        When the file is invalid or yields no clip; ``.reason`` says why.
    """
    config = config or IngestConfig()
    batch, _ = clips_from_parsed(parse_midi_file(path, config), str(path), config)
    return batch
