"""Fitting groups of real clips with a trained estimator: ``fit_groups``.

A dataset (or any :class:`~technorhythm.clips.ClipBatch` with metadata) is cut into groups
— packs, styles, splits or everything at once — and each group becomes one observation
x (:func:`technorhythm.inference.observe.observe_sets`: summaries + set size). The amortised
estimator then gives every group's posterior in milliseconds. Per group the result holds
posterior samples and the clips that took part; whether loops generated from the
posterior measure like the group is the job of :mod:`technorhythm.posteriors.checks`.

The work runs in named phases: :func:`group_clips` (which clips form which group),
:func:`observe_groups` (x per group) and :func:`draw_posteriors` (posterior draws).

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

__all__ = [
    "BY_CHOICES",
    "SPLITS",
    "FitResult",
    "GroupFit",
    "Grouping",
    "draw_posteriors",
    "fit_groups",
    "group_clips",
    "group_seed",
    "observe_groups",
    "model_identity",
]

BY_CHOICES: tuple[str, ...] = ("pack", "style", "split", "all")
"""Ways to group clips; all but ``"all"`` name a column of the clips' metadata."""
SPLITS: tuple[str, ...] = ("train", "valid", "test")
MISSING_LABEL = "(missing)"


@dataclass(frozen=True)
class GroupFit:
    """The posterior of one group.

    Attributes
    ----------
    name : group label (pack, style, split name or ``"all"``).
    n_clips : clips in the group; ``n_conditioned``: the set size given to the estimator.
    x_obs : observation (S + 1,).
    samples : posterior draws (n_samples, K), knob units.
    clip_ids : ``clip_id`` of the group's clips (empty when the clips carry none).
    """

    name: str
    n_clips: int
    n_conditioned: int
    x_obs: np.ndarray
    samples: np.ndarray
    clip_ids: tuple[str, ...] = ()


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

    def to_inference_data(self):
        """All groups as one InferenceData (group coordinate), via the ArviZ adapter."""
        from technorhythm.posteriors.arviz_adapter import to_inference_data

        return to_inference_data(
            np.stack([g.samples for g in self.groups]),
            self.group_names(),
            by=self.by,
            knob_names=self.knob_names,
            n_clips=[g.n_clips for g in self.groups],
            n_conditioned=[g.n_conditioned for g in self.groups],
            x_obs=np.stack([g.x_obs for g in self.groups]),
            summary_names=self.summary_names,
            model_hash=self.model.get("model_hash", ""),
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
            "weights_sha256": manifest.get("weights", {}).get("sha256", ""),
            "n_simulations": manifest.get("training", {}).get("n_simulations"),
        }
    else:
        out = {
            "model_hash": "unsaved",
            "version_hash": "",
            "weights_sha256": "",
            "n_simulations": getattr(estimator, "n_simulations_", None),
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


def _draw(estimator, x: np.ndarray, n: int, *, seeds: list[int]) -> list[np.ndarray]:
    """``n`` posterior draws (n, K) for every row of ``x`` (G, D), one call per group.

    One ``sample`` call per group (the estimator's own torch thread setting applies); see
    docs/inference.md for the measured alternatives.
    """
    return [estimator.sample(row, n, seed=s) for row, s in zip(x, seeds, strict=True)]


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
    batch: ClipBatch, grouping: Grouping, *, n_cap: int | None, n_max: int
) -> tuple[np.ndarray, np.ndarray]:
    """x (G, S + 1) of every group and the set size each is conditioned on (G,)."""
    from technorhythm.inference.observe import effective_n, observe_sets

    xs = []
    # groups of a partition go through observe_sets in one call; the extra 'all' on its own
    parts = [list(range(len(grouping.names)))]
    if len(grouping.names) > 1 and grouping.names[-1] == "all":
        parts = [parts[0][:-1], [len(grouping.names) - 1]]
    for part in parts:
        idx = np.concatenate([grouping.members[g] for g in part])
        ids = np.repeat(np.arange(len(part)), [len(grouping.members[g]) for g in part])
        xs.append(observe_sets(batch[idx], ids, n_sets=len(part), n_cap=n_cap, n_max=n_max))
    x = np.concatenate(xs)
    return x, effective_n(grouping.sizes, n_cap=n_cap, n_max=n_max)


