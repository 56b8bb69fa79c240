"""A small fit folder with known answers: two packs drawn from known populations, written as
MIDI, ingested like any corpus, and fitted (with the whole corpus as ``all``) by an oracle."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from population_oracle import EDGE, SIZES, STEADY, PopulationOracle, population_pack

from technorhythm.corpus import ingest
from technorhythm.corpus.dedupe import DedupeConfig
from technorhythm.midi import write_midi
from technorhythm.posteriors import fit_groups, save_fit


@pytest.fixture(scope="session")
def dataset_dir(tmp_path_factory):
    """An ingested dataset of the two packs (no deduplication; ingest still rejects a loop with
    too few onsets, so a pack may hold fewer loops than it was drawn with)."""
    root = tmp_path_factory.mktemp("corpus")
    for seed, (pack, (loc, spread)) in enumerate([("edge", EDGE), ("steady", STEADY)]):
        clips, _ = population_pack(loc, spread, SIZES[pack], seed=seed + 1, pack=pack)
        for i in range(len(clips)):
            write_midi(clips[i : i + 1], root / "midi" / pack / f"loop_{i:03d}.mid")
    ingest(
        root / "midi",
        root / "dataset",
        dedupe=DedupeConfig(exact=False, near_threshold=None),
        progress=False,
    )
    return root / "dataset"


@pytest.fixture(scope="session")
def fit_dir(dataset_dir, tmp_path_factory):
    """The oracle's fit of the packs (fit order: edge, steady, all) with ``--add-all``."""
    oracle = PopulationOracle([EDGE, STEADY, STEADY])
    result = fit_groups(
        dataset_dir,
        estimator=oracle,
        by="pack",
        add_all=True,
        n_samples=300,
        seed=3,
        velocities="network",  # the oracle answers for every knob
        timing="network",
        onsets="network",
        kicks="network",
    )
    out = tmp_path_factory.mktemp("fit") / "fit"
    save_fit(result, out, dataset=str(dataset_dir), forest=False)
    return out


@pytest.fixture(scope="session")
def steady(fit_dir):
    from technorhythm.generation import load_pack

    return load_pack(fit_dir, "steady")


@pytest.fixture
def rows_equal():
    def check(a, b):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))

    return check


_HOLDER = """
import sys, time
from technorhythm.outdir import folder_lock
with folder_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def hold_lock():
    """``hold_lock(folder)`` has another process take the folder's write lock (as a running
    command would) and returns its pid; the process is killed after the test."""
    procs: list[subprocess.Popen] = []

    def hold(path) -> int:
        proc = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(path)], stdout=subprocess.PIPE, text=True
        )
        procs.append(proc)
        assert proc.stdout.readline().strip() == "locked"
        return proc.pid

    yield hold
    for proc in procs:
        proc.kill()
        proc.wait()
        proc.stdout.close()
