"""The ``technorhythm`` command line: a thin layer over the public API.

Each subcommand lives in its own module of this package and exposes
``register(subparsers)``; heavy imports happen inside the handlers so that
``technorhythm --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

__all__ = ["build_parser", "describe_error", "main"]

# Module name in this package for each group of subcommands, in --help order.
_COMMAND_MODULES: tuple[str, ...] = (
    "demo",
    "ingest",
    "split",
    "corpus",
    "features",
    "eda",
    "train",
    "fit",
    "check",
    "report",
    "generate",
    "listening",
    "serve",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every registered subcommand."""
    from technorhythm import __version__

    parser = argparse.ArgumentParser(
        prog="technorhythm",
        description=(
            "Learn the statistical grammar of drum patterns from a MIDI corpus and turn it "
            "into an interpretable generator with a handful of musical knobs."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(f"technorhythm.cli.{name}").register(sub)
    return parser


def describe_error(exc: BaseException) -> str:
    """A one-line message for people from an error of the file system or of the input.

    ``OSError`` becomes "what failed: path" (``strerror`` and ``filename``), text the
    user can act on; other errors keep their own message, which our code writes for
    people.
    """
    if isinstance(exc, OSError) and exc.strerror:
        names = [n for n in (exc.filename, exc.filename2) if n is not None]
        where = " → ".join(repr(os.fsdecode(n)) for n in names)
        return f"{exc.strerror}: {where}" if where else exc.strerror
    text = str(exc) or ("out of memory" if isinstance(exc, MemoryError) else type(exc).__name__)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``technorhythm`` script; returns the exit status.

    Errors of the input, of the file system and of resources end the command with a
    one-line message and status 2 (no traceback); Ctrl-C with status 130.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # the reader went away (`technorhythm … | head`): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except (ValueError, OSError, MemoryError, _arrow_error()) as exc:
        # Our errors are ValueError subclasses with messages written for people;
        # OSError covers every file-system failure (permissions, full disk, a folder
        # where a file should be, ...).
        print(f"technorhythm {args.command}: error: {describe_error(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _arrow_error() -> type[BaseException]:
    """pyarrow's base error when pyarrow is already imported (it is never imported here)."""
    arrow = sys.modules.get("pyarrow")
    return getattr(arrow, "ArrowException", ValueError) if arrow is not None else ValueError
