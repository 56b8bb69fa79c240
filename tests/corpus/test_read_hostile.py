"""Clip building on hostile files: budgets, silence skipped arithmetically, reasoned refusals."""

from __future__ import annotations

import re
import tracemalloc

import pytest
from corpus_midi import END_OF_TRACK, TPQ, four_on_floor, header, note_events, track, vlq

from technorhythm.corpus import IngestConfig, MidiRejected
from technorhythm.corpus.parse import parse_midi_bytes
from technorhythm.corpus.read import clip_arrays

WINDOW = 16 * TPQ  # ticks of one 4-bar window at TPQ


def read(data: bytes, config: IngestConfig | None = None):
    config = config or IngestConfig()
    return clip_arrays(parse_midi_bytes(data, config), config)


def _sig(tick_delta: int, num: int, den_exp: int) -> bytes:
    return vlq(tick_delta) + b"\xff\x58\x04" + bytes([num, den_exp, 24, 8])


def test_huge_delta_windows_of_silence_are_counted_not_built():
    """A ~100-byte file with one 0x0FFFFFFF delta at 24 ticks per beat: ~700k windows."""
    tpq = 24
    loop = [(t * tpq // TPQ, p, v) for t, p, v in four_on_floor(4)]
    body = note_events(loop) + vlq(0x0FFFFFFF) + b"\x99\x24\x64" + b"\x01\x89\x24\x00"
    data = header(division=tpq) + track(body + END_OF_TRACK)
    assert len(data) < 500
    tracemalloc.start()
    velocity, _, _, meta, stats = read(data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert stats.windows_total == (loop[-1][0] + 1 + 0x0FFFFFFF + 1) // (16 * tpq) > 690_000
    assert len(velocity) == 1 and meta["window"].tolist() == [0]
    assert stats.near_empty_windows == stats.windows_total - 1
    assert peak < 32 * 2**20  # building every window would take ~1.1 GB


def test_clip_budget_rejects_before_building():
    data = header() + track(note_events(four_on_floor(4 * 40)) + END_OF_TRACK)  # 40 windows
    assert len(read(data)[0]) == 40
    with pytest.raises(MidiRejected, match="40 windows with notes: over the per-file budget of 25"):
        read(data, IngestConfig(max_clips_per_file=25))


def test_memory_estimate_counts_notes_too():
    notes = four_on_floor(4) * 40_000  # 1.28 M notes stacked on one window
    data = header() + track(note_events(sorted(notes), gate=None) + END_OF_TRACK)
    with pytest.raises(MidiRejected, match="over the per-file memory budget") as err:
        read(data, IngestConfig(max_file_memory_mb=64))
    assert err.value.code == "over-budget"


@pytest.mark.parametrize(
    ("num", "den_exp", "label"),
    [(0, 2, "0/4"), (4, 255, "4/2^255"), (3, 9, "3/512")],
)
def test_impossible_time_signature_bars_are_rejected_with_a_reason(num, den_exp, label):
    notes = four_on_floor(8)
    bad_only = header() + track(_sig(0, num, den_exp) + note_events(notes) + END_OF_TRACK)
    with pytest.raises(
        MidiRejected, match=re.escape(f"impossible time signature ({label} at tick 0)")
    ):
        read(bad_only)
    with pytest.raises(MidiRejected) as err:
        read(bad_only)
    assert err.value.code == "bad-time-signature"
    # 4 bars under the impossible signature, then 4/4: the 4/4 part is kept
    mixed = header() + track(
        _sig(0, num, den_exp) + _events_with_sig_at(notes, WINDOW) + END_OF_TRACK
    )
    velocity, _, _, meta, stats = read(mixed)
    assert len(velocity) == 1 and meta["start_tick"].tolist() == [WINDOW]
    assert stats.bad_metre_beats == 16.0 and label in stats.bad_metres
    assert "impossible time signature" in stats.note()


def _events_with_sig_at(notes, tick: int) -> bytes:
    """``notes`` as events with a 4/4 time signature inserted at ``tick``."""
    before = [n for n in notes if n[0] < tick]
    after = [(t - tick, p, v) for t, p, v in notes if t >= tick]
    gap = tick - (before[-1][0] + 1 if before else 0)
    return note_events(before) + _sig(gap, 4, 2) + note_events(after)


def test_malformed_time_signature_event():
    body = vlq(0) + b"\xff\x58\x01\x04" + note_events(four_on_floor(4))  # 1 data byte
    with pytest.raises(MidiRejected, match="a malformed time-signature event at tick 0"):
        read(header() + track(body + END_OF_TRACK))


def test_malformed_and_zero_tempo():
    notes = note_events(four_on_floor(4))
    for meta, match in ((b"\xff\x51\x02\x07\xa1", "malformed tempo event at tick 0"),
                        (b"\xff\x51\x03\x00\x00\x00", "absurd tempo inf bpm")):  # fmt: skip
        with pytest.raises(MidiRejected, match=match) as err:
            read(header() + track(b"\x00" + meta + notes + END_OF_TRACK))
        assert err.value.code == "absurd-tempo"


def test_melody_on_channel_10_is_not_in_the_drum_map():
    melody = [(i * TPQ, 60 + (i * 5) % 24, 90) for i in range(151)]
    with pytest.raises(MidiRejected, match="no notes in the drum map: the 151 notes") as err:
        read(header() + track(note_events(melody) + END_OF_TRACK))
    assert err.value.code == "not-in-drum-map"
    toms = [(i * TPQ, (43, 45, 48)[i % 3], 90) for i in range(64)]
    with pytest.raises(MidiRejected, match="only toms and other percussion") as err:
        read(header() + track(note_events(toms) + END_OF_TRACK))
    assert err.value.code == "only-dropped-notes"
