"""The Standard MIDI File reader: faithful note times on hostile files, cross-checked with mido."""

from __future__ import annotations

import io
import struct

import mido
import numpy as np
import pytest
from corpus_midi import (
    END_OF_TRACK,
    STEP,
    TPQ,
    chunk,
    four_on_floor,
    header,
    note_events,
    track,
    vlq,
)

from technorhythm.corpus import IngestConfig, MidiRejected
from technorhythm.corpus.parse import parse_midi_bytes
from technorhythm.corpus.read import clips_from_parsed

NOTES = four_on_floor(4)  # 32 notes over 4 bars


def mido_note_ons(data: bytes) -> list[tuple[int, int, int]]:
    """(tick, pitch, velocity) of every note-on with velocity > 0, read by mido."""
    midi = mido.MidiFile(file=io.BytesIO(data))
    out = []
    for trk in midi.tracks:
        tick = 0
        for msg in trk:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                out.append((tick, msg.note, msg.velocity))
    return sorted(out)


def ours(data: bytes, config: IngestConfig | None = None) -> list[tuple[int, int, int]]:
    p = parse_midi_bytes(data, config)
    times = np.concatenate([p.drum_time, p.other_time]).tolist()
    pitches = np.concatenate([p.drum_pitch, p.other_pitch]).tolist()
    vels = np.concatenate([p.drum_velocity, p.other_velocity]).tolist()
    return sorted(zip(times, pitches, vels, strict=True))


def plain(body: bytes) -> bytes:
    return header() + track(body + END_OF_TRACK)


SYSEX_CASES = {
    # a complete SysEx message: F0 <length> data F7
    "sysex-gm-on": b"\x00\xf0" + vlq(5) + b"\x7e\x7f\x09\x01\xf7",
    # a long one: its length needs a two-byte variable-length quantity
    "sysex-long": b"\x00\xf0" + vlq(300) + bytes(range(0x7F)) * 2 + bytes(45) + b"\xf7",
    # an escape packet (F7 <length> data): the case that moved notes in symusic
    "escape-packet": b"\x00\xf7" + vlq(3) + b"\x01\x02\x03",
    # a SysEx split into packets: F0 without F7, then an F7 continuation
    "sysex-split": b"\x00\xf0" + vlq(3) + b"\x43\x12\x00" + b"\x00\xf7" + vlq(2) + b"\x07\xf7",
    # bytes >= 0x80 inside the escape: skipped by length, never read as status
    "escape-high-bytes": b"\x00\xf7" + vlq(4) + b"\x90\x24\x64\xff",
}


@pytest.mark.parametrize("case", sorted(SYSEX_CASES))
def test_sysex_does_not_move_note_times(case):
    packet = SYSEX_CASES[case]
    before = plain(packet + note_events(NOTES))
    between = plain(note_events(NOTES, between=packet))  # a packet after every note-on
    for data in (before, between):
        # mido refuses data bytes >= 0x80 inside SysEx; there the clean file is the reference
        reference = plain(note_events(NOTES)) if case == "escape-high-bytes" else data
        assert ours(data) == mido_note_ons(reference) == sorted(NOTES)


def test_sysex_is_not_a_near_duplicate_maker():
    """The same pattern with and without SysEx gives the same clips."""
    clean = parse_midi_bytes(plain(note_events(NOTES)))
    noisy = parse_midi_bytes(plain(note_events(NOTES, between=SYSEX_CASES["escape-packet"])))
    a, _ = clips_from_parsed(clean, "clean")
    b, _ = clips_from_parsed(noisy, "noisy")
    assert a.equals(b)


def test_unknown_chunks_and_long_header_are_skipped():
    body = track(note_events(NOTES) + END_OF_TRACK)
    reference = header() + body
    hostile = (
        header(extra=b"\x00\x01\x02\x03")  # header length 10
        + chunk(b"XFIH", b"vendor data")
        + body
        + chunk(b"XFKM", b"\xff" * 7)
    )
    assert ours(hostile) == mido_note_ons(reference) == sorted(NOTES)


def test_riff_rmi_wrapper_is_read():
    smf = header() + track(note_events(NOTES) + END_OF_TRACK)
    data_chunk = b"data" + struct.pack("<I", len(smf)) + smf + (b"\x00" if len(smf) % 2 else b"")
    info = b"LIST" + struct.pack("<I", 4) + b"INFO"  # a chunk before the MIDI data
    riff = b"RIFF" + struct.pack("<I", 4 + len(info) + len(data_chunk)) + b"RMID" + info
    assert ours(riff + data_chunk) == mido_note_ons(smf) == sorted(NOTES)
    with pytest.raises(MidiRejected, match="not RMID") as err:
        parse_midi_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt ")
    assert err.value.code == "not-midi"


