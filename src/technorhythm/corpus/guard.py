"""Parse files in an isolated process with a timeout: a crash or hang rejects one file.

A native parser can crash (segfault) or hang on malformed input. Ingestion never
lets that happen in a process it cares about: :func:`parse_isolated` sends a list
of files to a fresh ``_symusic_worker`` process that streams one result frame per
file. When the process dies or exceeds its time budget, every file whose frame
arrived keeps its result, the file being parsed is rejected (``parser-crash`` /
``parser-timeout``) and a new process resumes with the files after it.
"""

from __future__ import annotations

import pickle
import signal
import struct
import subprocess
import sys
from pathlib import Path

from technorhythm.corpus.config import MidiRejected

__all__ = ["parse_isolated", "worker_command"]

_WORKER = Path(__file__).with_name("_symusic_worker.py")


def worker_command() -> list[str]:
    """The command that starts an isolated parser (tests replace it to inject faults)."""
    return [sys.executable, str(_WORKER)]


def _frames(data: bytes) -> list:
    out, pos = [], 0
    while pos + 8 <= len(data):
        (n,) = struct.unpack(">Q", data[pos : pos + 8])
        if pos + 8 + n > len(data):
            break
        out.append(pickle.loads(data[pos + 8 : pos + 8 + n]))
        pos += 8 + n
    return out


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


def parse_isolated(paths: list[str], timeout: float) -> list[dict | MidiRejected]:
    """Parse ``paths`` with symusic in isolated processes.

    Parameters
    ----------
    paths : list of str
        Files to parse (already pre-checked).
    timeout : float
        Seconds allowed per file; a process gets ``timeout`` plus 0.05 s per file
        still to parse, and the file it was on when it ran out is rejected.

    Returns
    -------
    list
        Per path, in order: the ``score_arrays`` dict or a :class:`MidiRejected`.
    """
    results: list[dict | MidiRejected] = []
    todo = list(paths)
    while todo:
        budget = timeout + 0.05 * len(todo)
        failure = None
        try:
            proc = subprocess.run(
                worker_command(),
                input=pickle.dumps(todo, protocol=pickle.HIGHEST_PROTOCOL),
                capture_output=True,
                timeout=budget,
                check=False,
            )
            stdout, code = proc.stdout, proc.returncode
        except subprocess.TimeoutExpired as exc:
            stdout, code = exc.stdout or b"", None
            failure = MidiRejected(
                f"parser did not finish within its time budget ({budget:.1f} s); "
                "the file hangs the MIDI parser",
                "parser-timeout",
            )
        frames = _frames(stdout)[: len(todo)]
        for status, payload in frames:
            if status == "ok":
                results.append(payload)
            else:
                results.append(MidiRejected(f"MIDI parser error: {payload}", "parse-error"))
        done = len(frames)
        if done == len(todo):
            break
        if failure is None:
            failure = MidiRejected(
                f"MIDI parser process crashed on this file ({_describe_exit(code)})",
                "parser-crash",
            )
        results.append(failure)
        todo = todo[done + 1 :]
    return results
