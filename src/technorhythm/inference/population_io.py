"""Saving and loading population estimators without pickle.

A model folder holds ``pack.pt`` and ``loop.pt`` (the networks' state_dicts, read
back with ``torch.load(..., weights_only=True)``; an ensemble's further pack networks in
``pack_1.pt``, ``pack_2.pt`` …) and ``manifest.json``: format and schema
version, the estimator's configuration, knob and ψ names and boxes, both networks'
records (condition columns kept, losses, training time), the version record of
prior/simulator/summaries (:mod:`technorhythm.inference.version`), software versions, the
data reference (plan, seeds, the reproducing ``technorhythm train`` command) and the
SHA-256 of each weights file.

Loading refuses a folder whose version hash differs from the installed code
(:class:`~technorhythm.inference.persistence.ModelVersionError`, with the command that
retrains it) or whose weights do not match their SHA-256
(:class:`~technorhythm.inference.persistence.ModelIntegrityError`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from technorhythm.atomic import atomic_path, atomic_write_text
from technorhythm.checksums import sha256_file
from technorhythm.inference.persistence import (
    MANIFEST_NAME,
    VERDICT_CALIBRATION_NAME,
    ModelError,
    ModelIntegrityError,
    ModelVersionError,
    _software,
    check_versions,
    load_tensors,
)
from technorhythm.inference.population import REST_SHARE
from technorhythm.inference.version import current_versions

__all__ = ["POPULATION_FORMAT", "save_population", "load_population", "read_population_manifest"]

POPULATION_FORMAT = "technorhythm-population-estimator"
SCHEMA_VERSION = 1


def _network_names(n_members: int) -> list[str]:
    """Network keys of a model: ``pack``, ``pack_1`` … (one per pack member), ``loop``."""
    return ["pack", *(f"pack_{j}" for j in range(1, int(n_members))), "loop"]


def save_population(estimator, directory: str | Path, *, overwrite: bool = False) -> Path:
    """Write a trained :class:`PopulationEstimator` to ``directory``; returns it."""
    import torch

    estimator._check_fitted()
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(f"{directory} exists and is not a directory")
    if (directory / MANIFEST_NAME).exists() and not overwrite:
        raise FileExistsError(
            f"{directory} already holds a model; pass overwrite=True (CLI: --force) to replace it"
        )
    directory.mkdir(parents=True, exist_ok=True)
    networks: dict[str, Any] = {}
    flows = dict(
        zip(
            _network_names(len(estimator.pack_)),
            [*estimator.pack_.members, estimator.loop_],
            strict=True,
        )
    )
    for name, flow in flows.items():
        tensors, record = flow.state()
        path = directory / f"{name}.pt"
        with atomic_path(path) as tmp:
            torch.save(tensors, tmp)
        networks[name] = {**record, "file": path.name, "sha256": sha256_file(path)}
    # files of a model saved earlier in the same folder that the manifest no longer lists
    (directory / "model.pt").unlink(missing_ok=True)
    for stale in directory.glob("pack_*.pt"):
        if stale.stem not in networks:
            stale.unlink()
    pop = estimator.population
    manifest = {
        "format": POPULATION_FORMAT,
        "schema_version": SCHEMA_VERSION,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        # the members saved, whatever the count the estimator was built with
        "config": {**estimator.get_params(), "pack_members": len(estimator.pack_)},
        "population": {
            "family": "normal censored to the knob range, independent knobs",
            "knob_names": list(pop.names),
            "knob_bounds": pop.bounds.tolist(),
            "hyper_names": list(pop.hyper_names),
            "hyper_bounds": pop.hyper_bounds.tolist(),
            "hyperprior": {
                "box": "uniform over hyper_bounds",
                "rest_share": REST_SHARE,
                "rest_plateaus": {
                    pop.names[k]: {"centres": c.tolist(), "half_width": h}
                    for k, (c, h) in pop.rest_knobs.items()
                },
            },
        },
        "x_dim": int(estimator.x_dim_),
        "loop_dim": int(estimator.loop_dim_),
        "n_sets": int(estimator.n_sets_),
        "n_loops": int(estimator.n_loops_),
        "networks": networks,
        "versions": current_versions(),
        "software": _software(),
        "data_reference": getattr(estimator, "data_reference_", None),
    }
    atomic_write_text(directory / MANIFEST_NAME, json.dumps(manifest, indent=2) + "\n")
    return directory


def read_population_manifest(directory: str | Path) -> dict[str, Any]:
    """Parse and check a population model's manifest (format and schema version)."""
    directory = Path(directory)
    path = directory / MANIFEST_NAME
    if not path.is_file():
        raise ModelError(f"{directory} is not a model directory: {MANIFEST_NAME} is missing")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != POPULATION_FORMAT:
        raise ModelError(
            f"{path} is not a population model (format {manifest.get('format')!r}); "
            "train one with `technorhythm train`"
        )
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise ModelError(
            f"{path} has schema version {manifest.get('schema_version')!r}; this technorhythm "
            f"reads {SCHEMA_VERSION}. Retrain it with `technorhythm train`."
        )
    for key in ("config", "population", "networks", "versions"):
        if key not in manifest:
            raise ModelError(f"{path} lacks the {key!r} entry")
    return manifest


