"""The validation record of a model folder: how calibrated the model is, kept next to it.

A report shows the calibration of the model a fit actually used, so the figures must
travel with the model, not with a benchmark's output folder. The validation script
(``benchmarks/validate_inference.py``) writes them with :func:`save_validation_record`;
the report reads them with :func:`load_validation_record`.

File: ``MODEL_DIR/validation.json`` (UTF-8 JSON, written atomically)::

    {
      "schema": "technorhythm.validation", "schema_version": 1,
      "created_utc": "2026-12-01T21:00:00+00:00",
      "manifest_sha256": "<SHA-256 of MODEL_DIR/manifest.json when the record was written>",
      "command": "<the exact command that produced the record>",
      "parameters": ["<knob>_loc", ..., "<knob>_spread", ...],
      "runs": [
        {
          "label": "N = 16", "n_clips": 16, "kind": "prior",
          "sbc": {"n_samples": 200, "ranks": [[0..L ints per parameter], ...]},
          "tarp": {"alpha": [...], "ecp": [...], "n_sets": 200},
          "hpd_coverage": [{"level": 0.5, "coverage": 0.49, "ok": true}, ...],
          "interval_coverage": {"level": 0.9, "rows": [{"param": "...", "coverage": 0.9,
                                "n_near": 12, "coverage_near": 0.83, "ok_near": false}]}
        }
      ],
      "headline": {"...": "free-form figures of the validation, shown as given"}
    }

Every entry of a run but ``label`` is optional. SBC keeps the ranks only (what the rank
ECDFs and the KS test need). A record whose ``manifest_sha256`` differs from the model's
current manifest describes an earlier model; :attr:`ValidationRecord.matches_model` says so.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from technorhythm.atomic import atomic_write_text
from technorhythm.checksums import sha256_file
from technorhythm.diagnostics.sbc import SBCResult
from technorhythm.diagnostics.tarp import TarpResult

__all__ = [
    "VALIDATION_FILE",
    "VALIDATION_SCHEMA",
    "VALIDATION_SCHEMA_VERSION",
    "ValidationRecordError",
    "ValidationRun",
    "ValidationRecord",
    "save_validation_record",
    "load_validation_record",
]

VALIDATION_FILE = "validation.json"
VALIDATION_SCHEMA = "technorhythm.validation"
VALIDATION_SCHEMA_VERSION = 1
MANIFEST_FILE = "manifest.json"


class ValidationRecordError(ValueError):
    """A validation record that cannot be read (not JSON, wrong schema, malformed runs)."""


@dataclass(frozen=True)
class ValidationRun:
    """The calibration figures of one set size (and kind of simulated packs).

    Attributes
    ----------
    label : str
        How the run is named in tables and legends (e.g. ``"N = 16"``).
    n_clips : int or None
        Pack size of the simulated packs.
    kind : str
        Which packs were simulated (e.g. ``"prior"``, ``"faces"``).
    sbc : SBCResult, optional
        SBC ranks (only ``ranks``, ``n_samples``, ``names`` and ``n_clips`` are kept).
    tarp : TarpResult, optional
    hpd_coverage : DataFrame, optional
        :func:`technorhythm.diagnostics.check_hpd_coverage` (``level, coverage, ok``).
    interval_coverage : DataFrame, optional
        :func:`technorhythm.diagnostics.check_interval_coverage`, at ``interval_level``.
    """

    label: str
    n_clips: int | None = None
    kind: str = "prior"
    sbc: SBCResult | None = None
    tarp: TarpResult | None = None
    hpd_coverage: pd.DataFrame | None = None
    interval_coverage: pd.DataFrame | None = None
    interval_level: float = 0.9


@dataclass(frozen=True)
class ValidationRecord:
    """A model's validation record as read back (see the module docstring)."""

    path: Path
    created_utc: str
    command: str
    parameters: tuple[str, ...]
    runs: tuple[ValidationRun, ...]
    headline: dict[str, Any] = field(default_factory=dict)
    manifest_sha256: str = ""
    matches_model: bool = True

    def sbc_results(self, kind: str | None = None) -> list[SBCResult]:
        """The runs' SBC results (of one ``kind`` when given), in record order."""
        return [r.sbc for r in self.runs if r.sbc is not None and kind in (None, r.kind)]

    def tarp_results(self, kind: str | None = None) -> list[TarpResult]:
        """The runs' TARP results (of one ``kind`` when given), in record order."""
        return [r.tarp for r in self.runs if r.tarp is not None and kind in (None, r.kind)]


