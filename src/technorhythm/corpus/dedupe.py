"""Exact and near-duplicate detection over canonical clips.

*Exact*: :func:`onset_hash` hashes the onset mask (``velocity > 0``, 5×64 bits)
minimised over all 64 cyclic step rotations, so the same pattern started on
another step hashes alike; velocities and microtiming are ignored.

*Near*: MinHash LSH over the set of onset cells (instrument, step) of each
canonical clip. A clip's candidates are the earlier *kept* clips that share a band
(``rows`` equal MinHash values) with it; each candidate is verified by the exact
Jaccard similarity ``|A ∩ B| / |A ∪ B|``, and a candidate at or above
``threshold`` makes the clip a near-duplicate. With the defaults (128 hashes in
16 bands of 8) a pair at Jaccard 0.9 becomes a candidate with probability
``1 - (1 - 0.9**8)**16 > 0.9999``; at 0.8, 0.98; candidates are always verified
exactly, so no pair below the threshold is ever removed.

Memory grows linearly with the number of clips, whatever their content: pairs are
never listed. Clips with the same onset set in the same file are decided once (the
decision cannot differ between them); each band keeps, per bucket, the list of kept
clips in it, filled as clips are decided in batch order; a clip that shares no
bucket with an earlier clip is kept without a look. The result is the same as
verifying every candidate pair and removing greedily in batch order.

Which clip survives is deterministic: clips are ranked by their order in the
batch (ingest sorts by source path and window); a later clip is removed as a
duplicate of the earliest kept clip it matches. With ``scope="across-files"``
(the ingest default) only clips of *different* source files can be
duplicates: a performance repeating its own groove is data, the same loop in two
files or packs is not.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from technorhythm.clips import N_INSTRUMENTS, N_STEPS

__all__ = ["DedupeConfig", "onset_hash", "find_duplicates", "jaccard"]

_SCOPES = ("across-files", "corpus")
_CHUNK = 4096  # clips per step of the chunked computations
_BLOCK = 512  # representatives decided together
_BLOCK_PAIRS = 2_000_000  # candidate pairs verified at once, at most (~100 MB)


@dataclass(frozen=True)
class DedupeConfig:
    """Duplicate detection options.

    Parameters
    ----------
    exact : bool
        Remove exact duplicates (same rotation-invariant onset hash).
    near_threshold : float or None
        Jaccard similarity of onset sets at or above which two clips are
        near-duplicates; ``None`` disables near-duplicate removal.
    n_bands, rows_per_band : int
        LSH banding of ``n_bands * rows_per_band`` MinHash values.
    scope : {"across-files", "corpus"}
        ``across-files`` ignores matches between windows of the same file.
    seed : int
        Seed of the MinHash permutations (fixed so results are reproducible).
    """

    exact: bool = True
    near_threshold: float | None = 0.9
    n_bands: int = 16
    rows_per_band: int = 8
    scope: str = "across-files"
    seed: int = 20240611

    def __post_init__(self) -> None:
        if self.near_threshold is not None and not 0.0 < self.near_threshold <= 1.0:
            raise ValueError(f"near_threshold must be in (0, 1] or None; got {self.near_threshold}")
        if self.n_bands < 1 or self.rows_per_band < 1:
            raise ValueError("n_bands and rows_per_band must be >= 1")
        if self.scope not in _SCOPES:
            raise ValueError(f"scope must be one of {_SCOPES}; got {self.scope!r}")


def _row_words(onsets: np.ndarray) -> np.ndarray:
    """(B, 5, 64) bool → (B, 5) uint64: bit 63 is step 0 of each instrument row."""
    packed = np.packbits(onsets, axis=-1)  # (B, 5, 8) uint8, big-endian bit order
    return np.ascontiguousarray(packed).view(">u8")[..., 0].astype(np.uint64)


def onset_hash(velocity: np.ndarray) -> np.ndarray:
    """Rotation-invariant hash of each clip's onset mask, as 16 hex chars.

    The five 64-bit instrument rows are rotated together by each of the 64
    steps; the lexicographically smallest rotation is hashed (BLAKE2b, 8 bytes).
    Works through the batch in chunks, so memory does not grow with its size.

    Parameters
    ----------
    velocity : ndarray, shape (B, 5, 64)

    Returns
    -------
    ndarray of str, shape (B,)
    """
    velocity = np.asarray(velocity)
    if len(velocity) <= _CHUNK:
        return _onset_hash(velocity)
    return np.concatenate(
        [_onset_hash(velocity[i : i + _CHUNK]) for i in range(0, len(velocity), _CHUNK)]
    )


def _onset_hash(velocity: np.ndarray) -> np.ndarray:
    words = _row_words(velocity > 0)  # (B, 5)
    n = words.shape[0]
    if n == 0:
        return np.zeros(0, dtype=object)
    s = np.arange(N_STEPS, dtype=np.uint64)[None, :, None]
    w = words[:, None, :]
    # rotate left by s bits = move step s to step 0
    rotated = (w << s) | np.where(s == 0, np.uint64(0), w >> ((np.uint64(64) - s) % np.uint64(64)))
    alive = np.ones(rotated.shape[:2], bool)
    top = np.iinfo(np.uint64).max
    for k in range(N_INSTRUMENTS):  # lexicographic minimum over the 64 rotations
        col = rotated[:, :, k]
        alive &= col == np.where(alive, col, top).min(axis=1, keepdims=True)
    best = rotated[np.arange(n), alive.argmax(axis=1)]  # (B, 5)
    raw = best.astype(">u8").tobytes()
    size = 8 * N_INSTRUMENTS
    return np.array(
        [
            hashlib.blake2b(raw[i * size : (i + 1) * size], digest_size=8).hexdigest()
            for i in range(n)
        ],
        dtype=object,
    )


def jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Jaccard similarity of onset sets, row-wise; inputs (P, 320) bool."""
    inter = (a & b).sum(axis=1)
    union = (a | b).sum(axis=1)
    return np.where(union > 0, inter / np.maximum(union, 1), 1.0)


