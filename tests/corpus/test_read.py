"""read_midi: known-answer tests on small files built here."""

from __future__ import annotations

import numpy as np
import pytest
from corpus_midi import STEP, TPQ, drum_file, four_on_floor

from technorhythm.clips import CYMBAL, HH_CLOSED, HH_OPEN, KICK, N_STEPS, SNARE, ClipBatch
from technorhythm.corpus import MidiRejected, read_midi
from technorhythm.midi import write_midi

WINDOW = N_STEPS * STEP  # ticks in one 4-bar window


def test_four_on_floor_known_clip(tmp_path):
    batch = read_midi(drum_file(tmp_path / "fof.mid", four_on_floor(8)))
    assert len(batch) == 2
    expected = np.zeros((5, 64), np.uint8)
    expected[KICK, ::4] = 100
    expected[HH_CLOSED, 2::4] = 70
    assert np.array_equal(batch.velocity[0], expected)
    assert np.array_equal(batch.velocity[1], expected)
    assert np.all(batch.offset == 0)
    np.testing.assert_allclose(batch.bpm, 120.0)
    assert batch.meta["window"].tolist() == [0, 1]
    assert batch.meta["rotation"].tolist() == [0, 0]
    assert batch.meta["time_signature"].tolist() == ["4/4", "4/4"]
    assert batch.meta["content_hash"].nunique() == 1


