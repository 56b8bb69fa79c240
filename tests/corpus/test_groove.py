"""Integration on the Groove MIDI Dataset (skipped with a reason when it is absent)."""

from __future__ import annotations

import mido
import numpy as np
import pytest

from technorhythm.corpus import ingest, load_dataset, read_midi, split_dataset
from technorhythm.corpus.drum_map import DRUM_MAP

pytestmark = pytest.mark.data


def test_every_groove_pitch_is_in_the_drum_map(groove):
    """Cross-check with mido on a sample: all pitches on channel 10 are explicitly mapped."""
    files = sorted(groove.rglob("*.mid"))[::25]
    pitches, channels = set(), set()
    for path in files:
        for msg in mido.MidiFile(path):
            if msg.type == "note_on" and msg.velocity > 0:
                pitches.add(msg.note)
                channels.add(msg.channel)
    assert channels == {9}
    assert pitches <= set(DRUM_MAP), sorted(pitches - set(DRUM_MAP))


def test_read_one_groove_file_against_mido(groove):
    path = groove / "drummer1" / "eval_session" / "1_funk-groove1_138_beat_4-4.mid"
    clips = read_midi(path)
    mid = mido.MidiFile(path)
    tps = mid.ticks_per_beat / 4
    tick, first_kick = 0, None
    for msg in mido.merge_tracks(mid.tracks):
        tick += msg.time
        if msg.type == "note_on" and msg.velocity > 0 and msg.note == 36:
            first_kick = tick
            break
    assert len(clips) >= 3
    np.testing.assert_allclose(clips.bpm, 138.0, rtol=1e-5)
    assert clips.meta["rotation"].iloc[0] == 0
    step = int(np.floor(first_kick / tps + 0.5))
    assert clips.velocity[0, 0, step] > 0


@pytest.mark.slow
def test_full_groove_ingest_and_split(groove, tmp_path):
    report = ingest(groove, tmp_path / "groove", workers=1)
    ds = load_dataset(tmp_path / "groove")
    assert len(ds.manifest) == 1150
    assert set(ds.manifest["status"]) <= {"ok", "rejected", "duplicate"}
    assert report.n_clips == len(ds.clips) == 4952  # measured; docs/data_pipeline.md
    assert report.pack_by == "session"
    assert ds.clips.meta["license"].eq("CC-BY-4.0").all()
    assert {"style", "drummer", "session", "beat_type"} <= set(ds.clips.meta.columns)
    result = split_dataset(tmp_path / "groove", seed=0)
    assert (result.pack_overlap, result.file_overlap) == (0, 0)
