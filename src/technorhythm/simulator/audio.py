"""Audio preview: a small built-in numpy drum synth, or FluidSynth with a SoundFont.

The built-in synth needs nothing beyond numpy: each instrument is one synthesised
voice (kick: pitch-swept sine; snare: tone + noise; hats: high-passed noise,
closed short and open long, a closed hat chokes a ringing open hat; ride:
inharmonic partials; crash: long bright noise), mixed at the exact onset times
``(step + offset) × step length`` with gain ``(velocity / 127)²``, and written as
16-bit mono PCM with the standard-library :mod:`wave` module.

Listening tests need items of equal loudness: :func:`loudness_lufs` measures integrated
loudness after ITU-R BS.1770-4 (K-weighting and gating, by ``pyloudnorm``) and
:func:`match_loudness` brings a set of tracks to one common level that none of them has to
clip to reach.

When the user has ``fluidsynth`` installed and passes a SoundFont, the clip is
written as MIDI and rendered by FluidSynth instead (:func:`fluidsynth_command`).
"""

from __future__ import annotations

import functools
import io
import math
import os
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from technorhythm.atomic import atomic_path, atomic_write_bytes
from technorhythm.clips import CYMBAL, HH_CLOSED, HH_OPEN, KICK, N_STEPS, SNARE, ClipBatch
from technorhythm.midi import GM_CRASH, crash_mask, write_midi

__all__ = [
    "SAMPLE_RATE",
    "drum_voices",
    "synthesize",
    "wav_bytes",
    "write_wav",
    "LoudnessMatch",
    "loudness_lufs",
    "match_loudness",
    "read_wav",
    "fluidsynth_command",
    "render_wav",
]

SAMPLE_RATE = 44_100
"""Default sample rate in Hz."""


@functools.lru_cache(maxsize=4)
def drum_voices(sample_rate: int = SAMPLE_RATE) -> dict[str, np.ndarray]:
    """The synthesised one-shot of each voice at ``sample_rate``; float32, peak ≈ 1."""
    rng = np.random.default_rng(20240607)  # fixed: the kit sounds the same every time

    def t(seconds: float) -> np.ndarray:
        return np.arange(int(seconds * sample_rate)) / sample_rate

    def env(x: np.ndarray, decay: float) -> np.ndarray:
        return np.exp(-x / decay)

    def highpass(x: np.ndarray, times: int) -> np.ndarray:
        for _ in range(times):
            x = np.diff(x, prepend=0.0)
        return x / np.abs(x).max()

    tk = t(0.45)
    freq = 45.0 + 110.0 * np.exp(-tk / 0.035)
    kick = np.sin(2 * np.pi * np.cumsum(freq) / sample_rate) * env(tk, 0.16)
    kick[: int(0.002 * sample_rate)] += 0.6 * rng.uniform(-1, 1, int(0.002 * sample_rate))

    ts = t(0.25)
    snare = 0.45 * np.sin(2 * np.pi * 185.0 * ts) * env(ts, 0.05)
    snare += 0.8 * highpass(rng.standard_normal(ts.size), 1) * env(ts, 0.07)

    tc = t(0.08)
    closed = highpass(rng.standard_normal(tc.size), 2) * env(tc, 0.018)
    to = t(0.6)
    opened = highpass(rng.standard_normal(to.size), 2) * env(to, 0.16)

    tr = t(1.2)
    partials = (1.0, 1.483, 1.932, 2.546, 2.630, 3.897)
    ride = sum(np.sin(2 * np.pi * 520.0 * p * tr + p) for p in partials) / len(partials)
    ride = 0.7 * ride * env(tr, 0.35) + 0.3 * highpass(rng.standard_normal(tr.size), 2) * env(
        tr, 0.25
    )
    tx = t(1.8)
    crash = highpass(rng.standard_normal(tx.size), 1) * env(tx, 0.5)
    crash *= np.minimum(1.0, tx / 0.003)

    voices = {
        "kick": kick,
        "snare": snare,
        "hh_closed": closed,
        "hh_open": opened,
        "ride": ride,
        "crash": crash,
    }
    return {k: (v / np.abs(v).max()).astype(np.float32) for k, v in voices.items()}


_VOICE_GAIN = {
    "kick": 1.0,
    "snare": 0.7,
    "hh_closed": 0.35,
    "hh_open": 0.3,
    "ride": 0.3,
    "crash": 0.4,
}


