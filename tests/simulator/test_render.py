"""Loops of any length, rotation, crash voicing, WAV synthesis and the FluidSynth path."""

import os
import stat

import mido
import numpy as np
import pytest

from technorhythm.clips import CYMBAL, KICK, N_STEPS, ClipBatch
from technorhythm.midi import GM_CRASH, GM_PITCHES, crash_mask, to_midi_file
from technorhythm.simulator import audio
from technorhythm.simulator.audio import (
    fluidsynth_command,
    read_wav,
    render_wav,
    synthesize,
    write_wav,
)
from technorhythm.simulator.render import generate_loops, loop_paths, rotate_loop, write_loop

ONE_KICK = {
    "kick_pulses": 1.0,
    "kick_extra": 0.0,
    "backbeat": 0.0,
    "snare_ghosts": 0.0,
    "hat_beats": 0.0,
    "hat_offbeats": 0.0,
    "hat_16ths": 0.0,
    "open_hat": 0.0,
    "ride": 0.0,
    "crash": 0.0,
    "variation": 0.0,
    "humanize_ms": 0.0,
}


def kick_only_clip(steps, velocity=100, offset=0.0):
    v = np.zeros((1, 5, N_STEPS), np.uint8)
    o = np.zeros((1, 5, N_STEPS), np.float32)
    v[0, KICK, steps] = velocity
    o[0, KICK, steps] = offset
    return ClipBatch(v, o, [120.0])


def test_loops_are_consecutive_clips_cut_to_length():
    loops = generate_loops({}, seed=3, n_loops=3, bars=6)
    assert [lp.clips.meta["index"].tolist() for lp in loops] == [[0, 1], [2, 3], [4, 5]]
    assert all(lp.n_steps == 96 for lp in loops)
    midi = to_midi_file(loops[0].clips, n_steps=loops[0].n_steps)
    assert midi.length == pytest.approx(6 * 4 * 60 / 128)
    two = generate_loops({}, seed=3, bars=2)[0]
    assert len(two.clips) == 1 and to_midi_file(two.clips, n_steps=32).length == pytest.approx(
        2 * 4 * 60 / 128
    )


def test_rotation_rolls_the_loop_timeline():
    clip = kick_only_clip([0, 16, 32, 48])
    assert np.flatnonzero(rotate_loop(clip, 2).velocity[0, KICK]).tolist() == [14, 30, 46, 62]
    two = ClipBatch.concat([kick_only_clip([0]), kick_only_clip([8])])
    rolled = rotate_loop(two, 8, n_steps=96)  # a 6-bar loop: steps 96.. stay silent
    assert not rolled.velocity[0].any()  # timeline kicks 0, 72 → 88, 64 = clip 1 steps 24, 0
    assert np.flatnonzero(rolled.velocity[1, KICK]).tolist() == [0, 24]
    assert not rolled.velocity[1, :, 32:].any()
    assert rotate_loop(two, 96, n_steps=96) is two


def test_loop_paths():
    assert [p.name for p in loop_paths("out/demo.mid", 1)] == ["demo.mid"]
    assert [p.name for p in loop_paths("out/demo.mid", 3)] == [
        "demo_000.mid",
        "demo_001.mid",
        "demo_002.mid",
    ]


def test_crash_voicing_rule():
    v = np.zeros((3, 5, N_STEPS), np.uint8)
    v[0, CYMBAL, [0, 4, 8, 12, 16]] = [120, 60, 60, 60, 60]  # loud downbeat → crash
    v[1, CYMBAL, [0, 16]] = 50  # only downbeat hits → crashes
    v[2, CYMBAL, ::4] = 70  # even ride quarters → no crash
    batch = ClipBatch(v, np.zeros_like(v, dtype=np.float32), [128.0] * 3)
    mask = crash_mask(batch)
    assert np.flatnonzero(mask[0]).tolist() == [0]
    assert np.flatnonzero(mask[1]).tolist() == [0, 16]
    assert not mask[2].any()
    notes = [
        m.note
        for m in to_midi_file(batch[0], crash_pitch=GM_CRASH).tracks[0]
        if m.type == "note_on" and m.velocity
    ]
    assert notes.count(GM_CRASH) == 1 and notes.count(GM_PITCHES["cymbal"]) == 4


