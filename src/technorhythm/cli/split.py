"""``technorhythm split``: assign whole packs of a dataset to train/valid/test."""

from __future__ import annotations

import argparse

__all__ = ["register"]


def _run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from technorhythm.cli.paths import check_writable
    from technorhythm.corpus import split_dataset

    if Path(args.dataset).is_dir():
        check_writable(Path(args.dataset) / "split.json", "DATASET_DIR")
    result = split_dataset(args.dataset, ratios=tuple(args.ratios), seed=args.seed)
    print(result.sizes.to_string(index=False))
    print(
        f"verified: {result.pack_overlap} packs and {result.file_overlap} files in more than "
        f"one split; written to {args.dataset}/split.json"
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "split",
        help="assign whole packs to train/valid/test (seeded) and verify zero overlap",
        description=(
            "Assign every pack of DATASET_DIR to train, valid or test, close to the target "
            "ratios of clips, deterministically for a seed. Verifies that no pack and no file "
            "is in two splits and stores the assignment as DATASET_DIR/split.json."
        ),
    )
    p.add_argument("dataset", metavar="DATASET_DIR")
    p.add_argument(
        "--ratios",
        type=float,
        nargs=3,
        default=(0.8, 0.1, 0.1),
        metavar=("TRAIN", "VALID", "TEST"),
        help="target shares of clips (default 0.8 0.1 0.1)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the pack shuffle (default 0)")
    p.set_defaults(func=_run)
