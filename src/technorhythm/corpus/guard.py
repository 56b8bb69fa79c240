"""Run per-file work in isolated worker processes: a crash, hang or memory blow-up rejects one file.

Ingestion never lets one file's trouble reach a process it cares about.
:class:`IsolatedRunner` keeps one worker process (:mod:`technorhythm.corpus._worker`)
and sends it lists of paths; the worker streams one result frame per file. When
the worker dies or sends no result for ``IngestConfig.parse_timeout`` seconds,
every file whose frame arrived keeps its result, the file it was on is rejected
(``parser-crash`` / ``parser-timeout``) and a new worker resumes with the files
after it. The timeout covers every per-file stage (reading, checks, parsing and
clip building), not the worker's start-up. POSIX only (``select`` on a pipe).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from technorhythm.corpus.config import IngestConfig
from technorhythm.corpus.file_job import FileResult, rejected_result

__all__ = ["IsolatedRunner", "WorkerStartError", "worker_command"]

_STARTUP_TIMEOUT = 120.0  # seconds for a worker to import its modules on a busy machine
_TIMEOUT, _EOF = object(), object()


class WorkerStartError(RuntimeError):
    """The worker process could not start (a broken installation, not a bad file)."""


def worker_command() -> list[str]:
    """The command that starts a worker (tests replace it to inject faults)."""
    return [sys.executable, "-m", "technorhythm.corpus._worker"]


def _worker_env() -> dict[str, str]:
    import technorhythm

    env = dict(os.environ)
    src = str(Path(technorhythm.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                 "NUMBA_NUM_THREADS"):  # fmt: skip
        env[name] = "1"
    env["TECHNORHYTHM_PARENT_PID"] = str(os.getpid())
    return env


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "did not exit"
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


class _Worker:
    """One worker process, its pipes and the frames it sent so far."""

    def __init__(self, config: IngestConfig) -> None:
        self._err = tempfile.TemporaryFile()  # noqa: SIM115 - closed in _close_pipes
        self.proc = subprocess.Popen(
            worker_command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._err,
            env=_worker_env(),
        )
        self._buf = bytearray()
        self.send(config)
        frame = self.next_frame(max(_STARTUP_TIMEOUT, config.parse_timeout))
        if frame is _TIMEOUT or frame is _EOF or frame[0] != "ready":
            detail = self.exit_detail()
            self.kill()
            raise WorkerStartError(f"the ingest worker process failed to start ({detail})")

    def send(self, obj) -> bool:
        payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self.proc.stdin.write(struct.pack(">Q", len(payload)) + payload)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return False
        return True

    def _frame(self):
        if len(self._buf) < 8:
            return None
        (n,) = struct.unpack(">Q", self._buf[:8])
        if len(self._buf) < 8 + n:
            return None
        with memoryview(self._buf) as view:
            obj = pickle.loads(view[8 : 8 + n])
        del self._buf[: 8 + n]
        return obj

    def next_frame(self, timeout: float):
        """The next frame, or ``_TIMEOUT`` after ``timeout`` s without one, or ``_EOF``."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while (obj := self._frame()) is None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return _TIMEOUT
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return _EOF
            self._buf.extend(chunk)
        return obj

    def exit_detail(self) -> str:
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            code = None
        self._err.seek(0)
        tail = self._err.read()[-2000:].decode("utf-8", "replace").strip().splitlines()
        last = f": {tail[-1]}" if tail and code is not None and code > 0 else ""
        return _describe_exit(code) + last

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._close_pipes()

    def close(self) -> None:
        """End the worker politely (end of input), or kill it after a few seconds."""
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._close_pipes()

    def _close_pipes(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout, self._err):
            with contextlib.suppress(OSError):
                stream.close()


class IsolatedRunner:
    """Process files in a worker process, restarting it after a crash or a hang.

    Parameters
    ----------
    config : IngestConfig
        Sent to every worker; ``parse_timeout`` is the per-file time limit.
    """

    def __init__(self, config: IngestConfig) -> None:
        self.config = config
        self._worker: _Worker | None = None
        self._stopped = False

    def run(self, paths: list[str]) -> list[FileResult]:
        """One result per path, in order (see :mod:`technorhythm.corpus.file_job`)."""
        results: list[FileResult] = []
        todo = list(paths)
        while todo:
            if self._stopped:
                raise InterruptedError("the ingest was stopped")
            if self._worker is None:
                self._worker = _Worker(self.config)
            worker = self._worker
            got, failure = 0, None
            if not worker.send(todo):
                failure = _EOF
            while failure is None and got < len(todo):
                frame = worker.next_frame(self.config.parse_timeout)
                if frame is _TIMEOUT or frame is _EOF:
                    failure = frame
                else:
                    results.append(frame[1])
                    got += 1
            if failure is None:
                break
            results.append(self._failed(todo[got], failure, worker))
            self._worker = None
            todo = todo[got + 1 :]
        return results

    def _failed(self, path: str, failure, worker: _Worker) -> FileResult:
        if failure is _TIMEOUT:
            worker.kill()
            return rejected_result(
                path,
                "parser-timeout",
                f"reading this file took longer than {self.config.parse_timeout:g} s "
                "(the worker was stopped)",
            )
        detail = worker.exit_detail()
        worker.kill()
        return rejected_result(
            path, "parser-crash", f"the worker process crashed on this file ({detail})"
        )

    def close(self) -> None:
        """Stop the worker process, if one runs."""
        if self._worker is not None:
            self._worker.close()
            self._worker = None

    def kill(self) -> None:
        """Stop the worker process at once and start no other (another thread may be
        waiting on it)."""
        self._stopped = True
        worker = self._worker
        if worker is not None and worker.proc.poll() is None:
            worker.proc.kill()