def _load_tensors(directory: Path, record: dict[str, Any]):
    path = directory / str(record.get("file", ""))
    if path.parent != directory or not path.is_file():
        raise ModelError(f"{directory} lacks the weights file {record.get('file')!r}")
    actual = sha256_file(path)
    if actual != record.get("sha256"):
        raise ModelIntegrityError(
            f"{path} does not match the SHA-256 recorded in its manifest (recorded "
            f"{record.get('sha256')}, found {actual}): modified or corrupted. Refusing to load."
        )
    return load_tensors(path)


def load_population(directory: str | Path):
    """Load a folder written by :func:`save_population` (integrity and versions checked)."""
    from technorhythm.inference.ensemble import FlowEnsemble
    from technorhythm.inference.flows import ConditionalFlow
    from technorhythm.inference.population_estimator import PopulationEstimator

    directory = Path(directory)
    manifest = read_population_manifest(directory)
    params = dict(manifest["config"])
    estimator = PopulationEstimator(**params)  # only stores: checked below
    try:
        names = _network_names(estimator._n_members())
    except ValueError as exc:
        raise ModelError(f"{directory}: {exc}") from None
    listed = sorted(n for n in manifest["networks"] if n == "pack" or n.startswith("pack_"))
    if len(listed) != len(names) - 1:
        raise ModelError(
            f"{directory}: the manifest lists {len(listed)} pack networks ({', '.join(listed)}) "
            f"but its configuration says pack_members={estimator._n_members()}"
        )
    flows = {}
    for name in names:
        record = manifest["networks"].get(name)
        if not isinstance(record, dict):
            raise ModelError(f"{directory}: the manifest lacks the {name} network")
        tensors = _load_tensors(directory, record)
        flows[name] = record
        flows[f"{name}_tensors"] = tensors
    check_versions(manifest, directory)
    pop = estimator.population
    if list(pop.names) != manifest["population"]["knob_names"] or not np.allclose(
        pop.bounds, np.asarray(manifest["population"]["knob_bounds"], dtype=float)
    ):
        raise ModelVersionError(
            f"{directory}: the knobs in the manifest differ from the installed registry; "
            "retrain with `technorhythm train`"
        )
    nets = {}
    for name in names:
        try:
            nets[name] = ConditionalFlow.from_state(flows[f"{name}_tensors"], flows[name])
        except (RuntimeError, ValueError, KeyError, TypeError) as exc:
            raise ModelError(
                f"{directory}/{name}.pt does not fit the architecture in its manifest: {exc}"
            ) from None
    estimator = PopulationEstimator.from_state(
        params,
        FlowEnsemble([nets[name] for name in names[:-1]]),
        nets["loop"],
        n_sets_=int(manifest.get("n_sets", 0)),
        n_loops_=int(manifest.get("n_loops", 0)),
        data_reference_=manifest.get("data_reference"),
        manifest_=manifest,
    )
    calibration = directory / VERDICT_CALIBRATION_NAME
    if calibration.is_file():
        estimator.verdict_calibration_ = json.loads(calibration.read_text(encoding="utf-8"))
    return estimator
