"""Fitting groups of real clips with the population model: ``fit_groups``.

A dataset (or any :class:`~technorhythm.clips.ClipBatch` with metadata) is cut into groups
— packs, styles, splits or everything at once. Each group is a population of loops
(:mod:`technorhythm.inference.population`): the amortised
:class:`~technorhythm.inference.PopulationEstimator` gives the posterior of its
hyperparameters ψ (a location and a spread per knob) from the group's set observation
(:func:`technorhythm.inference.set_summaries.observe_population_sets`), and every loop's
own knobs θ_i under partial pooling, draw for draw. Whether loops generated from the
posterior measure like the group is the job of :mod:`technorhythm.posteriors.checks`.

The work runs in named phases: :func:`group_clips` (which clips form which group),
:func:`observe_groups` (x per group), :func:`draw_hyper` (ψ draws) and
:func:`draw_loops` (per-loop draws). Loops belong to the groups of the partition; the
extra ``"all"`` group of ``add_all`` (the whole corpus as one population) has ψ draws
and no loops of its own.

Set sizes beyond the training range follow the explicit ``n_cap`` policy of
:func:`technorhythm.inference.observe.effective_n`: without ``n_cap`` such a group is an
error; with it the estimator is conditioned on ``min(N, n_cap)`` clips (a deliberately
tempered posterior). ``n_conditioned`` records what was used.

Randomness: every group's draws derive from ``(seed, group name)`` alone, so a pack gets
the same posterior whichever other packs are fitted alongside it.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from technorhythm.clips import ClipBatch
from technorhythm.inference.hit_blocks import (
    BLOCKS,
    READ_CHOICES,
    blocks_to_read,
    drawn_knobs,
    pack_reads,
    pack_views,
    read_blocks,
    replace_block,
    source_files,
)

__all__ = [
    "BY_CHOICES",
    "SPLITS",
    "VELOCITY_CHOICES",
    "FitResult",
    "GroupFit",
    "Grouping",
    "draw_hyper",
    "draw_loops",
    "fit_groups",
    "group_clips",
    "group_seed",
    "observe_groups",
    "model_identity",
]

BY_CHOICES: tuple[str, ...] = ("pack", "style", "split", "all")
"""Ways to group clips; all but ``"all"`` name a column of the clips' metadata."""
SPLITS: tuple[str, ...] = ("train", "valid", "test")
VELOCITY_CHOICES: tuple[str, ...] = READ_CHOICES
"""How a fit reads the velocity, timing and onset knobs (see :func:`fit_groups`)."""
MISSING_LABEL = "(missing)"


@dataclass(frozen=True)
class GroupFit:
    """The posterior of one group.

    Attributes
    ----------
    name : group label (pack, style, split name or ``"all"``).
    n_clips : clips in the group; ``n_conditioned``: the set size given to the estimator.
    x_obs : set observation (D,).
    hyper : hyperparameter draws (n_samples, 2K), knob units (locations, then spreads).
    loops : per-loop knob draws (n_samples, B, K), draw d conditioned on ``hyper[d]``;
        None when the group owns no loops (the extra ``"all"`` group) or they were not drawn.
    clip_ids : ``clip_id`` of the group's clips (empty when the clips carry none).
    loop_ids : ids of the loops in ``loops`` (clip ids, or ``<group>/<row>`` without them).
    reads : knob values read from each of the group's clips (n_clips, K), in ``clip_ids``
        order, NaN where not read (:func:`technorhythm.inference.hit_blocks.pack_reads`);
        None when the fit read no knobs from the hits (both blocks by the network). New loops
        take their velocity and timing knobs from these (:class:`PopulationPredictive`).
    read_se : the reads' standard errors (n_clips, K), or None with ``reads``.
    """

    name: str
    n_clips: int
    n_conditioned: int
    x_obs: np.ndarray
    hyper: np.ndarray
    loops: np.ndarray | None = None
    clip_ids: tuple[str, ...] = ()
    loop_ids: tuple[str, ...] = ()
    reads: np.ndarray | None = None
    read_se: np.ndarray | None = None