def test_note_before_boundary_lands_on_next_window_step0(tmp_path):
    notes = four_on_floor(8)
    notes.remove((WINDOW, 36, 100))  # replace the downbeat of window 1 ...
    notes.append((WINDOW - STEP // 4, 36, 110))  # ... by a hit a quarter-16th early
    batch = read_midi(drum_file(tmp_path / "early.mid", notes))
    assert batch.velocity[1, KICK, 0] == 110
    assert batch.offset[1, KICK, 0] == pytest.approx(-0.25)
    assert batch.velocity[0, KICK, 63] == 0  # not in window 0's last step


def test_loudest_note_wins_and_merges_counted(tmp_path):
    notes = four_on_floor(4) + [(4 * STEP + 3, 36, 120), (8 * STEP, 44, 90), (8 * STEP, 42, 20)]
    batch = read_midi(drum_file(tmp_path / "merge.mid", notes))
    assert batch.velocity[0, KICK, 4] == 120
    assert batch.offset[0, KICK, 4] == pytest.approx(3 / STEP)
    assert batch.velocity[0, HH_CLOSED, 8] == 90  # pedal hat (44) louder than 42
    assert batch.meta["merged_notes"].iloc[0] == 2


def test_drum_map_toms_dropped_and_counted(tmp_path):
    notes = four_on_floor(4) + [
        (1 * STEP, 38, 80),  # snare
        (3 * STEP, 40, 81),  # snare rim → snare
        (5 * STEP, 22, 60),  # TD-11 closed-hat edge
        (7 * STEP, 26, 61),  # TD-11 open-hat edge
        (9 * STEP, 55, 62),  # splash → cymbal
        (11 * STEP, 45, 63),  # tom: dropped
        (13 * STEP, 58, 64),  # TD-11 tom-3 rim: dropped
        (15 * STEP, 69, 65),  # cabasa: other, dropped
    ]
    clip = read_midi(drum_file(tmp_path / "map.mid", notes))
    v = clip.velocity[0]
    assert (v[SNARE, 1], v[SNARE, 3], v[HH_CLOSED, 5], v[HH_OPEN, 7], v[CYMBAL, 9]) == (
        80,
        81,
        60,
        61,
        62,
    )
    assert clip.meta["dropped_toms"].iloc[0] == 2
    assert clip.meta["dropped_other"].iloc[0] == 1


def test_choke_clears_closed_hat_under_open_hat(tmp_path):
    notes = four_on_floor(4) + [(2 * STEP, 46, 90)]
    v = read_midi(drum_file(tmp_path / "choke.mid", notes)).velocity[0]
    assert v[HH_OPEN, 2] == 90
    assert v[HH_CLOSED, 2] == 0
    assert v[HH_CLOSED, 6] == 70


def test_rotation_to_first_strong_kick(tmp_path):
    # bar 0 has no kick, bars 1-3 have four-on-the-floor: rotation by one bar
    notes = [n for n in four_on_floor(4) if not (n[1] == 36 and n[0] < 4 * TPQ)]
    clip = read_midi(drum_file(tmp_path / "rot.mid", notes))
    assert clip.meta["rotation"].iloc[0] == 16
    assert clip.velocity[0, KICK, 0] == 100
    assert np.all(clip.velocity[0, KICK, 48:] == 0)


def test_tempo_map_gives_window_average_bpm(tmp_path):
    # 120 bpm for the first 8 beats, 60 bpm for the next 8: 16 beats in 4 + 8 s = 80 bpm
    path = drum_file(tmp_path / "tempo.mid", four_on_floor(8), tempos=[(0, 120.0), (8 * TPQ, 60.0)])
    batch = read_midi(path)
    assert batch.bpm[0] == pytest.approx(80.0)
    assert batch.bpm[1] == pytest.approx(60.0)


def test_non_four_four_stretch_skipped(tmp_path):
    # 4 bars of 3/4 then 4 bars of 4/4: one window, from the 4/4 stretch start
    start = 4 * 3 * TPQ
    notes = [(t + start, p, v) for t, p, v in four_on_floor(4)] + [(0, 38, 90)]
    path = drum_file(tmp_path / "mixed.mid", notes, time_signatures=[(0, 3, 4), (start, 4, 4)])
    batch = read_midi(path)
    assert len(batch) == 1
    assert batch.meta["start_tick"].iloc[0] == start
    assert batch.velocity[0, KICK, 0] == 100


def test_final_partial_window_and_short_file(tmp_path):
    # 6 bars: one window; the last 2 bars are a dropped tail
    assert len(read_midi(drum_file(tmp_path / "six.mid", four_on_floor(6)))) == 1
    # a last window missing less than one beat is kept
    notes = [n for n in four_on_floor(4) if n[0] <= 15 * TPQ]  # ends 479 ticks early
    assert len(read_midi(drum_file(tmp_path / "almost.mid", notes))) == 1
    with pytest.raises(MidiRejected, match="shorter than one 4-bar window") as err:
        read_midi(drum_file(tmp_path / "fill.mid", four_on_floor(2)))
    assert err.value.code == "too-short"


def test_near_empty_windows_dropped(tmp_path):
    notes = four_on_floor(4) + [(WINDOW, 36, 100), (WINDOW + 4 * TPQ, 36, 100)]
    path = drum_file(tmp_path / "sparse.mid", notes, end_tick=2 * WINDOW)
    batch = read_midi(path)
    assert batch.meta["window"].tolist() == [0]


def test_round_trip_with_write_midi(tmp_path, rng):
    velocity = np.where(rng.random((3, 5, 64)) < 0.3, rng.integers(1, 128, (3, 5, 64)), 0)
    velocity[:, KICK, ::16] = 127  # strong kick on every bar: rotation 0
    offset = np.where(velocity > 0, rng.uniform(-0.45, 0.45, (3, 5, 64)), 0.0)
    offset[0, :, 0] = np.abs(offset[0, :, 0])  # MIDI cannot hold a note before tick 0
    batch = ClipBatch(velocity.astype(np.uint8), offset.astype(np.float32), np.full(3, 133.0))
    canon = batch.canonical()
    write_midi(canon, tmp_path / "rt.mid", ticks_per_beat=960)
    back = read_midi(tmp_path / "rt.mid")
    assert np.array_equal(back.velocity, canon.velocity)
    np.testing.assert_allclose(back.offset, canon.offset, atol=1 / 480)
    np.testing.assert_allclose(back.bpm, 133.0, rtol=1e-5)


def test_type1_file_merges_drum_tracks_and_ignores_other_channels(tmp_path):
    import mido

    midi = mido.MidiFile(type=1, ticks_per_beat=TPQ)
    for channel, notes in ((9, [(b * TPQ, 36, 100) for b in range(16)]),
                           (9, [(b * TPQ + 2 * STEP, 42, 70) for b in range(16)]),
                           (0, [(b * TPQ, 60, 80) for b in range(16)])):  # fmt: skip
        track = mido.MidiTrack()
        now = 0
        for tick, pitch, vel in notes:
            track.append(
                mido.Message("note_on", channel=channel, note=pitch, velocity=vel, time=tick - now)
            )
            track.append(mido.Message("note_off", channel=channel, note=pitch, velocity=0, time=10))
            now = tick + 10
        midi.tracks.append(track)
    midi.save(tmp_path / "type1.mid")
    clip = read_midi(tmp_path / "type1.mid")
    assert len(clip) == 1
    assert clip.velocity[0, KICK, ::4].tolist() == [100] * 16
    assert clip.velocity[0, HH_CLOSED, 2::4].tolist() == [70] * 16
    assert int((clip.velocity > 0).sum()) == 32  # the piano on channel 1 is not read
    assert clip.meta["drum_channel"].iloc[0] == "10"


def test_loop_with_silent_last_beat_ends_at_end_of_track(tmp_path):
    # a 4-bar loop whose last beat is silent: the notes stop 1.5 beats early, but the
    # end-of-track event marks the full 4 bars, so the window is complete
    notes = [n for n in four_on_floor(4) if n[0] < 15 * TPQ]
    loop = drum_file(tmp_path / "loop.mid", notes, end_tick=16 * TPQ)
    assert len(read_midi(loop)) == 1
    cut = drum_file(tmp_path / "cut.mid", notes)  # same notes, file ends at the last note
    with pytest.raises(MidiRejected, match="shorter than one 4-bar window"):
        read_midi(cut)
