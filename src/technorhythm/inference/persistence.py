"""Saving and loading posterior estimators without pickle.

A model directory holds two files:

``model.pt``
    The density estimator's ``state_dict`` (tensors only), written with ``torch.save``
    and read back with ``torch.load(..., weights_only=True)``, so loading can never run
    code from the file.
``manifest.json``
    Everything needed to rebuild the same network and to decide whether it may be used:
    schema version, estimator configuration, θ names and bounds, x dimension and the x
    columns the network uses (``x_keep``: columns constant in training are dropped), the version
    record of prior/simulator/summaries (:mod:`technorhythm.inference.version`), software
    versions, training record (budget, seeds, losses, time), the data reference and the
    SHA-256 of ``model.pt``.

:func:`load_estimator` refuses, with a message saying what to do, when the manifest's
version hash differs from the installed code (:class:`ModelVersionError`) or when
``model.pt`` does not match its recorded SHA-256 (:class:`ModelIntegrityError`).
"""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from technorhythm.atomic import atomic_path, atomic_write_text
from technorhythm.checksums import sha256_file
from technorhythm.inference.version import current_versions, diff_versions

__all__ = [
    "MANIFEST_NAME",
    "WEIGHTS_NAME",
    "SCHEMA_VERSION",
    "ModelError",
    "ModelVersionError",
    "ModelIntegrityError",
    "save_estimator",
    "load_estimator",
    "read_manifest",
    "load_tensors",
    "safe_retrain_command",
    "sha256_file",
]

MANIFEST_NAME = "manifest.json"
WEIGHTS_NAME = "model.pt"
VERDICT_CALIBRATION_NAME = "verdict_calibration.json"
"""Optional: the model's calibration of the misspecification verdict, written by
``benchmarks/validate_checks.py --record`` (see technorhythm.diagnostics.verdict)."""
FORMAT_NAME = "technorhythm-posterior-estimator"
SCHEMA_VERSION = 1
RETRAIN_HINT = "technorhythm train --budget N --out MODEL_DIR"
_DROP_WITH_VALUE = ("--plot",)
_DROP_FLAGS = ("--force",)


def safe_retrain_command(command: str) -> str:
    """``command`` (a recorded ``technorhythm train`` line) made safe to copy and paste.

    Other commands are returned unchanged.

    The output folder becomes the placeholder ``MODEL_DIR`` (a recorded relative
    path such as the shipped model's folder would overwrite whatever is there),
    and ``--force`` and ``--plot PATH`` are dropped; the training settings stay.
    """
    import shlex

    try:
        words = shlex.split(command)
    except ValueError:
        return RETRAIN_HINT
    if words[:2] != ["technorhythm", "train"]:
        return command
    out, skip = [], False
    for word in words:
        if skip:
            skip = False
            continue
        name = word.split("=", 1)[0]
        if name in _DROP_FLAGS:
            continue
        if name in (*_DROP_WITH_VALUE, "--out"):
            skip = "=" not in word
            if name == "--out":
                out += ["--out", "MODEL_DIR"]
            continue
        out.append(word)
    if "--out" not in out:
        out += ["--out", "MODEL_DIR"]
    return shlex.join(out)


def _torch_load_failure(exc: BaseException) -> str:
    """What went wrong in ``torch.load``, without torch's advice to trust the file."""
    text = str(exc)
    if "weights_only" in text or "Unsupported global" in text or "Unpickl" in type(exc).__name__:
        return "it holds Python objects besides tensors (refused: loading them could run code)"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first[:300]


def load_tensors(path: Path):
    """``torch.load(path, weights_only=True)``: tensors only, so loading never runs code.

    Raises :class:`ModelIntegrityError` with a message for people (torch's own advice to
    load untrusted files with ``weights_only=False`` is not passed on).
    """
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for unreadable/unsafe files
        raise ModelIntegrityError(
            f"{path} could not be read as tensors: {_torch_load_failure(exc)}"
        ) from None


class ModelError(ValueError):
    """A model directory that cannot be used (missing, malformed, wrong schema)."""


class ModelVersionError(ModelError):
    """The model was trained for another prior, simulator or summary definition."""


class ModelIntegrityError(ModelError):
    """``model.pt`` does not match the SHA-256 recorded in the manifest (tampered or corrupt)."""


