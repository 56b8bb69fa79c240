"""Generated loops as files: loops of any length in bars, rotation, MIDI and WAV output.

A *loop* of ``bars`` bars is made of ``ceil(bars / 4)`` consecutive simulated clips
(same θ, consecutive stream indices, so bar 5 follows bar 4 of the same
distribution) cut to ``bars`` bars. Loop ``j`` of a request uses clips
``start_index + j·k … start_index + j·k + k − 1`` with ``k = ceil(bars / 4)``, so
``--n`` loops are reproducible one by one.

Rotation is a generation option, not a knob (canonicalisation erases it): the
loop is rolled left by ``rotate`` 16th steps before writing, e.g. ``rotate=2``
starts the file on the first off-beat.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from technorhythm.clips import N_STEPS, STEPS_PER_BAR, ClipBatch
from technorhythm.midi import GM_CRASH, write_midi
from technorhythm.simulator.engine import coerce_theta, simulate

__all__ = [
    "DEMO_PRESETS",
    "Loop",
    "demo_generate",
    "generate_loops",
    "loop_midi_bytes",
    "loop_paths",
    "loop_wav_bytes",
    "rotate_loop",
    "write_loop",
]

MAX_BARS = 256


@dataclass(frozen=True)
class Loop:
    """One generated loop: its clips (4 bars each) and its length in bars."""

    clips: ClipBatch
    bars: int

    @property
    def n_steps(self) -> int:
        """Length in 16th steps."""
        return self.bars * STEPS_PER_BAR


def generate_loops(
    theta: object,
    *,
    seed: int,
    n_loops: int = 1,
    bars: int = 4,
    bpm: float = 128.0,
    start_index: int = 0,
    rotate: int = 0,
) -> list[Loop]:
    """Simulate ``n_loops`` loops of ``bars`` bars each (see the module docstring)."""
    if isinstance(bars, bool) or not isinstance(bars, int) or not 1 <= bars <= MAX_BARS:
        raise ValueError(f"bars must be an integer in [1, {MAX_BARS}]; got {bars!r}")
    if isinstance(n_loops, bool) or not isinstance(n_loops, int) or n_loops < 1:
        raise ValueError(f"the number of loops must be a positive integer; got {n_loops!r}")
    if not math.isfinite(bpm) or not 20.0 <= bpm <= 400.0:
        raise ValueError(f"bpm must be in [20, 400]; got {bpm!r}")
    arr, _ = coerce_theta(theta, 1)
    per_loop = math.ceil(bars * STEPS_PER_BAR / N_STEPS)
    batch = simulate(arr[0], n_loops * per_loop, seed=seed, start_index=start_index, bpm=bpm)
    loops = []
    for j in range(n_loops):
        clips = batch[j * per_loop : (j + 1) * per_loop]
        loops.append(Loop(rotate_loop(clips, rotate, bars * STEPS_PER_BAR), bars))
    return loops


def rotate_loop(clips: ClipBatch, steps: int, n_steps: int | None = None) -> ClipBatch:
    """Roll the first ``n_steps`` steps of the clips' timeline left by ``steps`` 16ths.

    The clips are read as one timeline (clip after clip); steps beyond ``n_steps``
    stay silent. Returns a new batch with the same ``bpm`` and ``meta``.
    """
    total = len(clips) * N_STEPS
    n_steps = total if n_steps is None else n_steps
    if not 1 <= n_steps <= total:
        raise ValueError(f"n_steps must be in [1, {total}]; got {n_steps}")
    steps = int(steps) % n_steps
    if steps == 0:
        return clips

    def roll(a: np.ndarray) -> np.ndarray:
        line = a.transpose(1, 0, 2).reshape(a.shape[1], total)
        out = np.zeros_like(line)
        out[:, :n_steps] = np.roll(line[:, :n_steps], -steps, axis=1)
        return out.reshape(a.shape[1], len(clips), N_STEPS).transpose(1, 0, 2)

    return ClipBatch(roll(clips.velocity), roll(clips.offset), clips.bpm, clips.meta)


def loop_paths(out: str | os.PathLike[str], n_loops: int) -> list[Path]:
    """File names for ``n_loops`` loops: ``out`` itself for one, ``stem_000.ext`` … for more."""
    out = Path(out)
    if n_loops == 1:
        return [out]
    return [out.with_name(f"{out.stem}_{j:03d}{out.suffix}") for j in range(n_loops)]


def write_loop(
    loop: Loop,
    midi_path: str | os.PathLike[str] | None = None,
    wav_path: str | os.PathLike[str] | None = None,
    *,
    soundfont: str | os.PathLike[str] | None = None,
) -> None:
    """Write a loop as a General MIDI drum file and/or a WAV (both atomic).

    The MIDI file voices loud bar-downbeat cymbals as crash (49), others as ride (51).
    The WAV comes from the built-in drum synth, or from FluidSynth when ``soundfont``
    is given (see :func:`technorhythm.simulator.audio.render_wav`).
    """
    if midi_path is not None:
        write_midi(loop.clips, midi_path, crash_pitch=GM_CRASH, n_steps=loop.n_steps)
    if wav_path is not None:
        from technorhythm.simulator.audio import render_wav

        render_wav(loop.clips, wav_path, n_steps=loop.n_steps, soundfont=soundfont)


def loop_midi_bytes(loop: Loop) -> bytes:
    """The bytes :func:`write_loop` writes as the loop's MIDI file (for serving in memory)."""
    import io

    from technorhythm.midi import to_midi_file

    buf = io.BytesIO()
    to_midi_file(loop.clips, crash_pitch=GM_CRASH, n_steps=loop.n_steps).save(file=buf)
    return buf.getvalue()


def loop_wav_bytes(loop: Loop) -> bytes:
    """The bytes :func:`write_loop` writes as the loop's WAV with the built-in synth."""
    from technorhythm.simulator.audio import synthesize, wav_bytes

    return wav_bytes(synthesize(loop.clips, n_steps=loop.n_steps))


DEMO_PRESETS = ("minimal", "peak-time", "broken-electro", "live-kit")
"""Presets rendered by :func:`demo_generate`."""


def demo_generate(
    out_dir: str | os.PathLike[str], *, seed: int = 0, bpm: float = 128.0
) -> list[Path]:
    """Write one 4-bar loop per demo preset as ``<preset>.mid`` and ``<preset>.wav``.

    Used by ``technorhythm demo``; returns the paths written, MIDI and WAV alternating.
    """
    from technorhythm.simulator.preset_io import load_preset

    out_dir = Path(out_dir)
    written: list[Path] = []
    for name in DEMO_PRESETS:
        loop = generate_loops(load_preset(name), seed=seed, bars=4, bpm=bpm)[0]
        midi, wav = out_dir / f"{name}.mid", out_dir / f"{name}.wav"
        write_loop(loop, midi, wav)
        written += [midi, wav]
    return written
