"""Read the events of a Standard MIDI File into plain arrays (:class:`ParsedMidi`).

A small pure-Python reader, written for this job and for hostile input: it walks
each track's events by the rules of the Standard MIDI File format (variable-length
delta times, running status, meta and SysEx events skipped by their declared
length, unknown chunks skipped by :mod:`~technorhythm.corpus.precheck`) and keeps
what clip building needs: note-ons, tempo and time-signature events and the
end-of-track times. It cannot crash the interpreter and it allocates memory only
for the notes it keeps (capped by ``IngestConfig.max_notes``).

* Times are absolute integer ticks at resolution ``tpq`` (ticks per quarter note).
* A note-on with velocity 0 is a note-off. A note never released is kept; for the
  file's end it lasts one 16th (``tpq // 4`` ticks).
* The file's *end* (``ParsedMidi.end``) is its last note-off, controller change,
  pitch bend, or tempo, time-signature, key-signature, marker or lyric event; the
  end-of-track events are kept apart (``ParsedMidi.eot``).
* Tracks of a format-1 file share one time line; meta events of equal tick keep
  their file order (the later one wins).
* A corrupt event stream (a data byte where a status byte must be, an event
  running past the end of its track, a status byte that cannot occur in a file)
  rejects the file with code ``parse-error`` and the byte position.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from technorhythm.corpus.config import IngestConfig, MidiRejected
from technorhythm.corpus.precheck import SmfLayout, check_midi_bytes

__all__ = [
    "MAX_DEN_EXPONENT",
    "ParsedMidi",
    "parse_midi_bytes",
    "parse_midi_file",
    "read_capped",
    "read_events",
]

DRUM_CHANNEL = 9
"""Zero-based MIDI channel of General MIDI percussion (channel 10 to people)."""
MAX_DEN_EXPONENT = 6
"""Largest time-signature denominator exponent read as a metre (2**6 = 64th notes)."""


@dataclass(frozen=True)
class ParsedMidi:
    """The parts of a MIDI file that clip building needs; all times in ticks.

    ``drum_*`` hold notes on channel 10, ``other_*`` notes on every other channel
    (int64 time, int16 pitch, int16 velocity, sorted by time). ``tempo_qpm`` is
    quarter notes per minute from tick ``tempo_time`` (NaN for a malformed tempo
    event); ``ts_*`` the time signatures (``ts_den_exp``: the denominator is
    ``2 ** ts_den_exp``; -1 marks a malformed event). ``end`` is the end
    of the content (see the module notes); ``eot`` the latest end-of-track event.
    """

    tpq: int
    end: int
    eot: int
    tempo_time: np.ndarray
    tempo_qpm: np.ndarray
    ts_time: np.ndarray
    ts_num: np.ndarray
    ts_den_exp: np.ndarray
    drum_time: np.ndarray
    drum_pitch: np.ndarray
    drum_velocity: np.ndarray
    other_time: np.ndarray
    other_pitch: np.ndarray
    other_velocity: np.ndarray
    unreleased_notes: int = 0

    @property
    def ts_den(self) -> np.ndarray:
        """Time-signature denominators; 0 where the exponent is beyond :data:`MAX_DEN_EXPONENT`."""
        exp = self.ts_den_exp.astype(np.int64)
        ok = (exp >= 0) & (exp <= MAX_DEN_EXPONENT)
        return np.where(ok, np.left_shift(1, np.clip(exp, 0, MAX_DEN_EXPONENT)), 0)


# meta events that end a file's content like notes do: lyric, marker, tempo, metre, key
_TIMED_META = frozenset((0x05, 0x06, 0x51, 0x58, 0x59))


class _Corrupt(Exception):
    """A malformed event stream; the message names the byte position."""


class _Track:
    """Everything one track contributes (filled by :func:`_walk_track`)."""

    __slots__ = ("on_time", "on_key", "on_vel", "tempos", "sigs", "eot", "end", "unreleased")

    def __init__(self) -> None:
        self.on_time: list[int] = []
        self.on_key: list[int] = []  # channel << 7 | pitch
        self.on_vel: list[int] = []
        self.tempos: list[tuple[int, float]] = []
        self.sigs: list[tuple[int, int, int]] = []
        self.eot = 0
        self.end = 0
        self.unreleased = 0


def _meta(track: _Track, kind: int, tick: int, body: bytes) -> None:
    if kind == 0x51:  # set tempo: microseconds per quarter note, 3 bytes
        if len(body) != 3:
            track.tempos.append((tick, float("nan")))
        else:
            uspq = (body[0] << 16) | (body[1] << 8) | body[2]
            track.tempos.append((tick, 60_000_000.0 / uspq if uspq else float("inf")))
    elif kind == 0x58:  # time signature: numerator, log2(denominator), clocks, 32nds
        track.sigs.append((tick, body[0], body[1]) if len(body) >= 2 else (tick, 0, -1))


def _walk_track(data: bytes, i: int, end: int, tpq: int, budget: int) -> _Track:
    """Walk the events of one track chunk ``data[i:end]``.

    One long function on purpose: it runs once per event, so the variable-length
    quantity decoding and the dispatch are written inline (several times faster
    than helper calls).
    """
    track = _Track()
    on_time, on_key, on_vel = track.on_time, track.on_key, track.on_vel
    open_count = [0] * 2048  # notes sounding per channel << 7 | pitch
    last_on = [0] * 2048
    tick = running = 0
    note_end = content_end = 0
    while i < end:
        b = data[i]
        i += 1
        if b & 0x80:  # multi-byte delta time
            delta = b & 0x7F
            while b & 0x80:
                b = data[i]
                i += 1
                delta = (delta << 7) | (b & 0x7F)
            tick += delta
        else:
            tick += b
        status = data[i]
        if status & 0x80:
            i += 1
            if status >= 0xF0:
                if status == 0xFF:
                    kind = data[i]
                    i += 1
                elif status != 0xF0 and status != 0xF7:
                    raise _Corrupt(
                        f"status byte 0x{status:02X} at byte {i - 1} cannot occur in a file"
                    )
                b = data[i]
                i += 1
                length = b & 0x7F
                while b & 0x80:
                    b = data[i]
                    i += 1
                    length = (length << 7) | (b & 0x7F)
                if status == 0xFF and i + length <= end:
                    if kind == 0x2F:
                        i += length
                        break
                    if kind == 0x51 or kind == 0x58:
                        _meta(track, kind, tick, data[i : i + length])
                    if kind in _TIMED_META:
                        content_end = tick
                i += length  # SysEx (F0) and escape (F7) packets are skipped whole
                continue
            running = status
        elif running:
            status = running
        else:
            raise _Corrupt(f"data byte 0x{status:02X} at byte {i} where a status byte is needed")
        high = status & 0xF0
        if high == 0x90 or high == 0x80:
            pitch = data[i]
            vel = data[i + 1]
            i += 2
            if (pitch | vel) & 0x80:
                raise _Corrupt(f"note event with a data byte >= 0x80 at byte {i - 2}")
            key = ((status & 0x0F) << 7) | pitch
            if high == 0x90 and vel:
                on_time.append(tick)
                on_key.append(key)
                on_vel.append(vel)
                open_count[key] += 1
                last_on[key] = tick
                if len(on_time) > budget:
                    raise MidiRejected(
                        f"more than {budget:,} notes: over the per-file budget (max_notes)",
                        "over-budget",
                    )
            elif open_count[key]:
                open_count[key] -= 1
                if tick > note_end:
                    note_end = tick
        elif high == 0xC0 or high == 0xD0:
            i += 1
        else:
            i += 2
            if high != 0xA0:  # controller changes and pitch bends end the content
                content_end = tick
    if i > end:
        raise _Corrupt(f"the last event of the track ending at byte {end} runs past its end")
    if any(open_count):
        default_length = max(1, tpq // 4)
        for key, n in enumerate(open_count):
            if n:
                track.unreleased += n
                note_end = max(note_end, last_on[key] + default_length)
    track.eot = tick
    track.end = max(note_end, content_end)
    return track


def _notes(time: np.ndarray, key: np.ndarray, vel: np.ndarray, mask: np.ndarray) -> tuple:
    t, k, v = time[mask], key[mask], vel[mask]
    order = np.argsort(t, kind="stable")
    return t[order], (k[order] & 0x7F).astype(np.int16), v[order].astype(np.int16)


def _events_sorted(items: list[tuple], n: int) -> list[np.ndarray]:
    """Columns of ``items`` (tick first) sorted stably by tick; ``n`` columns."""
    if not items:
        return [np.zeros(0, np.int64) for _ in range(n)]
    cols = list(zip(*items, strict=True))
    tick = np.asarray(cols[0], np.int64)
    order = np.argsort(tick, kind="stable")
    return [tick[order], *(np.asarray(c)[order] for c in cols[1:])]


def read_events(data: bytes, layout: SmfLayout, config: IngestConfig) -> ParsedMidi:
    """Walk every track of a pre-checked file (:func:`check_midi_bytes`)."""
    tracks = []
    budget = config.max_notes
    for k, (start, end) in enumerate(layout.tracks):
        try:
            track = _walk_track(data, start, end, layout.tpq, budget)
        except _Corrupt as exc:
            raise MidiRejected(f"corrupt track {k + 1}: {exc}", "parse-error") from None
        except IndexError:
            raise MidiRejected(
                f"corrupt track {k + 1}: an event runs past the end of the file", "parse-error"
            ) from None
        budget -= len(track.on_time)
        tracks.append(track)
    time = np.fromiter((t for tr in tracks for t in tr.on_time), np.int64)
    key = np.fromiter((x for tr in tracks for x in tr.on_key), np.int64, count=time.size)
    vel = np.fromiter((x for tr in tracks for x in tr.on_vel), np.int64, count=time.size)
    drum = (key >> 7) == DRUM_CHANNEL
    tempo_time, tempo_qpm = _events_sorted([e for tr in tracks for e in tr.tempos], 2)
    ts_time, ts_num, ts_den_exp = _events_sorted([e for tr in tracks for e in tr.sigs], 3)
    d_t, d_p, d_v = _notes(time, key, vel, drum)
    o_t, o_p, o_v = _notes(time, key, vel, ~drum)
    return ParsedMidi(
        tpq=layout.tpq,
        end=max((tr.end for tr in tracks), default=0),
        eot=max((tr.eot for tr in tracks), default=0),
        tempo_time=tempo_time,
        tempo_qpm=tempo_qpm.astype(np.float64),
        ts_time=ts_time,
        ts_num=ts_num.astype(np.int64),
        ts_den_exp=ts_den_exp.astype(np.int64),
        drum_time=d_t,
        drum_pitch=d_p,
        drum_velocity=d_v,
        other_time=o_t,
        other_pitch=o_p,
        other_velocity=o_v,
        unreleased_notes=sum(tr.unreleased for tr in tracks),
    )


def parse_midi_bytes(data: bytes, config: IngestConfig | None = None) -> ParsedMidi:
    """Pre-check ``data`` (:func:`check_midi_bytes`) and read its events.

    Raises
    ------
    MidiRejected
        When the pre-checks fail, the event stream is corrupt (``parse-error``) or
        the file holds more notes than ``config.max_notes`` (``over-budget``).
    """
    config = config or IngestConfig()
    return read_events(data, check_midi_bytes(data, config), config)


def read_capped(path: str | Path, config: IngestConfig, info: dict | None = None) -> bytes:
    """The bytes of the regular file ``path``, refused unread when over the size cap.

    Opens without blocking (a FIFO put in the file's place is refused, not waited on)
    and records the size in ``info["size_bytes"]`` when ``info`` is given.

    Raises
    ------
    MidiRejected
        ``not-a-file`` or ``too-large``.
    OSError
        When the file cannot be opened or read.
    """
    info = {} if info is None else info
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise MidiRejected("not a regular file (it changed since the folder was listed)",
                               "not-a-file")  # fmt: skip
        info["size_bytes"] = st.st_size
        if st.st_size > config.max_file_bytes:
            raise MidiRejected(
                f"file is {st.st_size:,} bytes, over the size cap of "
                f"{config.max_file_bytes:,} bytes",
                "too-large",
            )
        data = fh.read(config.max_file_bytes + 1)
    if len(data) > config.max_file_bytes:  # grew since fstat
        raise MidiRejected(
            f"file is over the size cap of {config.max_file_bytes:,} bytes", "too-large"
        )
    info["size_bytes"] = len(data)
    return data


def parse_midi_file(path: str | Path, config: IngestConfig | None = None) -> ParsedMidi:
    """Read ``path`` (size-capped) and :func:`parse_midi_bytes` it."""
    config = config or IngestConfig()
    return parse_midi_bytes(read_capped(path, config), config)
