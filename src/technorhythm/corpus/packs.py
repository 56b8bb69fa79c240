"""Packs (source collections), metadata CSVs and licences of input files.

A *pack* groups files that come from one source, so that splits never leak a
source between train and test. ``pack_by``:

``"folder"``
    the first folder level under the input (files at the top level: pack ``"_root"``);
``"folder:N"``
    the first ``N`` folder levels joined with ``/``;
a column name
    the value of that column of the metadata CSV (e.g. Groove's ``session``,
    ``drummer`` or ``style``); files missing from the CSV get pack ``"_unlisted"``;
``"auto"``
    ``session`` when the metadata CSV has that column, else ``folder``.

A file's *licence* comes from the nearest ``license.json`` (key ``license`` or
``spdx``, an SPDX identifier) or ``LICENSE``/``LICENSE.txt``/``LICENSE.md``/
``COPYING`` text file in its folder or any parent folder up to the input root,
else from the default given on the command line, else ``"unknown"``. Licence
texts are recognised by their wording (Creative Commons variants, CC0, MIT,
Apache, BSD). Licences that forbid derivatives (``-ND``, "NoDerivatives") exclude
the file from the dataset; it is reported with status ``excluded``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath

import pandas as pd

from technorhythm.corpus.scan import MIDI_SUFFIXES, scan_input

__all__ = [
    "MIDI_SUFFIXES",
    "find_midi_files",
    "read_metadata_csv",
    "assign_packs",
    "LicenceError",
    "licence_of",
    "is_no_derivatives",
    "identify_licence_text",
]

_LICENCE_FILES = ("license.json", "LICENSE", "LICENSE.txt", "LICENSE.md", "COPYING")
_CC_VARIANTS = (
    ("attribution-noncommercial-noderivatives", "CC-BY-NC-ND"),
    ("attribution-noncommercial-noderivs", "CC-BY-NC-ND"),
    ("attribution-noderivatives", "CC-BY-ND"),
    ("attribution-noderivs", "CC-BY-ND"),
    ("attribution-noncommercial-sharealike", "CC-BY-NC-SA"),
    ("attribution-sharealike", "CC-BY-SA"),
    ("attribution-noncommercial", "CC-BY-NC"),
    ("attribution", "CC-BY"),
)


def find_midi_files(root: Path) -> list[str]:
    """Relative POSIX paths of every MIDI file (by suffix, any case) under ``root``, sorted.

    Regular files and links to regular files; :func:`technorhythm.corpus.scan.scan_input`
    also reports every entry that is not.
    """
    return [e.rel for e in scan_input(root) if e.is_input]


def read_metadata_csv(path: Path, files: list[str]) -> tuple[pd.DataFrame, str]:
    """Read a metadata CSV and find its column of relative MIDI paths.

    Returns the table indexed by relative path and the name of the path column.
    A ``style`` value ``"a/b"`` (Groove: ``funk/groove1``) is split into
    ``style = "a"`` and ``style_detail = "b"``.
    """
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    wanted = set(files)
    best, best_hits = None, 0
    for col in table.columns:
        hits = sum(value in wanted for value in table[col].tolist())
        if hits > best_hits:
            best, best_hits = col, hits
    if best is None:
        raise ValueError(
            f"metadata CSV {str(path)!r} has no column of MIDI paths relative to the input folder "
            f"(columns: {', '.join(table.columns)})"
        )
    table = table.drop_duplicates(best).set_index(best)
    if "style" in table.columns:
        parts = table["style"].str.split("/", n=1, expand=True)
        table["style_detail"] = parts[1].fillna("") if parts.shape[1] > 1 else ""
        table["style"] = parts[0]
    return table, best


def assign_packs(files: list[str], pack_by: str, metadata: pd.DataFrame | None) -> list[str]:
    """The pack of each relative path (see the module docstring for ``pack_by``)."""
    if pack_by == "auto":
        pack_by = "session" if metadata is not None and "session" in metadata.columns else "folder"
    if pack_by == "folder" or pack_by.startswith("folder:"):
        depth = 1
        if pack_by != "folder":
            try:
                depth = int(pack_by.split(":", 1)[1])
            except ValueError:
                depth = 0
            if depth < 1:
                raise ValueError(f"pack_by 'folder:N' needs an integer N >= 1; got {pack_by!r}")
        packs = []
        for f in files:
            parts = PurePosixPath(f).parts[:-1]
            packs.append("/".join(parts[:depth]) if parts else "_root")
        return packs
    if metadata is None:
        raise ValueError(
            f"pack_by={pack_by!r} names a metadata column, but no metadata CSV was given "
            "or found (info.csv / metadata.csv in the input folder)"
        )
    if pack_by not in metadata.columns:
        raise ValueError(
            f"pack_by={pack_by!r} is not a column of the metadata CSV; choose 'folder', "
            f"'folder:N' or one of: {', '.join(metadata.columns)}"
        )
    col = metadata[pack_by]
    return [str(col[f]) if f in col.index and col[f] != "" else "_unlisted" for f in files]


def identify_licence_text(text: str) -> str:
    """SPDX-style identifier for a licence text, or ``LicenseRef-unrecognised``."""
    low = " ".join(text.lower().split())
    version = re.search(r"\b([1-4]\.0)\b", low)
    ver = f"-{version.group(1)}" if version else ""
    if "creative commons" in low or "creativecommons.org" in low:
        if "cc0" in low or "publicdomain/zero" in low or "public domain dedication" in low:
            return "CC0-1.0"
        url = re.search(r"creativecommons\.org/licenses/([a-z-]+)/", low)
        if url:
            return f"CC-{url.group(1).upper()}{ver}"
        for words, spdx in _CC_VARIANTS:
            if words in low.replace(" ", "-"):
                return f"{spdx}{ver}"
    if "mit license" in low or "permission is hereby granted, free of charge" in low:
        return "MIT"
    if "apache license" in low:
        return f"Apache{ver or '-2.0'}"
    if "redistribution and use in source and binary forms" in low:
        return "BSD"
    return "LicenseRef-unrecognised"


def _read_licence_file(path: Path) -> str:
    if path.name == "license.json":
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read licence file {str(path)!r}: {exc}") from exc
        value = info.get("license") or info.get("spdx") if isinstance(info, dict) else None
        if not isinstance(value, str) or not value.strip():
            raise ValueError(
                f"licence file {str(path)!r} needs a string field 'license' (an SPDX id)"
            )
        return value.strip()
    return identify_licence_text(path.read_text(encoding="utf-8", errors="replace"))


class LicenceError(ValueError):
    """A licence file that cannot be read or understood; its files cannot be used."""


def _folder_licence(root: Path, sub: PurePosixPath):
    """(licence, where) from a licence file in ``sub``, a :class:`LicenceError`, or None."""
    for name in _LICENCE_FILES:
        candidate = Path(root) / sub / name
        if candidate.is_file():
            where = (sub / name).as_posix()
            try:
                return _read_licence_file(candidate), where
            except OSError as exc:
                return LicenceError(f"cannot read licence file {where!r}: {exc.strerror}")
            except ValueError as exc:
                return LicenceError(str(exc))
    return None


def licence_of(root: Path, rel_path: str, default: str | None, cache: dict) -> tuple[str, str]:
    """(licence id, where it came from) for one relative file path.

    Raises :class:`LicenceError` when the nearest licence file cannot be read or
    understood (every file under it gets the same answer, from ``cache``).
    """
    folder = PurePosixPath(rel_path).parent
    for sub in (folder, *folder.parents):
        key = str(sub)
        if key not in cache:
            cache[key] = _folder_licence(root, sub)
        found = cache[key]
        if isinstance(found, LicenceError):
            raise found
        if found is not None:
            return found
    if default:
        return default, "--default-license"
    return "unknown", "none found"


def is_no_derivatives(licence: str) -> bool:
    """True when the licence forbids derivative works (Creative Commons ND variants)."""
    low = licence.lower()
    return "-nd" in low or "noderiv" in low