def draw_posteriors(
    estimator, x: np.ndarray, names: tuple[str, ...], *, n_samples: int, seed: int
) -> list[np.ndarray]:
    """``n_samples`` posterior draws (n_samples, K) per group; seeds from (seed, name)."""
    seeds = [group_seed(seed, name, 0) for name in names]
    return _draw(estimator, x, n_samples, seeds=seeds)


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


def fit_groups(
    data,
    *,
    estimator,
    by: str = "pack",
    split: str | None = None,
    n_samples: int = 1000,
    seed: int = 0,
    n_cap: int | None = None,
    min_clips: int = 1,
    add_all: bool = False,
) -> FitResult:
    """Posterior of every group of clips in ``data`` (a Dataset or a ClipBatch).

    Parameters
    ----------
    data : technorhythm.corpus.Dataset, dataset folder (str or path) or ClipBatch
        Clips with metadata columns ``pack``/``style``/``split`` as needed by ``by``.
    estimator : technorhythm.inference.PosteriorEstimator
        A trained (or loaded) estimator.
    by : {"pack", "style", "split", "all"}
    split : {"train", "valid", "test"}, optional
        Only use clips of this split.
    n_samples : int
        Posterior draws per group.
    seed : int
        Master seed; see the module docstring.
    n_cap : int, optional
        Condition groups larger than the training range on ``n_cap`` clips (tempered
        posterior). None refuses such groups with an explanation.
    min_clips : int
        Groups with fewer clips are skipped (reported in ``skipped``).
    add_all : bool
        Also fit every selected clip as one extra group named ``"all"`` (the whole corpus
        beside its packs, in one pass; needs ``n_cap`` for corpora beyond the training range).
    """
    from technorhythm.inference.observe import N_FEATURE_NAME
    from technorhythm.summaries import SUMMARY_NAMES

    batch = _as_batch(data)
    for name, value in (("n_samples", n_samples), ("min_clips", min_clips)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1; got {value!r}")
    timing: dict[str, float] = {}
    t0 = time.perf_counter()
    grouping = group_clips(batch, by=by, split=split, min_clips=min_clips, add_all=add_all)
    n_max = _training_n_max(estimator)
    x_all, n_cond = observe_groups(batch, grouping, n_cap=n_cap, n_max=n_max)
    summary_names = (*SUMMARY_NAMES, N_FEATURE_NAME)
    if len(summary_names) != x_all.shape[1]:
        raise ValueError(
            f"observations have {x_all.shape[1]} entries but the summaries define "
            f"{len(summary_names)}; the estimator and the installed summaries disagree"
        )
    timing["observe_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    samples = draw_posteriors(estimator, x_all, grouping.names, n_samples=n_samples, seed=seed)
    timing["sample_s"] = time.perf_counter() - t1
    timing["total_s"] = time.perf_counter() - t0
    ids = batch.meta["clip_id"].astype(str).to_numpy() if "clip_id" in batch.meta else None
    fits = tuple(
        GroupFit(
            name=name,
            n_clips=int(len(members)),
            n_conditioned=int(n_cond[g]),
            x_obs=x_all[g],
            samples=samples[g],
            clip_ids=tuple(ids[members]) if ids is not None else (),
        )
        for g, (name, members) in enumerate(zip(grouping.names, grouping.members, strict=True))
    )
    return FitResult(
        by=by,
        split=split,
        knob_names=tuple(estimator.theta_names),
        summary_names=summary_names,
        groups=fits,
        skipped=grouping.skipped,
        model=model_identity(estimator),
        options={
            "n_samples": int(n_samples),
            "seed": int(seed),
            "n_cap": n_cap,
            "n_max": int(n_max),
            "min_clips": int(min_clips),
            "add_all": bool(add_all),
        },
        timing=timing,
    )