def _json_safe(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_safe(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _run_to_json(run: ValidationRun) -> dict[str, Any]:
    out: dict[str, Any] = {"label": run.label, "n_clips": run.n_clips, "kind": run.kind}
    if run.sbc is not None:
        out["sbc"] = {
            "n_samples": int(run.sbc.n_samples),
            "names": list(run.sbc.names),
            "ranks": np.asarray(run.sbc.ranks, dtype=np.int64).tolist(),
        }
    if run.tarp is not None:
        out["tarp"] = {
            "alpha": np.round(run.tarp.alpha, 6).tolist(),
            "ecp": np.round(run.tarp.ecp, 6).tolist(),
            "n_sets": int(run.tarp.n_sets),
        }
    if run.hpd_coverage is not None:
        out["hpd_coverage"] = run.hpd_coverage.to_dict("records")
    if run.interval_coverage is not None:
        out["interval_coverage"] = {
            "level": float(run.interval_level),
            "rows": run.interval_coverage.to_dict("records"),
        }
    return _json_safe(out)


def save_validation_record(
    model_dir: str | os.PathLike[str],
    runs: Sequence[ValidationRun],
    *,
    command: str,
    headline: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``MODEL_DIR/validation.json`` (atomically) for the model in ``model_dir``.

    ``command`` is the exact command that produced the figures; ``headline`` any figures
    to show as given (JSON-serialisable; NaN becomes null). Returns the file's path.
    """
    model_dir = Path(model_dir)
    manifest = model_dir / MANIFEST_FILE
    if not manifest.is_file():
        raise FileNotFoundError(f"{model_dir} is not a model folder ({MANIFEST_FILE} is missing)")
    if not runs:
        raise ValueError("a validation record needs at least one run")
    names = next((r.sbc.names for r in runs if r.sbc is not None), ())
    record = {
        "schema": VALIDATION_SCHEMA,
        "schema_version": VALIDATION_SCHEMA_VERSION,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "manifest_sha256": sha256_file(manifest),
        "command": str(command),
        "parameters": list(names),
        "runs": [_run_to_json(r) for r in runs],
        "headline": _json_safe(dict(headline or {})),
    }
    path = model_dir / VALIDATION_FILE
    atomic_write_text(path, json.dumps(record, indent=1) + "\n")
    return path


def _frame(rows: Any, what: str, path: Path) -> pd.DataFrame:
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ValidationRecordError(f"{path}: {what} must be a list of rows")
    return pd.DataFrame(rows)


def _run_from_json(raw: Any, path: Path) -> ValidationRun:
    if not isinstance(raw, dict) or "label" not in raw:
        raise ValidationRecordError(f"{path}: every run needs a label")
    n_clips = raw.get("n_clips")
    sbc = tarp = hpd = interval = None
    level = 0.9
    try:
        if "sbc" in raw:
            ranks = np.asarray(raw["sbc"]["ranks"], dtype=np.int64)
            names = tuple(raw["sbc"]["names"])
            if ranks.ndim != 2 or ranks.shape[1] != len(names):
                raise ValueError(f"ranks of shape {ranks.shape} for {len(names)} parameters")
            empty = np.empty((ranks.shape[0], 0))
            sbc = SBCResult(ranks, empty, empty, int(raw["sbc"]["n_samples"]), names, n_clips)
        if "tarp" in raw:
            alpha = np.asarray(raw["tarp"]["alpha"], dtype=np.float64)
            ecp = np.asarray(raw["tarp"]["ecp"], dtype=np.float64)
            if alpha.shape != ecp.shape:
                raise ValueError("TARP alpha and ecp differ in length")
            tarp = TarpResult(ecp, alpha, int(raw["tarp"]["n_sets"]), n_clips)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationRecordError(f"{path}: run {raw['label']!r} is malformed: {exc}") from None
    if "hpd_coverage" in raw:
        hpd = _frame(raw["hpd_coverage"], "hpd_coverage", path)
    if "interval_coverage" in raw:
        block = raw["interval_coverage"]
        if not isinstance(block, dict):
            raise ValidationRecordError(f"{path}: interval_coverage must be an object")
        interval = _frame(block.get("rows"), "interval_coverage.rows", path)
        level = float(block.get("level", 0.9))
    return ValidationRun(
        label=str(raw["label"]),
        n_clips=None if n_clips is None else int(n_clips),
        kind=str(raw.get("kind", "prior")),
        sbc=sbc,
        tarp=tarp,
        hpd_coverage=hpd,
        interval_coverage=interval,
        interval_level=level,
    )


def load_validation_record(model_dir: str | os.PathLike[str]) -> ValidationRecord | None:
    """Read ``MODEL_DIR/validation.json``; None when the model has no record.

    Raises :class:`ValidationRecordError` when the file exists but cannot be read.
    """
    model_dir = Path(model_dir)
    path = model_dir / VALIDATION_FILE
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationRecordError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(raw, dict) or raw.get("schema") != VALIDATION_SCHEMA:
        raise ValidationRecordError(f"{path} is not a technorhythm validation record")
    if raw.get("schema_version") != VALIDATION_SCHEMA_VERSION:
        raise ValidationRecordError(
            f"{path} has schema version {raw.get('schema_version')!r}; this technorhythm "
            f"reads {VALIDATION_SCHEMA_VERSION}"
        )
    runs = raw.get("runs")
    if not isinstance(runs, list):
        raise ValidationRecordError(f"{path}: 'runs' must be a list")
    manifest = model_dir / MANIFEST_FILE
    recorded = str(raw.get("manifest_sha256", ""))
    return ValidationRecord(
        path=path,
        created_utc=str(raw.get("created_utc", "")),
        command=str(raw.get("command", "")),
        parameters=tuple(raw.get("parameters", ())),
        runs=tuple(_run_from_json(r, path) for r in runs),
        headline=dict(raw.get("headline") or {}),
        manifest_sha256=recorded,
        matches_model=manifest.is_file() and sha256_file(manifest) == recorded,
    )