def _software() -> dict[str, str]:
    import sbi
    import torch

    from technorhythm import __version__

    return {
        "technorhythm": __version__,
        "sbi": sbi.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def save_estimator(estimator, directory: str | Path, *, overwrite: bool = False) -> Path:
    """Write a trained estimator to ``directory`` (created if needed); return the directory.

    Raises ``FileExistsError`` when the directory already holds a model and not ``overwrite``.
    """
    import torch

    if getattr(estimator, "density_estimator_", None) is None:
        raise ModelError("only a trained PosteriorEstimator can be saved; call train() first")
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(f"{directory} exists and is not a directory")
    if (directory / MANIFEST_NAME).exists() and not overwrite:
        raise FileExistsError(
            f"{directory} already holds a model; pass overwrite=True (CLI: --force) to replace it"
        )
    directory.mkdir(parents=True, exist_ok=True)
    state = {
        k: v.detach().cpu().clone() for k, v in estimator.density_estimator_.state_dict().items()
    }
    weights = directory / WEIGHTS_NAME
    with atomic_path(weights) as tmp:
        torch.save(state, tmp)
    manifest: dict[str, Any] = {
        "format": FORMAT_NAME,
        "schema_version": SCHEMA_VERSION,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": estimator.get_params(),
        "theta": {
            "names": list(estimator.theta_names),
            "bounds": estimator.theta_bounds.tolist(),
            "units": "knob units (see the knob registry)",
        },
        "x_dim": int(estimator.x_dim_),
        "x_keep": [bool(v) for v in estimator.x_keep_],
        "versions": current_versions(),
        "software": _software(),
        "training": {
            "n_simulations": int(estimator.n_simulations_),
            "training_time_s": float(estimator.training_time_s_),
            "seed": estimator.seed,
            "history": estimator.training_history_,
        },
        "data_reference": getattr(estimator, "data_reference_", None),
        "weights": {"file": WEIGHTS_NAME, "sha256": sha256_file(weights)},
    }
    atomic_write_text(directory / MANIFEST_NAME, json.dumps(manifest, indent=2) + "\n")
    return directory


def read_manifest(directory: str | Path) -> dict[str, Any]:
    """Parse and check the manifest of a model directory (format and schema version)."""
    directory = Path(directory)
    path = directory / MANIFEST_NAME
    if not directory.is_dir():
        raise ModelError(f"model directory {directory} does not exist")
    if not path.is_file():
        raise ModelError(f"{directory} is not a model directory: {MANIFEST_NAME} is missing")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise ModelError(f"{path} is not a technorhythm posterior-estimator manifest")
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise ModelError(
            f"{path} has schema version {manifest.get('schema_version')!r}; this technorhythm "
            f"reads schema version {SCHEMA_VERSION}. Retrain with `{RETRAIN_HINT}`."
        )
    for key in ("config", "theta", "x_dim", "x_keep", "versions", "weights"):
        if key not in manifest:
            raise ModelError(f"{path} lacks the {key!r} entry")
    return manifest


def check_versions(manifest: dict[str, Any], directory: Path) -> None:
    """Raise :class:`ModelVersionError` unless the model matches the installed code."""
    recorded = manifest["versions"]
    current = current_versions()
    if recorded.get("version_hash") == current["version_hash"]:
        return
    lines = diff_versions(recorded, current) or [
        f"version_hash: model {recorded.get('version_hash')!r}, "
        f"installed {current['version_hash']!r}"
    ]
    command = safe_retrain_command(
        (manifest.get("data_reference") or {}).get("command") or RETRAIN_HINT
    )
    raise ModelVersionError(
        f"the model in {directory} was trained for a different prior/simulator/summaries "
        f"definition and would give wrong posteriors:\n  "
        + "\n  ".join(lines)
        + f"\nRetrain it with:\n  {command}\n"
        "(MODEL_DIR: a new folder) and pass `--model MODEL_DIR` to `technorhythm fit`."
    )


def load_estimator(directory: str | Path):
    """Load a model saved by :func:`save_estimator`, checking integrity and versions first."""
    import torch

    from technorhythm.inference.estimator import PosteriorEstimator

    directory = Path(directory)
    manifest = read_manifest(directory)
    weights = directory / manifest["weights"].get("file", WEIGHTS_NAME)
    if weights.name != WEIGHTS_NAME or not weights.is_file():
        raise ModelError(f"{directory} lacks its weights file {WEIGHTS_NAME}")
    actual = sha256_file(weights)
    if actual != manifest["weights"].get("sha256"):
        raise ModelIntegrityError(
            f"{weights} does not match the SHA-256 recorded in its manifest "
            f"(recorded {manifest['weights'].get('sha256')}, found {actual}): the file was "
            "modified or corrupted after saving. Refusing to load it."
        )
    check_versions(manifest, directory)

    config = dict(manifest["config"])
    known = set(PosteriorEstimator._PARAM_NAMES)
    unknown = sorted(set(config) - known)
    if unknown:
        raise ModelError(f"{directory}: unknown configuration entries {unknown}")
    estimator = PosteriorEstimator(**config)
    bounds = estimator.theta_bounds
    if list(estimator.theta_names) != list(manifest["theta"]["names"]) or not np.allclose(
        bounds, np.asarray(manifest["theta"]["bounds"], dtype=float)
    ):
        raise ModelVersionError(
            f"{directory}: the θ names/bounds in the manifest differ from the prior they imply; "
            f"retrain with `{RETRAIN_HINT}`"
        )
    x_dim = int(manifest["x_dim"])
    x_keep = np.asarray(manifest["x_keep"], dtype=bool)
    if x_keep.shape != (x_dim,) or not x_keep.any():
        raise ModelError(f"{directory}: x_keep must list {x_dim} booleans, at least one true")
    state = load_tensors(weights)
    # Build the same architecture; dummy batches only fix the shapes (the z-scoring
    # buffers come from the state_dict, the logit transform from the prior bounds).
    mid = torch.as_tensor(bounds.mean(axis=1), dtype=torch.float32).repeat(2, 1)
    x_dummy = torch.zeros((2, x_dim), dtype=torch.float32)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        network = estimator._builder(x_keep)(mid, x_dummy)
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelError(
            f"{weights} does not fit the architecture described by its manifest: {exc}"
        ) from None
    training = manifest.get("training", {})
    estimator.density_estimator_ = network.eval()
    estimator.x_dim_ = x_dim
    estimator.x_keep_ = x_keep
    estimator.n_simulations_ = int(training.get("n_simulations", 0))
    estimator.training_time_s_ = float(training.get("training_time_s", float("nan")))
    estimator.training_history_ = training.get("history", {})
    estimator.data_reference_ = manifest.get("data_reference")
    estimator.manifest_ = manifest
    estimator.posterior_ = None
    calibration = Path(directory) / VERDICT_CALIBRATION_NAME
    if calibration.is_file():
        estimator.verdict_calibration_ = json.loads(calibration.read_text(encoding="utf-8"))
    return estimator
