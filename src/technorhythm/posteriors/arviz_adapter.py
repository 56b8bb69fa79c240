"""The one module that talks to ArviZ: population posteriors ↔ labelled InferenceData.

ArviZ 1.x needs Python ≥ 3.12, so on 3.11 we use arviz 0.23; keeping every ArviZ
call here means a later upgrade touches one file. ArviZ (and the matplotlib it pulls
in) is imported lazily inside the functions, so importing this module is cheap. The
ArviZ plots used by the report (:func:`plot_marginals`, :func:`plot_pair`,
:func:`plot_forest_by_group`) are called here too and return matplotlib figures, which
the callers' ``plots`` modules lay out and save; the fit's own forest.png is drawn by
:mod:`technorhythm.posteriors.plots`. :func:`group_draws_to_inference_data` labels
derived quantities (e.g. the loops' mean value of every knob) for those plots.

Layout of a technorhythm posterior (``schema = "technorhythm.posterior"``, version 2;
the population model of :mod:`technorhythm.inference.population`):

``posterior``
    *Hyperparameters*, per knob ``<knob>_loc`` and ``<knob>_spread`` with dims
    ``(chain, draw, group)``, knob units: the loops of a group have knob values
    ``clip(Normal(loc, spread), low, high)``. ``group`` holds the pack, style or split
    names (or ``"all"``).
    *Per-loop knobs*, per knob ``<knob>`` with dims ``(chain, draw, loop)``, knob units:
    the partial-pooling posterior of each loop's own θ_i (exactly on a bound where the
    population puts the loop there). ``loop`` holds clip ids; the non-dimension
    coordinate ``loop_group(loop)`` names the group each loop was pooled in. Draw d of
    a loop is conditioned on draw d of its group's hyperparameters (joint draws).
    Amortised draws are independent, so there is one chain.
``constant_data``
    ``n_clips(group)``: clips in the group; ``n_conditioned(group)``: the set size the
    estimator was conditioned on (differs from ``n_clips`` only when capped).
    Optional ``reads(read, read_knob)`` and ``read_se(read, read_knob)``: knob values read
    from each of a group's clips (the velocity and timing knobs, read from the hits; not
    clipped to the knobs' ranges) and their standard errors, NaN where a clip was not read; the
    non-dimension coordinate ``read_group(read)`` names the group, in the group's clip
    order. New loops of the group take their values (:func:`reads_by_group`).
``observed_data`` (optional)
    ``x_obs(group, summary)``: the observed set observation of each group.
attrs
    ``schema``, ``schema_version``, ``model = "population"``, ``family``, ``knobs``
    (JSON list), ``by``, ``model_hash`` (the estimator's manifest hash), ``n_per_group``
    (JSON: group → clips) and anything else the caller passes.
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from technorhythm.atomic import atomic_path
from technorhythm.inference.population import hyper_names
from technorhythm.simulator.knobs import KNOB_NAMES, KNOBS

if TYPE_CHECKING:  # pragma: no cover
    import arviz

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "FAMILY",
    "PosteriorFileError",
    "to_inference_data",
    "save_inference_data",
    "load_inference_data",
    "hyper_array",
    "loops_array",
    "loop_draws_by_knob",
    "reads_by_group",
    "knob_names_of",
    "select_group",
    "summary_table",
    "convergence_summary",
    "hdi_intervals",
    "hdi_names",
    "group_draws_to_inference_data",
    "plot_marginals",
    "plot_pair",
    "plot_forest_by_group",
]

SCHEMA = "technorhythm.posterior"
SCHEMA_VERSION = 2
FAMILY = "censored normal per knob: theta = clip(Normal(loc, spread), low, high)"
NETCDF_ENGINE = "netcdf4"
ZLIB_LEVEL = 1
"""zlib level of every numeric variable written. Posterior draws barely compress past the
fastest level, which writes them much faster than ArviZ's default, 4
(``benchmarks/bench_fit.py`` measures both)."""
DEFAULT_HDI_PROB = 0.94
"""ArviZ's default credible mass: a 94% HDI, columns ``hdi_3%`` and ``hdi_97%``."""


