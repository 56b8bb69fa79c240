"""Checks on the raw bytes of a MIDI file, before any event is read.

Cheap structure checks that catch what event readers handle badly: non-MIDI
files, SMPTE time division, zero or tiny ticks-per-beat, truncated chunks,
oversized files and format-2 files. :func:`check_midi_bytes` returns the
:class:`SmfLayout` (where each track's events are) that the event reader
(:mod:`technorhythm.corpus.parse`) walks. Accepted beyond the plain layout:

* a RIFF ``RMID`` wrapper (``.rmi``): the Standard MIDI File is its ``data`` chunk;
* a header chunk longer than 6 bytes (the standard allows it; the extra bytes are skipped);
* chunks of unknown type between the tracks (skipped, counted).

Each failure raises :class:`MidiRejected` with a reason for people and a stable ``code``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from technorhythm.corpus.config import IngestConfig, MidiRejected

__all__ = ["SmfLayout", "check_midi_bytes"]


@dataclass(frozen=True)
class SmfLayout:
    """Where the parts of a Standard MIDI File are; byte offsets index the whole file.

    ``tracks`` holds ``(start, end)`` of each ``MTrk`` chunk's events, in file order.
    """

    format: int
    tpq: int
    tracks: tuple[tuple[int, int], ...]
    header_length: int
    riff: bool
    unknown_chunks: int


def _size_cap(size: int, config: IngestConfig) -> None:
    if size > config.max_file_bytes:
        raise MidiRejected(
            f"file is {size:,} bytes, over the size cap of {config.max_file_bytes:,} bytes",
            "too-large",
        )


def _riff_payload(data: bytes) -> tuple[int, int]:
    """(start, end) of the ``data`` chunk of a RIFF RMID file."""
    if data[8:12] != b"RMID":
        raise MidiRejected(
            f"a RIFF file of type {data[8:12]!r}, not RMID (RIFF-wrapped MIDI)", "not-midi"
        )
    pos = 12
    while pos + 8 <= len(data):
        kind = data[pos : pos + 4]
        (clen,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        if kind == b"data":
            return pos + 8, min(len(data), pos + 8 + clen)
        pos += 8 + clen + (clen & 1)  # RIFF chunks are padded to an even length
    raise MidiRejected("RIFF RMID file without a 'data' chunk holding the MIDI", "not-midi")


def _division(division: int, config: IngestConfig) -> int:
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
    return division


def _track_chunks(data: bytes, pos: int, end: int, ntracks: int) -> tuple[list, int]:
    """Spans of the first ``ntracks`` MTrk chunks from ``pos`` and the count of other chunks."""
    tracks: list[tuple[int, int]] = []
    unknown = 0
    while len(tracks) < ntracks:
        if pos + 8 > end:
            raise MidiRejected(
                f"truncated: header declares {ntracks} tracks but the file ends after "
                f"{len(tracks)}",
                "truncated",
            )
        kind = data[pos : pos + 4]
        (clen,) = struct.unpack(">I", data[pos + 4 : pos + 8])
        if pos + 8 + clen > end:
            raise MidiRejected(
                f"truncated: chunk {kind!r} at byte {pos} declares {clen:,} bytes but only "
                f"{end - pos - 8:,} remain",
                "truncated",
            )
        if kind == b"MTrk":
            tracks.append((pos + 8, pos + 8 + clen))
        else:
            unknown += 1
        pos += 8 + clen
    return tracks, unknown


def check_midi_bytes(data: bytes, config: IngestConfig | None = None) -> SmfLayout:
    """Validate the chunk structure of a Standard MIDI File; return its layout.

    Raises
    ------
    MidiRejected
        With ``code`` one of ``too-large``, ``empty-file``, ``not-midi``,
        ``bad-header``, ``format-2``, ``smpte-division``, ``zero-ticks-per-beat``,
        ``absurd-ticks-per-beat``, ``truncated``, ``no-tracks``.
    """
    config = config or IngestConfig()
    size = len(data)
    _size_cap(size, config)
    if size == 0:
        raise MidiRejected("file is empty (0 bytes)", "empty-file")
    riff = data[:4] == b"RIFF"
    start, end = _riff_payload(data) if riff else (0, size)
    if data[start : start + 4] != b"MThd":
        raise MidiRejected(
            f"not a Standard MIDI File: starts with {data[start : start + 4]!r}, expected b'MThd'",
            "not-midi",
        )
    if end < start + 14:
        raise MidiRejected(f"truncated MIDI header: only {end - start} bytes", "truncated")
    (hlen,) = struct.unpack(">I", data[start + 4 : start + 8])
    if hlen < 6:
        raise MidiRejected(f"MIDI header length is {hlen}, expected at least 6", "bad-header")
    if start + 8 + hlen > end:
        raise MidiRejected(
            f"truncated: the MIDI header declares {hlen:,} bytes but the file is shorter",
            "truncated",
        )
    fmt, ntracks, division = struct.unpack(">HHH", data[start + 8 : start + 14])
    if fmt > 2:
        raise MidiRejected(f"unknown MIDI file format {fmt} (expected 0, 1 or 2)", "bad-header")
    if fmt == 2 and ntracks > 1:
        raise MidiRejected(
            f"format 2 file: {ntracks} independent sequences, each with its own time line; "
            "they cannot be read as one pattern (split them into one file per sequence)",
            "format-2",
        )
    tpq = _division(division, config)
    if ntracks == 0:
        raise MidiRejected("MIDI header declares 0 tracks", "no-tracks")
    tracks, unknown = _track_chunks(data, start + 8 + hlen, end, ntracks)
    return SmfLayout(
        format=fmt,
        tpq=tpq,
        tracks=tuple(tracks),
        header_length=hlen,
        riff=riff,
        unknown_chunks=unknown,
    )
