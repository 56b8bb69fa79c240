"""Writing a fit to a folder, reading it back, and the printed posterior table.

Output folder of ``technorhythm fit`` (schema ``technorhythm.fit``, version in ``fit.json``):

``posterior.nc``              every group in one InferenceData (``group`` and ``loop``
                              coordinates; see :mod:`.arviz_adapter` for the layout)
``groups/<nnn>_<name>.nc``    one InferenceData per group (file-safe names): its
                              hyperparameters, observation and reads; its loops' draws
                              are in ``posterior.nc`` (written once)
``summary.csv``/``.parquet``  hyperparameters per group and knob: location and spread
                              (mean, sd, 94% HDI, sd / hyperprior sd, contraction)
``population.csv``            what each group says about its loops per knob: mean value
                              with its HDI, the range of 90% of loops, shares on the bounds
``loops.csv``/``.parquet``    every loop's own knobs (mean, sd, 94% HDI), partial pooling
``members.parquet``           the clips (``clip_id``) each group was fitted on
``correlations.csv``          pairwise correlations of the knobs' locations (trade-offs)
``skipped.csv``               groups not fitted and why (every clip accounted for)
``forest.png``                one panel per knob, one row per group: loops' 90% range
                              and the HDI of their mean
``fit.json``                  options, model identity, timing, file index
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from technorhythm.atomic import atomic_path, atomic_write_text
from technorhythm.outdir import replacing_folder
from technorhythm.posteriors.arviz_adapter import (
    load_inference_data,
    save_inference_data,
    summary_table,
)
from technorhythm.posteriors.fit import FitResult
from technorhythm.posteriors.tables import (
    hyperprior_sd,
    identification_table,
    loop_table,
    population_table,
    posterior_correlations,
)

__all__ = ["FIT_SCHEMA", "FIT_SCHEMA_VERSION", "save_fit", "load_fit", "format_summary"]

FIT_SCHEMA = "technorhythm.fit"
FIT_SCHEMA_VERSION = 2


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:60] or "group"


def _prior_sd(result: FitResult) -> dict[str, float]:
    return hyperprior_sd(result.knob_names)


def tables(result: FitResult, idata=None, *, loops: bool = True) -> dict[str, pd.DataFrame]:
    """The fit's tables: ``summary``, ``population``, ``loops``, ``correlations``, ``skipped``."""
    idata = result.to_inference_data(loops=loops) if idata is None else idata
    summary = summary_table(idata, prior_sd=_prior_sd(result))
    ident = identification_table(idata, _prior_sd(result))
    summary["contraction"] = ident["contraction"].to_numpy()
    summary = summary.merge(result.groups_table(), on="group")
    population = population_table(idata, seed=int(result.options.get("seed", 0)))
    out = {
        "summary": summary,
        "population": population.merge(result.groups_table(), on="group"),
        "correlations": posterior_correlations(idata),
        "skipped": result.skipped,
    }
    if loops:
        out["loops"] = loop_table(idata)
    return out


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    atomic_write_text(path, frame.to_csv(index=False, float_format="%.6g"))