@dataclass(frozen=True)
class FitResult:
    """Everything a fit produced; :func:`technorhythm.posteriors.report.save_fit` writes it.

    ``skipped`` lists groups that were not fitted (too few clips, unlabelled clips) with
    the reason, so every clip is accounted for. ``timing`` holds seconds per stage.
    """

    by: str
    split: str | None
    knob_names: tuple[str, ...]
    summary_names: tuple[str, ...]
    groups: tuple[GroupFit, ...]
    skipped: pd.DataFrame
    model: dict[str, Any]
    options: dict[str, Any]
    timing: dict[str, float] = field(default_factory=dict)

    def group_names(self) -> list[str]:
        return [g.name for g in self.groups]

    def n_clips_fitted(self) -> int:
        """Distinct clips that took part (the extra ``add_all`` group is not counted twice)."""
        if self.options.get("add_all") and self.by != "all":
            return int(self.groups[-1].n_clips)
        return int(sum(g.n_clips for g in self.groups))

    def to_inference_data(self, *, loops: bool = True):
        """All groups as one InferenceData (group and loop coordinates), via the adapter.

        ``loops=False`` leaves the per-loop draws out (hyperparameters only: much smaller).
        """
        from technorhythm.posteriors.arviz_adapter import to_inference_data

        owners = [g for g in self.groups if g.loops is not None] if loops else []
        loops = np.concatenate([g.loops for g in owners], axis=1) if owners else None
        readers = [g for g in self.groups if g.reads is not None]
        return to_inference_data(
            np.stack([g.hyper for g in self.groups]),
            self.group_names(),
            by=self.by,
            knob_names=self.knob_names,
            loops=loops,
            loop_ids=[i for g in owners for i in g.loop_ids] if owners else None,
            loop_groups=[g.name for g in owners for _ in g.loop_ids] if owners else None,
            n_clips=[g.n_clips for g in self.groups],
            n_conditioned=[g.n_conditioned for g in self.groups],
            x_obs=np.stack([g.x_obs for g in self.groups]),
            summary_names=self.summary_names,
            model_hash=self.model.get("model_hash", ""),
            reads=np.concatenate([g.reads for g in readers]) if readers else None,
            read_se=np.concatenate([g.read_se for g in readers]) if readers else None,
            read_groups=[g.name for g in readers for _ in range(len(g.reads))],
            attrs={"split": self.split or "", "seed": int(self.options["seed"])},
        )

    def groups_table(self) -> pd.DataFrame:
        """One row per group: ``group``, ``n_clips``, ``n_conditioned``."""
        return pd.DataFrame(
            {
                "group": self.group_names(),
                "n_clips": [g.n_clips for g in self.groups],
                "n_conditioned": [g.n_conditioned for g in self.groups],
            }
        )

    def members(self) -> pd.DataFrame:
        """One row per (group, clip): the clips each group was fitted on."""
        rows = [(g.name, cid) for g in self.groups for cid in g.clip_ids]
        return pd.DataFrame(rows, columns=["group", "clip_id"])


def model_identity(estimator) -> dict[str, Any]:
    """What identifies the estimator: manifest hash, version hash, weights SHA-256, budget;
    and the calibration of the misspecification verdict the model carries, if any."""
    import json

    manifest = getattr(estimator, "manifest_", None)
    if manifest:
        blob = json.dumps(manifest, sort_keys=True, default=str).encode()
        out = {
            "model_hash": hashlib.sha256(blob).hexdigest()[:16],
            "version_hash": manifest.get("versions", {}).get("version_hash", ""),
            "weights_sha256": {
                k: v.get("sha256", "") for k, v in manifest.get("networks", {}).items()
            },
            "n_simulations": manifest.get("n_sets"),
        }
    else:
        out = {
            "model_hash": "unsaved",
            "version_hash": "",
            "weights_sha256": {},
            "n_simulations": getattr(estimator, "n_sets_", None),
        }
    calibration = getattr(estimator, "verdict_calibration_", None)
    if calibration:
        out["verdict_calibration"] = calibration
    return out


def _training_n_max(estimator) -> int:
    """Largest set size the estimator was trained on (from its data reference)."""
    from technorhythm.inference.observe import N_MAX

    ref = getattr(estimator, "data_reference_", None) or {}
    for holder in (ref, ref.get("plan") or {}, ref.get("training_plan") or {}):
        n_range = holder.get("n_range") if isinstance(holder, dict) else None
        if n_range:
            return int(n_range[1])
    return N_MAX


