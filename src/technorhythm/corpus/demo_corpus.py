"""The built-in demo corpus: techno patterns in a readable step notation, rendered to MIDI.

The patterns live in ``technorhythm/corpus/demo/*.txt``, one file per pack,
authored for this project and licensed like it (MIT). Notation (see the header
of ``warehouse.txt``): a block starts with ``== name | bpm: B | swing: S |
humanize: H``; each following line is an instrument name and 16, 32 or 64 steps
of 16ths (repeated to 4 bars) with ``X`` accent (120), ``x`` normal (90), ``o``
soft (55), ``.`` rest; spaces and ``|`` are ignored.

:func:`render_demo_corpus` writes each pattern as an 8-bar MIDI file (two
4-bar windows; with humanize, each repetition gets its own timing) into one
folder per pack with a ``license.json``, ready for :func:`technorhythm.corpus.ingest`.
Swing delays the off 16ths by ``swing`` of a step; humanize adds seeded Gaussian
jitter of ``humanize`` ms (seeded by the pattern name, so renders are reproducible).
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from technorhythm.clips import INSTRUMENTS, N_STEPS, ClipBatch, step_ms

__all__ = ["DemoPattern", "parse_patterns", "load_demo_patterns", "render_demo_corpus"]

_VELOCITY = {"X": 120, "x": 90, "o": 55, ".": 0, "-": 0}
_REPEATS = 2  # 4-bar windows per rendered file
DEMO_LICENSE = "MIT"


@dataclass(frozen=True)
class DemoPattern:
    """One authored pattern: velocities (5, 64) uint8 and its performance settings."""

    name: str
    pack: str
    bpm: float
    swing: float
    humanize_ms: float
    velocity: np.ndarray


def _fail(source: str, line_no: int, message: str) -> None:
    raise ValueError(f"{source}, line {line_no}: {message}")


def parse_patterns(text: str, pack: str, source: str = "<text>") -> list[DemoPattern]:
    """Parse the step notation of one pack file; errors name the file and line."""
    patterns: list[DemoPattern] = []
    current: dict | None = None

    def finish() -> None:
        if current is not None:
            if not current["velocity"].any():
                _fail(source, current["line"], f"pattern {current['name']!r} has no notes")
            patterns.append(
                DemoPattern(
                    current["name"],
                    pack,
                    current["bpm"],
                    current["swing"],
                    current["humanize"],
                    current["velocity"],
                )  # fmt: skip
            )

    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("=="):
            finish()
            fields = [f.strip() for f in line[2:].split("|")]
            opts = {}
            for f in fields[1:]:
                key, _, value = f.partition(":")
                try:
                    opts[key.strip()] = float(value)
                except ValueError:
                    _fail(source, line_no, f"{f!r} is not 'key: number'")
            unknown = set(opts) - {"bpm", "swing", "humanize"}
            if unknown or "bpm" not in opts:
                _fail(source, line_no, "header needs 'bpm' and only bpm/swing/humanize")
            if not 60 <= opts["bpm"] <= 200:
                _fail(source, line_no, f"bpm must be in [60, 200]; got {opts['bpm']:g}")
            if not 0 <= opts.get("swing", 0) < 0.5:
                _fail(source, line_no, "swing must be in [0, 0.5)")
            current = {
                "name": fields[0], "line": line_no, "bpm": opts["bpm"],
                "swing": opts.get("swing", 0.0), "humanize": opts.get("humanize", 0.0),
                "velocity": np.zeros((len(INSTRUMENTS), N_STEPS), np.uint8),
            }  # fmt: skip
            continue
        if current is None:
            _fail(source, line_no, "instrument line before the first '== name' header")
        name, _, steps = line.partition(" ")
        if name not in INSTRUMENTS:
            _fail(source, line_no, f"unknown instrument {name!r}; use one of {INSTRUMENTS}")
        steps = steps.replace(" ", "").replace("|", "")
        if len(steps) not in (16, 32, 64) or set(steps) - set(_VELOCITY):
            _fail(source, line_no, "steps must be 16, 32 or 64 of X x o . (spaces, | ignored)")
        row = np.array([_VELOCITY[c] for c in steps], np.uint8)
        current["velocity"][INSTRUMENTS.index(name)] = np.tile(row, N_STEPS // len(row))
    finish()
    return patterns


def load_demo_patterns() -> list[DemoPattern]:
    """All built-in patterns, packs in alphabetical order."""
    folder = resources.files("technorhythm.corpus").joinpath("demo")
    out: list[DemoPattern] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".txt"):
            pack = entry.name[: -len(".txt")]
            out.extend(parse_patterns(entry.read_text(encoding="utf-8"), pack, entry.name))
    return out


def _performance(pattern: DemoPattern) -> ClipBatch:
    velocity = np.repeat(pattern.velocity[None], _REPEATS, axis=0)
    offset = np.zeros(velocity.shape, np.float32)
    offset[:, :, 1::2] = pattern.swing  # off 16ths late
    if pattern.humanize_ms > 0:
        rng = np.random.default_rng(zlib.crc32(pattern.name.encode()))
        jitter = rng.normal(0.0, pattern.humanize_ms / step_ms(pattern.bpm), velocity.shape)
        offset += jitter.astype(np.float32)
    offset = np.clip(offset, -0.45, 0.45).astype(np.float32)
    offset[:, :, 0] = np.maximum(offset[:, :, 0], 0.0)  # nothing before the file start
    offset[velocity == 0] = 0.0
    return ClipBatch(velocity, offset, np.full(_REPEATS, pattern.bpm))


def render_demo_corpus(dest: str | Path) -> list[Path]:
    """Write every demo pattern as MIDI into ``dest/<pack>/<name>.mid``; returns the files."""
    from technorhythm.atomic import atomic_write_text
    from technorhythm.midi import write_midi

    dest = Path(dest)
    written = []
    for pattern in load_demo_patterns():
        folder = dest / pattern.pack
        if not (folder / "license.json").is_file():
            info = {
                "license": DEMO_LICENSE,
                "source": "technorhythm built-in demo corpus (authored for the project)",
            }
            atomic_write_text(folder / "license.json", json.dumps(info, indent=2) + "\n")
        path = folder / f"{pattern.name}.mid"
        write_midi(_performance(pattern), path, bpm=pattern.bpm)
        written.append(path)
    return written
