"""Exact and near-duplicate detection over canonical clips.

*Exact*: :func:`onset_hash` hashes the onset mask (``velocity > 0``, 5×64 bits)
minimised over all 64 cyclic step rotations, so the same pattern started on
another step hashes alike; velocities and microtiming are ignored.

*Near*: MinHash LSH over the set of onset cells (instrument, step) of each
canonical clip. Candidate pairs (any band of ``rows`` MinHash values equal) are
verified by their exact Jaccard similarity ``|A ∩ B| / |A ∪ B|``; a pair at or
above ``threshold`` is a near-duplicate. With the defaults (128 hashes in 16
bands of 8) a pair at Jaccard 0.9 becomes a candidate with probability
``1 - (1 - 0.9**8)**16 > 0.9999``; at 0.8, 0.98; candidates are always verified
exactly, so no pair below the threshold is ever removed.

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

    Parameters
    ----------
    velocity : ndarray, shape (B, 5, 64)

    Returns
    -------
    ndarray of str, shape (B,)
    """
    words = _row_words(np.asarray(velocity) > 0)  # (B, 5)
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
    """MinHash signatures (B, n_hash) of the onset cells of each row of ``bits`` (B, 320)."""
    rng = np.random.default_rng(seed)
    n, n_cells = bits.shape
    ranks = np.argsort(rng.random((n_hash, n_cells)), axis=1).astype(np.int16)
    out = np.full((n, n_hash), n_cells, np.int16)
    rows, cells = np.nonzero(bits)  # row-major: grouped by row
    if rows.size == 0:
        return out
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    out[rows[starts]] = np.minimum.reduceat(np.ascontiguousarray(ranks.T)[cells], starts, axis=0)
    return out


def _band_pairs(keys: np.ndarray) -> np.ndarray:
    """All pairs (i < j) of rows with equal ``keys`` (B,), as an (P, 2) int64 array."""
    n = keys.size
    order = np.lexsort((np.arange(n), keys))
    k = keys[order]
    new = np.r_[True, k[1:] != k[:-1]]
    gstart = np.maximum.accumulate(np.where(new, np.arange(n), 0))
    r = np.arange(n) - gstart  # position within its group
    total = int(r.sum())
    if total == 0:
        return np.zeros((0, 2), np.int64)
    jpos = np.repeat(np.arange(n), r)
    ipos = gstart[jpos] + np.arange(total) - np.repeat(np.cumsum(r) - r, r)
    return np.stack([order[ipos], order[jpos]], axis=1).astype(np.int64)


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
        bits = (np.asarray(velocity)[alive] > 0).reshape(len(alive), -1)
        sig = _minhash(bits, config.n_bands * config.rows_per_band, config.seed)
        mult = np.random.default_rng(config.seed + 1).integers(
            1, 2**63, size=config.rows_per_band, dtype=np.uint64
        ) | np.uint64(1)
        found = []
        for band in range(config.n_bands):
            cols = sig[:, band * config.rows_per_band : (band + 1) * config.rows_per_band]
            keys = (cols.astype(np.uint64) * mult).sum(axis=1)  # wraps: a 64-bit band hash
            found.append(_band_pairs(keys))
        pairs = np.concatenate(found)
        code = np.unique(pairs[:, 1] * len(alive) + pairs[:, 0])  # sorted by (j, i)
        p = np.stack([code % len(alive), code // len(alive)], axis=1)
        if len(p):
            s = jaccard(bits[p[:, 0]], bits[p[:, 1]])
            ok = s >= config.near_threshold
            if across:
                ok &= file_codes[alive[p[:, 0]]] != file_codes[alive[p[:, 1]]]
            p, s = p[ok], s[ok]
            gone = np.zeros(len(alive), bool)
            for (i, j), sij in zip(p.tolist(), s.tolist(), strict=True):
                if not gone[j] and not gone[i]:
                    gone[j] = True
                    removed[alive[j]] = alive[i]
                    kind[alive[j]] = "near"
                    sim[alive[j]] = sij
    idx = np.flatnonzero(removed >= 0)
    return pd.DataFrame(
        {
            "index": idx,
            "duplicate_of": removed[idx],
            "kind": kind[idx].astype(str) if idx.size else np.array([], dtype=str),
            "similarity": sim[idx],
        }
    )
