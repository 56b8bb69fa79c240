"""Our Parquet tables (features, corpus targets): a ``kind`` tag and a schema version.

The file's schema metadata holds a JSON object under ``technorhythm`` with at least
``kind`` and ``schema``; reading refuses another kind or another schema version.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from technorhythm.atomic import atomic_write_bytes

__all__ = ["save_tagged_table", "load_tagged_table"]

_KEY = b"technorhythm"


def save_tagged_table(
    frame: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    kind: str,
    schema: int,
    info: Mapping[str, Any] | None = None,
) -> None:
    """Write ``frame`` as zstd Parquet atomically, tagged with ``kind``, ``schema`` and ``info``."""
    table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
    tag = json.dumps({"kind": kind, "schema": schema, **(info or {})}).encode()
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), _KEY: tag})
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    atomic_write_bytes(path, buf.getvalue())


def load_tagged_table(
    path: str | os.PathLike[str], *, kind: str, schema: int, label: str
) -> pd.DataFrame:
    """Read a table written by :func:`save_tagged_table`; ``label`` names the kind in errors."""
    table = pq.read_table(path)
    raw = (table.schema.metadata or {}).get(_KEY)
    info = json.loads(raw) if raw else {}
    if info.get("kind") != kind:
        raise ValueError(f"{os.fspath(path)!r} is not a technorhythm {label} table")
    if info.get("schema") != schema:
        raise ValueError(
            f"{os.fspath(path)!r} has {label} schema {info.get('schema')}; "
            f"this version reads schema {schema}"
        )
    return table.to_pandas()