def test_synth_places_each_hit_at_its_time():
    clip = kick_only_clip([0, 32], offset=0.25)
    sr = 8000
    wav = synthesize(clip, sample_rate=sr, n_steps=64)
    step = 60 / (120 * 4) * sr
    assert wav.shape == (int(round(64 * step)),)
    onset = int(round(32.25 * step))
    assert (
        np.abs(wav[onset - 200 : onset - 5]).max() < 0.05 * np.abs(wav[onset : onset + 200]).max()
    )
    assert np.abs(wav).max() <= 0.9


def test_louder_hits_are_louder():
    sr = 8000
    soft = synthesize(kick_only_clip([0], 40), sample_rate=sr)
    loud = synthesize(kick_only_clip([0], 120), sample_rate=sr)
    assert np.abs(loud).max() > 2 * np.abs(soft).max()


def test_wav_round_trip(tmp_path):
    x = np.sin(np.linspace(0, 100, 1000)).astype(np.float32) * 0.5
    write_wav(x, tmp_path / "a.wav", sample_rate=8000)
    y, sr = read_wav(tmp_path / "a.wav")
    assert sr == 8000 and y.shape == (1000, 1)
    np.testing.assert_allclose(y[:, 0], x, atol=1 / 32767)


def test_write_loop_writes_playable_midi_and_wav(tmp_path):
    loop = generate_loops({}, seed=1, bars=4)[0]
    write_loop(loop, tmp_path / "l.mid", tmp_path / "l.wav")
    midi = mido.MidiFile(tmp_path / "l.mid")
    assert midi.length == pytest.approx(4 * 4 * 60 / 128)
    assert {m.channel for m in midi.tracks[0] if m.type == "note_on"} == {9}
    samples, sr = read_wav(tmp_path / "l.wav")
    assert samples.shape[0] == round(4 * 4 * 60 / 128 * sr) and np.abs(samples).max() > 0.1


def test_fluidsynth_command_line():
    cmd = fluidsynth_command("in.mid", "out.wav", "kit.sf2", sample_rate=48000, gain=0.5)
    assert cmd == [
        "fluidsynth",
        "-ni",
        "-g",
        "0.5",
        "-r",
        "48000",
        "-T",
        "wav",
        "-F",
        "out.wav",
        "kit.sf2",
        "in.mid",
    ]


def test_soundfont_path_needs_fluidsynth(tmp_path, monkeypatch):
    sf2 = tmp_path / "kit.sf2"
    sf2.write_bytes(b"RIFF")
    clip = kick_only_clip([0])
    with pytest.raises(FileNotFoundError, match="SoundFont not found"):
        render_wav(clip, tmp_path / "x.wav", soundfont=tmp_path / "missing.sf2")
    monkeypatch.setattr(audio.shutil, "which", lambda name: None)
    with pytest.raises(ValueError, match="fluidsynth"):
        render_wav(clip, tmp_path / "x.wav", soundfont=sf2)


def test_soundfont_path_runs_fluidsynth(tmp_path, monkeypatch):
    """A stand-in 'fluidsynth' on PATH records its arguments and writes the -F file."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "fluidsynth"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$@" > {tmp_path}/args.txt\n'
        'while [ "$1" != "-F" ]; do shift; done; printf RIFFfake > "$2"\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    sf2 = tmp_path / "kit.sf2"
    sf2.write_bytes(b"RIFF")
    used = render_wav(kick_only_clip([0]), tmp_path / "out.wav", soundfont=sf2)
    assert used == "fluidsynth"
    assert (tmp_path / "out.wav").read_bytes() == b"RIFFfake"
    args = (tmp_path / "args.txt").read_text().split()
    assert args[:2] == ["-ni", "-g"] and args[-2] == str(sf2) and args[-1].endswith("loop.mid")


def test_demo_generate_writes_a_loop_per_preset(tmp_path):
    from technorhythm.simulator.render import DEMO_PRESETS, demo_generate

    files = demo_generate(tmp_path / "generated", seed=1)
    assert [p.name for p in files[::2]] == [f"{name}.mid" for name in DEMO_PRESETS]
    assert all(p.is_file() and p.stat().st_size > 100 for p in files)
    assert mido.MidiFile(files[0]).length == pytest.approx(4 * 4 * 60 / 128)
