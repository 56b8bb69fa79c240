"""Everything ingestion does to one file, as one function: :func:`process_file`.

Read (size-capped, never blocking on a FIFO), SHA-256, byte checks, event
parsing and clip building. It runs inside the isolated worker process
(:mod:`technorhythm.corpus.guard`), so the per-file timeout and memory limit
cover every stage. Whatever happens, the result is one dict: the clips, or a
``code`` and a ``reason`` for people. An unexpected exception is this file's
``internal-error``; it never escapes.
"""

from __future__ import annotations

import hashlib
import os
import stat

from technorhythm.corpus.config import IngestConfig, MidiRejected
from technorhythm.corpus.parse import read_events
from technorhythm.corpus.precheck import check_midi_bytes
from technorhythm.corpus.read import clip_arrays

__all__ = ["process_file", "rejected_result"]


def rejected_result(path: str, code: str, reason: str, **info) -> dict:
    """The result of a file that gave no clips."""
    return {"path": path, "code": code, "reason": reason, "size_bytes": -1, "sha256": "", **info}


def _read(path: str, config: IngestConfig, info: dict) -> bytes:
    """The file's bytes; refuses non-regular files and files over the size cap unread."""
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


def process_file(path: str, config: IngestConfig) -> dict:
    """Read ``path`` into clips; see the module notes. Never raises for one file's faults."""
    info: dict = {"size_bytes": -1, "sha256": ""}
    try:
        data = _read(path, config, info)
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
    return {
        "path": path, "code": "", "reason": stats.note(), **info, "velocity": velocity,
        "offset": offset, "bpm": bpm, "cols": cols, "stats": stats,
    }  # fmt: skip
