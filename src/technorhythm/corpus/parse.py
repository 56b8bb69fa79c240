"""Parse MIDI with symusic into plain arrays (:class:`ParsedMidi`).

symusic groups notes by (channel, program) into tracks and flags MIDI channel 10
(zero-based 9) as ``is_drum``; it reports no channel number for other tracks,
so notes off channel 10 are kept apart as ``other_*`` arrays. Times are integer
ticks with resolution ``tpq`` (ticks per quarter note).

:func:`parse_midi_bytes` parses in this process (used by :func:`read_midi`);
ingestion parses in an isolated process instead (:mod:`technorhythm.corpus.guard`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from technorhythm.corpus._symusic_worker import score_arrays
from technorhythm.corpus.config import IngestConfig, MidiRejected
from technorhythm.corpus.precheck import check_midi_bytes

__all__ = ["ParsedMidi", "parse_midi_bytes", "parse_midi_file", "parsed_from_arrays"]


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


def parsed_from_arrays(arrays: dict) -> ParsedMidi:
    """Build a :class:`ParsedMidi` from the dict of ``_symusic_worker.score_arrays``."""
    drum, other = arrays["drum"], arrays["other"]
    return ParsedMidi(
        tpq=arrays["tpq"],
        end=arrays["end"],
        tempo_time=arrays["tempo_time"],
        tempo_qpm=arrays["tempo_qpm"],
        ts_time=arrays["ts_time"],
        ts_num=arrays["ts_num"],
        ts_den=arrays["ts_den"],
        drum_time=drum["time"],
        drum_pitch=drum["pitch"],
        drum_velocity=drum["velocity"],
        other_time=other["time"],
        other_pitch=other["pitch"],
        other_velocity=other["velocity"],
    )


def parse_midi_bytes(data: bytes, config: IngestConfig | None = None) -> ParsedMidi:
    """Pre-check ``data`` (:func:`check_midi_bytes`) and parse it with symusic.

    Raises
    ------
    MidiRejected
        When the pre-checks fail or symusic refuses the file (code ``parse-error``).
    """
    check_midi_bytes(data, config)
    try:
        arrays = score_arrays(data)
    except Exception as exc:  # symusic raises RuntimeError/ValueError on corrupt data
        raise MidiRejected(f"MIDI parser error: {exc}", "parse-error") from exc
    return parsed_from_arrays(arrays)


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