def synthesize(
    batch: ClipBatch,
    *,
    bpm: float | None = None,
    n_steps: int | None = None,
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """Render clips (one after another) with the built-in kit; float32 mono in [-1, 1].

    Parameters
    ----------
    batch : ClipBatch
    bpm : float, optional
        Tempo in quarter notes per minute; defaults to the first clip's ``bpm``.
    n_steps : int, optional
        Length in 16th steps (default all clips); onsets beyond are dropped. The
        output has exactly ``n_steps`` steps of samples; tails ring over the loop end
        into its start, so the file loops seamlessly.
    sample_rate : int
        Samples per second.
    """
    if len(batch) == 0:
        raise ValueError("cannot render an empty clip batch")
    bpm = float(batch.bpm[0] if bpm is None else bpm)
    if not 20.0 <= bpm <= 400.0:
        raise ValueError(f"bpm must be in [20, 400]; got {bpm}")
    total = len(batch) * N_STEPS if n_steps is None else int(n_steps)
    if not 1 <= total <= len(batch) * N_STEPS:
        raise ValueError(f"n_steps must be in [1, {len(batch) * N_STEPS}]; got {n_steps}")
    step_samples = 60.0 / (bpm * 4) * sample_rate
    length = int(round(total * step_samples))
    voices = drum_voices(sample_rate)
    longest = max(v.size for v in voices.values())
    crash = crash_mask(batch)
    rows = {
        "kick": (KICK, None),
        "snare": (SNARE, None),
        "hh_closed": (HH_CLOSED, None),
        "hh_open": (HH_OPEN, None),
        "ride": (CYMBAL, False),
        "crash": (CYMBAL, True),
    }
    tracks = {}
    for name, (row, is_crash) in rows.items():
        mask = batch.velocity[:, row] > 0
        if is_crash is not None:
            mask &= crash == is_crash
        clip, step = np.nonzero(mask)
        position = clip * N_STEPS + step
        keep = position < total
        clip, step, position = clip[keep], step[keep], position[keep]
        start = np.rint((position + batch.offset[clip, row, step]) * step_samples).astype(int)
        gain = (batch.velocity[clip, row, step] / 127.0) ** 2 * _VOICE_GAIN[name]
        track = np.zeros(length + longest, dtype=np.float32)
        for s, g in zip(np.mod(start, length).tolist(), gain.tolist(), strict=True):
            track[s : s + voices[name].size] += g * voices[name]
        tracks[name] = track
    _choke(tracks, batch, total, step_samples, sample_rate)
    mix = sum(tracks.values())
    out = mix[:length].copy()
    for lo in range(length, mix.size, length):  # wrap the tails into the loop start
        chunk = mix[lo : lo + length]
        out[: chunk.size] += chunk
    peak = float(np.abs(out).max()) if out.size else 0.0
    if peak > 0.89:
        out = out * (0.89 / peak)
    return out.astype(np.float32)


def _choke(tracks, batch, total, step_samples, sample_rate) -> None:
    """A closed hat silences a ringing open hat (5 ms fade), as on a real hi-hat."""
    opened = tracks["hh_open"]
    clip, step = np.nonzero(batch.velocity[:, HH_CLOSED] > 0)
    position = clip * N_STEPS + step
    keep = position < total
    starts = np.sort(
        np.rint((position[keep] + batch.offset[clip, HH_CLOSED, step][keep]) * step_samples)
    )
    clip_o, step_o = np.nonzero(batch.velocity[:, HH_OPEN] > 0)
    pos_o = clip_o * N_STEPS + step_o
    open_starts = np.sort(
        np.rint((pos_o + batch.offset[clip_o, HH_OPEN, step_o]) * step_samples)[pos_o < total]
    )
    fade = max(1, int(0.005 * sample_rate))
    gain = np.ones(opened.size, dtype=np.float32)
    for s in starts.astype(int):
        if s <= 0 or not open_starts.size or open_starts.min() >= s:
            continue
        nxt = open_starts[open_starts > s]
        end = int(nxt[0]) if nxt.size else opened.size
        ramp = np.linspace(1.0, 0.0, min(fade, end - s), dtype=np.float32)
        gain[s : s + ramp.size] = np.minimum(gain[s : s + ramp.size], ramp)
        gain[s + ramp.size : end] = 0.0
    tracks["hh_open"] = opened * gain


def wav_bytes(samples: np.ndarray, *, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Float samples in [-1, 1] (mono) as the bytes of a 16-bit PCM WAV file."""
    pcm = np.clip(np.rint(np.asarray(samples, dtype=np.float64) * 32767), -32768, 32767)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(int(sample_rate))
        out.writeframes(pcm.astype("<i2").tobytes())
    return buf.getvalue()


def write_wav(
    samples: np.ndarray, path: str | os.PathLike[str], *, sample_rate: int = SAMPLE_RATE
) -> None:
    """Write float samples in [-1, 1] (mono) as 16-bit PCM WAV, atomically."""
    atomic_write_bytes(path, wav_bytes(samples, sample_rate=sample_rate))


def read_wav(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """Read a 16-bit PCM WAV; returns (float32 samples of shape (frames, channels), rate)."""
    with wave.open(str(path), "rb") as src:
        if src.getsampwidth() != 2:
            raise ValueError(f"{path}: only 16-bit PCM WAV is supported")
        frames = np.frombuffer(src.readframes(src.getnframes()), dtype="<i2")
        channels, rate = src.getnchannels(), src.getframerate()
    return (frames.reshape(-1, channels) / 32768.0).astype(np.float32), rate


def fluidsynth_command(
    midi_path: str | os.PathLike[str],
    wav_path: str | os.PathLike[str],
    soundfont: str | os.PathLike[str],
    *,
    sample_rate: int = SAMPLE_RATE,
    gain: float = 0.8,
    executable: str = "fluidsynth",
) -> list[str]:
    """The FluidSynth command line that renders ``midi_path`` to ``wav_path`` offline."""
    return [
        executable,
        "-ni",  # no shell, no MIDI input
        "-g",
        f"{gain:g}",
        "-r",
        str(int(sample_rate)),
        "-T",
        "wav",
        "-F",
        str(wav_path),
        str(soundfont),
        str(midi_path),
    ]


def render_wav(
    batch: ClipBatch,
    path: str | os.PathLike[str],
    *,
    n_steps: int | None = None,
    soundfont: str | os.PathLike[str] | None = None,
    sample_rate: int = SAMPLE_RATE,
) -> str:
    """Write a WAV preview of ``batch``; returns ``"builtin"`` or ``"fluidsynth"``.

    Without ``soundfont`` the built-in synth renders it. With one, FluidSynth must be
    on ``PATH`` (an error says so otherwise) and the SoundFont file must exist.
    """
    if soundfont is None:
        write_wav(
            synthesize(batch, n_steps=n_steps, sample_rate=sample_rate),
            path,
            sample_rate=sample_rate,
        )
        return "builtin"
    soundfont = Path(soundfont)
    if not soundfont.is_file():
        raise FileNotFoundError(f"SoundFont not found: {soundfont}")
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise ValueError(
            "--soundfont needs the 'fluidsynth' program on PATH; install it or omit "
            "--soundfont to use the built-in drum synth"
        )
    with tempfile.TemporaryDirectory() as tmp:
        midi = Path(tmp) / "loop.mid"
        write_midi(batch, midi, crash_pitch=GM_CRASH, n_steps=n_steps)
        with atomic_path(path) as target:
            cmd = fluidsynth_command(
                midi, target, soundfont, sample_rate=sample_rate, executable=exe
            )
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if done.returncode != 0 or not target.stat().st_size:
                raise ValueError(
                    f"fluidsynth failed ({done.returncode}): {done.stderr.strip()[-500:]}"
                )
    return "fluidsynth"


def loudness_lufs(samples: np.ndarray, *, sample_rate: int = SAMPLE_RATE) -> float:
    """Integrated loudness of mono samples in LUFS (ITU-R BS.1770-4); ``-inf`` for silence.

    Tracks shorter than one 400 ms gating block are measured as if padded with silence.
    """
    import pyloudnorm

    x = np.asarray(samples, dtype=np.float64).reshape(-1)
    block = int(math.ceil(0.4 * sample_rate))
    if x.size < block:
        x = np.pad(x, (0, block - x.size))
    if not np.any(x):
        return float("-inf")
    return float(pyloudnorm.Meter(int(sample_rate)).integrated_loudness(x))


@dataclass(frozen=True)
class LoudnessMatch:
    """Tracks brought to one loudness.

    ``samples``: the gained tracks; ``target_lufs``: the common level; ``input_lufs`` and
    ``gain_db``: each track's measured loudness and the gain applied (0 for silent tracks,
    which cannot be matched and are left silent); ``peak_dbfs``: the sample-peak ceiling.
    """

    samples: tuple[np.ndarray, ...]
    target_lufs: float
    input_lufs: np.ndarray
    gain_db: np.ndarray
    peak_dbfs: float


def match_loudness(
    tracks: Sequence[np.ndarray],
    *,
    sample_rate: int = SAMPLE_RATE,
    target_lufs: float = -16.0,
    peak_dbfs: float = -1.0,
) -> LoudnessMatch:
    """Gain every track to one integrated loudness (LUFS), without clipping any of them.

    The common level is ``target_lufs``, or lower when a track would otherwise peak above
    ``peak_dbfs`` (sample peak, dBFS): the loudest level every track can reach. A gain is
    a plain multiplication, so a track's dynamics are untouched.
    """
    if not tracks:
        raise ValueError("no tracks to match")
    if not (math.isfinite(target_lufs) and math.isfinite(peak_dbfs) and peak_dbfs <= 0):
        raise ValueError(
            f"target_lufs must be finite and peak_dbfs finite and <= 0; got {target_lufs!r}, "
            f"{peak_dbfs!r}"
        )
    arrays = [np.asarray(t, dtype=np.float32).reshape(-1) for t in tracks]
    lufs = np.array([loudness_lufs(a, sample_rate=sample_rate) for a in arrays])
    peaks = np.array([float(np.abs(a).max()) if a.size else 0.0 for a in arrays])
    audible = np.isfinite(lufs) & (peaks > 0)
    level = float(target_lufs)
    if audible.any():
        headroom = peak_dbfs - 20.0 * np.log10(peaks[audible])
        level = min(level, float(np.min(lufs[audible] + headroom)))
    gain_db = np.where(audible, level - np.where(audible, lufs, 0.0), 0.0)
    out = tuple(
        (a * np.float32(10.0 ** (g / 20.0))).astype(np.float32)
        for a, g in zip(arrays, gain_db, strict=True)
    )
    return LoudnessMatch(out, level, lufs, gain_db, float(peak_dbfs))
