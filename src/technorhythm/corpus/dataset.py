"""The dataset folder written by ingestion, and :func:`load_dataset`.

Files (schema version :data:`SCHEMA_VERSION`):

``clips.parquet``
    one row per kept clip: metadata columns, then ``velocity`` as
    ``fixed_size_binary(320)`` (uint8, row-major instrument × step) and ``offset``
    as ``fixed_size_binary(1280)`` (little-endian float32, same order). Exact, compact
    (zstd compresses the many zeros) and readable from any Parquet reader:
    ``np.frombuffer(value, "<f4").reshape(5, 64)``.
``manifest.parquet``
    one row per input file or noteworthy entry: ``path``, ``status``
    (ok/rejected/duplicate/excluded/skipped), ``reason``, ``code``, ``n_clips``,
    ``pack``, ``license``, per-file counts and ``path_bytes`` (the exact file name).
``dedupe.parquet``
    one row per removed clip: ``clip_id``, ``duplicate_of``, ``kind``, ``similarity``.
``dataset.json``
    format name, schema version, options, counts and the SHA-256 of each Parquet file.
``split.json``
    written by :func:`technorhythm.corpus.split_dataset`: pack → train/valid/test.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from technorhythm.atomic import atomic_path, atomic_write_text
from technorhythm.checksums import sha256_file
from technorhythm.clips import N_INSTRUMENTS, N_STEPS, ClipBatch

__all__ = [
    "SCHEMA_VERSION",
    "FORMAT",
    "Dataset",
    "load_dataset",
    "clips_to_table",
    "write_parquet",
    "read_json",
    "write_json",
]

SCHEMA_VERSION = 1
FORMAT = "technorhythm-dataset"
_CELLS = N_INSTRUMENTS * N_STEPS


def write_parquet(table: pa.Table, path: Path) -> str:
    """Write ``table`` atomically (zstd, no timestamps) and return its SHA-256."""
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", row_group_size=1 << 16)
    return sha256_file(path)


def write_json(obj: dict, path: Path) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def read_json(path: Path) -> dict:
    """Parse a JSON file; a damaged one raises ``ValueError`` naming the file."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{str(path)!r} is not valid JSON ({exc}); re-create it") from None


def _read_parquet(path: Path) -> pa.Table:
    """Read a Parquet file of a dataset; damage is a ``ValueError`` naming the file."""
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(
            f"{str(path)!r} cannot be read as Parquet ({type(exc).__name__}: {exc}); the "
            "dataset is damaged: re-run `technorhythm ingest`"
        ) from None


def clips_to_table(velocity: np.ndarray, offset: np.ndarray, meta: pd.DataFrame) -> pa.Table:
    """Metadata columns plus the two fixed-size binary array columns."""
    n = len(velocity)
    vel = np.ascontiguousarray(velocity, dtype=np.uint8).reshape(n, _CELLS)
    off = np.ascontiguousarray(offset, dtype="<f4").reshape(n, _CELLS)
    # zero-copy: the Arrow buffers keep the numpy arrays alive
    vel_col = pa.FixedSizeBinaryArray.from_buffers(pa.binary(_CELLS), n, [None, pa.py_buffer(vel)])
    off_col = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(4 * _CELLS), n, [None, pa.py_buffer(off)]
    )
    table = pa.Table.from_pandas(meta.reset_index(drop=True), preserve_index=False)
    table = table.replace_schema_metadata(None)
    return table.append_column("velocity", vel_col).append_column("offset", off_col)


def _binary_to_array(column: pa.ChunkedArray, width: int, dtype: str, n: int) -> np.ndarray:
    arr = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if n == 0:
        return np.zeros((0, N_INSTRUMENTS, N_STEPS), dtype)
    buf = arr.buffers()[1]
    item = np.dtype(dtype).itemsize
    flat = np.frombuffer(buf, dtype=dtype, count=n * width // item, offset=arr.offset * width)
    return flat.reshape(n, N_INSTRUMENTS, N_STEPS).copy()


@dataclass(frozen=True)
class Dataset:
    """An ingested dataset: clips, manifest, dedupe table and options.

    ``clips.meta`` carries ``split`` (train/valid/test) once the dataset was split,
    else the column holds ``None``.
    """

    path: Path
    clips: ClipBatch
    manifest: pd.DataFrame
    dedupe: pd.DataFrame
    info: dict
    split: dict | None


def load_dataset(path: str | Path) -> Dataset:
    """Load a dataset folder written by :func:`technorhythm.corpus.ingest`.

    Raises
    ------
    FileNotFoundError
        When the folder or one of its files is missing.
    ValueError
        When the folder is not a technorhythm dataset, has another schema version,
        a Parquet file does not match the SHA-256 recorded in ``dataset.json``, or a
        file cannot be decoded (damaged even though its SHA-256 matches).
    """
    path = Path(path)
    info_path = path / "dataset.json"
    if not info_path.is_file():
        raise FileNotFoundError(f"{str(path)!r} is not a dataset folder (no dataset.json)")
    info = read_json(info_path)
    if info.get("format") != FORMAT:
        raise ValueError(f"{str(info_path)!r} is not a {FORMAT} description")
    if info.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(
            f"dataset schema version {info.get('schema_version')!r} is not supported "
            f"(this technorhythm reads version {SCHEMA_VERSION}); re-run `technorhythm ingest`"
        )
    if not isinstance(info.get("files"), dict):
        raise ValueError(
            f"{str(info_path)!r} lacks its 'files' record; re-run `technorhythm ingest`"
        )
    for name, digest in info["files"].items():
        if not (path / name).is_file():
            raise FileNotFoundError(
                f"{name} is missing from the dataset folder {str(path)!r}; "
                "re-run `technorhythm ingest`"
            )
        if sha256_file(path / name) != digest:
            raise ValueError(
                f"{name} in {str(path)!r} does not match the SHA-256 in dataset.json "
                "(modified or from another run); re-run `technorhythm ingest`"
            )
    table = _read_parquet(path / "clips.parquet")
    n = table.num_rows
    try:
        velocity = _binary_to_array(table.column("velocity"), _CELLS, "u1", n)
        offset = _binary_to_array(table.column("offset"), 4 * _CELLS, "<f4", n)
    except (KeyError, ValueError, pa.ArrowException) as exc:
        raise ValueError(
            f"clips.parquet in {str(path)!r} does not hold clip arrays ({exc}); "
            "re-run `technorhythm ingest`"
        ) from None
    meta = table.drop_columns(["velocity", "offset"]).to_pandas()
    split = read_json(path / "split.json") if (path / "split.json").is_file() else None
    if split is not None:
        meta["split"] = meta["pack"].map(split["assignment"])
    else:
        meta["split"] = None
    clips = ClipBatch(velocity, offset.astype(np.float32), meta["bpm"].to_numpy(), meta)
    return Dataset(
        path=path,
        clips=clips,
        manifest=_read_parquet(path / "manifest.parquet").to_pandas(),
        dedupe=_read_parquet(path / "dedupe.parquet").to_pandas(),
        info=info,
        split=split,
    )
