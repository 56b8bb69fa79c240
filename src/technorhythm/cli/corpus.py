"""``technorhythm corpus``: get corpora (``fetch``) and show the drum map (``drum-map``)."""

from __future__ import annotations

import argparse

__all__ = ["register"]


def _fetch(args: argparse.Namespace) -> int:
    import sys

    from technorhythm.corpus.fetch import GROOVE_SHA256, fetch_groove

    sha = None if args.no_verify else (args.sha256 or GROOVE_SHA256)
    root = fetch_groove(args.dest, source=args.source, sha256=sha, progress=sys.stderr.isatty())
    print(f"Groove MIDI Dataset ready at {root}")
    print(f"next: technorhythm ingest {root} --out DATASET_DIR")
    return 0


def _drum_map(args: argparse.Namespace) -> int:
    from technorhythm.corpus import drum_map_table

    print(drum_map_table().to_string(index=False))
    print("every other pitch: other percussion (dropped, counted as dropped_other)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("corpus", help="fetch corpora and show the drum map")
    csub = p.add_subparsers(dest="corpus_command", metavar="SUBCOMMAND", required=True)
    f = csub.add_parser(
        "fetch",
        help="download (or copy) and verify a corpus",
        description=(
            "Download the Groove MIDI Dataset (MIDI-only zip, CC BY 4.0), verify its SHA-256 and "
            "extract it into --dest, refusing any member that would escape it. --from takes a "
            "local zip (verified the same way) or an extracted folder instead."
        ),
    )
    f.add_argument("name", choices=("groove",), help="corpus to fetch")
    f.add_argument("--dest", default="data", help="destination folder (default ./data)")
    f.add_argument("--from", dest="source", metavar="PATH", help="local zip or folder")
    f.add_argument("--sha256", help="expected SHA-256 of the zip (default: the pinned one)")
    f.add_argument("--no-verify", action="store_true", help="skip the SHA-256 check")
    f.set_defaults(func=_fetch)
    d = csub.add_parser("drum-map", help="print the MIDI note → instrument map")
    d.set_defaults(func=_drum_map)
