"""The ``technorhythm`` command line: a thin layer over the public API.

Each subcommand lives in its own module of this package and exposes
``register(subparsers)``; heavy imports happen inside the handlers so that
``technorhythm --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["main", "build_parser"]

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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``technorhythm`` script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, FileExistsError, NotADirectoryError) as exc:
        # Our errors are ValueError subclasses with messages written for people.
        print(f"technorhythm {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
