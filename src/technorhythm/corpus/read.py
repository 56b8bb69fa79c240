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
    STEPS_PER_BEAT,
    ClipBatch,
    canonicalize,
)
from technorhythm.corpus.config import IngestConfig, MidiRejected
from technorhythm.corpus.dedupe import onset_hash
from technorhythm.corpus.drum_map import OTHER, classify_pitches
from technorhythm.corpus.parse import ParsedMidi, parse_midi_file
from technorhythm.corpus.windows import Tally, build_windows

__all__ = ["FileStats", "clip_arrays", "clips_from_parsed", "read_midi"]


@dataclass(frozen=True, slots=True)
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


def _no_windows(tally: Tally) -> MidiRejected:
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
    built, tally, starts = build_windows(parsed, config, notes)
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
