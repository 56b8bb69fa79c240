"""Assign whole packs to train/valid/test and verify there is no leakage.

:func:`split_dataset` shuffles the packs with a seeded generator, then assigns
them largest first, each to the split furthest below its target share of clips
(ties: train, valid, test order). Every split with a positive ratio gets at
least one pack. The result is verified (every pack and every source file in
exactly one split) and stored as ``split.json`` in the dataset folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from technorhythm.corpus.dataset import SCHEMA_VERSION, load_dataset, write_json

__all__ = ["SPLITS", "SplitResult", "assign_packs_to_splits", "check_split", "split_dataset"]

SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class SplitResult:
    """Pack assignment and its sizes; ``pack_overlap``/``file_overlap`` are verified 0."""

    assignment: dict[str, str]
    sizes: pd.DataFrame
    pack_overlap: int
    file_overlap: int
    seed: int
    ratios: dict[str, float]


def assign_packs_to_splits(
    pack_sizes: dict[str, int], ratios: tuple[float, float, float], seed: int
) -> dict[str, str]:
    """Map each pack to a split; see the module docstring for the rule."""
    r = np.asarray(ratios, dtype=float)
    if r.shape != (3,) or np.any(r < 0) or not np.isfinite(r).all() or r.sum() <= 0:
        raise ValueError(
            f"ratios must be three non-negative numbers (train, valid, test); got {ratios}"
        )
    r = r / r.sum()
    needed = int((r > 0).sum())
    packs = sorted(pack_sizes)
    if len(packs) < needed:
        raise ValueError(
            f"cannot split {len(packs)} pack(s) into {needed} non-empty splits; "
            "use more packs (e.g. --pack-by with a finer column) or set a ratio to 0"
        )
    rng = np.random.default_rng(seed)
    shuffled = [packs[i] for i in rng.permutation(len(packs))]
    shuffled.sort(key=lambda p: -pack_sizes[p])  # stable: seeded order among equal sizes
    total = max(1, sum(pack_sizes.values()))
    target = r * total
    have = np.zeros(3)
    counts = np.zeros(3, int)
    out: dict[str, str] = {}
    for k, pack in enumerate(shuffled):
        remaining = len(shuffled) - k
        empty = [i for i in range(3) if r[i] > 0 and counts[i] == 0]
        if len(empty) >= remaining:  # keep every wanted split non-empty
            i = empty[0]
        else:
            deficit = np.where(r > 0, (target - have) / np.maximum(target, 1e-12), -np.inf)
            i = int(np.argmax(deficit))
        out[pack] = SPLITS[i]
        have[i] += pack_sizes[pack]
        counts[i] += 1
    return out


def check_split(meta: pd.DataFrame, assignment: dict[str, str]) -> tuple[int, int]:
    """(packs, files) that appear in more than one split; both must be 0."""
    split = meta["pack"].map(assignment)
    if split.isna().any():
        missing = sorted(set(meta.loc[split.isna(), "pack"]))
        raise ValueError(f"packs without a split: {', '.join(missing[:5])}")
    pack_overlap = int((split.groupby(meta["pack"]).nunique() > 1).sum())
    file_overlap = int((split.groupby(meta["source"]).nunique() > 1).sum())
    return pack_overlap, file_overlap


def split_dataset(
    path: str | Path,
    *,
    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1),
    seed: int = 0,
) -> SplitResult:
    """Split the dataset at ``path`` by pack; writes ``split.json`` atomically.

    Raises ``ValueError`` when the result would leak a pack or a file across splits
    (cannot happen by construction; checked anyway before anything is written).
    """
    path = Path(path)
    ds = load_dataset(path)
    manifest = ds.manifest
    clips_per_pack = ds.clips.meta["pack"].value_counts().to_dict()
    pack_sizes = {str(p): int(clips_per_pack.get(p, 0)) for p in manifest["pack"].unique()}
    assignment = assign_packs_to_splits(pack_sizes, ratios, seed)
    pack_overlap, file_overlap = check_split(ds.clips.meta, assignment)
    files = manifest.assign(split=manifest["pack"].map(assignment))
    if pack_overlap or file_overlap or (files.groupby("path")["split"].nunique() > 1).any():
        raise ValueError(
            f"split leaks: {pack_overlap} packs and {file_overlap} files in several splits"
        )
    rows = []
    for name in SPLITS:
        in_split = [p for p, s in assignment.items() if s == name]
        rows.append(
            {
                "split": name,
                "packs": len(in_split),
                "files_ok": int(((files["split"] == name) & (files["status"] == "ok")).sum()),
                "clips": int(sum(pack_sizes[p] for p in in_split)),
            }
        )
    sizes = pd.DataFrame(rows)
    total = max(1, sizes["clips"].sum())
    sizes["fraction"] = (sizes["clips"] / total).round(4)
    r = np.asarray(ratios, float) / np.sum(ratios)
    ratio_map = {s: float(v) for s, v in zip(SPLITS, r, strict=True)}
    write_json(
        {
            "schema_version": SCHEMA_VERSION,
            "by": "pack",
            "seed": seed,
            "ratios": ratio_map,
            "assignment": dict(sorted(assignment.items())),
            "sizes": sizes.to_dict(orient="records"),
            "verified": {"pack_overlap": pack_overlap, "file_overlap": file_overlap},
        },
        path / "split.json",
    )
    return SplitResult(assignment, sizes, pack_overlap, file_overlap, seed, ratio_map)
