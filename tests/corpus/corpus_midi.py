"""Helpers that build small MIDI files for the corpus tests (mido or raw bytes)."""

from __future__ import annotations

import struct
from pathlib import Path

import mido

TPQ = 480
STEP = TPQ // 4  # ticks per 16th


def drum_file(
    path: Path,
    notes: list[tuple[int, int, int]],
    *,
    tpq: int = TPQ,
    channel: int = 9,
    tempos: list[tuple[int, float]] | None = None,
    time_signatures: list[tuple[int, int, int]] | None = None,
    duration: int = 1,
    end_tick: int | None = None,
) -> Path:
    """Write a type-0 file of ``notes`` = [(tick, pitch, velocity)] and return its path.

    ``tempos``: [(tick, bpm)]; ``time_signatures``: [(tick, num, den)] (default one 4/4);
    ``end_tick``: where the end-of-track sits (default: after the last note-off).
    """
    events: list[tuple[int, int, mido.Message | mido.MetaMessage]] = []
    for tick, bpm in tempos or [(0, 120.0)]:
        events.append((tick, 0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))))
    for tick, num, den in time_signatures or [(0, 4, 4)]:
        events.append((tick, 0, mido.MetaMessage("time_signature", numerator=num, denominator=den)))
    for tick, pitch, vel in notes:
        events.append((tick, 2, mido.Message("note_on", channel=channel, note=pitch, velocity=vel)))
        events.append(
            (tick + duration, 1, mido.Message("note_off", channel=channel, note=pitch, velocity=0))
        )
    events.sort(key=lambda e: (e[0], e[1]))
    track = mido.MidiTrack()
    now = 0
    for tick, _, msg in events:
        track.append(msg.copy(time=tick - now))
        now = tick
    end = now if end_tick is None else max(end_tick, now)
    track.append(mido.MetaMessage("end_of_track", time=end - now))
    midi = mido.MidiFile(type=0, ticks_per_beat=tpq)
    midi.tracks.append(track)
    midi.save(path)
    return path


def four_on_floor(bars: int, *, step_offset_ticks: int = 0) -> list[tuple[int, int, int]]:
    """Kick on every beat and closed hat on every off-beat 8th for ``bars`` bars of 4/4."""
    notes = []
    for beat in range(bars * 4):
        notes.append((beat * TPQ + step_offset_ticks, 36, 100))
        notes.append((beat * TPQ + 2 * STEP + step_offset_ticks, 42, 70))
    return notes


# -- raw bytes: for the cases mido cannot or will not write ------------------------


def vlq(value: int) -> bytes:
    """MIDI variable-length quantity."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def header(fmt: int = 0, ntracks: int = 1, division: int = TPQ, extra: bytes = b"") -> bytes:
    """An MThd chunk; ``extra`` bytes make it longer than 6 (the standard allows it)."""
    return b"MThd" + struct.pack(">IHHH", 6 + len(extra), fmt, ntracks, division) + extra


def chunk(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack(">I", len(body)) + body


def track(body: bytes) -> bytes:
    return chunk(b"MTrk", body)


def note_events(
    notes: list[tuple[int, int, int]], *, channel: int = 9, between: bytes = b"", gate: int = 1
) -> bytes:
    """Events for ``notes`` = [(tick, pitch, velocity)] sorted by tick, each with a note-off
    ``gate`` ticks later; ``between`` (whole events with delta 0) follows every note-on."""
    events: list[tuple[int, int, bytes]] = []
    for tick, pitch, vel in notes:
        events.append((tick, 1, bytes([0x90 | channel, pitch, vel]) + between))
        if gate is not None:
            events.append((tick + gate, 0, bytes([0x80 | channel, pitch, 0])))
    events.sort(key=lambda e: (e[0], e[1]))
    body, now = bytearray(), 0
    for tick, _, data in events:
        body += vlq(tick - now) + data
        now = tick
    return bytes(body)


END_OF_TRACK = b"\x00\xff\x2f\x00"


def raw_drum_file(path: Path, notes, *, prefix: bytes = b"", **kwargs) -> Path:
    """A format-0 file written byte by byte: ``prefix`` events, the notes, end of track."""
    path.write_bytes(header() + track(prefix + note_events(notes, **kwargs) + END_OF_TRACK))
    return path