def group_seed(seed: int, name: str, stream: int) -> int:
    """A 63-bit seed from (seed, group name, stream)."""
    key = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:4], "little")
    ss = np.random.SeedSequence(int(seed), spawn_key=(key, stream))
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def _labels(batch: ClipBatch, by: str, split: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Group label of every clip (str array) and the mask of clips taking part."""
    meta = batch.meta
    use = np.ones(len(batch), dtype=bool)
    if split is not None:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
        if "split" not in meta or meta["split"].isna().all():
            raise ValueError(
                "the dataset has no split assignment; run `technorhythm split DATASET` first "
                "or leave out --split"
            )
        use &= (meta["split"] == split).to_numpy()
    if by == "all":
        return np.full(len(batch), "all", dtype=object), use
    if by not in BY_CHOICES:
        raise ValueError(f"by must be one of {', '.join(BY_CHOICES)}; got {by!r}")
    if by not in meta or meta[by].isna().all():
        hint = " (run `technorhythm split DATASET` first)" if by == "split" else ""
        raise ValueError(f"the clips have no {by!r} metadata to group by{hint}")
    labels = meta[by].astype(object).where(meta[by].notna(), MISSING_LABEL)
    return labels.astype(str).to_numpy(dtype=object), use


@dataclass(frozen=True)
class Grouping:
    """Which clips of a batch form which group.

    ``names`` and ``members`` (row indices into the batch) are aligned; ``skipped`` lists
    the groups and clips that take no part, with the reason.
    """

    names: tuple[str, ...]
    members: tuple[np.ndarray, ...]
    skipped: pd.DataFrame

    @property
    def sizes(self) -> np.ndarray:
        return np.array([len(m) for m in self.members], dtype=np.int64)


def group_clips(
    batch: ClipBatch,
    *,
    by: str = "pack",
    split: str | None = None,
    min_clips: int = 1,
    add_all: bool = False,
) -> Grouping:
    """Cut ``batch`` into groups by a metadata column (see :func:`fit_groups`)."""
    labels, use = _labels(batch, by, split)
    names, codes, counts = np.unique(labels[use], return_inverse=True, return_counts=True)
    skipped_rows = []
    if split is not None:
        skipped_rows.append(
            {
                "group": f"(not in split {split})",
                "n_clips": int((~use).sum()),
                "reason": "filtered out by --split",
            }
        )
    keep = (counts >= min_clips) & (names != MISSING_LABEL)
    for n, c in zip(names[~keep], counts[~keep], strict=True):
        reason = "clips without a label" if n == MISSING_LABEL else f"fewer than {min_clips} clips"
        skipped_rows.append({"group": str(n), "n_clips": int(c), "reason": reason})
    if not keep.any():
        raise ValueError(
            f"no group to fit: {int(use.sum())} clips selected, grouped by {by!r}, "
            f"none with at least {min_clips} clips"
        )
    idx_used = np.flatnonzero(use)
    group_names = [str(n) for n in names[keep]]
    members = [idx_used[codes == c] for c in np.flatnonzero(keep)]
    if add_all and by != "all":
        if "all" in group_names:
            raise ValueError("a group is already named 'all'; cannot add the whole set as 'all'")
        group_names.append("all")
        members.append(idx_used)
    skipped = pd.DataFrame(skipped_rows, columns=["group", "n_clips", "reason"])
    return Grouping(tuple(group_names), tuple(members), skipped)


def observe_groups(
    batch: ClipBatch,
    grouping: Grouping,
    *,
    n_cap: int | None,
    n_max: int,
    features: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Set observation (G, D) of every group and the set size each is conditioned on (G,).

    ``features`` (len(batch), F): the clips' per-loop features, when already computed.
    """
    from technorhythm.inference.observe import effective_n
    from technorhythm.inference.set_summaries import observe_population_sets

    xs = []
    # groups of a partition go through one call; the extra 'all' on its own
    parts = [list(range(len(grouping.names)))]
    if len(grouping.names) > 1 and grouping.names[-1] == "all":
        parts = [parts[0][:-1], [len(grouping.names) - 1]]
    for part in parts:
        idx = np.concatenate([grouping.members[g] for g in part])
        ids = np.repeat(np.arange(len(part)), [len(grouping.members[g]) for g in part])
        f = None if features is None else features[idx]
        xs.append(
            observe_population_sets(
                batch[idx], ids, n_sets=len(part), n_cap=n_cap, n_max=n_max, features=f
            )
        )
    x = np.concatenate(xs)
    return x, effective_n(grouping.sizes, n_cap=n_cap, n_max=n_max)


def draw_hyper(
    estimator, x: np.ndarray, names: tuple[str, ...], *, n_samples: int, seed: int
) -> list[np.ndarray]:
    """``n_samples`` hyperparameter draws (n_samples, 2K) per group; seeds from (seed, name)."""
    return [
        estimator.sample_hyper(row[None], n_samples, seed=group_seed(seed, name, 0))[:, 0]
        for row, name in zip(x, names, strict=True)
    ]


def draw_loops(
    estimator,
    features: np.ndarray,
    hyper: np.ndarray,
    name: str,
    *,
    seed: int,
    threads: int | None = None,
    columns: np.ndarray | None = None,
) -> np.ndarray:
    """Per-loop knob draws (S, B, K) of one group's loops (features (B, F)), given its ψ draws.

    ``columns``: the knobs needed from the network (None: all; the others may come back
    NaN). ``threads`` and ``columns`` are passed on only when given (estimators without the
    options still work)."""
    extra = {} if threads is None else {"threads": threads}
    if columns is not None:
        extra["columns"] = columns
    return estimator.sample_loops(features, hyper, seed=group_seed(seed, name, 1), **extra)


def _owns_loops(grouping: Grouping, g: int, add_all: bool) -> bool:
    """Loops belong to the partition's groups, not to the extra whole-corpus group."""
    return not (add_all and grouping.names[g] == "all" and g == len(grouping.names) - 1)


def _loop_ids(ids: np.ndarray | None, name: str, members: np.ndarray) -> tuple[str, ...]:
    if ids is not None:
        return tuple(ids[members])
    return tuple(f"{name}/{int(m)}" for m in members)


def _as_batch(data) -> ClipBatch:
    if isinstance(data, str | os.PathLike):
        from technorhythm.corpus import load_dataset

        data = load_dataset(data)
    batch = getattr(data, "clips", data)
    if not isinstance(batch, ClipBatch):
        raise TypeError(
            f"expected a Dataset, a dataset folder or a ClipBatch; got {type(data).__name__}"
        )
    return batch


def _block_views(reads: dict, rows, clusters, hyper, population) -> dict:
    """Each block's reads of a group's loops (``rows`` of the used clips' reads) as the group
    is read (:func:`~technorhythm.inference.hit_blocks.pack_views`; the kick block's given
    the group's ψ draws ``hyper``, the velocity block's kicks given the kick block's base
    pulses)."""
    own = {block: block_reads[rows] for block, block_reads in reads.items()}
    return pack_views(own, clusters, hyper, population)


def _network_columns(views: dict, population) -> np.ndarray:
    """The knob columns that no block draws for the group (``views``:
    :func:`_block_views`): those its per-loop draws take from the network."""
    read = np.zeros(population.n_knobs, dtype=bool)
    for block, view in views.items():
        cols = np.array([population.names.index(k) for k in BLOCKS[block]])
        read[cols[drawn_knobs(view)]] = True
    return np.flatnonzero(~read)


def _read_blocks(hyper, loops, views: dict, population, seed: int, name: str, clusters):
    """Group ``name``'s ψ and per-loop draws with every block of ``views`` (block → the
    group's reads, :func:`_block_views`) read from its hits, and the group's reads as knob
    values and their standard errors (:func:`~technorhythm.inference.hit_blocks.pack_reads`,
    the blocks' columns together). Each block draws from its own stream (:func:`group_seed`
    2, 3, …, in :data:`~technorhythm.inference.hit_blocks.BLOCKS` order), so a block's draws
    do not depend on which other blocks are read."""
    n_loops = len(next(iter(views.values())))  # every view holds the group's loops
    combined = np.full((n_loops, population.n_knobs), np.nan)
    combined_se = np.full_like(combined, np.nan)
    for block, group_reads in views.items():
        stream = 2 + list(BLOCKS).index(block)
        hyper, loops = replace_block(
            hyper,
            loops,
            group_reads,
            population,
            np.random.default_rng(group_seed(seed, name, stream)),
            clusters=clusters,
            knobs=BLOCKS[block],
            copy=False,  # the group's own draws, made for it by draw_loops
        )
        values, se = pack_reads(group_reads, population, BLOCKS[block])
        read = ~np.isnan(values)  # the blocks' columns do not overlap
        combined[read], combined_se[read] = values[read], se[read]
    return hyper, loops, combined, combined_se


@dataclass(frozen=True)
class _Observed:
    """What the network sees of a fit's clips: ``used`` (the batch rows of some group),
    the per-loop ``features`` (len(batch), F; zeros for rows of no group), the groups' set
    observations ``x`` (G, D) and conditioning sizes ``n_conditioned`` (G,), and the
    summaries' ``summary_names``."""

    used: np.ndarray
    features: np.ndarray
    x: np.ndarray
    n_conditioned: np.ndarray
    summary_names: tuple[str, ...]


def _observe(batch: ClipBatch, grouping: Grouping, estimator, *, n_cap, n_max) -> _Observed:
    """The observation phase of :func:`fit_groups`: per-loop features of the clips that
    belong to a group, and each group's set observation, checked against the estimator."""
    from technorhythm.inference.set_summaries import loop_features, set_feature_names

    used = np.unique(np.concatenate(grouping.members))
    features_used = loop_features(batch[used])
    features = np.zeros((len(batch), features_used.shape[1]))
    features[used] = features_used
    x, n_cond = observe_groups(batch, grouping, n_cap=n_cap, n_max=n_max, features=features)
    summary_names = set_feature_names()
    if len(summary_names) != x.shape[1] or x.shape[1] != estimator.x_dim_:
        raise ValueError(
            f"observations have {x.shape[1]} entries, the installed summaries define "
            f"{len(summary_names)} and the estimator expects {estimator.x_dim_}: the "
            "estimator and the installed summaries disagree; retrain it"
        )
    return _Observed(used, features, x, n_cond, tuple(summary_names))


@dataclass(frozen=True)
class _Reads:
    """The blocks' reads of the used clips (block → reads, rows in ``used`` order),
    ``row_of`` (len(batch),: each batch row's row of the reads, −1 for rows of no group),
    each clip's source file ``files`` (None: not named) and clip ids ``ids`` (None)."""

    reads: dict
    row_of: np.ndarray
    files: np.ndarray | None
    ids: np.ndarray | None


def _read_hits(batch: ClipBatch, used: np.ndarray, blocks) -> _Reads:
    """The reading phase of :func:`fit_groups`: every block's per-loop reads of the clips
    that belong to a group, read once for all groups."""
    used_batch = batch[used] if blocks else None
    reads = read_blocks(tuple(blocks), used_batch) if blocks else {}
    row_of = np.full(len(batch), -1)
    row_of[used] = np.arange(len(used))
    ids = batch.meta["clip_id"].astype(str).to_numpy() if "clip_id" in batch.meta else None
    return _Reads(reads, row_of, source_files(batch), ids)


@dataclass(frozen=True)
class _Run:
    """What every group of one :func:`fit_groups` call shares."""

    estimator: Any
    observed: _Observed
    hits: _Reads
    seed: int
    threads: int | None


def _fit_group(run: _Run, grouping: Grouping, g: int, hyper: np.ndarray, own: bool) -> GroupFit:
    """Group ``g``'s posterior from its ψ draws ``hyper``: its loops' draws (when it
    ``own``s loops) from the network for the knobs no block reads, then every block read
    from its hits (:func:`_read_blocks`)."""
    name, members = grouping.names[g], grouping.members[g]
    hits, population = run.hits, run.estimator.population
    loops_g, reads_g, se_g = None, None, None
    clusters = None if hits.files is None else hits.files[members]
    views = _block_views(hits.reads, hits.row_of[members], clusters, hyper, population)
    if own:  # the network's draws of the knobs no block reads for this group
        columns = _network_columns(views, population) if views else None
        features = run.observed.features[members]
        loops_g = draw_loops(
            run.estimator, features, hyper, name, seed=run.seed, threads=run.threads,
            columns=columns,
        )  # fmt: skip
    if views:
        hyper, loops_g, reads_g, se_g = _read_blocks(
            hyper, loops_g, views, population, run.seed, name, clusters
        )
    if loops_g is not None and np.isnan(loops_g).any():
        raise RuntimeError(f"group {name!r}: a knob of its loops was drawn by nothing")
    return GroupFit(
        name=name,
        n_clips=int(len(members)),
        n_conditioned=int(run.observed.n_conditioned[g]),
        x_obs=run.observed.x[g],
        hyper=hyper,
        loops=loops_g,
        clip_ids=tuple(hits.ids[members]) if hits.ids is not None else (),
        loop_ids=_loop_ids(hits.ids, name, members) if own else (),
        reads=reads_g,
        read_se=se_g,
    )


def fit_groups(
    data,
    *,
    estimator,
    by: str = "pack",
    split: str | None = None,
    n_samples: int = 400,
    seed: int = 0,
    n_cap: int | None = None,
    min_clips: int = 1,
    add_all: bool = False,
    loops: bool = True,
    threads: int | None = None,
    velocities: str = "likelihood",
    timing: str = "likelihood",
    onsets: str = "likelihood",
    kicks: str = "likelihood",
) -> FitResult:
    """Population posterior of every group of clips in ``data`` (a Dataset or a ClipBatch).

    Parameters
    ----------
    data : technorhythm.corpus.Dataset, dataset folder (str or path) or ClipBatch
        Clips with metadata columns ``pack``/``style``/``split`` as needed by ``by``.
    estimator : technorhythm.inference.PopulationEstimator
        A trained (or loaded) population estimator.
    by : {"pack", "style", "split", "all"}
    split : {"train", "valid", "test"}, optional
        Only use clips of this split.
    n_samples : int
        Posterior draws per group (hyperparameters, and per-loop knobs draw for draw).
    seed : int
        Master seed; see the module docstring.
    n_cap : int, optional
        Condition groups larger than the training range on ``n_cap`` clips (tempered
        posterior). None refuses such groups with an explanation.
    min_clips : int
        Groups with fewer clips are skipped (reported in ``skipped``).
    add_all : bool
        Also fit every selected clip as one extra group named ``"all"`` (the whole corpus
        as one population beside its packs; needs ``n_cap`` beyond the training range).
    loops : bool
        Draw every loop's own knobs (partial pooling). False keeps hyperparameters only.
    threads : int, optional
        torch threads for drawing the loops' knobs (None: the model's setting, 1). The draws
        agree across thread counts to float32 rounding (about 1e-7), and are the same bytes
        for the same count.
    velocities : {"likelihood", "network"}
        How the velocity knobs (the four levels, ``accent``, the three jitters) are read:
        from the hits through their closed-form likelihood
        (:mod:`technorhythm.inference.velocity_block`), or from the set summaries by the
        network like every other knob.
    timing : {"likelihood", "network"}
        The same for the timing knobs (``swing_16``, ``humanize_ms``, ``push_ms``,
        ``hat_push_ms``; :mod:`technorhythm.inference.timing_block`).
    onsets : {"likelihood", "network"}
        The same for the onset knobs of the snare, hats and cymbals (``backbeat``,
        ``snare_ghosts``, the three hat knobs, both open-hat knobs, ``ride``, ``crash``;
        :mod:`technorhythm.inference.onset_block`).
    kicks : {"likelihood", "network"}
        The same for the kick's base pulses and extra kicks (``kick_pulses``,
        ``kick_extra``, ``kick_late``; :mod:`technorhythm.inference.kick_block`), read given
        the network's ``variation`` of the group.
    """
    batch = _as_batch(data)
    for name, value in (("n_samples", n_samples), ("min_clips", min_clips)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1; got {value!r}")
    blocks = blocks_to_read(velocities, timing, onsets, kicks)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    grouping = group_clips(batch, by=by, split=split, min_clips=min_clips, add_all=add_all)
    n_max = _training_n_max(estimator)
    observed = _observe(batch, grouping, estimator, n_cap=n_cap, n_max=n_max)
    seconds["observe_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    hyper = draw_hyper(estimator, observed.x, grouping.names, n_samples=n_samples, seed=seed)
    seconds["sample_hyper_s"] = time.perf_counter() - t1
    t_read = time.perf_counter()
    hits = _read_hits(batch, observed.used, blocks)
    seconds["read_hits_s"] = time.perf_counter() - t_read
    t2 = time.perf_counter()
    run = _Run(estimator, observed, hits, seed=seed, threads=threads)
    fits = [
        _fit_group(run, grouping, g, hyper[g], own=loops and _owns_loops(grouping, g, add_all))
        for g in range(len(grouping.names))
    ]
    seconds["sample_loops_s"] = time.perf_counter() - t2
    seconds["total_s"] = time.perf_counter() - t0
    options = {
        "n_samples": int(n_samples),
        "seed": int(seed),
        "n_cap": n_cap,
        "n_max": int(n_max),
        "min_clips": int(min_clips),
        "add_all": bool(add_all),
        "loops": bool(loops),
        "threads": threads,
        "velocities": velocities,
        "timing": timing,
        "onsets": onsets,
        "kicks": kicks,
    }
    return FitResult(
        by=by,
        split=split,
        knob_names=tuple(estimator.theta_names),
        summary_names=observed.summary_names,
        groups=tuple(fits),
        skipped=grouping.skipped,
        model=model_identity(estimator),
        options=options,
        timing=seconds,
    )
