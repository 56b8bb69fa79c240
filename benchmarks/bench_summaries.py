"""Benchmark: per-clip features and set-level summaries of 100 000 clips.

Run: ``.venv/bin/python benchmarks/bench_summaries.py [--clips 100000] [--sets 1000]``

Clips come from the simulator with one random θ per clip (uniform over the knob
ranges), so densities and timing vary like in a training set. Measures (best of
``--repeat`` runs):

* ``clip_features`` on all clips (target: 100 000 clips in ≤ 2 s);
* ``summarize_sets`` on all clips grouped into ``--sets`` sets;
* a baseline: a straightforward per-clip implementation of the same additive
  statistics (dense 0/1 arrays and ``np.roll``, one clip at a time) followed by
  the same ``features_from_stats``, timed on ``--baseline-clips`` clips and
  scaled. The baseline also cross-checks the vectorised core (max abs difference).

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from technorhythm.clips import N_STEPS, step_ms
from technorhythm.simulator import simulate
from technorhythm.simulator.knobs import KNOBS
from technorhythm.summaries import clip_features, summarize_sets
from technorhythm.summaries.core import (
    ACF_LAGS,
    COOC_LAGS,
    N_STATS,
    STAT_BLOCKS,
    VELOCITY_BINS,
    clip_stats,
)
from technorhythm.summaries.features import features_from_stats


def naive_clip_stats(v: np.ndarray, o: np.ndarray, bpm: float) -> np.ndarray:
    """The statistics of one clip ``(5, 64)``, written the obvious way (baseline)."""
    x = (v > 0).astype(np.int64)
    steps = np.arange(N_STEPS)
    out: dict[str, np.ndarray] = {"clips": np.array([1.0])}
    out["n"] = x.sum(axis=1)
    out["n_off8"] = x[:, steps % 4 == 2].sum(axis=1)
    out["n_off16"] = x[:, steps % 2 == 1].sum(axis=1)
    out["n_snare_backbeat"] = np.array([x[1, (steps % 16 == 4) | (steps % 16 == 12)].sum()])
    out["n_cymbal_downbeat"] = np.array([x[4, steps % 16 == 0].sum()])
    bars = x.reshape(5, 4, 16)
    out["n_bar_repeat"] = np.array([sum(np.array_equal(bars[:, k], bars[:, 0]) for k in (1, 2, 3))])
    vi = v.astype(np.int64)
    out["vsum"] = vi.sum(axis=1)
    out["vsq"] = (vi**2).sum(axis=1)
    hist = np.zeros(VELOCITY_BINS)
    for value in v[v > 0]:
        hist[value >> 4] += 1
    out["vhist"] = hist
    out["n_beat"] = np.array([x[:, steps % 4 == 0].sum()])
    out["vsum_beat"] = np.array([vi[:, steps % 4 == 0].sum()])
    ng2 = []
    for i in range(5):
        nxt, nxt2 = np.roll(x[i], -1), np.roll(x[i], -2)
        for a, b in ((0, 0), (0, 1), (1, 0), (1, 1)):
            ng2.append(((x[i] == a) & (nxt == b) & (nxt2 == 1)).sum())
    out["ng2"] = np.array(ng2)
    out["acf"] = np.array([(x[i] * np.roll(x[i], -k)).sum() for i in range(5) for k in ACF_LAGS])
    hat = np.maximum(x[2], x[3])
    out["cooc_hat"] = np.array([(x[0] * np.roll(hat, -d)).sum() for d in COOC_LAGS])
    out["cooc_snare"] = np.array([(x[0] * np.roll(x[1], -d)).sum() for d in COOC_LAGS])
    o = o.astype(np.float64)
    ms = float(step_ms(bpm))
    out["osum"] = o.sum(axis=1)
    out["osum_ms"] = o.sum(axis=1) * ms
    odd, even = o[:, 1::2], o[:, 0::2]
    for suffix, scale in (("", 1.0), ("_ms", ms)):
        out["o_odd" + suffix] = np.array([odd.sum() * scale])
        out["o_even" + suffix] = np.array([even.sum() * scale])
        out["oq_odd" + suffix] = np.array([(odd**2).sum() * scale**2])
        out["oq_even" + suffix] = np.array([(even**2).sum() * scale**2])
    row = np.concatenate([np.asarray(out[name], dtype=np.float64) for name, _ in STAT_BLOCKS])
    assert row.shape == (N_STATS,)
    return row


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=100_000)
    parser.add_argument("--sets", type=int, default=1000)
    parser.add_argument("--baseline-clips", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    lows = np.array([k.low for k in KNOBS])
    highs = np.array([k.high for k in KNOBS])
    theta = lows + (highs - lows) * rng.random((args.clips, len(KNOBS)))
    t = time.perf_counter()
    batch = simulate(theta, seed=args.seed)
    t_sim = time.perf_counter() - t
    n_onsets = int(batch.onsets.sum())
    print(
        f"simulated {len(batch)} clips ({n_onsets / len(batch):.1f} onsets/clip) in {t_sim:.2f} s"
    )

    t_feat = best_of(args.repeat, lambda: clip_features(batch))
    print(
        f"clip_features: {len(batch)} clips in {t_feat:.3f} s = {len(batch) / t_feat:,.0f} clips/s"
    )

    groups = rng.integers(0, args.sets, len(batch))
    groups[: args.sets] = np.arange(args.sets)
    t_sets = best_of(args.repeat, lambda: summarize_sets(batch, groups))
    print(
        f"summarize_sets: {len(batch)} clips in {args.sets} sets in {t_sets:.3f} s "
        f"= {len(batch) / t_sets:,.0f} clips/s"
    )

    nb = min(args.baseline_clips, len(batch))
    sub = batch[:nb]

    def baseline() -> np.ndarray:
        rows = [naive_clip_stats(sub.velocity[i], sub.offset[i], sub.bpm[i]) for i in range(nb)]
        return features_from_stats(np.stack(rows))

    t = time.perf_counter()
    naive = baseline()
    t_base = time.perf_counter() - t
    max_diff = float(np.abs(naive - clip_features(sub)).max())
    stats_diff = float(
        np.abs(
            np.stack(
                [naive_clip_stats(sub.velocity[i], sub.offset[i], sub.bpm[i]) for i in range(50)]
            )
            - clip_stats(sub.velocity[:50], sub.offset[:50], sub.bpm[:50])
        ).max()
    )
    base_rate = nb / t_base
    print(
        f"baseline (per-clip loop): {nb} clips in {t_base:.3f} s = {base_rate:,.0f} clips/s "
        f"(scaled to {len(batch)} clips: {len(batch) / base_rate:.1f} s); "
        f"max |difference| features {max_diff:.2e}, stats {stats_diff:.2e}"
    )
    result = {
        "clips": len(batch),
        "sets": args.sets,
        "features_seconds": round(t_feat, 4),
        "features_clips_per_s": round(len(batch) / t_feat),
        "summarize_sets_seconds": round(t_sets, 4),
        "summarize_sets_clips_per_s": round(len(batch) / t_sets),
        "baseline_clips_per_s": round(base_rate),
        "speedup_features_vs_baseline": round(len(batch) / t_feat / base_rate, 1),
        "speedup_sets_vs_baseline": round(len(batch) / t_sets / base_rate, 1),
        "baseline_max_abs_diff": max_diff,
        "target_features_100k_le_2s": bool(t_feat * 100_000 / len(batch) <= 2.0),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
