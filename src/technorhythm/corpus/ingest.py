"""Batch ingestion: a folder of drum MIDI files → a dataset folder.

:func:`ingest` lists every MIDI file under the input folder, assigns packs and
licences, parses the files in isolated processes (:mod:`technorhythm.corpus.guard`)
in parallel over chunks of files (joblib; a Dask cluster with ``scheduler``),
turns them into canonical clips (:mod:`technorhythm.corpus.read`), removes
duplicates (:mod:`technorhythm.corpus.dedupe`) and writes the dataset
(:mod:`technorhythm.corpus.dataset`) into a temporary folder that replaces the
output folder only when complete. Every input file ends as one manifest row;
nothing a single file does can abort the batch. Output bytes depend only on the
input files and the options, never on the number of workers.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from technorhythm.corpus.batch import make_chunks, run_chunks
from technorhythm.corpus.config import IngestConfig
from technorhythm.corpus.dataset import (
    FORMAT,
    SCHEMA_VERSION,
    clips_to_table,
    write_json,
    write_parquet,
)
from technorhythm.corpus.dedupe import DedupeConfig, find_duplicates, onset_hash
from technorhythm.corpus.packs import (
    assign_packs,
    find_midi_files,
    is_no_derivatives,
    licence_of,
    read_metadata_csv,
)

__all__ = ["IngestReport", "ingest", "STATUSES"]

STATUSES = ("ok", "rejected", "duplicate", "excluded")
_METADATA_NAMES = ("info.csv", "metadata.csv")
_OUR_COLUMNS = {
    "clip_id", "source", "pack", "license", "window", "start_tick", "rotation", "bpm",
    "time_signature", "n_onsets", "dropped_toms", "dropped_other", "merged_notes",
    "drum_channel", "content_hash", "split", "velocity", "offset",
}  # fmt: skip
_STAT_FIELDS = (
    "n_windows", "near_empty_windows", "tail_bars_dropped", "non_4_4_bars",
    "dropped_toms", "dropped_other", "merged_notes",
)  # fmt: skip


@dataclass(frozen=True)
class IngestReport:
    """What an ingest run found; :meth:`summary` prints it for people."""

    out_dir: Path
    n_files: int
    status_counts: dict[str, int]
    reason_counts: dict[str, int]
    n_clips: int
    n_windows: int
    n_near_empty: int
    n_exact_duplicates: int
    n_near_duplicates: int
    clips_per_pack: dict[str, int]
    licences: dict[str, int]
    excluded_packs: list[str] = field(default_factory=list)
    pack_by: str = "folder"

    def summary(self) -> str:
        """A multi-line human summary."""
        lines = [
            f"dataset: {self.out_dir}",
            f"files: {self.n_files} ("
            + ", ".join(f"{s} {self.status_counts.get(s, 0)}" for s in STATUSES)
            + ")",
        ]
        for code, n in sorted(self.reason_counts.items(), key=lambda x: (-x[1], x[0])):
            lines.append(f"  {code}: {n}")
        lines.append(
            f"clips: {self.n_clips} kept of {self.n_windows} 4-bar windows "
            f"({self.n_near_empty} near-empty dropped, {self.n_exact_duplicates} exact and "
            f"{self.n_near_duplicates} near duplicates removed)"
        )
        lines.append(f"packs ({self.pack_by}): {len(self.clips_per_pack)}")
        for pack, n in sorted(self.clips_per_pack.items()):
            lines.append(f"  {pack}: {n} clips")
        lines.append(
            "licences (files): " + ", ".join(f"{k} {v}" for k, v in sorted(self.licences.items()))
        )
        if self.excluded_packs:
            lines.append(
                "excluded (licence forbids derivatives): " + ", ".join(self.excluded_packs)
            )
        return "\n".join(lines)


def _symusic_version() -> str:
    from importlib.metadata import version

    return version("symusic")


def _resolve_metadata(root: Path, metadata, files):
    if metadata is None:
        return None, None
    if metadata == "auto":
        for name in _METADATA_NAMES:
            if (root / name).is_file():
                metadata = root / name
                break
        else:
            return None, None
    path = Path(metadata)
    if not path.is_file():
        raise FileNotFoundError(f"metadata CSV {str(path)!r} not found")
    table, _ = read_metadata_csv(path, files)
    return table, path


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists():
        if not out_dir.is_dir():
            raise FileExistsError(f"output {str(out_dir)!r} exists and is not a folder")
        if any(out_dir.iterdir()) and not (out_dir / "dataset.json").is_file():
            raise FileExistsError(
                f"output folder {str(out_dir)!r} is not empty and holds no dataset; "
                "refusing to replace it"
            )


def _publish(tmp_dir: Path, out_dir: Path) -> None:
    """Replace ``out_dir`` by the complete ``tmp_dir`` with renames."""
    if out_dir.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
        os.replace(out_dir, old / "d")
        os.replace(tmp_dir, out_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp_dir, out_dir)


def ingest(
    input_dir: str | Path,
    out_dir: str | Path,
    *,
    config: IngestConfig | None = None,
    dedupe: DedupeConfig | None = None,
    pack_by: str = "auto",
    metadata: str | Path | None = "auto",
    default_license: str | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool | None = None,
) -> IngestReport:
    """Ingest every MIDI file under ``input_dir`` into the dataset folder ``out_dir``.

    Parameters
    ----------
    input_dir : path
        Folder searched recursively for ``.mid``/``.midi``/``.kar``/``.rmi``/``.smf``.
    out_dir : path
        Dataset folder; replaced atomically (a previous dataset stays intact on failure).
    config, dedupe : IngestConfig, DedupeConfig, optional
    pack_by : str
        ``auto``, ``folder``, ``folder:N`` or a metadata CSV column
        (see :mod:`technorhythm.corpus.packs`).
    metadata : path, "auto" or None
        Metadata CSV with a column of relative MIDI paths; ``auto`` uses
        ``info.csv`` or ``metadata.csv`` in the input folder when present.
    default_license : str, optional
        Licence of files with no licence file above them.
    workers : int
        Parallel worker processes (joblib); the output does not depend on it.
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:8786``); runs the work there.
    progress : bool, optional
        Show a progress bar (default: when stderr is a terminal).
    """
    config = config or IngestConfig()
    dedupe = dedupe or DedupeConfig()
    if workers < 1:
        raise ValueError(f"workers must be >= 1; got {workers}")
    root = Path(input_dir)
    out_dir = Path(out_dir)
    files = find_midi_files(root)
    if not files:
        raise ValueError(f"no MIDI files (.mid, .midi, .kar, .rmi, .smf) under {str(root)!r}")
    _check_out_dir(out_dir)
    if progress is None:
        import sys

        progress = sys.stderr.isatty()
    table, metadata_path = _resolve_metadata(root, metadata, files)
    resolved_pack_by = (
        ("session" if table is not None and "session" in table.columns else "folder")
        if pack_by == "auto"
        else pack_by
    )
    packs = assign_packs(files, resolved_pack_by, table)
    cache: dict = {}
    lic = [licence_of(root, f, default_license, cache) for f in files]
    excluded = {f for f, (lid, _) in zip(files, lic, strict=True) if is_no_derivatives(lid)}
    to_parse = [f for f in files if f not in excluded]
    results = {
        r["path"]: r
        for r in run_chunks(
            root, make_chunks(to_parse, workers), config, workers, scheduler, progress
        )
    }

    # -- manifest rows and clips, in file order ----------------------------------
    rows, vel, off, bpm, metas = [], [], [], [], []
    for f, pack, (lid, lsrc) in zip(files, packs, lic, strict=True):
        row = {
            "path": f,
            "status": "ok",
            "reason": "",
            "code": "",
            "n_clips": 0,
            "pack": pack,
            "license": lid,
            "license_source": lsrc,
            "size_bytes": -1,
            "sha256": "",
            "drum_channel": "",
        }
        row.update({k: 0 for k in _STAT_FIELDS})
        if f in excluded:
            row.update(
                status="excluded",
                code="licence-no-derivatives",
                reason=f"licence {lid} ({lsrc}) forbids derivatives; pack {pack!r} excluded",
            )
            row["size_bytes"] = (root / f).stat().st_size
            rows.append(row)
            continue
        r = results[f]
        row.update(
            size_bytes=r["size_bytes"], sha256=r["sha256"], reason=r["reason"], code=r["code"]
        )
        if r["code"]:
            row["status"] = "rejected"
        else:
            st = r["stats"]
            row.update(
                n_clips=len(r["velocity"]),
                n_windows=st.windows_total,
                near_empty_windows=st.near_empty_windows,
                tail_bars_dropped=st.tail_bars_dropped,
                non_4_4_bars=st.non_4_4_bars,
                dropped_toms=st.dropped_toms,
                dropped_other=st.dropped_other,
                merged_notes=st.merged_notes,
                drum_channel=st.drum_channel,
            )
            vel.append(r["velocity"])
            off.append(r["offset"])
            bpm.append(r["bpm"])
            n = len(r["velocity"])
            cols = {k: v for k, v in r["cols"].items()}
            cols.update(
                source=np.full(n, f, object),
                pack=np.full(n, pack, object),
                license=np.full(n, lid, object),
                drum_channel=np.full(n, st.drum_channel, object),
            )
            metas.append(cols)
        rows.append(row)
    manifest = pd.DataFrame(rows)

    n_all = sum(len(v) for v in vel)
    velocity = np.concatenate(vel) if vel else np.zeros((0, 5, 64), np.uint8)
    offset = np.concatenate(off) if off else np.zeros((0, 5, 64), np.float32)
    bpms = np.concatenate(bpm) if bpm else np.zeros(0)
    meta = (
        pd.DataFrame({k: np.concatenate([m[k] for m in metas]) for k in metas[0]})
        if metas
        else None
    )
    if meta is None:
        meta = pd.DataFrame({c: pd.Series(dtype=object) for c in ("source", "pack", "license")})
        for c in ("window", "start_tick", "rotation", "n_onsets"):
            meta[c] = pd.Series(dtype=np.int64)
    meta["clip_id"] = meta["source"].astype(str) + "#" + meta["window"].astype(str)
    meta["bpm"] = bpms
    meta["time_signature"] = "4/4"
    meta["content_hash"] = onset_hash(velocity)

    # -- dedupe ---------------------------------------------------------------------
    dups = find_duplicates(
        velocity, meta["source"].to_numpy(), dedupe, hashes=meta["content_hash"].to_numpy()
    )
    removed = np.zeros(n_all, bool)
    removed[dups["index"].to_numpy()] = True
    dedupe_table = pd.DataFrame(
        {
            "clip_id": meta["clip_id"].to_numpy()[dups["index"].to_numpy()],
            "source": meta["source"].to_numpy()[dups["index"].to_numpy()],
            "pack": meta["pack"].to_numpy()[dups["index"].to_numpy()],
            "duplicate_of": meta["clip_id"].to_numpy()[dups["duplicate_of"].to_numpy()],
            "duplicate_of_pack": meta["pack"].to_numpy()[dups["duplicate_of"].to_numpy()],
            "kind": dups["kind"].to_numpy(),
            "similarity": dups["similarity"].to_numpy(),
        }
    )
    gone_per_file = Counter(dedupe_table["source"].tolist())
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
            first = dedupe_table.loc[dedupe_table["source"] == f, "duplicate_of"].iloc[0]
            note = f"all {n} clips duplicate clips of other files (first: {first})"
        prev = manifest.at[i, "reason"]
        manifest.at[i, "reason"] = f"{prev}; {note}" if prev else note
        manifest.at[i, "n_clips"] = n - k

    keep = ~removed
    meta = meta.loc[keep].reset_index(drop=True)
    velocity, offset = velocity[keep], offset[keep]
    if table is not None:
        extra = table.rename(columns={c: f"csv_{c}" for c in table.columns if c in _OUR_COLUMNS})
        joined = extra.reindex(meta["source"].to_numpy())
        for c in joined.columns:
            meta[c] = joined[c].fillna("").to_numpy(dtype=object)
    order = ["clip_id", "source", "pack", "license", "window", "start_tick", "rotation", "bpm",
             "time_signature", "n_onsets", "dropped_toms", "dropped_other", "merged_notes",
             "drum_channel", "content_hash"]  # fmt: skip
    meta = meta[
        [c for c in order if c in meta.columns] + [c for c in meta.columns if c not in order]
    ]
    for c in ("window", "n_onsets", "dropped_toms", "dropped_other", "merged_notes"):
        if c in meta:
            meta[c] = meta[c].astype(np.int32)

    # -- write ------------------------------------------------------------------------
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        digests = {
            "clips.parquet": write_parquet(
                clips_to_table(velocity, offset, meta), tmp_dir / "clips.parquet"
            ),
            "manifest.parquet": write_parquet(
                pa.Table.from_pandas(manifest, preserve_index=False).replace_schema_metadata(None),
                tmp_dir / "manifest.parquet",
            ),
            "dedupe.parquet": write_parquet(
                pa.Table.from_pandas(dedupe_table, preserve_index=False).replace_schema_metadata(
                    None
                ),
                tmp_dir / "dedupe.parquet",
            ),
        }
        status_counts = {s: int((manifest["status"] == s).sum()) for s in STATUSES}
        not_ok = manifest[manifest["status"] != "ok"]
        reason_counts = {str(k): int(v) for k, v in not_ok["code"].value_counts().items()}
        clips_per_pack = {str(k): int(v) for k, v in meta["pack"].value_counts().items()}
        licences = {str(k): int(v) for k, v in manifest["license"].value_counts().items()}
        excluded_packs = sorted(set(manifest.loc[manifest["status"] == "excluded", "pack"]))
        kinds = dedupe_table["kind"].value_counts()
        report = IngestReport(
            out_dir=out_dir,
            n_files=len(files),
            status_counts=status_counts,
            reason_counts=reason_counts,
            n_clips=len(meta),
            n_windows=int(manifest["n_windows"].sum()),
            n_near_empty=int(manifest["near_empty_windows"].sum()),
            n_exact_duplicates=int(kinds.get("exact", 0)),
            n_near_duplicates=int(kinds.get("near", 0)),
            clips_per_pack=clips_per_pack,
            licences=licences,
            excluded_packs=excluded_packs,
            pack_by=resolved_pack_by,
        )
        from technorhythm import __version__

        write_json(
            {
                "format": FORMAT,
                "schema_version": SCHEMA_VERSION,
                "created_by": f"technorhythm {__version__}",
                "parser": f"symusic {_symusic_version()}",
                "input": str(root.resolve()),
                "metadata_csv": metadata_path.name if metadata_path else None,
                "options": {
                    "ingest": config.to_dict(),
                    "dedupe": asdict(dedupe),
                    "pack_by": resolved_pack_by,
                    "default_license": default_license,
                },
                "counts": {
                    "files": len(files),
                    "status": status_counts,
                    "reasons": reason_counts,
                    "clips": report.n_clips,
                    "windows": report.n_windows,
                    "near_empty_windows": report.n_near_empty,
                    "exact_duplicates": report.n_exact_duplicates,
                    "near_duplicates": report.n_near_duplicates,
                    "packs": len(clips_per_pack),
                },
                "clips_per_pack": clips_per_pack,
                "excluded_packs": excluded_packs,
                "files": digests,
            },
            tmp_dir / "dataset.json",
        )
        _check_out_dir(out_dir)
        _publish(tmp_dir, out_dir)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    return report
