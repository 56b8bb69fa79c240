"""Checks on output paths, made before a command does any work.

A command that would fail to write its result after minutes of work, or after
writing half of its files, checks its output paths first and stops with a
message that says what to do.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["check_writable"]


def check_writable(path: str | os.PathLike[str], option: str, *, folder: bool = False) -> None:
    """Refuse an output path that cannot be written, before anything is written.

    Parameters
    ----------
    path : path
        The output file (``folder=False``) or folder (``folder=True``) to be written;
        missing parent folders will be created.
    option : str
        The command-line option that named it, for the message (``--out``).

    Raises
    ------
    ValueError
        For a folder where a file is expected (or the reverse), a parent that is a
        file, or a place without write permission.
    """
    target = Path(path)
    if not folder and target.is_dir():
        raise ValueError(
            f"{option} {str(target)!r} is a folder; give a file name inside it, e.g. "
            f"{str(target / ('loop' + target.suffix if target.suffix else 'output'))!r}"
        )
    if folder and target.exists() and not target.is_dir():
        raise ValueError(f"{option} {str(target)!r} exists and is not a folder")
    ancestor = target if folder and target.is_dir() else target.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ValueError(
            f"cannot write {option} {str(target)!r}: {str(ancestor)!r} is not a folder"
        )
    # the file or folder is replaced by a rename in its parent: the parent must be writable
    need = target.parent if target.parent.exists() else ancestor
    if not os.access(need, os.W_OK | os.X_OK):
        raise ValueError(
            f"cannot write {option} {str(target)!r}: no permission to write in {str(need)!r}"
        )
