"""Checks on the raw bytes of a MIDI file, before any parser sees it.

Cheap, pure-Python structure checks that catch what native parsers handle badly:
non-MIDI files, SMPTE time division, zero or tiny ticks-per-beat, truncated
chunks and oversized files. Each failure raises :class:`MidiRejected` with a
reason for people and a stable ``code``.
"""

from __future__ import annotations

import struct

from technorhythm.corpus.config import IngestConfig, MidiRejected

__all__ = ["check_midi_bytes", "end_of_track_tick"]


def check_midi_bytes(data: bytes, config: IngestConfig | None = None) -> int:
    """Validate the chunk structure of a Standard MIDI File; return ticks per beat.

    Raises
    ------
    MidiRejected
        With ``code`` one of ``too-large``, ``empty-file``, ``not-midi``,
        ``bad-header``, ``smpte-division``, ``zero-ticks-per-beat``,
        ``absurd-ticks-per-beat``, ``truncated``, ``no-tracks``.
    """
    config = config or IngestConfig()
    size = len(data)
    if size > config.max_file_bytes:
        raise MidiRejected(
            f"file is {size:,} bytes, over the size cap of {config.max_file_bytes:,} bytes",
            "too-large",
        )
    if size == 0:
        raise MidiRejected("file is empty (0 bytes)", "empty-file")
    start = 0
    if data[:4] == b"RIFF" and data[8:12] == b"RMID":  # RIFF-wrapped MIDI
        start = data.find(b"MThd")
        if start < 0:
            raise MidiRejected("RIFF RMID file without an MThd chunk", "not-midi")
    if data[start : start + 4] != b"MThd":
        raise MidiRejected(
            f"not a Standard MIDI File: starts with {data[:4]!r}, expected b'MThd'", "not-midi"
        )
    if size < start + 14:
        raise MidiRejected(f"truncated MIDI header: only {size - start} bytes", "truncated")
    (hlen,) = struct.unpack(">I", data[start + 4 : start + 8])
    if hlen < 6:
        raise MidiRejected(f"MIDI header length is {hlen}, expected 6", "bad-header")
    fmt, ntracks, division = struct.unpack(">HHH", data[start + 8 : start + 14])
    if fmt > 2:
        raise MidiRejected(f"unknown MIDI file format {fmt} (expected 0, 1 or 2)", "bad-header")
    if division & 0x8000:
        fps = 256 - (division >> 8)
        raise MidiRejected(
            f"SMPTE time division ({fps} frames/s, {division & 0xFF} ticks/frame) has no "
            "beat grid; only metrical (ticks-per-beat) files can be quantised",
            "smpte-division",
        )
    if division == 0:
        raise MidiRejected("ticks per beat is 0", "zero-ticks-per-beat")
    if division < config.min_ticks_per_beat:
        raise MidiRejected(
            f"ticks per beat is {division}, below the minimum {config.min_ticks_per_beat} "
            "needed to place 16th notes",
            "absurd-ticks-per-beat",
        )
    if ntracks == 0:
        raise MidiRejected("MIDI header declares 0 tracks", "no-tracks")
    pos = start + 8 + hlen
    found = 0
    while found < ntracks:
        if pos + 8 > size:
            raise MidiRejected(
                f"truncated: header declares {ntracks} tracks but the file ends after {found}",
                "truncated",
            )
        kind = data[pos : pos + 4]
        (clen,) = struct.unpack(">I", data[pos + 4 : pos + 8])
        if pos + 8 + clen > size:
            raise MidiRejected(
                f"truncated: chunk {kind!r} at byte {pos} declares {clen:,} bytes but only "
                f"{size - pos - 8:,} remain",
                "truncated",
            )
        if kind == b"MTrk":
            found += 1
        pos += 8 + clen
    return division


def _vlq(data: bytes, i: int) -> tuple[int, int]:
    value = 0
    while True:
        b = data[i]
        i += 1
        value = (value << 7) | (b & 0x7F)
        if b < 0x80:
            return value, i


def end_of_track_tick(data: bytes) -> int:
    """Latest end-of-track time over the tracks of a (pre-checked) MIDI file, in ticks.

    A pure-Python event walk (running status, meta and SysEx events); parsers such as
    symusic report only the end of the last note, but a DAW loop ends at its
    end-of-track, which may come after a silent final beat. Returns 0 when the
    events cannot be walked (the caller then keeps the parser's end).
    """
    try:
        (hlen,) = struct.unpack(">I", data[4:8])
        pos = 8 + hlen
        best = 0
        while pos + 8 <= len(data):
            kind = data[pos : pos + 4]
            (clen,) = struct.unpack(">I", data[pos + 4 : pos + 8])
            start, end = pos + 8, pos + 8 + clen
            pos = end
            if kind != b"MTrk":
                continue
            i, tick, running = start, 0, None
            while i < end:
                delta, i = _vlq(data, i)
                tick += delta
                status = data[i]
                if status == 0xFF:
                    meta = data[i + 1]
                    length, i = _vlq(data, i + 2)
                    i += length
                    if meta == 0x2F:
                        break
                elif status in (0xF0, 0xF7):
                    length, i = _vlq(data, i + 1)
                    i += length
                else:
                    if status & 0x80:
                        running = status
                        i += 1
                    elif running is None:
                        return 0
                    i += 1 if (running & 0xF0) in (0xC0, 0xD0) else 2
            best = max(best, tick)
        return best
    except (IndexError, struct.error):
        return 0
