"""List the input folder: every MIDI file, and every entry that needs a word.

:func:`scan_input` walks the folder without following links to folders (so a
link loop cannot trap it) and returns one :class:`Entry` per

* file whose name has a MIDI suffix (``.mid .midi .kar .rmi .smf``, any case),
  directly or through a symbolic link to a regular file: an *input*;
* symbolic link that is not an input (dangling, a loop, to a folder, to a
  non-MIDI name), FIFO, socket or device, folder named like a MIDI file, folder
  that cannot be listed, or other file that cannot be read: a *note* with a
  status (``rejected`` when the name looks like MIDI, else ``skipped``), a code
  and a reason. A FIFO is never opened (that would block).

Relative paths use ``/`` and keep undecodable bytes of file names as surrogate
escapes (Python's file-system encoding); :func:`display_path` and
:func:`path_bytes` turn them into text that any Parquet reader accepts and into
the exact bytes.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MIDI_SUFFIXES", "Entry", "display_path", "path_bytes", "scan_input", "text"]

MIDI_SUFFIXES = (".mid", ".midi", ".kar", ".rmi", ".smf")


@dataclass(frozen=True)
class Entry:
    """One directory entry: an input (``code == ""``) or a note with its reason.

    An input's ``reason`` is an optional remark for its manifest row.
    """

    rel: str
    code: str = ""
    reason: str = ""
    status: str = ""

    @property
    def is_input(self) -> bool:
        return not self.code


def looks_like_midi(name: str) -> bool:
    """True when ``name`` ends with a MIDI suffix (any case)."""
    return name.lower().endswith(MIDI_SUFFIXES)


def path_bytes(rel: str) -> bytes:
    """The exact bytes of a relative path as the file system stores them."""
    return os.fsencode(rel)


def display_path(rel: str) -> str:
    """``rel`` as valid UTF-8 text: undecodable bytes become ``\\xNN`` escapes."""
    return os.fsencode(rel).decode("utf-8", "backslashreplace")


def text(value: str) -> str:
    """Any string (reasons quote paths and OS messages) as valid UTF-8 text."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return value


def _note(rel: str, code: str, reason: str) -> Entry:
    status = "rejected" if looks_like_midi(rel) else "skipped"
    return Entry(rel, code, text(reason), status)


_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _special(mode: int) -> str | None:
    for test, name in _KINDS:
        if test(mode):
            return name
    return None


def _link(path: str, rel: str) -> Entry:
    """The entry of a symbolic link: an input through the link, or a note."""
    target = os.readlink(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return _note(rel, "dangling-link", f"symbolic link to {target!r}, which does not exist")
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return _note(rel, "link-loop", f"symbolic link loop ({target!r}): {exc.strerror}")
        return _note(rel, "unreadable", f"cannot follow symbolic link to {target!r}: {exc}")
    if stat.S_ISDIR(st.st_mode):
        return _note(
            rel, "link-to-folder",
            f"symbolic link to the folder {target!r}: not followed (no loops, no double counting)",
        )  # fmt: skip
    kind = _special(st.st_mode)
    if kind:
        return _note(rel, "not-a-file", f"symbolic link to {kind}, not a regular file")
    if looks_like_midi(rel):  # an input, read through the link
        return Entry(rel, reason=text(f"read through a symbolic link to {target!r}"))
    return _note(rel, "not-midi-name", f"symbolic link to {target!r}: not a MIDI file name")


def _entry(path: str, rel: str, de: os.DirEntry) -> Entry | None:
    if de.is_symlink():
        return _link(path, rel)
    mode = de.stat(follow_symlinks=False).st_mode
    kind = _special(mode)
    if kind:
        return _note(rel, "not-a-file", f"{kind}, not a regular file: never opened")
    if looks_like_midi(rel):
        return Entry(rel)
    if not os.access(path, os.R_OK):
        return _note(rel, "unreadable", "not a MIDI file name, and it cannot be read")
    return None


def scan_input(root: str | Path) -> list[Entry]:
    """Every entry under ``root`` that is an input or needs a word, sorted by path bytes.

    Raises ``NotADirectoryError`` when ``root`` is not a folder.
    """
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise NotADirectoryError(f"input folder {root!r} does not exist or is not a folder")
    out: list[Entry] = []
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        folder = os.path.join(root, rel_dir) if rel_dir else root
        try:
            with os.scandir(folder) as it:
                listing = list(it)
        except OSError as exc:
            out.append(
                _note(rel_dir, "unreadable-folder",
                      f"cannot list this folder ({exc.strerror}); files in it are not ingested")
            )  # fmt: skip
            continue
        for de in listing:
            rel = f"{rel_dir}/{de.name}" if rel_dir else de.name
            try:
                if de.is_dir(follow_symlinks=False):
                    if looks_like_midi(de.name):
                        out.append(
                            Entry(rel, "folder-named-midi",
                                  text("a folder named like a MIDI file; its contents are "
                                       "scanned like any folder"), "skipped")
                        )  # fmt: skip
                    stack.append(rel)
                    continue
                entry = _entry(de.path, rel, de)
            except OSError as exc:
                entry = _note(rel, "unreadable", f"cannot inspect this entry: {exc.strerror}")
            if entry is not None:
                out.append(entry)
    out.sort(key=lambda e: path_bytes(e.rel))
    return out
