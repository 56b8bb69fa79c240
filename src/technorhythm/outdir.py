"""Output folders written whole or not at all, by one process at a time.

:func:`replacing_folder` is how a command publishes a folder of results
(a dataset, a fit):

1. **Lock.** ``folder_lock(path)`` takes an exclusive ``flock`` on
   ``.<name>.lock`` beside the folder; a second writer is refused at once with a
   message naming the holder (:class:`FolderLockedError`). The lock dies with its
   process, so a killed run never leaves a stale lock; the lock file is removed
   on release. The lock is re-entrant within one process.
2. **Recover and clean.** Temporary folders ``.<name>.tmp-*`` / ``.<name>.old-*``
   left by a killed run are removed; a swap interrupted between its two renames
   (see 4) is completed first.
3. **Stage.** The caller writes into a fresh ``.<name>.tmp-*`` folder beside the target.
4. **Swap.** On success the staging folder replaces the target in one atomic
   step: a rename when there is no target, else an exchange of the two names
   (Linux ``renameat2(RENAME_EXCHANGE)``). Where exchange is unavailable, a
   journal ``.<name>.swap`` is written before two renames, and the next run
   completes a swap that a kill interrupted. Either way a reader sees the old
   folder or the new one, never a mix. On failure the staging folder is removed
   and the target is untouched.

An existing target is replaced only when ``is_ours(target)`` says it holds our
kind of output (or it is an empty folder); anything else is refused.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from technorhythm.atomic import atomic_write_text

__all__ = ["FolderLockedError", "folder_lock", "recover_folder", "replacing_folder"]

_HELD: dict[str, list] = {}  # lock path → [fd, depth] held by this process
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class FolderLockedError(FileExistsError):
    """Another process is writing the same output folder."""


def _siblings(path: Path, kind: str) -> list[Path]:
    return sorted(path.parent.glob(f".{path.name}.{kind}-*"))


def _lock_path(path: Path) -> Path:
    return path.parent / f".{path.name}.lock"


def _holder(lock: Path, *, wait_s: float = 0.5) -> str:
    """Who holds ``lock``, from the record the holder writes just after taking it (read
    again for up to ``wait_s`` while that record is still empty)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            info = json.loads(lock.read_text(encoding="utf-8"))
            return f"pid {info['pid']} on {info['host']} since {info['since']}: {info['command']}"
        except (OSError, ValueError, KeyError, TypeError):
            if time.monotonic() >= deadline:
                return "another process"
            time.sleep(0.02)


def _try_lock(lock: Path) -> int | None:
    """An fd holding the flock on ``lock``, or ``None`` when someone else holds it."""
    import fcntl

    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:  # the holder before us may have removed the file: lock the current one
            same = os.path.samestat(os.fstat(fd), os.stat(lock))
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


@contextlib.contextmanager
def folder_lock(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold the exclusive write lock of the output folder ``path``.

    Raises
    ------
    FolderLockedError
        When another process holds it; the message names that process.
    """
    path = Path(path).absolute()
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = _lock_path(path)
    key = str(lock)
    if key in _HELD:
        _HELD[key][1] += 1
    else:
        fd = _try_lock(lock)
        if fd is None:
            raise FolderLockedError(
                f"{str(path)!r} is being written by {_holder(lock)}; wait for it to finish or "
                "choose another output folder"
            )
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": time.strftime("%Y-%m-%d %H:%M:%S"),
            "command": " ".join(sys.argv)[:300],
        }
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(info).encode("utf-8", "backslashreplace"))
        _HELD[key] = [fd, 1]
    try:
        yield
    finally:
        _HELD[key][1] -= 1
        if _HELD[key][1] == 0:
            fd = _HELD.pop(key)[0]
            with contextlib.suppress(OSError):
                lock.unlink()
            os.close(fd)


def _journal(path: Path) -> Path:
    return path.parent / f".{path.name}.swap"


def recover_folder(path: str | os.PathLike[str]) -> None:
    """Complete an interrupted swap and remove temporary folders of killed runs.

    Call only while holding :func:`folder_lock` of ``path``.
    """
    path = Path(path).absolute()
    journal = _journal(path)
    if journal.is_file():
        try:
            record = json.loads(journal.read_text(encoding="utf-8"))
            candidates = [path.parent / record["new"], path.parent / record["old"]]
        except (OSError, ValueError, KeyError, TypeError):
            candidates = []
        for folder in candidates:  # killed between the two renames: new first, else old
            if not path.exists() and folder.is_dir():
                os.replace(folder, path)
        journal.unlink()
    for stale in _siblings(path, "tmp") + _siblings(path, "old"):
        shutil.rmtree(stale, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux); ``False`` when the system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def swap_into_place(staging: Path, target: Path) -> None:
    """Make ``staging`` the folder at ``target`` atomically (see the module notes)."""
    if not target.exists() and not target.is_symlink():
        os.rename(staging, target)
    elif _exchange(staging, target):
        shutil.rmtree(staging)  # the previous contents, now under the staging name
    else:
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        old.rmdir()
        atomic_write_text(_journal(target), json.dumps({"new": staging.name, "old": old.name}))
        try:
            os.rename(target, old)
            os.rename(staging, target)
        except BaseException:
            if old.is_dir() and not target.exists():
                os.rename(old, target)  # put the previous folder back
            _journal(target).unlink(missing_ok=True)
            raise
        _journal(target).unlink()
        shutil.rmtree(old, ignore_errors=True)
    _fsync_dir(target.parent)


def _check_replaceable(path: Path, is_ours: Callable[[Path], bool], what: str) -> None:
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise FileExistsError(f"output {str(path)!r} exists and is not a folder")
    if path.is_dir() and any(path.iterdir()) and not is_ours(path):
        raise FileExistsError(
            f"output folder {str(path)!r} is not empty and holds no {what}; refusing to replace it"
        )


@contextlib.contextmanager
def replacing_folder(
    path: str | os.PathLike[str],
    is_ours: Callable[[Path], bool],
    *,
    what: str = "output",
) -> Iterator[Path]:
    """Lock ``path``, clean up, and yield an empty staging folder that replaces it on success.

    Parameters
    ----------
    path : path
        The output folder.
    is_ours : callable
        ``is_ours(folder)`` is true when an existing non-empty folder may be replaced.
    what : str
        What the folder holds, for messages ("dataset", "fit").
    """
    path = Path(path).absolute()
    with folder_lock(path):
        recover_folder(path)
        _check_replaceable(path, is_ours, what)
        staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)  # mkdtemp makes 0700; give what mkdir would
        try:
            yield staging
            _check_replaceable(path, is_ours, what)
            swap_into_place(staging, path)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