def save_fit(
    result: FitResult,
    out_dir: str | os.PathLike[str],
    *,
    dataset: str | None = None,
    forest: bool = True,
    overwrite: bool = False,
    flagged: set[str] | None = None,
    extras: Sequence[Callable[[Path], object]] = (),
    idata=None,
    frames: dict[str, pd.DataFrame] | None = None,
) -> dict[str, Any]:
    """Write every output file of a fit to ``out_dir``; returns the ``fit.json`` record.

    The files are written into a staging folder that replaces ``out_dir`` in one
    atomic step, under a lock that refuses a second writer
    (:func:`technorhythm.outdir.replacing_folder`): readers see the old fit or the
    new one, never a mix. A folder that already holds a fit is refused unless
    ``overwrite``; a non-empty folder without ``fit.json`` is never replaced.
    ``flagged`` names groups the misspecification verdict flagged (drawn red in the forest).
    ``extras`` are called with the staging folder before the swap, for outputs that belong
    to the fit (the check folder, a report), so they appear together with it or not at all.
    ``idata`` (``result.to_inference_data()``) and ``frames`` (:func:`tables` of it), when
    given, are written as they are instead of being built again.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out} exists and is not a directory")
    if (out / "fit.json").exists() and not overwrite:
        raise FileExistsError(f"{out} already holds a fit; pass --force to replace it")
    with replacing_folder(out, lambda p: (p / "fit.json").is_file(), what="fit") as staging:
        if (out / "fit.json").exists() and not overwrite:  # written while we waited
            raise FileExistsError(f"{out} already holds a fit; pass --force to replace it")
        record = _write_fit(
            result, staging, dataset=dataset, forest=forest, flagged=flagged,
            idata=idata, frames=frames,
        )  # fmt: skip
        for extra in extras:
            extra(staging)
        return record


def _write_fit(
    result: FitResult,
    out: Path,
    *,
    dataset: str | None,
    forest: bool,
    flagged: set[str] | None,
    idata=None,
    frames: dict[str, pd.DataFrame] | None = None,
) -> dict:
    idata = result.to_inference_data() if idata is None else idata
    save_inference_data(idata, out / "posterior.nc")
    files: dict[str, str] = {}
    for i, group in enumerate(result.groups):
        rel = f"groups/{i:03d}_{_slug(group.name)}.nc"
        # built from the group's own draws (selecting it from ``idata`` copies far more);
        # the loops' draws are in posterior.nc only: hundreds of MB are not written twice
        one = dataclasses.replace(result, groups=(group,))
        save_inference_data(one.to_inference_data(loops=False), out / rel)
        files[group.name] = rel
    frames = tables(result, idata) if frames is None else frames
    for key, frame in frames.items():
        _write_csv(frame, out / f"{key}.csv")
    for key in ("summary", "loops"):
        with atomic_path(out / f"{key}.parquet") as tmp:
            frames[key].to_parquet(tmp, index=False)
    with atomic_path(out / "members.parquet") as tmp:
        result.members().to_parquet(tmp, index=False)
    if forest:
        from technorhythm.posteriors.plots import plot_forest

        plot_forest(
            frames["population"],
            out / "forest.png",
            title=f"population posterior by {result.by}",
            flagged=flagged,
        )
    record = {
        "schema": FIT_SCHEMA,
        "schema_version": FIT_SCHEMA_VERSION,
        "dataset": dataset,
        "by": result.by,
        "split": result.split,
        "model": result.model,
        "options": result.options,
        "timing_s": {k: round(v, 4) for k, v in result.timing.items()},
        "n_groups": len(result.groups),
        "n_clips": result.n_clips_fitted(),
        "n_skipped_clips": int(result.skipped["n_clips"].sum()),
        "group_files": files,
        "files": ["posterior.nc", *(f"{k}.csv" for k in frames), "summary.parquet"]
        + ["loops.parquet", "members.parquet"]
        + (["forest.png"] if forest else []),
    }
    atomic_write_text(out / "fit.json", json.dumps(record, indent=2, default=str) + "\n")
    return record


def load_fit(out_dir: str | os.PathLike[str]) -> tuple[dict[str, Any], Any, pd.DataFrame]:
    """Read a fit folder back: (``fit.json`` record, combined InferenceData, summary table)."""
    out = Path(out_dir)
    path = out / "fit.json"
    if not path.is_file():
        raise FileNotFoundError(f"{out} is not a complete fit folder (no fit.json)")
    record = json.loads(path.read_text(encoding="utf-8"))
    if record.get("schema") != FIT_SCHEMA or record.get("schema_version") != FIT_SCHEMA_VERSION:
        raise ValueError(f"{path} is not a technorhythm fit of schema version {FIT_SCHEMA_VERSION}")
    return (
        record,
        load_inference_data(out / "posterior.nc"),
        pd.read_parquet(out / "summary.parquet"),
    )


def format_summary(
    result: FitResult,
    *,
    checks: pd.DataFrame | None = None,
    max_long_groups: int = 3,
    max_column_groups: int = 8,
    frames: dict[str, pd.DataFrame] | None = None,
) -> str:
    """The population posterior as text, shaped by the number of groups G.

    G ≤ ``max_long_groups``: per group, one row per knob: the loops' mean value with its
    HDI, the range of 90% of the loops, the shares of loops on the bounds and the spread.
    G ≤ ``max_column_groups``: one row per knob, one ``mean [5%–95% of loops]`` column per
    group. More: one row per group, the loops' mean value per knob. ``checks`` (the table
    of :meth:`technorhythm.posteriors.CheckResult.table`) adds the misspecification verdict.
    ``frames``: the fit's :func:`tables`, when already made (else they are made here).
    """
    frames = tables(result, loops=False) if frames is None else frames
    pop = frames["population"]
    spread = frames["summary"]
    spread = spread[spread["param"] == "spread"].set_index(["group", "knob"])["mean"]
    verdict = _verdicts(checks)
    lo, hi = [c for c in pop.columns if c.startswith("mean_hdi_")]
    lines = []
    if len(result.groups) <= max_long_groups:
        for g in result.groups:
            head = f"group {g.name!r}: {g.n_clips} loops"
            if g.n_conditioned != g.n_clips:
                head += f" (conditioned on N = {g.n_conditioned})"
            if g.name in verdict:
                p, flag = verdict[g.name]
                head += f"; misspecification p = {p:.3f} ({'MISSPECIFIED' if flag else 'ok'})"
            lines.append(head)
            lines.append(
                f"  {'knob':<20}{'mean':>8}{'mean 94% HDI':>18}{'90% of loops':>18}"
                f"{'at low':>8}{'at high':>8}{'spread':>8}"
            )
            for d in pop[pop.group == g.name].to_dict("records"):
                mean_hdi = f"{d[lo]:.3f}–{d[hi]:.3f}"
                loop_range = f"{d['loops_5%']:.3f}–{d['loops_95%']:.3f}"
                lines.append(
                    f"  {d['knob']:<20}{d['mean']:>8.3f}{mean_hdi:>18}{loop_range:>18}"
                    f"{d['share_at_low']:>8.0%}{d['share_at_high']:>8.0%}"
                    f"{spread[(g.name, d['knob'])]:>8.3f}"
                )
            lines.append("")
    elif len(result.groups) <= max_column_groups:
        names = result.group_names()
        width = max(20, *(len(n) + 2 for n in names))
        lines.append(
            "loops' mean value [range of 90% of loops] per knob (knob units); population.csv "
            "has the HDIs and the shares on the bounds"
        )
        lines.append(f"{'':<20}" + "".join(f"{n:>{width}}" for n in names))
        lines.append(f"{'loops':<20}" + "".join(f"{g.n_clips:>{width}}" for g in result.groups))
        if verdict:
            cells = [f"{verdict[n][0]:.3f}" if n in verdict else "-" for n in names]
            lines.append(f"{'misspecification p':<20}" + "".join(f"{c:>{width}}" for c in cells))
        table = pop.set_index(["knob", "group"])
        for knob in result.knob_names:
            cells = []
            for n in names:
                mean, q05, q95 = table.loc[(knob, n), ["mean", "loops_5%", "loops_95%"]]
                digits = 1 if max(abs(q05), abs(q95)) >= 10 else 2
                cells.append(f"{mean:.{digits}f} [{q05:.{digits}f}–{q95:.{digits}f}]")
            lines.append(f"{knob:<20}" + "".join(f"{c:>{width}}" for c in cells))
    else:
        pivot = pop.pivot(index="group", columns="knob", values="mean")[list(result.knob_names)]
        pivot.columns.name = None
        pivot.insert(0, "N", result.groups_table().set_index("group")["n_clips"])
        if verdict:
            pivot.insert(
                1, "misspec_p", [round(verdict.get(g, (np.nan,))[0], 3) for g in pivot.index]
            )
        with pd.option_context("display.width", 250, "display.max_columns", 40):
            lines.append(
                "loops' mean value per knob (knob units); population.csv has HDIs, loop ranges "
                "and shares on the bounds"
            )
            lines.append(pivot.round(3).to_string())
    bad = [n for n, (_, flag) in verdict.items() if flag]
    if bad:
        lines.append(f"{len(bad)} group(s) flagged as misspecified: " + ", ".join(bad))
    return "\n".join(lines)


def _verdicts(checks: pd.DataFrame | None) -> dict[str, tuple[float, bool]]:
    """group → (verdict p-value, flagged) from a check table (empty without one)."""
    if checks is None or checks.empty or "verdict_p" not in checks:
        return {}
    return {
        str(r["group"]): (float(r["verdict_p"]), bool(r["flagged"]))
        for r in checks.to_dict("records")
    }
