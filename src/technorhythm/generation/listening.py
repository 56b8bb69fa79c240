"""Listening-test sets for one fitted group: :func:`build_listening_set`, :func:`write_listening`.

A MUSHRA-style test of "does this sound like the pack?". It has ``items`` trials; each
trial has an open **reference**, a loop of the pack, and these blinded test items:

``hidden_reference``  the reference itself again (a listener should rate it 100)
``real``              another loop of the pack: how alike the pack's own loops are
``gen``               a loop generated from the group's posterior (spread 1)
``ablated``           the same loop with one knob held at its registry default while the
                      others keep their posterior draw; one per identified knob
``randomized``        a loop with knobs from the uniform prior: the anchor

Identified knobs are those whose location hyperparameter contracts by at least
``min_contraction`` in the identifiability table
(:func:`technorhythm.posteriors.identification_table`). Real loops are the group's own clips
rendered through the same built-in synth. Every item is 4 bars at one tempo and is brought
to one integrated loudness (:func:`technorhythm.simulator.audio.match_loudness`).

Trial ``t``'s gen loop is loop ``t`` of ``technorhythm generate --from-fit`` with the same
seed and tempo; its ablated and randomized loops reuse that loop's simulator seed (common
random numbers), so they differ from it only through their knobs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from technorhythm.generation.fitted import PackPosterior
from technorhythm.generation.loops import generate_from_pack
from technorhythm.generation.sampling import hold_knobs
from technorhythm.simulator.knobs import KNOB_NAMES, get_knob

__all__ = [
    "CONDITIONS",
    "ListeningItem",
    "ListeningSet",
    "build_listening_set",
    "identified_knobs",
    "key_table",
]

CONDITIONS: tuple[str, ...] = (
    "reference",
    "hidden_reference",
    "real",
    "gen",
    "ablated",
    "randomized",
)
"""Conditions of a trial, in ``key.csv`` (``reference`` is the open one)."""
BARS = 4


@dataclass(frozen=True)
class ListeningItem:
    """One audio item: its trial (1-based), condition, ablated knob ("" otherwise), source
    (clip id, ``posterior`` or ``prior``), knobs θ (None for real loops), simulator seed
    (None for real loops) and mono samples at the synth's sample rate."""

    trial: int
    condition: str
    knob: str
    source: str
    theta: np.ndarray | None
    sim_seed: int | None
    samples: np.ndarray


@dataclass(frozen=True)
class ListeningSet:
    """Every item of a listening test, loudness-matched, with what produced them."""

    items: tuple[ListeningItem, ...]
    input_lufs: np.ndarray
    gain_db: np.ndarray
    target_lufs: float
    ablated: pd.DataFrame
    options: dict[str, Any] = field(default_factory=dict)

    def trials(self) -> list[int]:
        return sorted({item.trial for item in self.items})


def identified_knobs(
    pack: PackPosterior, *, min_contraction: float = 0.9, max_knobs: int | None = None
) -> pd.DataFrame:
    """Knobs the group's data identifies: ``knob``, ``contraction`` (of the knob's location),
    ``default``, sorted by contraction (strongest first), at most ``max_knobs``."""
    if not 0.0 <= float(min_contraction) <= 1.0:
        raise ValueError(f"min_contraction must be in [0, 1]; got {min_contraction!r}")
    table = pack.identification()
    loc = table[table["param"] == "loc"][["knob", "contraction"]]
    loc = loc[loc["contraction"] >= float(min_contraction)]
    loc = loc.sort_values("contraction", ascending=False, kind="stable")
    if max_knobs is not None:
        if isinstance(max_knobs, bool) or int(max_knobs) < 0:
            raise ValueError(f"max_knobs must be a non-negative integer; got {max_knobs!r}")
        loc = loc.head(int(max_knobs))
    loc = loc.assign(default=[get_knob(k).default for k in loc["knob"]])
    return loc.reset_index(drop=True)


def _streams(seed: int, group: str, stream: int) -> np.random.Generator:
    from technorhythm.posteriors import group_seed

    return np.random.default_rng(group_seed(int(seed), group, stream))


def _real_pairs(pack: PackPosterior, items: int, seed: int, data) -> tuple[Any, np.ndarray]:
    """The group's clips and 2·items distinct rows: references, then real test items."""
    real = pack.real_clips(data)
    if len(real) < 2 * items:
        raise ValueError(
            f"group {pack.group!r} has {len(real)} clips; {items} trials need {2 * items} "
            f"(a reference and a real item each): use --items {len(real) // 2} or fewer"
        )
    return real, _streams(seed, pack.group, 42).permutation(len(real))[: 2 * items]


def _tempo(real, bpm: float | None) -> float:
    if bpm is None:
        return float(np.round(np.median(real.bpm), 1))
    value = float(bpm)
    if not (math.isfinite(value) and 20.0 <= value <= 400.0):
        raise ValueError(f"bpm must be in [20, 400]; got {bpm!r}")
    return value