class PosteriorFileError(ValueError):
    """A netCDF file that is not a technorhythm posterior, or of an unknown schema version."""


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    # arviz 0.23 emits a FutureWarning about its 1.0 refactor on import, and its plots a
    # deprecation warning of matplotlib 3.11 about how it normalises keyword arguments.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module="arviz")
        warnings.filterwarnings("ignore", message="Passing a dict or None as alias_mapping")
        yield


def _az():
    with _quiet():
        import arviz

    return arviz


def _with_chain(a: np.ndarray, ndim: int, axis: int) -> np.ndarray:
    """Insert a chain axis of length 1 at ``axis`` when ``a`` has ``ndim`` dimensions."""
    return np.expand_dims(a, axis) if a.ndim == ndim else a


def _knob_attrs(var, name: str) -> None:
    knob = next((kb for kb in KNOBS if kb.name == name), None)
    if knob is not None:
        var.attrs.update(units=knob.unit, long_name=knob.label)


def _hyper_dataset(hyper: np.ndarray, groups: list[str], knob_names: list[str]):
    """(G, C, S, 2K) → Dataset of ``<knob>_loc``/``<knob>_spread`` (chain, draw, group)."""
    import xarray as xr

    _, n_chain, n_draw, _ = hyper.shape
    coords = {"chain": np.arange(n_chain), "draw": np.arange(n_draw), "group": groups}
    names = hyper_names(tuple(knob_names))
    data = xr.Dataset(
        {
            n: (("chain", "draw", "group"), np.moveaxis(hyper[..., j], 0, -1))
            for j, n in enumerate(names)
        },
        coords=coords,
    )
    for n in names:
        _knob_attrs(data[n], n.rsplit("_", 1)[0])
    return data


def _loops_dataset(
    loops: np.ndarray, loop_ids: Sequence[str], loop_groups: Sequence[str], knob_names: list[str]
):
    """(C, S, B, K) → Dataset of per-knob variables (chain, draw, loop)."""
    import xarray as xr

    n_chain, n_draw, n_loops, _ = loops.shape
    ids = [str(i) for i in loop_ids]
    if len(ids) != n_loops or len(loop_groups) != n_loops:
        raise ValueError(f"loop_ids and loop_groups need {n_loops} entries each")
    if len(set(ids)) != len(ids):
        raise ValueError("loop ids must be unique")
    data = xr.Dataset(
        {
            n: (("chain", "draw", "loop"), loops[..., k].astype(np.float32))
            for k, n in enumerate(knob_names)
        },
        coords={
            "chain": np.arange(n_chain),
            "draw": np.arange(n_draw),
            "loop": ids,
            "loop_group": ("loop", [str(g) for g in loop_groups]),
        },
    )
    for n in knob_names:
        _knob_attrs(data[n], n)
    return data


def _reads_dataset(
    reads: np.ndarray,
    read_se: np.ndarray | None,
    read_groups: Sequence[str] | None,
    groups: list[str],
    knob_names: list[str],
):
    """(R, K) reads and standard errors → Dataset ``reads``, ``read_se`` (read, read_knob)
    of the knobs with any value."""
    import xarray as xr

    reads = np.asarray(reads, dtype=np.float64)
    if reads.ndim != 2 or reads.shape[1] != len(knob_names):
        raise ValueError(f"reads must have shape (R, K={len(knob_names)}); got {reads.shape}")
    se = np.zeros_like(reads) if read_se is None else np.asarray(read_se, dtype=np.float64)
    if se.shape != reads.shape:
        raise ValueError(f"read_se must have the shape of reads {reads.shape}; got {se.shape}")
    if read_groups is None or len(read_groups) != len(reads):
        raise ValueError(f"reads need read_groups with {len(reads)} entries")
    unknown = set(map(str, read_groups)) - set(groups)
    if unknown:
        raise ValueError(f"read_groups names groups that are not fitted: {sorted(unknown)}")
    if np.isinf(reads).any():
        raise ValueError("reads contain infinite values (NaN marks a knob not read)")
    keep = np.flatnonzero(np.isfinite(reads).any(axis=0))
    dims = ("read", "read_knob")
    return xr.Dataset(
        {"reads": (dims, reads[:, keep]), "read_se": (dims, se[:, keep])},
        coords={
            "read": np.arange(len(reads)),
            "read_knob": [knob_names[k] for k in keep],
            "read_group": ("read", [str(g) for g in read_groups]),
        },
    )


