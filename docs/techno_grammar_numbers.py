"""Numbers quoted in docs/techno_grammar.md that no CLI command prints.

Run: ``.venv/bin/python docs/techno_grammar_numbers.py /tmp/groove_ds`` (a dataset folder
written by ``technorhythm ingest /work/shared/data/groove``). Prints the tempo range, the
share of onsets on the grid, four-on-the-floor shares and the composite distance D between
Groove subsets and 1000 clips of each simulator preset.
"""

import sys

import numpy as np

from technorhythm.corpus.dataset import load_dataset
from technorhythm.simulator import load_preset, simulate
from technorhythm.summaries.distances import distance

clips = load_dataset(sys.argv[1] if len(sys.argv) > 1 else "/tmp/groove_ds").clips
on, ms = clips.onsets, clips.offset_ms
o = ms[on]
print(
    f"onsets: {on.sum()}, on the grid exactly (|offset| < 0.5 ms): {np.mean(np.abs(o) < 0.5):.3f}, "
    f"beyond ±60 ms: {np.mean(np.abs(o) > 60):.3f}, median {np.median(o):+.1f} ms, IQR "
    f"[{np.percentile(o, 25):+.1f}, {np.percentile(o, 75):+.1f}] ms"
)
kick = on[:, 0]
four = kick[:, ::4].all(axis=1)
exact = four & (kick.sum(axis=1) == 16)
print(f"clips with a kick on all 16 beats: {four.mean():.3f}; ", end="")
print(f"exactly four-on-the-floor: {exact.mean():.3f}")
bpm = clips.bpm
p10, p90 = np.percentile(bpm, [10, 90])
print(f"bpm: median {np.median(bpm):.0f}, 10-90% [{p10:.0f}, {p90:.0f}]")

style = clips.meta["style"].to_numpy()
sets = {"groove:all": clips}
for s in ("rock", "funk", "jazz", "latin", "dance"):
    sets[f"groove:{s}"] = clips[np.flatnonzero(style == s)]
names = ("default", "peak-time", "minimal", "live-kit", "broken-electro")
presets = {p: simulate(load_preset(p), 1000, seed=1) for p in names}
print("D".ljust(14), " ".join(p.rjust(15) for p in presets))
for name, batch in sets.items():
    row = " ".join(f"{distance(batch, sim, seed=0).total:15.3f}" for sim in presets.values())
    print(name.ljust(14), row)
halves = clips[np.arange(0, len(clips), 2)], clips[np.arange(1, len(clips), 2)]
r = distance(*halves, seed=0)
print(
    "groove even vs odd clips:",
    {k: round(v, 4) for k, v in r.components.items()},
    "D =",
    round(r.total, 3),
)
r = distance(clips, presets["default"], seed=0)
print(
    "groove vs default preset:",
    {k: round(v, 4) for k, v in r.components.items()},
    "D =",
    round(r.total, 3),
)