def _minhash(bits: np.ndarray, n_hash: int, seed: int) -> np.ndarray:
    """MinHash signatures (B, n_hash) of the onset cells of each row of ``bits`` (B, 320).

    Signature ``h`` of a row is the smallest rank, in the ``h``-th seeded random
    permutation of the cells, of a cell the row sets (320 when it sets none).
    Computed one cell at a time over the rows that set it: work in proportion to the
    onsets, no (onsets × n_hash) intermediate.
    """
    rng = np.random.default_rng(seed)
    n, n_cells = bits.shape
    ranks = np.argsort(rng.random((n_hash, n_cells)), axis=1).astype(np.int16)
    out = np.full((n, n_hash), n_cells, np.int16)
    by_cell = np.ascontiguousarray(np.asarray(bits, bool).T)
    rank_of_cell = np.ascontiguousarray(ranks.T)
    for cell in range(n_cells):
        rows = np.flatnonzero(by_cell[cell])
        if rows.size:
            out[rows] = np.minimum(out[rows], rank_of_cell[cell])
    return out


def _band_keys(bits_of, n: int, config: DedupeConfig) -> np.ndarray:
    """(n, n_bands) uint64 band hashes, computed ``_CHUNK`` rows at a time."""
    n_hash = config.n_bands * config.rows_per_band
    mult = np.random.default_rng(config.seed + 1).integers(
        1, 2**63, size=config.rows_per_band, dtype=np.uint64
    ) | np.uint64(1)
    keys = np.empty((n, config.n_bands), np.uint64)
    for lo in range(0, n, _CHUNK):
        sig = _minhash(bits_of(lo, min(n, lo + _CHUNK)), n_hash, config.seed)
        bands = sig.reshape(len(sig), config.n_bands, config.rows_per_band).astype(np.uint64)
        keys[lo : lo + len(sig)] = (bands * mult).sum(axis=2)  # wraps: a 64-bit band hash
    return keys


class _Buckets:
    """Per band and bucket, the kept representatives in it (flat CSR layout)."""

    def __init__(self, keys: np.ndarray) -> None:
        n, n_bands = keys.shape
        gid = np.empty((n, n_bands), np.int32)  # 16 ids per clip: int32 halves the memory
        offset = 0
        lonely = np.ones(n, bool)  # first in every one of its buckets: no candidate at all
        for b in range(n_bands):
            uniq, first, inv = np.unique(keys[:, b], return_index=True, return_inverse=True)
            gid[:, b] = inv + offset
            lonely &= first[inv] == np.arange(n)
            offset += len(uniq)
        self.gid = gid
        sizes = np.bincount(gid.ravel(), minlength=offset)
        self.start = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self.count = np.zeros(offset, np.int32)
        self.slots = np.empty(int(sizes.sum()), np.int32)
        self.lonely = lonely

    def add(self, reps: np.ndarray) -> None:
        """Record ``reps`` as kept: each joins its bucket of every band."""
        g = self.gid[reps].ravel()  # bucket ids are distinct across bands
        order = np.argsort(g, kind="stable")
        gs = g[order]
        rank = np.arange(len(gs)) - np.searchsorted(gs, gs, side="left")
        self.slots[self.start[gs] + self.count[gs] + rank] = np.repeat(reps, self.gid.shape[1])[
            order
        ]
        np.add.at(self.count, gs, 1)