def to_inference_data(
    hyper: np.ndarray,
    groups: Sequence[str],
    *,
    by: str = "all",
    knob_names: Sequence[str] = KNOB_NAMES,
    loops: np.ndarray | None = None,
    loop_ids: Sequence[str] | None = None,
    loop_groups: Sequence[str] | None = None,
    n_clips: Sequence[int] | None = None,
    n_conditioned: Sequence[int] | None = None,
    x_obs: np.ndarray | None = None,
    summary_names: Sequence[str] | None = None,
    model_hash: str = "",
    reads: np.ndarray | None = None,
    read_groups: Sequence[str] | None = None,
    read_se: np.ndarray | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> arviz.InferenceData:
    """Population posteriors of several groups → one labelled InferenceData.

    Parameters
    ----------
    hyper : ndarray, shape (G, draws, 2K) or (G, chains, draws, 2K)
        Hyperparameter draws in knob units: every knob's location, then every knob's
        spread (:func:`technorhythm.inference.population.hyper_names` order).
    groups : sequence of str, length G
        Group names (pack, style or split names); must be unique.
    by : str
        What the groups are (``"pack"``, ``"style"``, ``"split"`` or ``"all"``).
    knob_names : sequence of str, length K
    loops : ndarray, shape (draws, B, K) or (chains, draws, B, K), optional
        Per-loop knob draws, draw d conditioned on hyperparameter draw d of the loop's group.
    loop_ids, loop_groups : sequence of str, length B
        Loop ids (unique) and the group each loop belongs to (needed with ``loops``).
    n_clips, n_conditioned : sequence of int, length G, optional
        Clips per group and the set size the estimator was conditioned on.
    x_obs : ndarray, shape (G, S), optional
        Observed set observations; needs ``summary_names`` (length S).
    model_hash : str
        Hash of the estimator's manifest, recorded in the attrs.
    reads : ndarray, shape (R, K), optional
        Knob values read from the groups' clips, NaN where not read; only the knobs with
        some value are stored.
    read_groups : sequence of str, length R
        The group of each row of ``reads`` (needed with ``reads``).
    read_se : ndarray, shape (R, K), optional
        The reads' standard errors (None: exact).
    attrs : mapping, optional
        Extra attributes (str, int, float; others stored as JSON) on the posterior group.
    """
    import xarray as xr

    groups = [str(g) for g in groups]
    knob_names = list(knob_names)
    hyper = _with_chain(np.asarray(hyper, dtype=np.float64), 3, 1)
    if hyper.ndim != 4 or hyper.shape[0] != len(groups) or hyper.shape[3] != 2 * len(knob_names):
        raise ValueError(
            f"hyper must have shape (G={len(groups)}, [chains,] draws, 2K={2 * len(knob_names)});"
            f" got {np.shape(hyper)}"
        )
    if len(set(groups)) != len(groups):
        raise ValueError(f"group names must be unique; got {groups}")
    if not np.all(np.isfinite(hyper)):
        raise ValueError("hyperparameter draws contain NaN or infinite values")
    posterior = _hyper_dataset(hyper, groups, knob_names)
    if loops is not None:
        loops = _with_chain(np.asarray(loops), 3, 0)
        if (
            loops.ndim != 4
            or loops.shape[:2] != hyper.shape[1:3]
            or loops.shape[3] != len(knob_names)
        ):
            raise ValueError(
                f"loops must have shape ([chains,] draws, B, K) matching the hyperparameter "
                f"draws {hyper.shape[1:3]}; got {loops.shape}"
            )
        if not np.all(np.isfinite(loops)):
            raise ValueError("per-loop draws contain NaN or infinite values")
        if loop_ids is None or loop_groups is None:
            raise ValueError("loops need loop_ids and loop_groups")
        unknown = set(map(str, loop_groups)) - set(groups)
        if unknown:
            raise ValueError(f"loop_groups names groups that are not fitted: {sorted(unknown)}")
        posterior = xr.merge([posterior, _loops_dataset(loops, loop_ids, loop_groups, knob_names)])
    n_clips_arr = np.asarray(n_clips if n_clips is not None else [0] * len(groups), dtype=np.int64)
    n_cond_arr = np.asarray(
        n_conditioned if n_conditioned is not None else n_clips_arr, dtype=np.int64
    )
    if n_clips_arr.shape != (len(groups),) or n_cond_arr.shape != (len(groups),):
        raise ValueError("n_clips and n_conditioned need one entry per group")
    constant = xr.Dataset(
        {"n_clips": (("group",), n_clips_arr), "n_conditioned": (("group",), n_cond_arr)},
        coords={"group": groups},
    )
    if reads is not None:
        constant = xr.merge(
            [constant, _reads_dataset(reads, read_se, read_groups, groups, knob_names)]
        )
    all_attrs: dict[str, Any] = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "model": "population",
        "family": FAMILY,
        "knobs": json.dumps(knob_names),
        "by": str(by),
        "model_hash": str(model_hash),
        "n_per_group": json.dumps(dict(zip(groups, n_clips_arr.tolist(), strict=True))),
    }
    for key, value in (attrs or {}).items():
        all_attrs[str(key)] = value if isinstance(value, int | float | str) else json.dumps(value)
    posterior.attrs = all_attrs
    parts: dict[str, xr.Dataset] = {"posterior": posterior, "constant_data": constant}
    if x_obs is not None:
        x_obs = np.asarray(x_obs, dtype=np.float64)
        if summary_names is None or x_obs.shape != (len(groups), len(summary_names)):
            raise ValueError(
                "x_obs must have shape (G, S) and come with S summary_names; "
                f"got {x_obs.shape} and {None if summary_names is None else len(summary_names)}"
            )
        parts["observed_data"] = xr.Dataset(
            {"x_obs": (("group", "summary"), x_obs)},
            coords={"group": groups, "summary": list(summary_names)},
        )
    with _quiet():
        return _az().InferenceData(**parts)


