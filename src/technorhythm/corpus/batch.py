"""Worker side of ingestion: pre-check, isolated parse and clip building over chunks of files.

:func:`run_chunks` runs :func:`ingest_chunk` over chunks with joblib (local
processes) or on a Dask cluster (joblib's Dask backend) and returns one result
dict per file in input order, whatever the number of workers.
"""

from __future__ import annotations

import hashlib
import math
import os
from functools import partial

from technorhythm.corpus.config import IngestConfig, MidiRejected
from technorhythm.corpus.guard import parse_isolated
from technorhythm.corpus.parse import parsed_from_arrays
from technorhythm.corpus.precheck import check_midi_bytes, end_of_track_tick
from technorhythm.corpus.read import clip_arrays

__all__ = ["ingest_chunk", "make_chunks", "run_chunks"]


def _end_of_track(root: str, rel: str) -> int:
    with open(os.path.join(root, rel), "rb") as fh:
        return end_of_track_tick(fh.read())


def _file_result(rel: str, code: str, reason: str, **extra) -> dict:
    return {"path": rel, "code": code, "reason": reason, **extra}


def ingest_chunk(root: str, rels: list[str], config: IngestConfig) -> list[dict]:
    """Worker task: pre-check, isolated parse and clip building for a chunk of files."""
    out: dict[str, dict] = {}
    to_parse: list[str] = []
    info: dict[str, dict] = {}
    for rel in rels:
        path = os.path.join(root, rel)
        try:
            size = os.path.getsize(path)
            info[rel] = {"size_bytes": size, "sha256": ""}
            if size > config.max_file_bytes:
                raise MidiRejected(
                    f"file is {size:,} bytes, over the size cap of {config.max_file_bytes:,} bytes",
                    "too-large",
                )
            with open(path, "rb") as fh:
                data = fh.read()
            info[rel]["sha256"] = hashlib.sha256(data).hexdigest()
            check_midi_bytes(data, config)
            to_parse.append(rel)
        except MidiRejected as exc:
            out[rel] = _file_result(rel, exc.code, exc.reason, **info.get(rel, {}))
        except OSError as exc:
            out[rel] = _file_result(
                rel, "unreadable", f"cannot read file: {exc}", **info.get(rel, {})
            )
    parsed = parse_isolated([os.path.join(root, r) for r in to_parse], config.parse_timeout)
    for rel, result in zip(to_parse, parsed, strict=True):
        if isinstance(result, MidiRejected):
            out[rel] = _file_result(rel, result.code, result.reason, **info[rel])
            continue
        try:
            velocity, offset, bpm, cols, stats = clip_arrays(
                parsed_from_arrays(result), config, partial(_end_of_track, root, rel)
            )
        except MidiRejected as exc:
            out[rel] = _file_result(rel, exc.code, exc.reason, **info[rel])
        except Exception as exc:  # a bug on one file must not abort the batch
            out[rel] = _file_result(
                rel, "internal-error", f"unexpected {type(exc).__name__}: {exc}", **info[rel]
            )
        else:
            out[rel] = _file_result(
                rel, "", stats.note(), **info[rel], velocity=velocity, offset=offset, bpm=bpm,
                cols=cols, stats=stats,
            )  # fmt: skip
    return [out[rel] for rel in rels]


def make_chunks(items: list[str], workers: int) -> list[list[str]]:
    if not items:
        return []
    # one isolated parser process per chunk: few, large chunks (its start-up costs ~0.2-1 s)
    n_chunks = max(workers, math.ceil(len(items) / 2000))
    size = math.ceil(len(items) / n_chunks)
    return [items[i : i + size] for i in range(0, len(items), size)]


def run_chunks(root, chunks, config, workers, scheduler, progress) -> list[dict]:
    from joblib import Parallel, delayed, parallel_config
    from tqdm.auto import tqdm

    tasks = [delayed(ingest_chunk)(str(root), chunk, config) for chunk in chunks]
    n_files = sum(len(c) for c in chunks)
    bar = tqdm(total=n_files, unit="file", desc="ingest", disable=not progress)
    results: list[dict] = []

    def collect(gen):
        for chunk_result in gen:
            results.extend(chunk_result)
            bar.update(len(chunk_result))

    try:
        if scheduler:
            from distributed import Client

            with Client(scheduler), parallel_config(backend="dask"):
                collect(Parallel(n_jobs=-1, return_as="generator")(tasks))
        else:
            collect(Parallel(n_jobs=workers, return_as="generator")(tasks))
    finally:
        bar.close()
    return results
