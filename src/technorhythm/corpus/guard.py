"""Parse files in an isolated process with a timeout: a crash or hang rejects one file.

A native parser can crash (segfault) or hang on malformed input. Ingestion never
lets that happen in a process it cares about: :func:`parse_isolated` sends a list
of files to a fresh ``_symusic_worker`` process that streams one result frame per
file. When the process dies or exceeds its time budget, every file whose frame
arrived keeps its result, the file being parsed is rejected (``parser-crash`` /
``parser-timeout``: no result for ``timeout`` seconds) and a new process resumes
with the files after it. POSIX only (``select`` on a pipe).
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

from technorhythm.corpus.config import MidiRejected

__all__ = ["parse_isolated", "worker_command"]

_WORKER = Path(__file__).with_name("_symusic_worker.py")


def worker_command() -> list[str]:
    """The command that starts an isolated parser (tests replace it to inject faults)."""
    return [sys.executable, str(_WORKER)]


def _frames(data: bytes) -> tuple[list, int]:
    """Complete frames at the start of ``data`` and the number of bytes they use."""
    out, pos = [], 0
    while pos + 8 <= len(data):
        (n,) = struct.unpack(">Q", data[pos : pos + 8])
        if pos + 8 + n > len(data):
            break
        out.append(pickle.loads(data[pos + 8 : pos + 8 + n]))
        pos += 8 + n
    return out, pos


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


def _run_worker(paths: list[str], timeout: float) -> tuple[list, str | None, str]:
    """One parser process over ``paths``: (frames received, failure kind or None, detail).

    ``timeout`` is the longest silence allowed between two result frames.
    """
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            worker_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err
        )
        try:
            proc.stdin.write(pickle.dumps(paths, protocol=pickle.HIGHEST_PROTOCOL))
            proc.stdin.close()
        except BrokenPipeError:
            pass
        buf = bytearray()
        frames: list = []
        fd = proc.stdout.fileno()
        failure = None
        while True:
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                proc.kill()
                failure = "timeout"
                break
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            buf.extend(chunk)
            frames_now, used = _frames(bytes(buf))
            frames.extend(frames_now)
            del buf[:used]
        code = proc.wait()
        proc.stdout.close()
        err.seek(0)
        tail = err.read()[-2000:].decode("utf-8", "replace").strip().splitlines()
    if failure is None and len(frames) < len(paths):
        failure = "crash"
    detail = _describe_exit(code) + (f": {tail[-1]}" if tail and code > 0 else "")
    return frames, failure, detail


def parse_isolated(paths: list[str], timeout: float) -> list[dict | MidiRejected]:
    """Parse ``paths`` with symusic in isolated processes.

    Parameters
    ----------
    paths : list of str
        Files to parse (already pre-checked).
    timeout : float
        Seconds allowed per file: when no result arrives for this long, the parser
        process is killed and the file it was on is rejected.

    Returns
    -------
    list
        Per path, in order: the ``score_arrays`` dict or a :class:`MidiRejected`.
    """
    results: list[dict | MidiRejected] = []
    todo = list(paths)
    while todo:
        frames, failure, detail = _run_worker(todo, timeout)
        frames = frames[: len(todo)]
        for status, payload in frames:
            if status == "ok":
                results.append(payload)
            else:
                results.append(MidiRejected(f"MIDI parser error: {payload}", "parse-error"))
        if failure is None:
            break
        if failure == "timeout":
            results.append(
                MidiRejected(
                    f"the MIDI parser hung on this file (no result within {timeout:g} s)",
                    "parser-timeout",
                )
            )
        else:
            results.append(
                MidiRejected(f"MIDI parser process crashed on this file ({detail})", "parser-crash")
            )
        todo = todo[len(frames) + 1 :]
    return results