def save_inference_data(idata: arviz.InferenceData, path: str | os.PathLike[str]) -> Path:
    """Write ``idata`` to netCDF-4 (byte shuffle, zlib level :data:`ZLIB_LEVEL`) atomically.

    Returns the path. Sets the zlib encoding of ``idata``'s numeric variables.

    Uses the netCDF4 engine: about 8× faster than h5netcdf for these small files (measured
    0.12 s against 0.90 s per file); either engine reads the result.
    """
    path = Path(path)
    for group in idata.groups():
        for variable in idata[group].variables.values():
            if variable.dtype.kind in "biufcS":  # ArviZ's compressible kinds
                # shuffle (HDF5's byte shuffle, which every reader has): smaller and faster
                variable.encoding.update(zlib=True, complevel=ZLIB_LEVEL, shuffle=True)
    with atomic_path(path) as tmp, _quiet():
        # compress=False: ArviZ's own compression would replace these encodings (level 4)
        idata.to_netcdf(str(tmp), engine=NETCDF_ENGINE, compress=False)
    return path


def load_inference_data(path: str | os.PathLike[str]) -> arviz.InferenceData:
    """Read a posterior netCDF written by :func:`save_inference_data` (fully into memory).

    Raises :class:`PosteriorFileError` when the file is not a technorhythm posterior or has
    an unknown schema version, and ``FileNotFoundError`` when it does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no posterior file at {path}")
    az = _az()
    try:
        with _quiet(), az.rc_context({"data.load": "eager"}):
            idata = az.from_netcdf(str(path), engine=NETCDF_ENGINE)
    except (OSError, ValueError, KeyError) as exc:
        raise PosteriorFileError(f"{path} is not a readable netCDF posterior: {exc}") from exc
    post = getattr(idata, "posterior", None)
    if post is None or post.attrs.get("schema") != SCHEMA:
        raise PosteriorFileError(f"{path} is not a technorhythm posterior (no schema={SCHEMA!r})")
    version = int(post.attrs.get("schema_version", -1))
    if version != SCHEMA_VERSION:
        raise PosteriorFileError(
            f"{path} has posterior schema version {version}; this technorhythm reads "
            f"version {SCHEMA_VERSION}"
        )
    return idata


def knob_names_of(idata: arviz.InferenceData) -> list[str]:
    """The knob names of a population posterior (registry order)."""
    return list(json.loads(idata.posterior.attrs["knobs"]))


def hyper_array(idata: arviz.InferenceData) -> tuple[list[str], list[str], np.ndarray]:
    """InferenceData → (group names, knob names, hyperparameters (G, chains·draws, 2K))."""
    post = idata.posterior
    knobs = knob_names_of(idata)
    groups = [str(g) for g in post["group"].values]
    names = hyper_names(tuple(knobs))
    stacked = np.stack([post[n].transpose("group", "chain", "draw").values for n in names], -1)
    return groups, knobs, stacked.reshape(len(groups), -1, len(names))


def loops_array(
    idata: arviz.InferenceData, group: str | None = None
) -> tuple[list[str], list[str], np.ndarray] | None:
    """Per-loop draws → (loop ids, loop groups, θ (chains·draws, B, K)); None without loops.

    ``group`` keeps only the loops pooled in that group.
    """
    got = loop_draws_by_knob(idata)
    if got is None:
        return None
    ids, owners, draws = got
    keep = np.array([group is None or g == group for g in owners], dtype=bool)
    arr = np.stack([values[:, keep] for _, values in draws], -1)
    return (
        [i for i, k in zip(ids, keep, strict=True) if k],
        [g for g in owners if group in (None, g)],
        arr,
    )


def loop_draws_by_knob(idata: arviz.InferenceData):
    """Per-loop draws one knob at a time → (loop ids, loop groups, iterator of (knob,
    θ_knob (chains·draws, B))); None without loops. Holds draws × loops, not × knobs too."""
    post = idata.posterior
    if "loop" not in post.dims:
        return None
    ids = [str(v) for v in post["loop"].values]
    owners = [str(v) for v in post["loop_group"].values]

    def draws():
        for k in knob_names_of(idata):
            yield k, post[k].transpose("chain", "draw", "loop").values.reshape(-1, len(ids))

    return ids, owners, draws()


def reads_by_group(idata: arviz.InferenceData) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Group → its clips' reads and their standard errors, each (B, K) in knob units, NaN
    where not read, in the knobs' order (:func:`knob_names_of`); empty when the posterior
    holds no reads."""
    constant = getattr(idata, "constant_data", None)
    if constant is None or "reads" not in constant:
        return {}
    knobs = knob_names_of(idata)
    cols = [knobs.index(str(k)) for k in constant["read_knob"].values]
    owners = np.asarray(constant["read_group"].values).astype(str)
    out = []
    for name in ("reads", "read_se"):
        values = np.asarray(constant[name].transpose("read", "read_knob").values, np.float64)
        full = np.full((len(values), len(knobs)), np.nan)
        full[:, cols] = values
        out.append(full)
    return {str(g): (out[0][owners == g], out[1][owners == g]) for g in dict.fromkeys(owners)}


