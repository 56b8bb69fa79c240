"""``technorhythm listening``: a blinded MUSHRA-style listening test of a fitted group."""

from __future__ import annotations

import argparse
import shlex
import sys

from technorhythm.cli._args import int_at_least

__all__ = ["register"]


def _command(args: argparse.Namespace) -> str:
    parts = ["technorhythm", "listening", str(args.fit_dir)]
    if args.group is not None:
        parts += ["--group", args.group]
    parts += ["--items", str(args.items), "--seed", str(args.seed)]
    if args.bpm is not None:
        parts += ["--bpm", f"{args.bpm:g}"]
    parts += ["--min-contraction", f"{args.min_contraction:g}"]
    if args.max_ablated is not None:
        parts += ["--max-ablated", str(args.max_ablated)]
    if args.dataset:
        parts += ["--dataset", str(args.dataset)]
    parts += ["--out", str(args.out)]
    return shlex.join(parts)


def _run(args: argparse.Namespace) -> int:
    from technorhythm.cli.paths import check_writable
    from technorhythm.generation import (
        build_listening_set,
        check_listening_folder,
        load_pack,
        write_listening,
    )

    check_writable(args.out, "--out", folder=True)
    check_listening_folder(args.out, args.force)
    pack = load_pack(args.fit_dir, args.group)
    lset = build_listening_set(
        pack,
        items=args.items,
        seed=args.seed,
        bpm=args.bpm,
        min_contraction=args.min_contraction,
        max_ablated=args.max_ablated,
        data=args.dataset,
    )
    record = write_listening(
        lset, args.out, fit_dir=args.fit_dir, command=_command(args), overwrite=args.force
    )
    knobs = lset.ablated
    ablated = (
        ", ".join(
            f"{k} ({c:.2f})" for k, c in zip(knobs["knob"], knobs["contraction"], strict=True)
        )
        or f"none (no knob's location contracts by {args.min_contraction:g} or more)"
    )
    print(
        f"group {pack.group!r}: {record['trials']} trials of {record['items_per_trial']} items "
        f"+ the open reference, {record['bpm']:g} bpm, 4 bars, {record['loudness_lufs']:.1f} LUFS",
        file=sys.stderr,
    )
    print(f"ablated knobs (contraction of the location): {ablated}", file=sys.stderr)
    print(f"open {args.out}/mushra.html in a browser; the key is {args.out}/key.csv")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "listening",
        help="export a blinded MUSHRA-style listening test of a fitted group",
        description=(
            "Render a listening test of one group of FIT_DIR: per trial an open reference "
            "(a loop of the pack) and blinded items: the hidden reference, another real loop "
            "(Real), a loop generated from the posterior (Gen), the same loop with one "
            "identified knob at its default (Ablated, one per knob), and a loop with knobs "
            "from the prior (Randomized, the anchor). Every item is 4 bars at one tempo, "
            "rendered by the built-in synth and matched in loudness (ITU-R BS.1770). Writes "
            "items/<code>.wav, mushra.html (an offline rating page), key.csv (the unblinding "
            "key) and listening.json to --out."
        ),
    )
    p.add_argument("fit_dir", metavar="FIT_DIR", help="a folder from `technorhythm fit`")
    p.add_argument("--group", metavar="NAME", help="the fitted group (needed if there are several)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument(
        "--items",
        type=int_at_least(1),
        default=8,
        help="trials (default 8); needs 2 real loops each",
    )
    p.add_argument("--seed", type=int_at_least(0), default=0, help="random seed (default 0)")
    p.add_argument("--bpm", type=float, help="tempo of every item (default: the group's median)")
    p.add_argument(
        "--min-contraction",
        type=float,
        default=0.9,
        help="a knob is identified, and ablated, when the posterior of its location contracts "
        "by at least this much (1 - posterior var / prior var; default 0.9)",
    )
    p.add_argument(
        "--max-ablated",
        type=int_at_least(0),
        help="ablate at most this many knobs, the best identified first (default: all)",
    )
    p.add_argument(
        "--dataset",
        metavar="DATASET_DIR",
        help="the dataset of the fit (default: the one fit.json names)",
    )
    p.add_argument("--force", action="store_true", help="replace a listening set in --out")
    p.set_defaults(func=_run)
