"""Knob presets: named θ settings shipped as JSON package data, and user θ files.

A preset file (``simulator/presets/<name>.json``) is our own format and carries a
schema version::

    {"schema": "technorhythm.preset/1", "name": "minimal", "description": "...",
     "theta": {"swing_16": 0.04, ...every knob...}}

Shipped presets must set every knob (a test checks them against the registry);
user θ files given to ``technorhythm generate --theta`` may be a preset-style file
or a bare ``{knob: value}`` mapping, and may omit knobs (defaults fill in).
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

from technorhythm.atomic import atomic_write_text
from technorhythm.simulator.knobs import KNOB_NAMES, KnobError, validate_theta

__all__ = [
    "PRESET_SCHEMA",
    "PresetError",
    "list_presets",
    "load_preset",
    "preset_description",
    "load_theta_file",
    "save_theta_file",
    "theta_document",
]

PRESET_SCHEMA = "technorhythm.preset/1"
_PACKAGE = "technorhythm.simulator.presets"


class PresetError(ValueError):
    """A preset or θ file that is missing, unreadable or invalid."""


def _preset_files() -> dict[str, resources.abc.Traversable]:
    root = resources.files(_PACKAGE)
    return {p.name[: -len(".json")]: p for p in root.iterdir() if p.name.endswith(".json")}


def list_presets() -> tuple[str, ...]:
    """Names of the shipped presets, sorted."""
    return tuple(sorted(_preset_files()))


def _read_preset(name: str) -> dict:
    files = _preset_files()
    if name not in files:
        raise PresetError(f"Unknown preset {name!r}; available: {', '.join(sorted(files))}.")
    doc = json.loads(files[name].read_text(encoding="utf-8"))
    if doc.get("schema") != PRESET_SCHEMA:
        raise PresetError(
            f"preset {name!r} has schema {doc.get('schema')!r}; expected {PRESET_SCHEMA!r}"
        )
    return doc


def load_preset(name: str) -> dict[str, float]:
    """The θ of a shipped preset as a validated ``{knob: value}`` dict (every knob set)."""
    doc = _read_preset(name)
    try:
        return validate_theta(doc["theta"])
    except KnobError as err:
        raise PresetError(f"preset {name!r}: {err}") from None


def preset_description(name: str) -> str:
    """One-paragraph musical description of a shipped preset."""
    return str(_read_preset(name).get("description", ""))


def load_theta_file(path: str | os.PathLike[str]) -> dict[str, float]:
    """Read a θ JSON file (preset-style or a bare mapping); missing knobs take defaults."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PresetError(f"θ file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise PresetError(f"cannot read θ file {path}: {err}") from None
    if isinstance(doc, dict) and "theta" in doc:
        schema = doc.get("schema", PRESET_SCHEMA)
        if schema != PRESET_SCHEMA:
            raise PresetError(f"{path}: schema {schema!r} is not {PRESET_SCHEMA!r}")
        doc = doc["theta"]
    if not isinstance(doc, dict):
        raise PresetError(
            f"{path}: expected a JSON object of knob values ({', '.join(KNOB_NAMES)})"
        )
    try:
        return validate_theta(doc, partial=True)
    except KnobError as err:
        raise PresetError(f"{path}: {err}") from None


def theta_document(theta: dict[str, float], *, name: str, description: str = "") -> str:
    """A complete θ as the text of a preset-format JSON file (validated)."""
    doc = {
        "schema": PRESET_SCHEMA,
        "name": name,
        "description": description,
        "theta": validate_theta(theta),
    }
    return json.dumps(doc, indent=2) + "\n"


def save_theta_file(
    theta: dict[str, float], path: str | os.PathLike[str], *, name: str = "", description: str = ""
) -> None:
    """Write a complete θ as a preset-format JSON file (atomically)."""
    text = theta_document(theta, name=name or Path(path).stem, description=description)
    atomic_write_text(path, text)
