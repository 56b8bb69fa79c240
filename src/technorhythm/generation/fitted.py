"""One fitted group of a fit folder, ready to generate loops from: :func:`load_pack`.

A fit folder (``technorhythm fit``) holds, per group, draws of the population
hyperparameters ψ. :class:`PackPosterior` keeps one group's draws together with the
predictive model that the posterior predictive checks use for that group
(:func:`technorhythm.posteriors.predictive_models`): a pack's population, or, for
the extra ``"all"`` group of a fit made with ``--add-all``, the corpus as packs within the
corpus. Loops generated here therefore come from exactly the model the checks judged.

The group's real clips (for tempos and the listening test's Real condition) are read from
the dataset the fit records, only when asked for.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from technorhythm.clips import ClipBatch
from technorhythm.inference.prior import knob_bounds
from technorhythm.posteriors import CorpusPredictive, LoopPredictive, PopulationPredictive

__all__ = ["PackPosterior", "load_pack", "load_packs", "predictive_mean"]


@dataclass(frozen=True)
class PackPosterior:
    """The posterior of one fitted group.

    Attributes
    ----------
    fit_dir : the fit folder.
    group : the group's name; ``groups``: every group of the fit, in fit order.
    knob_names : knobs of the fit (the installed registry's, in registry order).
    hyper : ψ draws (S, 2K) of the group, knob units (locations, then spreads).
    model : the group's predictive model (``draw(n_sets, n_clips, rng)``).
    clip_ids : ids of the clips the group was fitted on.
    dataset : the dataset folder recorded in the fit (None when the fit names none).
    record : the fit's ``fit.json``.
    idata : the fit's InferenceData (all groups).
    """

    fit_dir: Path
    group: str
    groups: tuple[str, ...]
    knob_names: tuple[str, ...]
    hyper: np.ndarray
    model: PopulationPredictive | CorpusPredictive
    clip_ids: tuple[str, ...]
    dataset: str | None
    record: dict[str, Any]
    idata: Any

    @property
    def n_clips(self) -> int:
        """Clips the group was fitted on."""
        return len(self.clip_ids)

    def loop_draws(self) -> np.ndarray:
        """Posterior draws (S, B, K) of the knobs of the group's own loops, knob units.

        For the whole-corpus group (``all``) of a fit with ``--add-all``: every loop of the
        fit. Raises ``ValueError`` when the fit has no per-loop draws (``fit --no-loops``).
        """
        draws = self._loop_draws
        return draws[np.arange(draws.shape[0])[:, None], np.arange(draws.shape[1])[None, :]]

    def loop_model(self) -> LoopPredictive:
        """The group's own loops again (:class:`technorhythm.posteriors.LoopPredictive`),
        reading the draws it uses from the fit's arrays (no copy of all of them)."""
        return LoopPredictive(self._loop_draws)

    @functools.cached_property
    def _loop_draws(self) -> _LoopDraws:
        post = self.idata.posterior
        if "loop" not in post.dims or not all(k in post for k in self.knob_names):
            raise ValueError(
                f"the fit in {self.fit_dir} has no per-loop draws (it was made with "
                "--no-loops); fit the dataset again without it to generate from its loops"
            )
        owner = np.asarray(post["loop_group"].values).astype(str)
        rows = np.flatnonzero(owner == self.group)
        if not len(rows):  # the corpus group of --add-all owns no loops: it has them all
            if not isinstance(self.model, CorpusPredictive):
                raise ValueError(f"group {self.group!r} of the fit in {self.fit_dir} has no loops")
            rows = np.arange(len(owner))
        per_knob = []
        for name in self.knob_names:
            values = np.asarray(post[name].values)  # (chain, draw, loop), as loaded
            per_knob.append(values.reshape(-1, values.shape[-1]))  # a view: chains × draws → S
        return _LoopDraws(tuple(per_knob), rows, knob_bounds())

    def center(self) -> np.ndarray:
        """The posterior mean setting (K,): the mean knob value of the group's loops."""
        return predictive_mean(self.model)

    def identification(self) -> pd.DataFrame:
        """The identifiability table of this group
        (:func:`technorhythm.posteriors.identification_table`): one row per knob and
        hyperparameter (``loc``/``spread``) with its posterior contraction."""
        from technorhythm.posteriors import identification_table

        table = identification_table(self.idata)
        return table[table["group"] == self.group].reset_index(drop=True)

    def real_clips(self, data=None) -> ClipBatch:
        """The group's own clips, in the fit's order, from ``data`` (a Dataset, a dataset
        folder or a ClipBatch) or else from the dataset the fit records."""
        from technorhythm.corpus import load_dataset

        source = data if data is not None else self.dataset
        if source is None:
            raise ValueError(
                f"the fit in {self.fit_dir} names no dataset; pass the dataset the fit was "
                "made from"
            )
        if isinstance(source, str | os.PathLike):
            if not Path(source).is_dir():
                raise FileNotFoundError(
                    f"the dataset of the fit in {self.fit_dir} is not at {source} any more; "
                    "pass --bpm N (or the dataset) instead"
                )
            source = load_dataset(source)
        batch = getattr(source, "clips", source)
        if "clip_id" not in batch.meta:
            raise ValueError("the dataset's clips have no clip_id column; cannot match the fit")
        rows = pd.Index(batch.meta["clip_id"].astype(str)).get_indexer(list(self.clip_ids))
        if (rows < 0).any():
            missing = self.clip_ids[int(np.flatnonzero(rows < 0)[0])]
            raise ValueError(
                f"clip {missing!r} of group {self.group!r} is not in the dataset: the dataset "
                "changed since the fit; fit it again"
            )
        return batch[rows]


@dataclass(frozen=True)
class _LoopDraws:
    """A group's per-loop draws, read on demand from the fit's per-knob arrays (S, all loops).

    ``draws[s, b]`` (index arrays, broadcast together) → knobs (..., K) float64 of draw ``s``
    of the group's loop ``b``, clipped to the knob ranges: the fit stores float32, so a knob
    on its bound (1.6) comes back as 1.6000000238, which the simulator refuses.
    """

    per_knob: tuple[np.ndarray, ...]
    rows: np.ndarray
    bounds: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.per_knob[0].shape[0], len(self.rows), len(self.per_knob))

    def __getitem__(self, key) -> np.ndarray:
        s, b = key
        columns = self.rows[np.asarray(b)]
        out = np.stack([np.asarray(v[s, columns], dtype=np.float64) for v in self.per_knob], -1)
        return np.clip(out, self.bounds[:, 0], self.bounds[:, 1])


