"""Loops from a fitted group: :func:`generate_from_pack`, and the folder :func:`write_generated`.

Output folder of ``technorhythm generate --from-fit``, written whole or not at all
(:func:`technorhythm.outdir.replacing_folder`):

``loop_000.mid`` …    one General MIDI drum loop per draw (and ``loop_000.wav`` … with WAVs)
``theta.csv``         one row per loop: ``loop``, ``bpm``, ``seed`` (the simulator seed) and
                      the value of every knob (registry order, knob units)
``index.json``        the fit, the group, the seed, the spread, the options, the command
                      that wrote the folder and the SHA-256 of every file

Loop ``j`` depends on ``(seed, group, j)`` and the spread only: the same seed gives the same
bytes, and asking for more loops, other bars or another tempo keeps the loops' knobs and
hits (:mod:`technorhythm.generation.sampling`).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from technorhythm.atomic import atomic_write_text
from technorhythm.checksums import sha256_file
from technorhythm.generation.fitted import PackPosterior
from technorhythm.generation.sampling import check_spread, draw_theta, hold_knobs, loop_streams
from technorhythm.outdir import replacing_folder
from technorhythm.simulator.knobs import KNOB_NAMES
from technorhythm.simulator.render import Loop, generate_loops

__all__ = [
    "FROM_PACK",
    "GENERATED_SCHEMA",
    "GeneratedLoops",
    "check_generated_folder",
    "generate_from_pack",
    "loop_tempos",
    "write_generated",
]

GENERATED_SCHEMA = "technorhythm.generated"
GENERATED_SCHEMA_VERSION = 1
FROM_PACK = "from-pack"
"""The tempo option that draws each loop's tempo from the group's own clips."""


@dataclass(frozen=True)
class GeneratedLoops:
    """Loops generated from one fitted group.

    ``theta`` (n, K) knob values, ``bpm`` (n,) tempos, ``sim_seeds`` (n,) simulator seeds,
    ``loops`` the simulated loops; ``options`` what produced them (group, seed, spread,
    bars, tempo option, held knobs, rotation).
    """

    theta: np.ndarray
    bpm: np.ndarray
    sim_seeds: tuple[int, ...]
    loops: tuple[Loop, ...]
    options: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.loops)

    def names(self) -> list[str]:
        """``loop_000`` … one per loop."""
        return [f"loop_{j:03d}" for j in range(len(self.loops))]

    def theta_table(self) -> pd.DataFrame:
        """One row per loop: ``loop``, ``bpm``, ``seed`` and every knob (``theta.csv``)."""
        table = pd.DataFrame(self.theta, columns=list(KNOB_NAMES))
        table.insert(0, "seed", np.asarray(self.sim_seeds, dtype=np.uint64))
        table.insert(0, "bpm", self.bpm)
        table.insert(0, "loop", self.names())
        return table


def _check_bpm(value: float) -> float:
    bpm = float(value)
    if not (math.isfinite(bpm) and 20.0 <= bpm <= 400.0):
        raise ValueError(f"bpm must be in [20, 400] or {FROM_PACK!r}; got {value!r}")
    return bpm


def loop_tempos(
    pack: PackPosterior, n: int, *, seed: int, bpm: float | str = FROM_PACK, data=None
) -> np.ndarray:
    """Tempo (n,) of each loop: ``bpm`` for all, or with ``"from-pack"`` one tempo per loop
    drawn from the group's own clips (``data``: the dataset, default the fit's)."""
    if isinstance(bpm, str) and bpm == FROM_PACK:
        tempos = pack.real_clips(data).bpm
        return np.array(
            [loop_streams(seed, pack.group, j)[2].choice(tempos) for j in range(int(n))],
            dtype=np.float64,
        )
    return np.full(int(n), _check_bpm(bpm))


def generate_from_pack(
    pack: PackPosterior,
    n: int,
    *,
    seed: int,
    bars: int = 4,
    bpm: float | str = FROM_PACK,
    spread: float = 1.0,
    hold: Mapping[str, float] | None = None,
    rotate: int = 0,
    data=None,
    knobs: str = "population",
) -> GeneratedLoops:
    """``n`` loops of ``bars`` bars from a fitted group's posterior predictive.

    Parameters
    ----------
    pack : the fitted group (:func:`technorhythm.generation.load_pack`).
    n : number of loops.
    seed : master seed (non-negative).
    bars : loop length in bars (consecutive 4-bar clips cut to length).
    bpm : a tempo for every loop, or ``"from-pack"`` (see :func:`loop_tempos`).
    spread : 0 = the posterior mean setting, 1 = the posterior predictive, > 1 wider
        (:mod:`technorhythm.generation.sampling`).
    hold : knobs held at fixed values in every loop (after the spread), e.g. a knob at its
        default for an ablation.
    rotate : start each file this many 16th steps into its loop.
    data : the dataset the fit was made from, for ``"from-pack"`` tempos (default: the one
        the fit records).
    knobs : ``"population"`` (new loops of the pack's population) or ``"loops"``
        (variations of the pack's own loops; :mod:`technorhythm.generation.sampling`).
    """
    spread = check_spread(spread)
    theta = draw_theta(pack, n, seed=seed, spread=spread, knobs=knobs)
    held = {k: float(v) for k, v in (hold or {}).items()}
    if held:
        theta = hold_knobs(theta, held)
    tempos = loop_tempos(pack, n, seed=seed, bpm=bpm, data=data)
    sim_seeds = tuple(loop_streams(seed, pack.group, j)[1] for j in range(int(n)))
    loops = tuple(
        generate_loops(t, seed=s, n_loops=1, bars=bars, bpm=float(b), rotate=rotate)[0]
        for t, s, b in zip(theta, sim_seeds, tempos, strict=True)
    )
    options = {
        "group": pack.group,
        "seed": int(seed),
        "n": int(n),
        "spread": spread,
        "knob_source": knobs,
        "bars": int(bars),
        "bpm": bpm if isinstance(bpm, str) else float(bpm),
        "hold": held,
        "rotate": int(rotate),
    }
    return GeneratedLoops(theta, tempos, sim_seeds, loops, options)


_SAMPLERS = {
    "population": (
        "per loop: psi from the group's posterior, theta from its population "
        "(the posterior predictive checks' model); then mean + spread * (theta - mean)"
    ),
    "loops": (
        "per loop: one of the group's own loops at random, theta a draw of that loop's "
        "posterior (its knobs under partial pooling); then mean + spread * (theta - mean)"
    ),
}


def write_generated(
    gen: GeneratedLoops,
    pack: PackPosterior,
    out_dir: str | os.PathLike[str],
    *,
    wav: bool = False,
    command: str = "",
    soundfont: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write the folder described in the module docstring; returns the ``index.json`` record.

    The files are written into a staging folder that replaces ``out_dir`` in one atomic
    step, under a lock that refuses a second writer
    (:func:`technorhythm.outdir.replacing_folder`): a crash leaves the previous folder as
    it was, never a mix. A folder that already holds generated loops is refused unless
    ``overwrite``; a non-empty folder without ``index.json`` is never replaced.
    """
    out = Path(out_dir)
    check_generated_folder(out, overwrite)
    with replacing_folder(out, _is_generated, what="generated loops") as staging:
        check_generated_folder(out, overwrite)  # written while we waited for the lock
        return _write_files(gen, pack, staging, wav=wav, command=command, soundfont=soundfont)


def _is_generated(folder: Path) -> bool:
    return (folder / "index.json").is_file()


def check_generated_folder(out: str | os.PathLike[str], overwrite: bool) -> None:
    """Refuse ``out`` when it is a file, or holds generated loops and not ``overwrite``."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out} exists and is not a directory")
    if _is_generated(out) and not overwrite:
        raise FileExistsError(f"{out} already holds generated loops; pass --force to replace them")


def _write_files(
    gen: GeneratedLoops,
    pack: PackPosterior,
    out: Path,
    *,
    wav: bool,
    command: str,
    soundfont: str | os.PathLike[str] | None,
) -> dict[str, Any]:
    from technorhythm.simulator import SIMULATOR_VERSION
    from technorhythm.simulator.knobs import registry_hash
    from technorhythm.simulator.render import write_loop

    files: list[str] = []
    for name, loop in zip(gen.names(), gen.loops, strict=True):
        midi, audio = out / f"{name}.mid", (out / f"{name}.wav") if wav else None
        write_loop(loop, midi, audio, soundfont=soundfont)
        files += [midi.name] + ([audio.name] if audio is not None else [])
    table = gen.theta_table()
    atomic_write_text(out / "theta.csv", table.to_csv(index=False, float_format="%.6g"))
    files.append("theta.csv")
    record = {
        "schema": GENERATED_SCHEMA,
        "schema_version": GENERATED_SCHEMA_VERSION,
        "fit": str(pack.fit_dir),
        "fit_sha256": sha256_file(pack.fit_dir / "fit.json"),
        "model_hash": (pack.record.get("model") or {}).get("model_hash", ""),
        **gen.options,
        "posterior_mean": dict(zip(KNOB_NAMES, pack.center().round(6).tolist(), strict=True)),
        "sampler": _SAMPLERS[gen.options.get("knob_source", "population")],
        "knobs": list(KNOB_NAMES),
        "registry_hash": registry_hash(),
        "simulator_version": str(SIMULATOR_VERSION),
        "renderer": "fluidsynth" if soundfont else "builtin",
        "command": command,
        "files": {name: sha256_file(out / name) for name in files},
    }
    atomic_write_text(out / "index.json", json.dumps(record, indent=1) + "\n")
    return record
