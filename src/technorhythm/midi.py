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
from technorhythm.clips import INSTRUMENTS, N_STEPS, STEPS_PER_BEAT, ClipBatch

__all__ = ["GM_PITCHES", "DRUM_CHANNEL", "to_midi_file", "write_midi"]

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


def to_midi_file(
    batch: ClipBatch,
    *,
    bpm: float | None = None,
    ticks_per_beat: int = 480,
    pitches: Mapping[str, int] | None = None,
    gate_steps: float = 0.5,
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
    events: list[tuple[int, int, int, int]] = []  # (tick, order, note, velocity); offs first
    for t, n, v in zip(start.tolist(), note.tolist(), velocity.tolist(), strict=True):
        events.append((t, 1, n, v))
        events.append((t + gate, 0, n, 0))
    events.sort()
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name="technorhythm", time=0))
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo_bpm), time=0))
    track.append(
        mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0)
    )
    now = 0
    for t, is_on, n, v in events:
        kind = "note_on" if is_on else "note_off"
        track.append(mido.Message(kind, channel=DRUM_CHANNEL, note=n, velocity=v, time=t - now))
        now = t
    end = len(batch) * N_STEPS * round(tps)
    track.append(mido.MetaMessage("end_of_track", time=max(0, end - now)))
    midi = mido.MidiFile(type=0, ticks_per_beat=ticks_per_beat)
    midi.tracks.append(track)
    return midi


def write_midi(batch: ClipBatch, path: str | os.PathLike[str], **kwargs) -> None:
    """Write :func:`to_midi_file` of ``batch`` to ``path`` atomically."""
    buf = io.BytesIO()
    to_midi_file(batch, **kwargs).save(file=buf)
    atomic_write_bytes(path, buf.getvalue())
