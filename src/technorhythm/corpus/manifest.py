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
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from technorhythm.corpus.dedupe import DedupeConfig, find_duplicates, onset_hash
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


def _clip_columns(result: dict, row: dict) -> dict:
    n = len(result["velocity"])
    st = result["stats"]
    cols = dict(result["cols"])
    cols.update(
        source=np.full(n, row["path"], object),
        pack=np.full(n, row["pack"], object),
        license=np.full(n, row["license"], object),
        drum_channel=np.full(n, st.drum_channel, object),
        _key=np.full(n, row["path_bytes"], object),
    )
    return cols


def assemble(plan: Plan, results: list[dict]):
    """(manifest, (velocity, offset, meta)) from the plan and the worker results."""
    by_rel = dict(zip(plan.to_read, results, strict=True))
    vel, off, bpm, metas = [], [], [], []
    for row in plan.rows:
        r = by_rel.get(row["_rel"])
        if r is None:
            continue
        reason = "; ".join(x for x in (row["reason"], text(r["reason"])) if x)
        row.update(size_bytes=r["size_bytes"], sha256=r["sha256"], reason=reason, code=r["code"])
        if r["code"]:
            row["status"] = "rejected"
            continue
        st = r["stats"]
        row.update({k: getattr(st, f) for k, f in _STAT_FIELDS.items()})
        row.update(n_clips=len(r["velocity"]), drum_channel=st.drum_channel)
        vel.append(r["velocity"])
        off.append(r["offset"])
        bpm.append(r["bpm"])
        metas.append(_clip_columns(r, row))
    manifest = pd.DataFrame([{k: v for k, v in row.items() if k != "_rel"} for row in plan.rows])
    velocity = np.concatenate(vel) if vel else np.zeros((0, 5, 64), np.uint8)
    offset = np.concatenate(off) if off else np.zeros((0, 5, 64), np.float32)
    if metas:
        meta = pd.DataFrame({k: np.concatenate([m[k] for m in metas]) for k in metas[0]})
    else:
        meta = pd.DataFrame(
            {c: pd.Series(dtype=object) for c in ("source", "pack", "license", "_key")}
        )
        for c in ("window", "start_tick", "rotation", "n_onsets"):
            meta[c] = pd.Series(dtype=np.int64)
    meta["clip_id"] = meta["source"].astype(str) + "#" + meta["window"].astype(str)
    meta["bpm"] = np.concatenate(bpm) if bpm else np.zeros(0)
    meta["time_signature"] = "4/4"
    meta["content_hash"] = onset_hash(velocity)
    return manifest, (velocity, offset, meta)


def _mark_duplicates(manifest: pd.DataFrame, dedupe_table: pd.DataFrame) -> None:
    gone_per_file = Counter(dedupe_table["source"].tolist())
    first_of = dedupe_table.drop_duplicates("source").set_index("source")["duplicate_of"]
    for i in manifest.index[manifest["status"] == "ok"]:
        f = manifest.at[i, "path"]
        k = gone_per_file.get(f, 0)
        if not k:
            continue
        n = manifest.at[i, "n_clips"]
        note = f"{k} of {n} clips removed as duplicates of other files"
        if k == n:
            manifest.at[i, "status"] = "duplicate"
            manifest.at[i, "code"] = "duplicate"
            note = f"all {n} clips duplicate clips of other files (first: {first_of[f]})"
        prev = manifest.at[i, "reason"]
        manifest.at[i, "reason"] = f"{prev}; {note}" if prev else note
        manifest.at[i, "n_clips"] = n - k


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