def _render(clips, bpm: float) -> np.ndarray:
    from technorhythm.simulator.audio import synthesize

    return synthesize(clips, bpm=bpm, n_steps=BARS * 16)


def _simulated(theta: np.ndarray, sim_seed: int, bpm: float) -> np.ndarray:
    from technorhythm.simulator.render import generate_loops

    loop = generate_loops(theta, seed=sim_seed, n_loops=1, bars=BARS, bpm=bpm)[0]
    return _render(loop.clips, bpm)


def _real_items(trial: int, real, ids, ref: int, other: int, bpm: float) -> list[ListeningItem]:
    """The open reference, the hidden reference (the same audio) and the Real item."""
    ref_audio = _render(real[ref : ref + 1], bpm)
    return [
        ListeningItem(trial, "reference", "", ids[ref], None, None, ref_audio),
        ListeningItem(trial, "hidden_reference", "", ids[ref], None, None, ref_audio),
        ListeningItem(
            trial, "real", "", ids[other], None, None, _render(real[other : other + 1], bpm)
        ),
    ]


def _simulated_items(
    trial: int, gen, t: int, ablated: pd.DataFrame, anchor: np.ndarray, bpm: float
) -> list[ListeningItem]:
    """Gen (loop ``t`` of ``gen``), one Ablated item per knob, and the Randomized anchor; all
    on the gen loop's simulator seed."""
    theta, sim_seed = gen.theta[t], gen.sim_seeds[t]
    out = [
        ListeningItem(
            trial, "gen", "", "posterior", theta, sim_seed, _render(gen.loops[t].clips, bpm)
        )
    ]
    for knob, default in zip(ablated["knob"], ablated["default"], strict=True):
        held = hold_knobs(theta[None], {knob: default})[0]
        audio = _simulated(held, sim_seed, bpm)
        out.append(ListeningItem(trial, "ablated", knob, "posterior", held, sim_seed, audio))
    audio = _simulated(anchor, sim_seed, bpm)
    out.append(ListeningItem(trial, "randomized", "", "prior", anchor, sim_seed, audio))
    return out


def build_listening_set(
    pack: PackPosterior,
    *,
    items: int = 8,
    seed: int = 0,
    bpm: float | None = None,
    min_contraction: float = 0.9,
    max_ablated: int | None = None,
    target_lufs: float = -16.0,
    data=None,
) -> ListeningSet:
    """Render every item of a listening test of ``pack`` (see the module docstring).

    ``bpm`` defaults to the group's median tempo; ``data`` is the dataset the fit was made
    from (default: the one the fit records).
    """
    from technorhythm.inference.prior import sample_prior
    from technorhythm.simulator.audio import match_loudness

    if isinstance(items, bool) or not isinstance(items, int) or items < 1:
        raise ValueError(f"items must be a positive integer; got {items!r}")
    real, rows = _real_pairs(pack, items, seed, data)
    tempo = _tempo(real, bpm)
    ablated = identified_knobs(pack, min_contraction=min_contraction, max_knobs=max_ablated)
    gen = generate_from_pack(pack, items, seed=seed, bars=BARS, bpm=tempo)
    prior_rng = _streams(seed, pack.group, 41)
    ids = real.meta["clip_id"].astype(str).to_numpy()
    out: list[ListeningItem] = []
    for t in range(items):
        ref, other = int(rows[t]), int(rows[items + t])
        out += _real_items(t + 1, real, ids, ref, other, tempo)
        anchor = sample_prior(1, prior_rng)[0]
        out += _simulated_items(t + 1, gen, t, ablated, anchor, tempo)
    matched = match_loudness([i.samples for i in out], target_lufs=target_lufs)
    out = [
        ListeningItem(i.trial, i.condition, i.knob, i.source, i.theta, i.sim_seed, s)
        for i, s in zip(out, matched.samples, strict=True)
    ]
    options = {
        "group": pack.group,
        "seed": int(seed),
        "items": int(items),
        "bpm": tempo,
        "bars": BARS,
        "min_contraction": float(min_contraction),
        "max_ablated": max_ablated,
        "target_lufs": float(target_lufs),
    }
    return ListeningSet(
        tuple(out),
        matched.input_lufs,
        matched.gain_db,
        matched.target_lufs,
        ablated,
        options,
    )


def key_table(lset: ListeningSet, files: list[str]) -> pd.DataFrame:
    """``key.csv``: one row per item file: trial, condition, knob, source, loudness, θ."""
    rows = []
    for item, name, lufs, gain in zip(
        lset.items, files, lset.input_lufs, lset.gain_db, strict=True
    ):
        row: dict[str, Any] = {
            "file": name,
            "trial": item.trial,
            "condition": item.condition,
            "anchor": item.condition == "randomized",
            "knob": item.knob,
            "source": item.source,
            "sim_seed": "" if item.sim_seed is None else str(item.sim_seed),
            "input_lufs": lufs,
            "gain_db": gain,
        }
        for k, name_k in enumerate(KNOB_NAMES):
            row[name_k] = np.nan if item.theta is None else float(item.theta[k])
        rows.append(row)
    return pd.DataFrame(rows)