def _near_representatives(words: np.ndarray, file_codes: np.ndarray):
    """Representatives: distinct (onset set, file) pairs, by first occurrence.

    Returns (first clip of each rep, rep of each clip).
    """
    key = np.concatenate([words, file_codes.astype(np.uint64)[:, None]], axis=1)
    view = np.ascontiguousarray(key).view(np.dtype((np.void, key.shape[1] * 8))).ravel()
    _, first, inverse = np.unique(view, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # reps in order of first occurrence
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return first[order], rank[inverse.ravel()]


def _popcount(words: np.ndarray) -> np.ndarray:
    """Set bits per row of an (N, 5) uint64 array."""
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return np.bitwise_count(words).sum(axis=1, dtype=np.int64)
    table = np.array([bin(i).count("1") for i in range(256)], np.int64)
    return table[np.ascontiguousarray(words).view(np.uint8)].sum(axis=1)


def _block_matches(buckets: _Buckets, block: np.ndarray, words, files, pop, across, threshold):
    """Earliest kept match (or -1) and its Jaccard for each rep of ``block``, among the
    representatives kept before the block; verification vectorised over all pairs."""
    g = buckets.gid[block]
    cnt = buckets.count[g].ravel().astype(np.int64)
    best = np.full(len(block), -1, np.int64)
    sim = np.zeros(len(block))
    total = int(cnt.sum())
    if total == 0:
        return best, sim
    first = np.repeat(buckets.start[g].ravel() - (np.cumsum(cnt) - cnt), cnt)
    mates = buckets.slots[first + np.arange(total)].astype(np.int64)
    owner = np.repeat(np.repeat(np.arange(len(block)), g.shape[1]), cnt)
    if across:
        differ = files[mates] != files[block[owner]]
        mates, owner = mates[differ], owner[differ]
    hit = _jaccard_words(words, pop, mates, block[owner]) >= threshold  # pairs may repeat
    earliest = np.full(len(block), len(words), np.int64)
    np.minimum.at(earliest, owner[hit], mates[hit])
    found = np.flatnonzero(earliest < len(words))
    best[found] = earliest[found]
    sim[found] = _jaccard_words(words, pop, best[found], block[found])
    return best, sim


def _jaccard_words(words, pop, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Jaccard similarity of the onset sets ``words[a]`` and ``words[b]``, pairwise."""
    inter = _popcount(words[a] & words[b])
    union = pop[a] + pop[b] - inter
    return np.where(union > 0, inter / np.maximum(union, 1), 1.0)


def _next_block(buckets: _Buckets, todo: np.ndarray, at: int) -> np.ndarray:
    """The next reps to decide together: up to ``_BLOCK`` of them and ``_BLOCK_PAIRS``
    candidate pairs (at least one rep), so a block's memory stays bounded."""
    window = todo[at : at + _BLOCK]
    pairs = np.cumsum(buckets.count[buckets.gid[window]].sum(axis=1, dtype=np.int64))
    return window[: max(1, int(np.searchsorted(pairs, _BLOCK_PAIRS, side="right")))]


def _decide(buckets: _Buckets, words, files, across: bool, threshold: float):
    """Keep or remove every representative, in order (see the module notes).

    Reps go in blocks: matches among reps kept before the block are verified for the
    whole block at once; matches inside the block are then settled in order.
    """
    n = len(words)
    pop = _popcount(words)
    patterns = [int.from_bytes(w.tobytes(), "little") for w in words]
    file_list, pop_list = files.tolist(), pop.tolist()
    dup, dup_sim = np.full(n, -1, np.int64), np.zeros(n)
    todo, at = np.flatnonzero(~buckets.lonely), 0
    while at < len(todo):
        block = _next_block(buckets, todo, at)
        at += len(block)
        best, sim = _block_matches(buckets, block, words, files, pop, across, threshold)
        inside: dict[int, list[int]] = {}  # bucket → reps kept earlier in this block
        kept = []
        for r, b, s, gids in zip(block.tolist(), best.tolist(), sim.tolist(),
                                 buckets.gid[block].tolist(), strict=True):  # fmt: skip
            for k in {k for g in gids for k in inside.get(g, ())}:
                if (b >= 0 and k >= b) or (across and file_list[k] == file_list[r]):
                    continue
                inter = (patterns[k] & patterns[r]).bit_count()
                union = pop_list[k] + pop_list[r] - inter
                j = inter / union if union else 1.0
                if j >= threshold:
                    b, s = k, j
            if b >= 0:
                dup[r], dup_sim[r] = b, s
            else:
                kept.append(r)
                for g in gids:
                    inside.setdefault(g, []).append(r)
        if kept:
            buckets.add(np.array(kept, np.int64))
    return dup, dup_sim


def _near(velocity, alive, file_codes, config: DedupeConfig, across: bool):
    """Near-duplicates among ``alive`` clips: (rep removed-of or -1, sim) per alive clip."""
    words = _row_words(np.asarray(velocity)[alive] > 0)
    codes = file_codes[alive] if across else np.zeros(len(alive), np.int64)
    rep_first, rep_of = _near_representatives(words, codes)
    rep_words, rep_file = words[rep_first], codes[rep_first]
    n = len(rep_first)
    src = alive[rep_first]
    keys = _band_keys(
        lambda lo, hi: (np.asarray(velocity)[src[lo:hi]] > 0).reshape(hi - lo, -1), n, config
    )
    buckets = _Buckets(keys)
    del keys
    buckets.add(np.flatnonzero(buckets.lonely))
    rep_dup, rep_sim = _decide(buckets, rep_words, rep_file, across, config.near_threshold)
    # every clip of a removed rep goes with it; in corpus scope, repeats of a kept
    # onset set within the batch are duplicates of its first clip (Jaccard 1)
    dup = np.where(rep_dup[rep_of] >= 0, rep_first[np.maximum(rep_dup[rep_of], 0)], -1)
    sim = rep_sim[rep_of]
    if not across:
        repeat = (rep_dup[rep_of] < 0) & (rep_first[rep_of] != np.arange(len(alive)))
        dup[repeat], sim[repeat] = rep_first[rep_of][repeat], 1.0
    return dup, sim


def find_duplicates(
    velocity: np.ndarray,
    file_id: np.ndarray,
    config: DedupeConfig | None = None,
    *,
    hashes: np.ndarray | None = None,
) -> pd.DataFrame:
    """Decide which clips are duplicates of earlier ones.

    Parameters
    ----------
    velocity : ndarray, shape (B, 5, 64)
        Canonical clips in their ranking order (earlier wins).
    file_id : ndarray, shape (B,)
        Source file of each clip (any hashable labels), for ``scope``.
    hashes : ndarray of str, shape (B,), optional
        Precomputed :func:`onset_hash` of ``velocity``.

    Returns
    -------
    DataFrame
        One row per removed clip: ``index`` (position in the batch),
        ``duplicate_of`` (position of the kept clip), ``kind`` ("exact"/"near"),
        ``similarity`` (Jaccard of onset sets; 1.0 for exact).
    """
    config = config or DedupeConfig()
    n = len(velocity)
    file_codes = pd.factorize(pd.Series(np.asarray(file_id)))[0]
    across = config.scope == "across-files"
    removed = np.full(n, -1, np.int64)
    kind = np.empty(n, dtype=object)
    sim = np.zeros(n)
    if config.exact and n:
        hashes = onset_hash(velocity) if hashes is None else np.asarray(hashes)
        codes = pd.factorize(pd.Series(hashes))[0]
        _, first_of_code = np.unique(codes, return_index=True)
        first = first_of_code[codes]
        # across files: a hash group's kept file is the file of its first clip
        dup = file_codes != file_codes[first] if across else first != np.arange(n)
        removed[dup] = first[dup]
        kind[dup] = "exact"
        sim[dup] = 1.0
    if config.near_threshold is not None and n:
        alive = np.flatnonzero(removed < 0)
        dup, similarity = _near(velocity, alive, file_codes, config, across)
        gone = dup >= 0
        removed[alive[gone]] = alive[dup[gone]]
        kind[alive[gone]] = "near"
        sim[alive[gone]] = similarity[gone]
    idx = np.flatnonzero(removed >= 0)
    return pd.DataFrame(
        {
            "index": idx,
            "duplicate_of": removed[idx],
            "kind": kind[idx].astype(str) if idx.size else np.array([], dtype=str),
            "similarity": sim[idx],
        }
    )