def select_group(idata: arviz.InferenceData, group: str) -> arviz.InferenceData:
    """The InferenceData restricted to one group and its loops (group coordinate kept)."""
    groups = [str(g) for g in idata.posterior["group"].values]
    if group not in groups:
        raise KeyError(f"unknown group {group!r}; groups are {groups}")
    with _quiet():
        out = idata.isel(group=[groups.index(group)])
        if "loop" in out.posterior.dims:
            owners = out.posterior["loop_group"].values.astype(str)
            out = out.isel(loop=np.flatnonzero(owners == group))
        if "read" in out.constant_data.dims:
            owners = out.constant_data["read_group"].values.astype(str)
            out = out.isel(read=np.flatnonzero(owners == group))
    return out


def hdi_names(hdi_prob: float) -> tuple[str, str]:
    if not 0.0 < hdi_prob < 1.0:
        raise ValueError(f"hdi_prob must be in (0, 1); got {hdi_prob}")
    return (
        f"hdi_{100 * (1 - hdi_prob) / 2:g}%",
        f"hdi_{100 * (1 - (1 - hdi_prob) / 2):g}%",
    )


HDI_CHUNK = 2048
"""Columns per sorted chunk in :func:`hdi_intervals` (2 048 × 400 draws: 6.6 MB)."""


