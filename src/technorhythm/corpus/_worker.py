"""The isolated ingest worker process: ``python -m technorhythm.corpus._worker``.

Protocol, between our own processes only (:mod:`technorhythm.corpus.guard`); every
message is a frame = 8-byte big-endian length + pickle. The parent sends the
:class:`~technorhythm.corpus.config.IngestConfig`, the worker answers
``("ready", pid)``; then each request is a list of file paths and the worker sends
one ``("result", dict)`` frame per path, in order, flushed at once
(:func:`technorhythm.corpus.file_job.process_file`). A crash or hang on file *k*
therefore leaves the results of files before it readable, and the parent knows
which file it was. End of input ends the worker.

The worker dies with its parent (Linux ``PR_SET_PDEATHSIG``; elsewhere it exits
at the next read or write of a closed pipe), ignores Ctrl-C (the parent handles
it), runs numerical libraries single-threaded and, where the platform allows,
under an address-space limit of its start-up size plus the per-file memory budget.
The protocol uses private copies of the standard streams, so a stray ``print``
cannot corrupt it.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys

_PR_SET_PDEATHSIG = 1
_SLACK = 256 * 2**20  # address space for the interpreter's own growth, bytes


def die_with_parent() -> None:
    """Ask the kernel to kill this process when its parent dies (Linux only)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    parent = int(os.environ.get("TECHNORHYTHM_PARENT_PID", "0") or 0)
    if parent and os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def limit_memory(budget_mb: float) -> None:
    """Cap this process's address space at its current size plus ``budget_mb`` MiB."""
    try:
        import resource

        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[0])
        limit = pages * os.sysconf("SC_PAGE_SIZE") + int(budget_mb * 2**20) + _SLACK
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, OSError, ValueError):
        pass  # no /proc or no RLIMIT_AS: the arithmetic budgets still apply


def _recv(stream):
    head = stream.read(8)
    if len(head) < 8:
        return None
    (n,) = struct.unpack(">Q", head)
    payload = stream.read(n)
    if len(payload) < n:
        return None
    return pickle.loads(payload)


def _send(stream, obj) -> None:
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack(">Q", len(payload)) + payload)
    stream.flush()


def _private_streams():
    """Protocol streams on duplicated descriptors; fd 0 → /dev/null, fd 1 → stderr."""
    inp = os.fdopen(os.dup(0), "rb")
    out = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    return inp, out


def serve(process_file) -> None:
    """Answer requests with ``process_file(path, config)`` until the input ends."""
    inp, out = _private_streams()
    config = _recv(inp)
    if config is None:
        return
    limit_memory(config.max_file_memory_mb)
    _send(out, ("ready", os.getpid()))
    while (paths := _recv(inp)) is not None:
        for path in paths:
            try:
                result = process_file(path, config)
                _send(out, ("result", result))
            except (BrokenPipeError, KeyboardInterrupt):
                raise
            except BaseException as exc:  # MemoryError while pickling, say
                from technorhythm.corpus.file_job import rejected_result

                reason = f"unexpected {type(exc).__name__}: {exc}"
                _send(out, ("result", rejected_result(path, "internal-error", reason)))


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()
    from technorhythm.corpus.file_job import process_file

    try:
        serve(process_file)
    except BrokenPipeError:  # the parent went away
        os._exit(0)


if __name__ == "__main__":
    main()
