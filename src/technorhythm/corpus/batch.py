"""Dispatch per-file work to isolated worker processes, locally or on a Dask cluster.

:func:`run_files` returns one result dict per file, in input order, whatever the
number of workers. Locally, ``workers`` threads each drive one isolated worker
process (:class:`~technorhythm.corpus.guard.IsolatedRunner`) and take small
batches of files from a shared queue; the threads only wait on pipes, the work
happens in the worker processes, which die with this process. With a Dask
``scheduler``, chunks of files run as Dask tasks (joblib's Dask backend), each
driving its own isolated worker on the Dask worker's machine.
"""

from __future__ import annotations

import math
import os
import queue
import threading
from collections.abc import Callable

from technorhythm.corpus.config import IngestConfig
from technorhythm.corpus.file_job import FileResult
from technorhythm.corpus.guard import IsolatedRunner

__all__ = ["ingest_chunk", "make_batches", "run_files"]

_BATCH = 64  # files per request to a local worker: small, for an even load


def ingest_chunk(root: str, rels: list[str], config: IngestConfig) -> list[FileResult]:
    """Dask task: process a chunk of files in one isolated worker process."""
    runner = IsolatedRunner(config)
    try:
        return runner.run([os.path.join(root, rel) for rel in rels])
    finally:
        runner.close()


def make_batches(items: list[str], size: int) -> list[list[str]]:
    """``items`` cut into consecutive lists of at most ``size``."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def _serve(runner: IsolatedRunner, root: str, tasks: queue.Queue, done: queue.Queue,
           stop: threading.Event) -> None:  # fmt: skip
    try:
        while not stop.is_set():
            try:
                k, batch = tasks.get_nowait()
            except queue.Empty:
                break
            done.put((k, runner.run([os.path.join(root, rel) for rel in batch])))
    except BaseException as exc:  # reported to the main thread, which re-raises it
        done.put((None, exc))
    finally:
        runner.close()


def _run_local(root: str, batches: list[list[str]], config: IngestConfig, workers: int,
               advance: Callable[[int], None]) -> list[list[FileResult]]:  # fmt: skip
    tasks: queue.Queue = queue.Queue()
    for k, batch in enumerate(batches):
        tasks.put((k, batch))
    done: queue.Queue = queue.Queue()
    stop = threading.Event()
    runners = [IsolatedRunner(config) for _ in range(min(workers, len(batches)))]
    threads = [
        threading.Thread(target=_serve, args=(r, root, tasks, done, stop), daemon=True)
        for r in runners
    ]
    for t in threads:
        t.start()
    out: list[list[FileResult]] = [[] for _ in batches]
    try:
        for _ in batches:
            k, result = done.get()
            if k is None:
                raise result
            out[k] = result
            advance(len(result))
    finally:
        stop.set()
        for r in runners:
            r.kill()
        for t in threads:
            t.join(timeout=30)
    return out


def _run_dask(root: str, rels: list[str], config: IngestConfig, scheduler: str,
              advance: Callable[[int], None]) -> list[list[FileResult]]:  # fmt: skip
    from joblib import Parallel, delayed, parallel_config

    from technorhythm.dask_support import dask_client

    n_chunks = max(1, math.ceil(len(rels) / 2000))
    chunks = make_batches(rels, math.ceil(len(rels) / n_chunks))
    out = []
    with dask_client(scheduler), parallel_config(backend="dask"):
        tasks = [delayed(ingest_chunk)(root, chunk, config) for chunk in chunks]
        for result in Parallel(n_jobs=-1, return_as="generator")(tasks):
            out.append(result)
            advance(len(result))
    return out


def run_files(
    root: str,
    rels: list[str],
    config: IngestConfig,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = False,
) -> list[FileResult]:
    """One :class:`~technorhythm.corpus.file_job.FileResult` per path in ``rels``, in order."""
    from tqdm.auto import tqdm

    if not rels:
        return []
    bar = tqdm(total=len(rels), unit="file", desc="ingest", disable=not progress)
    try:
        if scheduler:
            parts = _run_dask(root, rels, config, scheduler, bar.update)
        else:
            parts = _run_local(root, make_batches(rels, _BATCH), config, workers, bar.update)
    finally:
        bar.close()
    results = [r for part in parts for r in part]
    for rel, r in zip(rels, results, strict=True):
        r.path = rel
    return results
