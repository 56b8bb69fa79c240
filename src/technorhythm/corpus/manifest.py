"""The manifest of an ingest run: one row per entry, and the clips in the same order.

:func:`plan_rows` decides, before any file is read, which entries are read and
which are already settled (links that go nowhere, FIFOs, licence exclusions …);
:func:`assemble` turns the worker results into manifest rows and clip arrays in
path order; :func:`apply_dedupe` removes duplicate clips and updates the rows.

Paths in the written tables are valid UTF-8 text: a file name that is not is
shown with ``\\xNN`` escapes in ``path`` (and in ``source``/``clip_id`` of its
clips), and its exact bytes are in the manifest's ``path_bytes`` column.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from technorhythm.clips import N_INSTRUMENTS, N_STEPS
from technorhythm.corpus.dedupe import DedupeConfig, find_duplicates, onset_hash
from technorhythm.corpus.file_job import CLIP_RECORD, FileResult
from technorhythm.corpus.packs import LicenceError, is_no_derivatives, licence_of
from technorhythm.corpus.scan import Entry, display_path, path_bytes, text

__all__ = ["STATUSES", "Plan", "apply_dedupe", "assemble", "plan_rows"]

STATUSES = ("ok", "rejected", "duplicate", "excluded", "skipped")
_OUR_COLUMNS = {
    "clip_id", "source", "pack", "license", "window", "start_tick", "rotation", "bpm",
    "time_signature", "n_onsets", "dropped_toms", "dropped_other", "merged_notes",
    "drum_channel", "content_hash", "split", "velocity", "offset",
}  # fmt: skip
_CLIP_ORDER = ["clip_id", "source", "pack", "license", "window", "start_tick", "rotation", "bpm",
               "time_signature", "n_onsets", "dropped_toms", "dropped_other", "merged_notes",
               "drum_channel", "content_hash"]  # fmt: skip
_STAT_FIELDS = {
    "n_windows": "windows_total", "near_empty_windows": "near_empty_windows",
    "tail_bars_dropped": "tail_bars_dropped", "non_4_4_bars": "non_4_4_bars",
    "dropped_toms": "dropped_toms", "dropped_other": "dropped_other",
    "merged_notes": "merged_notes", "bad_metre_beats": "bad_metre_beats",
    "unreleased_notes": "unreleased_notes",
}  # fmt: skip

_FLOAT_FIELDS = ("tail_bars_dropped", "non_4_4_bars", "bad_metre_beats")


@dataclass
class Plan:
    """What ingestion knows before reading any file."""

    rows: list[dict]  # one per entry, in path order; settled ones are final
    to_read: list[str]  # relative paths to read, in path order
    metadata: pd.DataFrame | None
    metadata_path: Path | None
    pack_by: str


def _row(entry: Entry, pack: str) -> dict:
    row = {
        "path": display_path(entry.rel),
        "status": entry.status or "ok",
        "reason": entry.reason,
        "code": entry.code,
        "n_clips": 0,
        "pack": text(pack),
        "license": "",
        "license_source": "",
        "size_bytes": -1,
        "sha256": "",
        "drum_channel": "",
    }
    row.update({k: 0.0 if k in _FLOAT_FIELDS else 0 for k in _STAT_FIELDS})
    row["path_bytes"] = path_bytes(entry.rel)
    row["_rel"] = entry.rel
    return row


def plan_rows(root, entries, packs, default_license, metadata, metadata_path, pack_by) -> Plan:
    """Rows for every entry; licences decide which inputs are read (see module notes)."""
    rows, to_read, cache = [], [], {}
    for entry, pack in zip(entries, packs, strict=True):
        row = _row(entry, pack)
        rows.append(row)
        if not entry.is_input:
            continue
        try:
            lid, src = licence_of(Path(root), entry.rel, default_license, cache)
        except LicenceError as exc:
            row.update(status="rejected", code="licence-unreadable",
                       reason=text(f"{exc}; the files under it cannot be used"))  # fmt: skip
            continue
        row.update(license=text(lid), license_source=text(src))
        if is_no_derivatives(lid):
            row.update(
                status="excluded",
                code="licence-no-derivatives",
                reason=text(f"licence {lid} ({src}) forbids derivatives; pack {pack!r} excluded"),
            )
            with contextlib.suppress(OSError):
                row["size_bytes"] = (Path(root) / entry.rel).stat().st_size
            continue
        to_read.append(entry.rel)
    return Plan(rows, to_read, metadata, metadata_path, pack_by)


_SCALARS = ("bpm", "window", "start_tick", "rotation", "n_onsets", "dropped_toms",
            "dropped_other", "merged_notes")  # fmt: skip


def assemble(plan: Plan, results: list[FileResult]):
    """(manifest, (velocity, offset, meta)) from the plan and the worker results.

    Each result's clip record array is copied into preallocated arrays and dropped from
    the result, so the clips are held once, not twice.
    """
    by_rel = dict(zip(plan.to_read, results, strict=True))
    n_total = sum(len(r.clips) for r in results if not r.code) // CLIP_RECORD.itemsize
    velocity = np.zeros((n_total, N_INSTRUMENTS, N_STEPS), np.uint8)
    offset = np.zeros((n_total, N_INSTRUMENTS, N_STEPS), np.float32)
    scalars = np.zeros(n_total, CLIP_RECORD[list(_SCALARS)])
    texts: dict[str, list] = {k: [] for k in ("source", "pack", "license", "drum_channel", "_key")}
    at = 0
    for row in plan.rows:
        r = by_rel.get(row["_rel"])
        if r is None:
            continue
        reason = "; ".join(x for x in (row["reason"], text(r.reason)) if x)
        row.update(size_bytes=r.size_bytes, sha256=r.sha256, reason=reason, code=r.code)
        if r.code:
            row["status"] = "rejected"
            continue
        st, clips = r.stats, r.records()
        r.clips = b""  # copied below; held once
        n = len(clips)
        row.update({k: getattr(st, f) for k, f in _STAT_FIELDS.items()})
        row.update(n_clips=n, drum_channel=st.drum_channel)
        velocity[at : at + n] = clips["velocity"]
        offset[at : at + n] = clips["offset"]
        scalars[at : at + n] = clips[list(_SCALARS)]
        for key, value in (("source", row["path"]), ("pack", row["pack"]),
                           ("license", row["license"]), ("drum_channel", st.drum_channel),
                           ("_key", row["path_bytes"])):  # fmt: skip
            texts[key] += [value] * n
        at += n
    columns = [k for k in plan.rows[0] if k != "_rel"] if plan.rows else []
    manifest = pd.DataFrame(plan.rows, columns=columns)  # _rel may hold surrogates: left out
    meta = pd.DataFrame({k: np.array(v, dtype=object) for k, v in texts.items()})
    for name in _SCALARS:
        meta[name] = scalars[name]
    meta["clip_id"] = meta["source"].astype(str) + "#" + meta["window"].astype(str)
    meta["time_signature"] = "4/4"
    meta["content_hash"] = onset_hash(velocity)
    return manifest, (velocity, offset, meta)


def _mark_duplicates(manifest: pd.DataFrame, dedupe_table: pd.DataFrame) -> None:
    """Update the rows of files that lost clips to duplicates (``duplicate`` when all)."""
    gone = manifest["path"].map(dedupe_table["source"].value_counts()).fillna(0).astype(int)
    rows = np.flatnonzero((manifest["status"] == "ok").to_numpy() & (gone.to_numpy() > 0))
    if not rows.size:
        return
    first_of = dedupe_table.drop_duplicates("source").set_index("source")["duplicate_of"]
    paths = manifest["path"].to_numpy()[rows]
    k, n = gone.to_numpy()[rows], manifest["n_clips"].to_numpy()[rows]
    prev = manifest["reason"].to_numpy()[rows]
    notes = [
        f"all {ni} clips duplicate clips of other files (first: {first_of[p]})"
        if ki == ni
        else f"{ki} of {ni} clips removed as duplicates of other files"
        for p, ki, ni in zip(paths, k.tolist(), n.tolist(), strict=True)
    ]
    reasons = [f"{a}; {b}" if a else b for a, b in zip(prev, notes, strict=True)]
    index = manifest.index[rows]
    manifest.loc[index, "reason"] = reasons
    manifest.loc[index, "n_clips"] = n - k
    whole = index[k == n]
    manifest.loc[whole, "status"] = "duplicate"
    manifest.loc[whole, "code"] = "duplicate"


def _join_metadata(meta: pd.DataFrame, table: pd.DataFrame | None) -> pd.DataFrame:
    if table is not None:
        extra = table.rename(columns={c: f"csv_{c}" for c in table.columns if c in _OUR_COLUMNS})
        joined = extra.reindex([os.fsdecode(key) for key in meta["_key"]])
        for c in joined.columns:
            meta[c] = joined[c].fillna("").to_numpy(dtype=object)
    meta = meta.drop(columns="_key")
    meta = meta[[c for c in _CLIP_ORDER if c in meta.columns]
                + [c for c in meta.columns if c not in _CLIP_ORDER]]  # fmt: skip
    for c in ("window", "n_onsets", "dropped_toms", "dropped_other", "merged_notes"):
        if c in meta:
            meta[c] = meta[c].astype(np.int32)
    return meta


def apply_dedupe(manifest: pd.DataFrame, clips, config: DedupeConfig, table):
    """Remove duplicate clips; returns (manifest, clips, dedupe table)."""
    velocity, offset, meta = clips
    dups = find_duplicates(
        velocity, meta["source"].to_numpy(), config, hashes=meta["content_hash"].to_numpy()
    )
    idx, of = dups["index"].to_numpy(), dups["duplicate_of"].to_numpy()
    dedupe_table = pd.DataFrame(
        {
            "clip_id": meta["clip_id"].to_numpy()[idx],
            "source": meta["source"].to_numpy()[idx],
            "pack": meta["pack"].to_numpy()[idx],
            "duplicate_of": meta["clip_id"].to_numpy()[of],
            "duplicate_of_pack": meta["pack"].to_numpy()[of],
            "kind": dups["kind"].to_numpy(),
            "similarity": dups["similarity"].to_numpy(),
        }
    )
    _mark_duplicates(manifest, dedupe_table)
    keep = np.ones(len(velocity), bool)
    keep[idx] = False
    meta = _join_metadata(meta.loc[keep].reset_index(drop=True), table)
    return manifest, (velocity[keep], offset[keep], meta), dedupe_table
