"""Write clips as General MIDI drum files (channel 10).

Onset times are ``(step + offset) × ticks_per_step`` from each clip's start, so
swing and humanize (held in ``offset``) become real time offsets. Reading MIDI
back into clips is :func:`technorhythm.corpus.read_midi`.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping

import mido
import numpy as np

from technorhythm.atomic import atomic_write_bytes
from technorhythm.clips import (
    CYMBAL,
    INSTRUMENTS,
    N_STEPS,
    STEPS_PER_BAR,
    STEPS_PER_BEAT,
    ClipBatch,
)

__all__ = ["GM_PITCHES", "GM_CRASH", "DRUM_CHANNEL", "crash_mask", "to_midi_file", "write_midi"]

DRUM_CHANNEL = 9
"""Zero-based MIDI channel of General MIDI percussion (channel 10 to people)."""

GM_PITCHES: Mapping[str, int] = {
    "kick": 36,  # Bass Drum 1
    "snare": 38,  # Acoustic Snare
    "hh_closed": 42,  # Closed Hi-Hat
    "hh_open": 46,  # Open Hi-Hat
    "cymbal": 51,  # Ride Cymbal 1
}
"""Default General MIDI note written for each instrument."""

GM_CRASH = 49
"""Crash Cymbal 1: written for cymbal hits that :func:`crash_mask` calls crashes."""

CRASH_RATIO = 1.25
"""A bar-downbeat cymbal hit is a crash when at least this much louder than the clip's
median off-downbeat cymbal hit."""


def crash_mask(batch: ClipBatch) -> np.ndarray:
    """Which cymbal hits to voice as a crash rather than a ride; bool (B, 64).

    The cymbal row merges ride and crash. A hit counts as a crash when it is on a bar
    downbeat and either the clip has no cymbal hits off the downbeats, or it is at least
    :data:`CRASH_RATIO` times the median velocity of those hits (the simulator's crash
    accent is 1.0 against the ride's ≤ 0.6).
    """
    vel = batch.velocity[:, CYMBAL].astype(np.float64)
    downbeat = np.zeros(N_STEPS, dtype=bool)
    downbeat[::STEPS_PER_BAR] = True
    other = np.where((vel > 0) & ~downbeat, vel, np.nan)
    has_other = np.any(~np.isnan(other), axis=1)
    median = np.nanmedian(np.where(has_other[:, None], other, 0.0), axis=1)
    loud = ~has_other[:, None] | (vel >= CRASH_RATIO * median[:, None])
    return (vel > 0) & downbeat & loud


def to_midi_file(
    batch: ClipBatch,
    *,
    bpm: float | None = None,
    ticks_per_beat: int = 480,
    pitches: Mapping[str, int] | None = None,
    gate_steps: float = 0.5,
    crash_pitch: int | None = None,
    n_steps: int | None = None,
) -> mido.MidiFile:
    """Render a batch as one type-0 MIDI file, clips one after another.

    Parameters
    ----------
    batch : ClipBatch
        Clips to render, in order.
    bpm : float, optional
        Tempo in quarter notes per minute; defaults to the first clip's ``bpm``.
    ticks_per_beat : int
        MIDI resolution (ticks per quarter note).
    pitches : mapping, optional
        Instrument name → MIDI note; defaults to :data:`GM_PITCHES`.
    gate_steps : float
        Note length in 16th steps (drum samplers ignore it; it keeps notes non-overlapping).
    crash_pitch : int, optional
        When given (e.g. :data:`GM_CRASH`), cymbal hits selected by :func:`crash_mask`
        use this note instead of the cymbal pitch (the ride).
    n_steps : int, optional
        Total length to write in 16th steps (default: every clip in full). Shorter
        lengths drop the notes from that step on, e.g. ``32`` writes 2 bars.
    """
    if len(batch) == 0:
        raise ValueError("cannot write an empty clip batch as MIDI")
    pitches = {**GM_PITCHES, **(pitches or {})}
    tempo_bpm = float(batch.bpm[0] if bpm is None else bpm)
    if not 1.0 <= tempo_bpm <= 1000.0:
        raise ValueError(f"bpm must be in [1, 1000]; got {tempo_bpm}")
    tps = ticks_per_beat / STEPS_PER_BEAT
    gate = max(1, round(gate_steps * tps))
    clip_i, inst_i, step_i = np.nonzero(batch.velocity)
    start = np.rint(
        (clip_i * N_STEPS + step_i + batch.offset[clip_i, inst_i, step_i]) * tps
    ).astype(np.int64)
    start = np.maximum(start, 0)
    velocity = batch.velocity[clip_i, inst_i, step_i].astype(int)
    note = np.array([pitches[INSTRUMENTS[i]] for i in range(len(INSTRUMENTS))])[inst_i]
    if crash_pitch is not None:
        if not 0 <= int(crash_pitch) <= 127:
            raise ValueError(f"crash_pitch must be a MIDI note 0..127; got {crash_pitch}")
        note = np.where(crash_mask(batch)[clip_i, step_i] & (inst_i == CYMBAL), crash_pitch, note)
    total_steps = len(batch) * N_STEPS
    if n_steps is not None:
        if not 1 <= int(n_steps) <= total_steps:
            raise ValueError(f"n_steps must be in [1, {total_steps}]; got {n_steps}")
        total_steps = int(n_steps)
        keep = clip_i * N_STEPS + step_i < total_steps
        start, velocity, note = start[keep], velocity[keep], note[keep]
    events: list[tuple[int, int, int, int]] = []  # (tick, order, note, velocity); offs first
    for t, n, v in zip(start.tolist(), note.tolist(), velocity.tolist(), strict=True):
        events.append((t, 1, n, v))
        events.append((t + gate, 0, n, 0))
    events.sort()
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name="technorhythm", time=0))
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo_bpm), time=0))
    track.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    now = 0
    for t, is_on, n, v in events:
        kind = "note_on" if is_on else "note_off"
        track.append(mido.Message(kind, channel=DRUM_CHANNEL, note=n, velocity=v, time=t - now))
        now = t
    end = round(total_steps * tps)
    track.append(mido.MetaMessage("end_of_track", time=max(0, end - now)))
    midi = mido.MidiFile(type=0, ticks_per_beat=ticks_per_beat)
    midi.tracks.append(track)
    return midi


def write_midi(batch: ClipBatch, path: str | os.PathLike[str], **kwargs) -> None:
    """Write :func:`to_midi_file` of ``batch`` to ``path`` atomically."""
    buf = io.BytesIO()
    to_midi_file(batch, **kwargs).save(file=buf)
    atomic_write_bytes(path, buf.getvalue())
