"""Parse MIDI with symusic into plain arrays (:class:`ParsedMidi`).

symusic groups notes by (channel, program) into tracks and flags MIDI channel 10
(zero-based 9) as ``is_drum``; it reports no channel number for other tracks,
so notes off channel 10 are kept apart as ``other_*`` arrays. Times are integer
ticks with resolution ``tpq`` (ticks per quarter note).

Running ``python -m technorhythm.corpus.parse`` starts the isolated parser
used by ingestion (see :mod:`technorhythm.corpus.guard`): it reads a pickled
list of paths on stdin and writes a pickled list of results on stdout.
"""

from __future__ import annotations

import pickle
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from technorhythm.corpus.config import IngestConfig, MidiRejected
from technorhythm.corpus.precheck import check_midi_bytes

__all__ = ["ParsedMidi", "parse_midi_bytes", "parse_midi_file"]


@dataclass(frozen=True)
class ParsedMidi:
    """The parts of a MIDI file that clip building needs; all times in ticks.

    ``drum_*`` hold notes on channel 10, ``other_*`` notes on every other channel
    (int64 time, int16 pitch, int16 velocity, sorted by time). ``tempo_qpm`` is
    quarter notes per minute from tick ``tempo_time``; ``ts_*`` the time signatures.
    """

    tpq: int
    end: int
    tempo_time: np.ndarray
    tempo_qpm: np.ndarray
    ts_time: np.ndarray
    ts_num: np.ndarray
    ts_den: np.ndarray
    drum_time: np.ndarray
    drum_pitch: np.ndarray
    drum_velocity: np.ndarray
    other_time: np.ndarray
    other_pitch: np.ndarray
    other_velocity: np.ndarray


def _notes(tracks) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    times, pitches, vels = [], [], []
    for track in tracks:
        arr = track.notes.numpy()
        times.append(arr["time"].astype(np.int64))
        pitches.append(arr["pitch"].astype(np.int16) & 0x7F)
        vels.append(arr["velocity"].astype(np.int16) & 0x7F)
    if not times:
        return np.zeros(0, np.int64), np.zeros(0, np.int16), np.zeros(0, np.int16)
    time, pitch, vel = np.concatenate(times), np.concatenate(pitches), np.concatenate(vels)
    order = np.argsort(time, kind="stable")
    return time[order], pitch[order], vel[order]


def parse_midi_bytes(data: bytes, config: IngestConfig | None = None) -> ParsedMidi:
    """Pre-check ``data`` (:func:`check_midi_bytes`) and parse it with symusic.

    Raises
    ------
    MidiRejected
        When the pre-checks fail or symusic refuses the file (code ``parse-error``).
    """
    import symusic

    check_midi_bytes(data, config)
    try:
        score = symusic.Score.from_midi(data)
    except Exception as exc:  # symusic raises RuntimeError/ValueError on corrupt data
        raise MidiRejected(f"MIDI parser error: {exc}", "parse-error") from exc
    drum = [t for t in score.tracks if t.is_drum]
    other = [t for t in score.tracks if not t.is_drum]
    dt, dp, dv = _notes(drum)
    ot, op, ov = _notes(other)
    tempos = sorted(((int(t.time), float(t.qpm)) for t in score.tempos), key=lambda x: x[0])
    sigs = sorted(
        ((int(s.time), int(s.numerator), int(s.denominator)) for s in score.time_signatures),
        key=lambda x: x[0],
    )
    return ParsedMidi(
        tpq=int(score.tpq),
        end=int(score.end()),
        tempo_time=np.array([t for t, _ in tempos], np.int64),
        tempo_qpm=np.array([q for _, q in tempos], np.float64),
        ts_time=np.array([s[0] for s in sigs], np.int64),
        ts_num=np.array([s[1] for s in sigs], np.int64),
        ts_den=np.array([s[2] for s in sigs], np.int64),
        drum_time=dt,
        drum_pitch=dp,
        drum_velocity=dv,
        other_time=ot,
        other_pitch=op,
        other_velocity=ov,
    )


def parse_midi_file(path: str | Path, config: IngestConfig | None = None) -> ParsedMidi:
    """Read ``path`` (size-capped) and :func:`parse_midi_bytes` it."""
    config = config or IngestConfig()
    path = Path(path)
    size = path.stat().st_size
    if size > config.max_file_bytes:
        raise MidiRejected(
            f"file is {size:,} bytes, over the size cap of {config.max_file_bytes:,} bytes",
            "too-large",
        )
    return parse_midi_bytes(path.read_bytes(), config)


def _worker_main() -> None:
    """Isolated parser loop: pickled (paths, config) on stdin → pickled results on stdout.

    Each result is a ParsedMidi or a MidiRejected. Used only between our own
    processes (never for files a user receives).
    """
    paths, config = pickle.load(sys.stdin.buffer)
    results: list[ParsedMidi | MidiRejected] = []
    for path in paths:
        try:
            results.append(parse_midi_file(path, config))
        except MidiRejected as exc:
            results.append(exc)
        except OSError as exc:
            results.append(MidiRejected(f"cannot read file: {exc}", "unreadable"))
    pickle.dump(results, sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    _worker_main()
