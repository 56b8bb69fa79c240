"""Batch ingestion: a folder of drum MIDI files → a dataset folder.

:func:`ingest` runs in phases, one function each:

1. **plan** — list the input (:mod:`technorhythm.corpus.scan`: every MIDI file and
   every link, FIFO, odd or unreadable entry), read the metadata CSV, assign packs
   and licences;
2. **run** — read every file into clips in isolated worker processes
   (:mod:`technorhythm.corpus.batch`, :mod:`technorhythm.corpus.guard`);
3. **assemble** — one manifest row per entry and the clip arrays, in path order
   (:mod:`technorhythm.corpus.manifest`);
4. **dedupe** — remove duplicate clips (:mod:`technorhythm.corpus.dedupe`);
5. **write** — into a staging folder that replaces the output folder atomically,
   under a lock that refuses a second writer (:mod:`technorhythm.outdir`).

Every input file ends as one manifest row; nothing a single file does can abort
the batch. Output bytes depend only on the input files and the options, never on
the number of workers.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

from technorhythm.corpus.batch import run_files
from technorhythm.corpus.config import IngestConfig
from technorhythm.corpus.dataset import (
    FORMAT,
    SCHEMA_VERSION,
    clips_to_table,
    write_json,
    write_parquet,
)
from technorhythm.corpus.dedupe import DedupeConfig
from technorhythm.corpus.manifest import STATUSES, Plan, apply_dedupe, assemble, plan_rows
from technorhythm.corpus.packs import assign_packs, read_metadata_csv
from technorhythm.corpus.scan import MIDI_SUFFIXES, scan_input
from technorhythm.outdir import replacing_folder

__all__ = ["IngestReport", "ingest", "STATUSES"]

_METADATA_NAMES = ("info.csv", "metadata.csv")
PARSER = "technorhythm.corpus.parse (Standard MIDI File reader)"


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


def _plan(root: Path, metadata, pack_by: str, default_license: str | None) -> Plan:
    entries = scan_input(root)
    inputs = [e.rel for e in entries if e.is_input]
    if not inputs:
        raise ValueError(
            f"no MIDI files ({', '.join(MIDI_SUFFIXES)}) under {str(root)!r}"
            + (f"; {len(entries)} other entries need a look" if entries else "")
        )
    table, metadata_path = _resolve_metadata(root, metadata, inputs)
    resolved = (
        ("session" if table is not None and "session" in table.columns else "folder")
        if pack_by == "auto"
        else pack_by
    )
    packs = assign_packs([e.rel for e in entries], resolved, table)
    return plan_rows(root, entries, packs, default_license, table, metadata_path, resolved)


def _report(out_dir: Path, plan: Plan, manifest: pd.DataFrame, meta, dedupe_table) -> IngestReport:
    not_ok = manifest[manifest["status"] != "ok"]
    kinds = dedupe_table["kind"].value_counts()
    return IngestReport(
        out_dir=out_dir,
        n_files=len(manifest),
        status_counts={s: int((manifest["status"] == s).sum()) for s in STATUSES},
        reason_counts={str(k): int(v) for k, v in not_ok["code"].value_counts().items()},
        n_clips=len(meta),
        n_windows=int(manifest["n_windows"].sum()),
        n_near_empty=int(manifest["near_empty_windows"].sum()),
        n_exact_duplicates=int(kinds.get("exact", 0)),
        n_near_duplicates=int(kinds.get("near", 0)),
        clips_per_pack={str(k): int(v) for k, v in meta["pack"].value_counts().items()},
        licences={
            str(k): int(v)
            for k, v in manifest.loc[manifest["license"] != "", "license"].value_counts().items()
        },
        excluded_packs=sorted(set(manifest.loc[manifest["status"] == "excluded", "pack"])),
        pack_by=plan.pack_by,
    )


def _table(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)


def _write(staging: Path, root: Path, plan: Plan, clips, manifest, dedupe_table, report,
           config: IngestConfig, dedupe: DedupeConfig, default_license) -> None:  # fmt: skip
    from technorhythm import __version__

    velocity, offset, meta = clips
    digests = {
        "clips.parquet": write_parquet(
            clips_to_table(velocity, offset, meta), staging / "clips.parquet"
        ),
        "manifest.parquet": write_parquet(_table(manifest), staging / "manifest.parquet"),
        "dedupe.parquet": write_parquet(_table(dedupe_table), staging / "dedupe.parquet"),
    }
    write_json(
        {
            "format": FORMAT,
            "schema_version": SCHEMA_VERSION,
            "created_by": f"technorhythm {__version__}",
            "parser": PARSER,
            "input": str(root.resolve())
            .encode("utf-8", "surrogateescape")
            .decode("utf-8", "backslashreplace"),
            "metadata_csv": plan.metadata_path.name if plan.metadata_path else None,
            "options": {
                "ingest": config.to_dict(),
                "dedupe": asdict(dedupe),
                "pack_by": plan.pack_by,
                "default_license": default_license,
            },
            "counts": {
                "files": report.n_files,
                "status": report.status_counts,
                "reasons": report.reason_counts,
                "clips": report.n_clips,
                "windows": report.n_windows,
                "near_empty_windows": report.n_near_empty,
                "exact_duplicates": report.n_exact_duplicates,
                "near_duplicates": report.n_near_duplicates,
                "packs": len(report.clips_per_pack),
            },
            "clips_per_pack": report.clips_per_pack,
            "excluded_packs": report.excluded_packs,
            "files": digests,
        },
        staging / "dataset.json",
    )


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
        Dataset folder; replaced atomically (a previous dataset stays intact on
        failure) while a lock refuses a second writer (:mod:`technorhythm.outdir`).
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
        Parallel worker processes; the output does not depend on it.
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:8786``); runs the work there.
    progress : bool, optional
        Show a progress bar (default: when stderr is a terminal).
    """
    config = config or IngestConfig()
    dedupe = dedupe or DedupeConfig()
    if workers < 1:
        raise ValueError(f"workers must be >= 1; got {workers}")
    root, out_dir = Path(input_dir), Path(out_dir)
    progress = sys.stderr.isatty() if progress is None else progress
    plan = _plan(root, metadata, pack_by, default_license)
    with replacing_folder(
        out_dir, lambda p: (p / "dataset.json").is_file(), what="dataset"
    ) as staging:
        results = run_files(str(root), plan.to_read, config, workers, scheduler, progress)
        manifest, clips = assemble(plan, results)
        del results  # the clip arrays now live in ``clips`` only
        manifest, clips, dedupe_table = apply_dedupe(manifest, clips, dedupe, plan.metadata)
        report = _report(out_dir, plan, manifest, clips[2], dedupe_table)
        _write(staging, root, plan, clips, manifest, dedupe_table, report, config, dedupe,
               default_license)  # fmt: skip
    return report
