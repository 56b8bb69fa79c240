"""Everything ingestion does to one file, as one function: :func:`process_file`.

Read (size-capped, never blocking on a FIFO), SHA-256, byte checks, event
parsing and clip building. It runs inside the isolated worker process
(:mod:`technorhythm.corpus.guard`), so the per-file timeout and memory limit
cover every stage. Whatever happens, the result is one :class:`FileResult`: the clips (one
:data:`CLIP_RECORD` array), or a ``code`` and a ``reason`` for people. An
unexpected exception is this file's ``internal-error``; it never escapes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from technorhythm.clips import N_INSTRUMENTS, N_STEPS
from technorhythm.corpus.config import IngestConfig, MidiRejected
from technorhythm.corpus.parse import read_capped, read_events
from technorhythm.corpus.precheck import check_midi_bytes
from technorhythm.corpus.read import FileStats, clip_arrays

__all__ = ["CLIP_RECORD", "FileResult", "process_file", "rejected_result"]

CLIP_RECORD = np.dtype(
    [
        ("velocity", "u1", (N_INSTRUMENTS, N_STEPS)),
        ("offset", "<f4", (N_INSTRUMENTS, N_STEPS)),
        ("bpm", "<f8"),
        ("window", "<i4"),
        ("start_tick", "<i8"),
        ("rotation", "<i2"),
        ("n_onsets", "<i4"),
        ("dropped_toms", "<i4"),
        ("dropped_other", "<i4"),
        ("merged_notes", "<i4"),
    ]
)
"""One clip of a result: its arrays and window columns in one record, so that a file's
clips travel and wait as one array (a few hundred bytes of overhead per file, not per
column)."""


@dataclass(slots=True)
class FileResult:
    """What one file gave: its clips (``code == ""``) or why not (``code``, ``reason``).

    Slots, not a dict: an ingest holds one per input file until the end.
    """

    path: str
    code: str
    reason: str
    size_bytes: int = -1
    sha256: str = ""
    clips: bytes = b""  # CLIP_RECORD records, one per kept window (bytes: no dtype copy)
    stats: FileStats | None = None

    def records(self) -> np.ndarray:
        """The clips as a :data:`CLIP_RECORD` array (a view of :attr:`clips`)."""
        return np.frombuffer(self.clips, CLIP_RECORD)


def rejected_result(path: str, code: str, reason: str, **info) -> FileResult:
    """The result of a file that gave no clips."""
    return FileResult(path, code, reason, **info)


def process_file(path: str, config: IngestConfig) -> FileResult:
    """Read ``path`` into clips; see the module notes. Never raises for one file's faults."""
    info: dict = {"size_bytes": -1, "sha256": ""}
    try:
        data = read_capped(path, config, info)
        info["sha256"] = hashlib.sha256(data).hexdigest()
        parsed = read_events(data, check_midi_bytes(data, config), config)
        del data
        velocity, offset, bpm, cols, stats = clip_arrays(parsed, config)
    except MidiRejected as exc:
        return rejected_result(path, exc.code, exc.reason, **info)
    except OSError as exc:
        return rejected_result(path, "unreadable", f"cannot read file: {exc.strerror}", **info)
    except MemoryError:
        return rejected_result(
            path,
            "over-budget",
            f"ran out of the per-file memory budget ({config.max_file_memory_mb:g} MiB)",
            **info,
        )
    except Exception as exc:  # a bug met on one file must not abort the batch
        return rejected_result(
            path, "internal-error", f"unexpected {type(exc).__name__}: {exc}", **info
        )
    clips = np.zeros(len(velocity), CLIP_RECORD)
    clips["velocity"], clips["offset"], clips["bpm"] = velocity, offset, bpm
    for name, values in cols.items():
        clips[name] = values
    return FileResult(path, "", stats.note(), **info, clips=clips.tobytes(), stats=stats)
