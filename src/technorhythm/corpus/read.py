"""One MIDI file → canonical 4-bar clips (:func:`read_midi`).

Rules, in order (``docs/data_pipeline.md`` is the full specification):

1. Notes on channel 10 are the drums. A file without any falls back to its other
   channels when they look like a drum kit (``IngestConfig.drum_channel_fallback``).
2. Pitches map through :data:`~technorhythm.corpus.drum_map.DRUM_MAP`; toms and
   other percussion are dropped and counted.
3. The time-signature map splits the file into stretches; only 4/4 stretches are
   cut into windows, bars in other metres are counted (``non_4_4_bars``).
4. Quantisation is global over a stretch: a note at ``t`` ticks lands on step
   ``floor(t / tps + 0.5)`` (``tps`` = ticks per 16th) with offset
   ``t / tps - step`` in [-0.5, 0.5). A note just before a window boundary
   therefore lands on step 0 of the next window with a negative offset.
5. Several notes on one (instrument, step) cell: the loudest wins; the others are
   counted as ``merged_notes``.
6. Consecutive 4-bar (64-step) windows from the stretch start. When the notes
   stop at most one bar short of a window end, the file ends at the later of its
   last note-off and its end-of-track event (a loop may end after a silent final
   beat). A final window missing less than one beat is kept
   (recordings stop right after the last hit); a shorter tail is dropped and
   counted (``tail_bars_dropped``). Stretches shorter than one window yield
   nothing (short fills).
7. Choke and rotation by :func:`technorhythm.clips.canonicalize`; windows with
   fewer than ``min_onsets`` onsets afterwards are near-empty: dropped and counted.
8. Each window's tempo is its average through the tempo map: 16 beats divided by
   the window's duration in minutes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
from technorhythm.corpus.parse import ParsedMidi, parse_midi_file
from technorhythm.corpus.precheck import end_of_track_tick

__all__ = ["FileStats", "clip_arrays", "clips_from_parsed", "read_midi"]

_MAX_OFFSET = np.nextafter(np.float32(0.5), np.float32(0.0))


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

    def note(self) -> str:
        """A short human summary of what was dropped or unusual ('' when nothing)."""
        parts = []
        if self.drum_channel != "10":
            parts.append("drums read from channels other than 10")
        if self.non_4_4_bars:
            parts.append(f"{self.non_4_4_bars:g} bars in {self.other_metres} skipped")
        if self.near_empty_windows:
            parts.append(f"{self.near_empty_windows} near-empty windows dropped")
        return "; ".join(parts)


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


def _stretches(parsed: ParsedMidi, end: int) -> list[tuple[int, int, int, int]]:
    """(start, end, numerator, denominator) per time-signature stretch; 4/4 by default."""
    times, nums, dens = parsed.ts_time.tolist(), parsed.ts_num.tolist(), parsed.ts_den.tolist()
    if not times or times[0] > 0:
        times, nums, dens = [0, *times], [4, *nums], [4, *dens]
    out: list[tuple[int, int, int, int]] = []
    for i, (t0, n, d) in enumerate(zip(times, nums, dens, strict=True)):
        t1 = times[i + 1] if i + 1 < len(times) else max(end, t0)
        if t1 <= t0:
            continue
        if out and (out[-1][2], out[-1][3]) == (n, d) and out[-1][1] == t0:
            out[-1] = (out[-1][0], t1, n, d)  # repeated identical signature
        else:
            out.append((t0, t1, n, d))
    return out


def _select_notes(parsed: ParsedMidi, config: IngestConfig):
    if parsed.drum_time.size:
        return parsed.drum_time, parsed.drum_pitch, parsed.drum_velocity, "10"
    n_other = parsed.other_time.size
    if n_other == 0:
        raise MidiRejected("no notes at all", "no-notes")
    kit = classify_pitches(parsed.other_pitch) != OTHER
    frac = float(kit.mean())
    if config.drum_channel_fallback and frac >= config.fallback_kit_fraction:
        return parsed.other_time, parsed.other_pitch, parsed.other_velocity, "other"
    raise MidiRejected(
        f"no drum notes on channel 10; the {n_other} notes on other channels "
        f"{'' if config.drum_channel_fallback else '(fallback disabled) '}"
        f"hit drum-kit pitches only {frac:.0%} of the time "
        f"(need {config.fallback_kit_fraction:.0%} to read them as drums)",
        "no-drum-notes",
    )


_WINDOW_COLUMNS = ("window", "start_tick", "dropped_toms", "dropped_other", "merged_notes")


def clip_arrays(
    parsed: ParsedMidi,
    config: IngestConfig,
    end_of_track: Callable[[], int] | None = None,
):
    """The numpy core: (velocity, offset, bpm, column arrays, FileStats) of kept windows.

    ``end_of_track`` returns the file's end-of-track tick; it is called only when the
    notes of the last stretch stop at most one bar short of a window end (reading it
    costs a pure-Python event walk), and a later end-of-track extends the stretch.
    """
    if parsed.tpq < config.min_ticks_per_beat:
        raise MidiRejected(f"ticks per beat is {parsed.tpq}", "absurd-ticks-per-beat")
    bad = (parsed.tempo_qpm < config.min_bpm) | (parsed.tempo_qpm > config.max_bpm)
    if np.any(bad) | np.any(~np.isfinite(parsed.tempo_qpm)):
        raise MidiRejected(
            f"absurd tempo {parsed.tempo_qpm[bad][0]:.6g} bpm at tick "
            f"{parsed.tempo_time[bad][0]} (allowed {config.min_bpm:g}–{config.max_bpm:g})",
            "absurd-tempo",
        )
    time, pitch, vel, channel = _select_notes(parsed, config)
    vel_ok = vel > 0
    time, pitch, vel = time[vel_ok], pitch[vel_ok], vel[vel_ok]
    cls = classify_pitches(pitch)
    tps = parsed.tpq / STEPS_PER_BEAT
    half = tps / 2.0
    end = max(parsed.end, int(time.max()) + 1 if time.size else 0)

    velocities, offsets, bpms = [], [], []
    cols: dict[str, list[np.ndarray]] = {k: [] for k in _WINDOW_COLUMNS}
    windows_total = near_empty = 0
    tail_bars = non44_bars = 0.0
    metres: set[str] = set()
    stretches = _stretches(parsed, end)
    for i, (start, stop, num, den) in enumerate(stretches):
        # a note within half a 16th before a stretch boundary belongs to the next stretch
        upper = stop - half if i + 1 < len(stretches) else np.inf
        in_stretch = (time >= start - half) & (time < upper)
        if not (num == 4 and den == 4):
            non44_bars += (stop - start) / (parsed.tpq * num * 4 / den)
            metres.add(f"{num}/{den}")
            continue
        length_steps = (stop - start) / tps
        n_win = int(np.floor((length_steps + STEPS_PER_BEAT) / N_STEPS))
        short = (n_win + 1) * N_STEPS - length_steps  # steps missing from the next window
        if i + 1 == len(stretches) and end_of_track is not None and short <= STEPS_PER_BAR:
            stop = max(stop, end_of_track())  # a loop may end after a silent final beat
            length_steps = (stop - start) / tps
            n_win = int(np.floor((length_steps + STEPS_PER_BEAT) / N_STEPS))
        tail_bars += max(0.0, length_steps - n_win * N_STEPS) / 16.0
        if n_win == 0:
            continue
        pos = (time[in_stretch] - start) / tps
        step = np.floor(pos + 0.5).astype(np.int64)
        off = np.minimum((pos - step).astype(np.float32), _MAX_OFFSET)
        win = step // N_STEPS
        keep = (win >= 0) & (win < n_win)
        c = cls[in_stretch][keep]
        win, step, off = win[keep], step[keep] % N_STEPS, off[keep]
        v = vel[in_stretch][keep]
        win_toms = np.bincount(win[c == TOM], minlength=n_win)
        win_other = np.bincount(win[c == OTHER], minlength=n_win)
        kept = c < N_INSTRUMENTS
        win, step, off, v, c = win[kept], step[kept], off[kept], v[kept], c[kept]
        cell = (win * N_INSTRUMENTS + c) * N_STEPS + step
        # Loudest wins: sort by (cell, velocity); the last of each cell is the loudest
        # (ties: the later note in time, by the stable sort over time-ordered input).
        order = np.lexsort((v, cell))
        cell_s = cell[order]
        last = np.ones(cell_s.size, bool)
        last[:-1] = cell_s[1:] != cell_s[:-1]
        win_merged = np.bincount(win[order][~last], minlength=n_win)
        sel = order[last]
        vel_arr = np.zeros((n_win, N_INSTRUMENTS, N_STEPS), np.uint8)
        off_arr = np.zeros((n_win, N_INSTRUMENTS, N_STEPS), np.float32)
        vel_arr[win[sel], c[sel], step[sel]] = v[sel]
        off_arr[win[sel], c[sel], step[sel]] = off[sel]
        w_start = start + np.arange(n_win) * N_STEPS * tps
        secs = _seconds_at(np.concatenate([w_start, w_start + N_STEPS * tps]), parsed)
        dur_min = (secs[n_win:] - secs[:n_win]) / 60.0
        velocities.append(vel_arr)
        offsets.append(off_arr)
        bpms.append((N_STEPS / STEPS_PER_BEAT) / dur_min)
        cols["window"].append(windows_total + np.arange(n_win))
        cols["start_tick"].append(np.rint(w_start).astype(np.int64))
        cols["dropped_toms"].append(win_toms)
        cols["dropped_other"].append(win_other)
        cols["merged_notes"].append(win_merged)
        windows_total += n_win

    if not windows_total:
        skipped = f"; {non44_bars:g} bars in {', '.join(sorted(metres))} skipped" if metres else ""
        if metres and not any((n, d) == (4, 4) for _, _, n, d in stretches):
            raise MidiRejected(
                f"no 4/4 section: {non44_bars:g} bars in {', '.join(sorted(metres))}",
                "no-4-4",
            )
        raise MidiRejected(
            f"shorter than one 4-bar window: {tail_bars:g} bars of 4/4{skipped}", "too-short"
        )
    velocity = np.concatenate(velocities)
    offset = np.concatenate(offsets)
    bpm = np.concatenate(bpms)
    velocity, offset, rotation = canonicalize(velocity, offset, config.canonical)
    n_onsets = (velocity > 0).sum(axis=(1, 2))
    full = n_onsets >= config.min_onsets
    near_empty = int((~full).sum())
    meta = {k: np.concatenate(v).astype(np.int32) for k, v in cols.items()}
    stats = FileStats(
        n_notes=int(time.size),
        drum_channel=channel,
        windows_total=windows_total,
        near_empty_windows=near_empty,
        tail_bars_dropped=round(tail_bars, 3),
        non_4_4_bars=round(non44_bars, 3),
        other_metres=", ".join(sorted(metres)),
        dropped_toms=int(meta["dropped_toms"].sum()),
        dropped_other=int(meta["dropped_other"].sum()),
        merged_notes=int(meta["merged_notes"].sum()),
    )
    if not full.any():
        raise MidiRejected(
            f"all {windows_total} windows near-empty (fewer than {config.min_onsets} onsets)",
            "near-empty",
        )
    meta = {k: v[full] for k, v in meta.items()}
    meta["start_tick"] = meta["start_tick"].astype(np.int64)
    meta["rotation"] = rotation[full].astype(np.int16)
    meta["n_onsets"] = n_onsets[full].astype(np.int32)
    return velocity[full], offset[full], bpm[full], meta, stats


def clips_from_parsed(
    parsed: ParsedMidi,
    source: str,
    config: IngestConfig | None = None,
    end_of_track: Callable[[], int] | None = None,
) -> tuple[ClipBatch, FileStats]:
    """Apply the module rules to a parsed file; returns its clips and file counts.

    Raises :class:`MidiRejected` when the file yields no clip (reason in the message).
    """
    velocity, offset, bpm, cols, stats = clip_arrays(parsed, config or IngestConfig(), end_of_track)
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
        A Standard MIDI File.
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
    parsed = parse_midi_file(path, config)
    batch, _ = clips_from_parsed(
        parsed, str(path), config, lambda: end_of_track_tick(Path(path).read_bytes())
    )
    return batch
