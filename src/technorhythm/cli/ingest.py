"""``technorhythm ingest``: a folder of drum MIDI files → a dataset folder."""

from __future__ import annotations

import argparse

__all__ = ["register"]


def _threshold(text: str) -> float | None:
    if text.lower() in ("none", "off"):
        return None
    value = float(text)
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in (0, 1] or 'none'; got {text}")
    return value


def _run(args: argparse.Namespace) -> int:
    from technorhythm.cli.paths import check_writable
    from technorhythm.corpus import DedupeConfig, IngestConfig, ingest

    check_writable(args.out, "--out", folder=True)
    config = IngestConfig(
        min_onsets=args.min_onsets,
        max_file_bytes=int(args.max_file_mb * 1024 * 1024),
        parse_timeout=args.timeout,
        drum_channel_fallback=not args.channel_10_only,
        max_notes=args.max_notes,
        max_clips_per_file=args.max_clips_per_file,
        max_file_memory_mb=args.max_file_memory_mb,
    )
    dedupe = DedupeConfig(near_threshold=args.near_threshold, scope=args.dedupe_scope)
    report = ingest(
        args.input_dir,
        args.out,
        config=config,
        dedupe=dedupe,
        pack_by=args.pack_by,
        metadata=None if args.metadata == "none" else args.metadata,
        default_license=args.default_license,
        workers=args.workers,
        scheduler=args.scheduler,
        progress=False if args.no_progress else None,
    )
    print(report.summary())
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ingest",
        help="turn a folder of drum MIDI files into canonical, deduplicated clips",
        description=(
            "Read every MIDI file under INPUT_DIR into canonical 4-bar clips (5 instruments × "
            "64 16th steps, velocities and microtiming), assign packs and licences, remove "
            "duplicates and write DATASET_DIR (clips.parquet, manifest.parquet, dedupe.parquet, "
            "dataset.json). Every input file, and every link, FIFO or unreadable entry, gets a "
            "manifest row with its status and reason. A lock on DATASET_DIR refuses a second "
            "writer; the folder is replaced atomically when the run completes. "
            "See docs/data_pipeline.md."
        ),
    )
    p.add_argument("input_dir", metavar="INPUT_DIR", help="folder searched recursively for MIDI")
    p.add_argument("--out", required=True, metavar="DATASET_DIR", help="dataset folder to write")
    p.add_argument(
        "--pack-by",
        default="auto",
        help="'folder' (first folder level), 'folder:N' (N levels), a metadata CSV column "
        "(Groove: session, drummer, style) or 'auto' (session if the CSV has it, else folder)",
    )
    p.add_argument(
        "--metadata",
        default="auto",
        metavar="CSV",
        help="metadata CSV with a column of relative MIDI paths; 'auto' uses info.csv or "
        "metadata.csv in INPUT_DIR; 'none' disables",
    )
    p.add_argument(
        "--default-license",
        metavar="SPDX",
        help="licence of files without a license.json/LICENSE above them (e.g. CC-BY-4.0)",
    )
    p.add_argument("--workers", type=int, default=1, help="parallel worker processes (default 1)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask cluster at ADDRESS")
    p.add_argument(
        "--near-threshold",
        type=_threshold,
        default=0.9,
        help="Jaccard similarity of onset sets at which clips are near-duplicates (default "
        "0.9; 'none' keeps near-duplicates)",
    )
    p.add_argument(
        "--dedupe-scope",
        choices=("across-files", "corpus"),
        default="across-files",
        help="across-files: only clips of different files can be duplicates (default)",
    )
    p.add_argument(
        "--min-onsets",
        type=int,
        default=8,
        help="windows with fewer onsets are near-empty and dropped (default 8)",
    )
    p.add_argument("--max-file-mb", type=float, default=8.0, help="size cap per file (MiB)")
    p.add_argument(
        "--timeout",
        type=float,
        default=20.0,
        help="seconds allowed per file: reading, parsing and clip building (default 20)",
    )
    p.add_argument(
        "--max-notes",
        type=int,
        default=4_000_000,
        help="per-file budget of notes; a file with more is rejected (default 4000000)",
    )
    p.add_argument(
        "--max-clips-per-file",
        type=int,
        default=50_000,
        help="per-file budget of 4-bar windows with notes (default 50000)",
    )
    p.add_argument(
        "--max-file-memory-mb",
        type=float,
        default=1024.0,
        help="per-file memory budget of a worker process, MiB (default 1024)",
    )
    p.add_argument(
        "--channel-10-only",
        action="store_true",
        help="never read notes off MIDI channel 10 as drums",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_run)