def test_running_status_and_multi_byte_deltas_match_mido():
    body = bytearray(b"\x00\x99\x24\x64")  # kick at 0 with status
    for _ in range(1, 16):  # running status: note-on without status byte
        body += vlq(TPQ) + b"\x24\x64"
    body += vlq(0x0FFFFF) + b"\x2a\x46"  # a long gap, 3-byte delta
    data = plain(bytes(body))
    assert ours(data) == mido_note_ons(data)
    assert ours(data)[-1][0] == 15 * TPQ + 0x0FFFFF


def test_notes_never_released_are_kept():
    data = plain(note_events(NOTES, gate=None))  # note-ons only
    p = parse_midi_bytes(data)
    assert p.unreleased_notes == len(NOTES)
    assert ours(data) == mido_note_ons(data)
    assert p.end == max(t for t, _, _ in NOTES) + TPQ // 4  # the last note lasts one 16th
    clips, stats = clips_from_parsed(p, "held")
    assert len(clips) == 1 and stats.unreleased_notes == len(NOTES)
    assert "never released" in stats.note()


def test_format_2_with_several_sequences_is_refused_with_a_reason():
    body = track(note_events(NOTES) + END_OF_TRACK)
    with pytest.raises(MidiRejected, match="format 2 file: 2 independent sequences") as err:
        parse_midi_bytes(header(fmt=2, ntracks=2) + body + body)
    assert err.value.code == "format-2"
    assert ours(header(fmt=2, ntracks=1) + body) == sorted(NOTES)  # one sequence: fine


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"\x00\x24\x64", "data byte 0x24 at byte 23 where a status byte is needed"),
        (b"\x00\x99\x24", "runs past"),  # a note-on cut short by the end of the chunk
        (b"\x00\xf8", "status byte 0xF8"),  # real-time messages cannot occur in a file
        (b"\x00\xff\x01" + vlq(0x0FFFFFFF) + b"x", "runs past"),  # a huge declared length
        (b"\x00\x99\x24\xe4", "data byte >= 0x80"),
    ],
)
def test_corrupt_event_streams_are_parse_errors(body, match):
    with pytest.raises(MidiRejected, match=match) as err:
        parse_midi_bytes(header() + track(body) + track(END_OF_TRACK))
    assert err.value.code == "parse-error"


def test_note_budget_rejects_while_reading():
    data = plain(note_events(four_on_floor(64)))  # 512 notes
    with pytest.raises(MidiRejected, match="more than 100 notes") as err:
        parse_midi_bytes(data, IngestConfig(max_notes=100))
    assert err.value.code == "over-budget"
    assert len(ours(data)) == 512


def test_tempo_and_time_signature_events_in_file_order():
    tempo = b"\x00\xff\x51\x03" + (500_000).to_bytes(3, "big")
    late_tempo = vlq(4 * TPQ) + b"\xff\x51\x03" + (1_000_000).to_bytes(3, "big")
    sig = b"\x00\xff\x58\x04\x03\x02\x18\x08" + b"\x00\xff\x58\x04\x04\x02\x18\x08"
    p = parse_midi_bytes(plain(tempo + sig + late_tempo))
    assert p.tempo_time.tolist() == [0, 4 * TPQ]
    assert p.tempo_qpm.tolist() == [120.0, 60.0]
    assert list(zip(p.ts_time.tolist(), p.ts_num.tolist(), p.ts_den.tolist(), strict=True)) == [
        (0, 3, 4),
        (0, 4, 4),  # the later of two signatures at one tick wins, as in the file
    ]


def test_step_positions_of_a_mido_file_agree(tmp_path):
    """A file written by mido (type 1, two drum tracks) reads back note for note."""
    midi = mido.MidiFile(type=1, ticks_per_beat=TPQ)
    for pitch, offset in ((36, 0), (42, 2 * STEP + 7)):
        trk = mido.MidiTrack()
        now = 0
        for beat in range(16):
            tick = beat * TPQ + offset
            trk.append(mido.Message("note_on", channel=9, note=pitch, velocity=90, time=tick - now))
            trk.append(mido.Message("note_off", channel=9, note=pitch, velocity=0, time=30))
            now = tick + 30
        midi.tracks.append(trk)
    buf = io.BytesIO()
    midi.save(file=buf)
    assert ours(buf.getvalue()) == mido_note_ons(buf.getvalue())