def hdi_intervals(draws: np.ndarray, hdi_prob: float) -> np.ndarray:
    """HDI of draws (S, ...) along the first axis → (..., 2): ``az.hdi`` of every column.

    ArviZ's arithmetic (sort, the narrowest window of ``floor(hdi_prob · S)`` steps, the
    first on ties), applied to :data:`HDI_CHUNK` columns at a time instead of one
    ``az.hdi`` call per column (the per-loop table of a corpus has a hundred thousand
    columns). Each chunk is copied as float64, as
    ``az.hdi`` would copy its column (never the whole array: per-loop draws of a corpus
    are hundreds of MB). Columns holding a NaN go to ``az.hdi`` itself.
    """
    draws = np.asarray(draws)
    columns = draws.reshape(len(draws), -1)  # a view: (S, M)
    n = columns.shape[0]
    inc = int(np.floor(hdi_prob * n))
    if n - inc <= 0 or not 0.0 < hdi_prob < 1.0:  # az.hdi's own error
        return _az_hdi_columns(columns[:, :1], hdi_prob)
    out = np.empty((columns.shape[1], 2))
    for start in range(0, columns.shape[1], HDI_CHUNK):
        chunk = np.sort(np.asarray(columns[:, start : start + HDI_CHUNK], dtype=np.float64), 0)
        width = np.subtract(chunk[inc:], chunk[: n - inc], dtype=np.float64)
        low = np.argmin(width, axis=0)
        cols = np.arange(chunk.shape[1])
        out[start : start + chunk.shape[1]] = np.column_stack(
            [chunk[low, cols], chunk[low + inc, cols]]
        )
        nan = np.flatnonzero(np.isnan(chunk).any(axis=0))
        if nan.size:
            out[start + nan] = _az_hdi_columns(columns[:, start + nan], hdi_prob)
    return out.reshape(*draws.shape[1:], 2)


def _az_hdi_columns(columns: np.ndarray, hdi_prob: float) -> np.ndarray:
    """``az.hdi`` of each column of (S, M), one call each → (M, 2)."""
    az = _az()
    with _quiet():
        return np.stack(
            [az.hdi(np.asarray(col, dtype=np.float64), hdi_prob=hdi_prob) for col in columns.T]
        )


