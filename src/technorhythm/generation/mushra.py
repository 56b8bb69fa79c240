"""The listening-test folder and its offline MUSHRA page: :func:`write_listening`.

Output folder of ``technorhythm listening``, written whole or not at all
(:func:`technorhythm.outdir.replacing_folder`):

``items/<code>.wav``  every item under a blinded name (random hex codes, in no order)
``mushra.html``       the rating page: open it in a browser, no server or network needed
``key.csv``           the unblinding key: file → trial, condition, ablated knob, source,
                      loudness before matching, gain, knobs (keep it from the listeners)
``listening.json``    the options, the ablated knobs, the loudness target, the command and
                      the SHA-256 of every file; it names no file's condition

The page shows one trial at a time: the open reference and the trial's items in a shuffled
order (a fixed order per listener name), each with a play button and a 0–100 slider on the
MUSHRA scale. Ratings stay in the browser's local storage and download as a CSV with the
columns ``listener, trial, item, file, rating, played``.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from technorhythm.atomic import atomic_write_text
from technorhythm.checksums import sha256_file
from technorhythm.generation.listening import ListeningSet, key_table
from technorhythm.outdir import replacing_folder

__all__ = ["LISTENING_SCHEMA", "check_listening_folder", "mushra_page", "write_listening"]

LISTENING_SCHEMA = "technorhythm.listening"
LISTENING_SCHEMA_VERSION = 1
_PLACEHOLDER = "/*__TRIALS__*/null"


def _codes(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct random 8-digit hex codes."""
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        code = f"{int(rng.integers(0, 2**32)):08x}"
        if code not in seen:
            seen.add(code)
            out.append(code)
    return out


def _page_trials(lset: ListeningSet, files: list[str], rng: np.random.Generator) -> list[dict]:
    """What the page needs and nothing more: per trial the reference and the test files."""
    trials = []
    for t in lset.trials():
        idx = [i for i, item in enumerate(lset.items) if item.trial == t]
        ref = [files[i] for i in idx if lset.items[i].condition == "reference"]
        tests = [files[i] for i in idx if lset.items[i].condition != "reference"]
        trials.append(
            {
                "trial": t,
                "reference": ref[0],
                "items": [tests[i] for i in rng.permutation(len(tests))],
            }
        )
    return trials


def mushra_page(trials: list[dict], *, title: str, set_id: str) -> str:
    """The offline rating page with ``trials`` (``trial``, ``reference``, ``items``) inside."""
    template = resources.files("technorhythm.generation").joinpath("templates/mushra.html")
    text = template.read_text(encoding="utf-8")
    data = json.dumps({"title": title, "set_id": set_id, "trials": trials}, sort_keys=True)
    data = data.replace("</", "<\\/")  # never closes the script element
    if _PLACEHOLDER not in text:
        raise RuntimeError("the MUSHRA template lost its data placeholder")
    return text.replace(_PLACEHOLDER, data).replace("__TITLE__", _html_escape(title))


def _html_escape(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def write_listening(
    lset: ListeningSet,
    out_dir: str | os.PathLike[str],
    *,
    fit_dir: str | os.PathLike[str],
    command: str = "",
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write the folder described in the module docstring; returns the ``listening.json``
    record.

    The files are written into a staging folder that replaces ``out_dir`` in one atomic
    step, under a lock that refuses a second writer
    (:func:`technorhythm.outdir.replacing_folder`). A folder that already holds a
    listening set is refused unless ``overwrite``; a non-empty folder without
    ``listening.json`` is never replaced.
    """
    out = Path(out_dir)
    check_listening_folder(out, overwrite)
    with replacing_folder(out, _is_listening, what="listening set") as staging:
        check_listening_folder(out, overwrite)  # written while we waited for the lock
        return _write_files(lset, staging, fit_dir=fit_dir, command=command)


def _is_listening(folder: Path) -> bool:
    return (folder / "listening.json").is_file()


def check_listening_folder(out: str | os.PathLike[str], overwrite: bool) -> None:
    """Refuse ``out`` when it is a file, or holds a listening set and not ``overwrite``."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out} exists and is not a directory")
    if _is_listening(out) and not overwrite:
        raise FileExistsError(f"{out} already holds a listening set; pass --force to replace it")


def _write_files(
    lset: ListeningSet, out: Path, *, fit_dir: str | os.PathLike[str], command: str
) -> dict[str, Any]:
    from technorhythm.posteriors import group_seed
    from technorhythm.simulator.audio import write_wav

    rng = np.random.default_rng(group_seed(int(lset.options["seed"]), lset.options["group"], 43))
    files = [f"items/{code}.wav" for code in _codes(len(lset.items), rng)]
    for item, name in zip(lset.items, files, strict=True):
        write_wav(item.samples, out / name)
    atomic_write_text(
        out / "key.csv", key_table(lset, files).to_csv(index=False, float_format="%.6g")
    )
    set_id = sha256_file(out / "key.csv")[:12]
    title = f"Listening test: {lset.options['group']}"
    page = mushra_page(_page_trials(lset, files, rng), title=title, set_id=set_id)
    atomic_write_text(out / "mushra.html", page)
    written = [*files, "key.csv", "mushra.html"]
    record = {
        "schema": LISTENING_SCHEMA,
        "schema_version": LISTENING_SCHEMA_VERSION,
        "fit": str(fit_dir),
        **lset.options,
        "set_id": set_id,
        "trials": len(lset.trials()),
        "items_per_trial": len(lset.items) // max(1, len(lset.trials())) - 1,
        "ablated_knobs": lset.ablated.to_dict("records"),
        "loudness_lufs": lset.target_lufs,
        "command": command,
        "files": {name: sha256_file(out / name) for name in written},
    }
    atomic_write_text(out / "listening.json", json.dumps(record, indent=1) + "\n")
    return record
