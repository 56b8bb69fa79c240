"""Near-duplicate detection: same answer as checking every candidate pair, linear memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest

from technorhythm.corpus.dedupe import DedupeConfig, _minhash, find_duplicates, jaccard


def _pairwise_reference(velocity, file_id, config: DedupeConfig) -> pd.DataFrame:
    """The specification, by brute force over every candidate pair (quadratic memory).

    A clip is removed as a duplicate of the earliest kept clip that shares an LSH band
    with it and has Jaccard >= threshold (different file in scope across-files).
    """
    n = len(velocity)
    files = pd.factorize(pd.Series(file_id))[0]
    across = config.scope == "across-files"
    removed = np.full(n, -1)
    kind = np.empty(n, object)
    sim = np.zeros(n)
    if config.exact:
        from technorhythm.corpus.dedupe import onset_hash

        codes = pd.factorize(pd.Series(onset_hash(velocity)))[0]
        first = np.unique(codes, return_index=True)[1][codes]
        dup = files != files[first] if across else first != np.arange(n)
        removed[dup], kind[dup], sim[dup] = first[dup], "exact", 1.0
    alive = np.flatnonzero(removed < 0)
    bits = (velocity[alive] > 0).reshape(len(alive), -1)
    sig = _minhash(bits, config.n_bands * config.rows_per_band, config.seed)
    bands = sig.reshape(len(alive), config.n_bands, config.rows_per_band)
    kept = []
    for j in range(len(alive)):
        share = [i for i in kept if (bands[i] == bands[j]).all(axis=1).any()]
        if across:
            share = [i for i in share if files[alive[i]] != files[alive[j]]]
        s = jaccard(bits[share], np.repeat(bits[j : j + 1], len(share), 0)) if share else []
        hits = [i for i, v in zip(share, s, strict=True) if v >= config.near_threshold]
        if hits:
            i = min(hits)
            removed[alive[j]], kind[alive[j]] = alive[i], "near"
            sim[alive[j]] = s[share.index(i)]
        else:
            kept.append(j)
    idx = np.flatnonzero(removed >= 0)
    return pd.DataFrame(
        {"index": idx, "duplicate_of": removed[idx], "kind": kind[idx].astype(str),
         "similarity": sim[idx]}
    )  # fmt: skip


def _corpus(rng, n_files=12, per_file=6, n_base=5, flips=3):
    """Clips of a few base patterns with a few cells flipped; some repeated within a file,
    some copied from an earlier file."""
    base = rng.random((n_base, 5, 64)) < 0.25
    clips, files = [], []
    for f in range(n_files):
        for k in range(per_file):
            b = base[rng.integers(n_base)].copy()
            if k % 3 == 2 and clips and files[-1] == f:
                b = clips[-1] > 0  # the file repeats its previous clip
            elif k == 4 and f > 0:
                b = clips[rng.integers(len(clips))] > 0  # a copy from another file
            else:
                cells = rng.integers(0, 320, flips)
                b.reshape(-1)[cells] ^= True
            clips.append(np.where(b, rng.integers(1, 128, (5, 64)), 0).astype(np.uint8))
            files.append(f)
    return np.stack(clips), np.array([f"f{f:02d}.mid" for f in files])


@pytest.mark.parametrize("scope", ["across-files", "corpus"])
@pytest.mark.parametrize("exact", [True, False])
@pytest.mark.parametrize("threshold", [0.8, 0.9, 1.0])
def test_same_answer_as_every_candidate_pair(scope, exact, threshold):
    rng = np.random.default_rng(7)
    velocity, files = _corpus(rng)
    config = DedupeConfig(exact=exact, near_threshold=threshold, scope=scope, n_bands=8,
                          rows_per_band=4)  # fmt: skip
    got = find_duplicates(velocity, files, config)
    want = _pairwise_reference(velocity, files, config)
    assert len(want) > 5  # the corpus has duplicates to find
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_memory_is_linear_for_one_loop_repeated_thousands_of_times():
    """4000 identical clips in one file and 4000 in another: no pair list is ever built."""
    rng = np.random.default_rng(1)
    loop = np.where(rng.random((5, 64)) < 0.3, 100, 0).astype(np.uint8)
    other = loop.copy()
    other[0, 1] = 0 if other[0, 1] else 100  # one cell differs: near, not exact
    velocity = np.concatenate([np.repeat(loop[None], 4000, 0), np.repeat(other[None], 4000, 0)])
    files = np.repeat(["a.mid", "b.mid"], 4000)
    tracemalloc.start()
    out = find_duplicates(velocity, files)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # a file repeating its own loop is data; the other file's copies are near-duplicates
    assert len(out) == 4000 and (out["kind"] == "near").all()
    assert set(out["index"]) == set(range(4000, 8000))
    assert set(out["duplicate_of"]) == {0}
    assert peak < 40 * 2**20  # all 4000² × 16 band pairs took gigabytes