def predictive_mean(model: PopulationPredictive | CorpusPredictive) -> np.ndarray:
    """Mean knob value (K,) of the loops a predictive model makes, averaged over its ψ draws.

    For a pack, :meth:`technorhythm.posteriors.PopulationPredictive.mean` (the posterior
    mean of its population's censored-normal mean; for knobs read from the loops, the mean
    of the reads); for a corpus, the packs' means weighted by their sizes, as the corpus
    model shares its loops out.
    """
    if isinstance(model, CorpusPredictive):
        share = np.asarray(model.sizes, dtype=np.float64)
        share /= share.sum()
        means = np.stack([predictive_mean(p) for p in model.packs])
        center = share @ means
        bounds = model.packs[0].population.bounds
    else:
        center = model.mean()
        bounds = model.population.bounds
    return np.clip(center, bounds[:, 0], bounds[:, 1])


def _check_compatible(record: dict[str, Any], knobs: list[str], fit_dir: Path) -> None:
    """Refuse fits made for another knob registry or simulator than the installed one."""
    from technorhythm.inference.version import current_versions
    from technorhythm.simulator.knobs import KNOB_NAMES

    if tuple(knobs) != KNOB_NAMES:
        raise ValueError(
            f"the fit in {fit_dir} has the knobs {', '.join(knobs)}; the installed simulator "
            f"has {', '.join(KNOB_NAMES)}: fit the dataset again with a model trained for it"
        )
    recorded = (record.get("model") or {}).get("version_hash") or ""
    installed = current_versions()["version_hash"]
    if recorded and recorded != installed:
        raise ValueError(
            f"the fit in {fit_dir} was made with a model for another prior/simulator/summaries "
            f"(version {recorded}; installed {installed}): its loops would come from a "
            "different simulator; fit the dataset again"
        )


def _members(fit_dir: Path) -> dict[str, tuple[str, ...]]:
    path = fit_dir / "members.parquet"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: fit the dataset again to generate from it")
    frame = pd.read_parquet(path)
    return {
        str(g): tuple(part["clip_id"].astype(str)) for g, part in frame.groupby("group", sort=False)
    }


def load_packs(fit_dir: str | os.PathLike[str]) -> dict[str, PackPosterior]:
    """The posterior of every group of a fit folder, by name, in fit order."""
    from technorhythm.posteriors import hyper_array, load_fit, predictive_models, reads_by_group

    fit_dir = Path(fit_dir)
    record, idata, _ = load_fit(fit_dir)
    names, knobs, hyper = hyper_array(idata)
    _check_compatible(record, knobs, fit_dir)
    members = _members(fit_dir)
    sizes = [max(1, len(members.get(n, ()))) for n in names]
    options = record.get("options") or {}
    corpus = bool(options.get("add_all")) and record.get("by") != "all"
    models = predictive_models(
        names, list(hyper), knobs, sizes, corpus=corpus, reads=reads_by_group(idata)
    )
    return {
        name: PackPosterior(
            fit_dir=fit_dir,
            group=name,
            groups=tuple(names),
            knob_names=tuple(knobs),
            hyper=np.asarray(hyper[g]),
            model=models[g],
            clip_ids=members.get(name, ()),
            dataset=record.get("dataset"),
            record=record,
            idata=idata,
        )
        for g, name in enumerate(names)
    }


def load_pack(fit_dir: str | os.PathLike[str], group: str | None = None) -> PackPosterior:
    """The posterior of one group of a fit folder.

    ``group`` may be left out when the fit has a single group; an unknown name raises a
    ``ValueError`` listing the fit's groups.
    """
    packs = load_packs(fit_dir)
    names = list(packs)
    if group is None:
        if len(names) != 1:
            raise ValueError(
                f"the fit has {len(names)} groups; choose one with --group: {', '.join(names)}"
            )
        group = names[0]
    if group not in packs:
        raise ValueError(f"the fit has no group {group!r}; its groups are: {', '.join(names)}")
    return packs[group]