def summary_table(
    idata: arviz.InferenceData,
    *,
    hdi_prob: float = DEFAULT_HDI_PROB,
    prior_sd: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Hyperparameter summary per group and knob: location and spread (via ``az.hdi``).

    Columns ``group, knob, param, mean, sd, hdi_<lo>%, hdi_<hi>%`` with ``param`` in
    ``loc``/``spread`` and, when ``prior_sd`` (keyed by ``<knob>_<param>``) is given,
    ``sd_ratio`` = posterior sd / hyperprior sd. Knob units, registry order.
    """
    lo_name, hi_name = hdi_names(hdi_prob)
    az = _az()
    names = [n for n in idata.posterior.data_vars if n.endswith(("_loc", "_spread"))]
    post = idata.posterior[names]
    with _quiet():
        hdi = az.hdi(post, hdi_prob=hdi_prob)
    # per variable, by group position: not an xarray .sel per cell
    mean = {v: a.values for v, a in post.mean(dim=("chain", "draw")).transpose("group").items()}
    sd = {
        v: a.values for v, a in post.std(dim=("chain", "draw"), ddof=1).transpose("group").items()
    }
    low = {v: a.sel(hdi="lower").transpose("group").values for v, a in hdi.items()}
    high = {v: a.sel(hdi="higher").transpose("group").values for v, a in hdi.items()}
    rows = []
    knobs = knob_names_of(idata)
    for i, g in enumerate(post["group"].values):
        for knob in knobs:
            for param in ("loc", "spread"):
                v = f"{knob}_{param}"
                row = {
                    "group": str(g),
                    "knob": knob,
                    "param": param,
                    "mean": float(mean[v][i]),
                    "sd": float(sd[v][i]),
                    lo_name: float(low[v][i]),
                    hi_name: float(high[v][i]),
                }
                if prior_sd is not None:
                    row["sd_ratio"] = row["sd"] / float(prior_sd[v])
                rows.append(row)
    return pd.DataFrame(rows)


def convergence_summary(idata: arviz.InferenceData, var_names: Sequence[str]) -> dict[str, float]:
    """Largest R-hat and smallest bulk/tail ESS over ``var_names`` of an MCMC posterior."""
    az = _az()
    with _quiet():
        rhat = az.rhat(idata, var_names=list(var_names))
        bulk = az.ess(idata, var_names=list(var_names), method="bulk")
        tail = az.ess(idata, var_names=list(var_names), method="tail")
    return {
        "rhat_max": float(max(float(rhat[v].max()) for v in var_names)),
        "ess_bulk_min": float(min(float(bulk[v].min()) for v in var_names)),
        "ess_tail_min": float(min(float(tail[v].min()) for v in var_names)),
    }


def group_draws_to_inference_data(
    draws: Mapping[str, np.ndarray],
    groups: Sequence[str],
    *,
    units: Mapping[str, str] | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> arviz.InferenceData:
    """Draws of derived quantities per group → InferenceData (variables (chain, draw, group)).

    ``draws[name]`` has shape (G, draws) or (G, chains, draws), one row per entry of
    ``groups``; ``units`` (name → unit) go into the variables' attrs. Used for quantities
    computed from a posterior, such as the loops' mean value of every knob.
    """
    import xarray as xr

    groups = [str(g) for g in groups]
    data = {}
    for name, value in draws.items():
        arr = _with_chain(np.asarray(value, dtype=np.float64), 2, 1)
        if arr.ndim != 3 or arr.shape[0] != len(groups):
            raise ValueError(
                f"draws of {name!r} must have shape (G={len(groups)}, [chains,] draws); "
                f"got {np.shape(value)}"
            )
        data[name] = (("chain", "draw", "group"), np.moveaxis(arr, 0, -1))
    if not data:
        raise ValueError("no draws given")
    shapes = {name: value[1].shape[:2] for name, value in data.items()}
    if len(set(shapes.values())) > 1:
        raise ValueError(f"every quantity needs the same (chains, draws) shape; got {shapes}")
    n_chain, n_draw = next(iter(shapes.values()))
    posterior = xr.Dataset(
        data,
        coords={"chain": np.arange(n_chain), "draw": np.arange(n_draw), "group": groups},
    )
    for name, unit in (units or {}).items():
        if name in posterior:
            posterior[name].attrs["units"] = unit
    posterior.attrs = {str(k): v for k, v in (attrs or {}).items()}
    with _quiet():
        return _az().InferenceData(posterior=posterior)


def _figure_of(axes):
    return np.ravel(axes)[0].figure


def plot_marginals(
    idata: arviz.InferenceData,
    var_names: Sequence[str],
    *,
    group: str | None = None,
    hdi_prob: float = DEFAULT_HDI_PROB,
    ncols: int = 6,
    panel_size: tuple[float, float] = (2.3, 1.5),
    textsize: float = 7.0,
    xlims: Mapping[str, tuple[float, float]] | None = None,
    round_to: int = 2,
    ax=None,
):
    """``az.plot_posterior`` of ``var_names`` (of one ``group`` when given): each marginal
    with its HDI and posterior mean, one panel per variable. Returns the matplotlib figure.

    ``xlims`` (name → (low, high)) fixes a panel's x range, e.g. to a knob's range;
    ``round_to`` is the number of decimals of the printed mean and HDI ends; ``ax`` (an
    array of at least ``len(var_names)`` axes) draws into existing, empty axes instead of a
    new figure.
    """
    az = _az()
    names = list(var_names)
    nrows = int(np.ceil(len(names) / ncols))
    cols = min(ncols, len(names))
    layout = (
        {"grid": (nrows, cols), "figsize": (panel_size[0] * cols, panel_size[1] * nrows)}
        if ax is None
        else {"ax": np.ravel(ax)[: len(names)]}
    )
    with _quiet():
        axes = az.plot_posterior(
            idata,
            var_names=names,
            coords=None if group is None else {"group": [group]},
            **layout,
            hdi_prob=hdi_prob,
            point_estimate="mean",
            round_to=round_to,
            textsize=textsize,
            kind="kde",
        )
    flat = np.ravel(axes if ax is None else ax)
    for panel, name in zip(flat, names, strict=False):
        panel.set_title(name, fontsize=textsize + 1)
        if xlims and name in xlims:
            panel.set_xlim(*xlims[name])
    for panel in flat[len(names) :]:
        panel.set_visible(False)
    return _figure_of(flat)


def plot_pair(
    idata: arviz.InferenceData,
    var_names: Sequence[str],
    *,
    group: str | None = None,
    textsize: float = 8.0,
    panel_size: float = 2.2,
    marker_size: float = 3.0,
    ax=None,
):
    """``az.plot_pair`` scatter of ``var_names`` (of one ``group`` when given). Two
    variables give one panel (drawn into ``ax`` when given). Returns the matplotlib figure."""
    az = _az()
    names = list(var_names)
    if len(names) < 2:
        raise ValueError("a pair plot needs at least two variables")
    size = panel_size * (len(names) - 1)
    with _quiet():
        axes = az.plot_pair(
            idata,
            var_names=names,
            coords=None if group is None else {"group": [group]},
            kind="scatter",
            figsize=None if ax is not None else (size, size),
            textsize=textsize,
            scatter_kwargs={"s": marker_size, "alpha": 0.35},
            ax=ax,
        )
    return _figure_of(axes)


def plot_forest_by_group(
    idata: arviz.InferenceData,
    var_name: str,
    *,
    hdi_prob: float = DEFAULT_HDI_PROB,
    width: float = 3.4,
    row_height: float = 0.17,
    textsize: float = 7.0,
    xlim: tuple[float, float] | None = None,
    ax=None,
):
    """``az.plot_forest`` of one variable with a ``group`` dimension: one row per group
    (labelled by the group alone), the HDI as a line and the interquartile range as a
    thicker one. Draws into ``ax`` when given; returns the matplotlib figure."""
    az = _az()
    n_groups = int(idata.posterior.sizes.get("group", 1))
    with _quiet():
        axes = az.plot_forest(
            idata,
            var_names=[var_name],
            combined=True,
            hdi_prob=hdi_prob,
            figsize=None if ax is not None else (width, 0.6 + row_height * n_groups),
            textsize=textsize,
            labeller=az.labels.NoVarLabeller(),
            ax=ax,
        )
    ax = np.ravel(axes)[0]
    ax.set_title(var_name, fontsize=textsize + 1)
    if xlim is not None:
        ax.set_xlim(*xlim)
    return _figure_of(axes)
