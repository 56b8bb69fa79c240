"""Every kind of bad input ends as a reasoned manifest row; nothing crashes the batch."""

from __future__ import annotations

import struct
import sys
import textwrap

import mido
import pandas as pd
import pytest
from corpus_midi import STEP, TPQ, drum_file, four_on_floor

from technorhythm.corpus import DedupeConfig, IngestConfig, MidiRejected, ingest, read_midi
from technorhythm.corpus import guard as guard_module


def _header(fmt=0, ntracks=1, division=TPQ) -> bytes:
    return b"MThd" + struct.pack(">IHHH", 6, fmt, ntracks, division)


def _track(body: bytes) -> bytes:
    return b"MTrk" + struct.pack(">I", len(body)) + body


_NOTE_TRACK = _track(bytes([0x00, 0x99, 36, 100, 0x60, 0x89, 36, 0, 0x00, 0xFF, 0x2F, 0x00]))


def build_bad_corpus(root):
    """Write one file per edge case (named after it) plus one good file; return expectations."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "smpte-division.mid").write_bytes(_header(division=0xE728) + _NOTE_TRACK)
    (root / "zero-ticks-per-beat.mid").write_bytes(_header(division=0) + _NOTE_TRACK)
    (root / "tiny-ticks-per-beat.mid").write_bytes(_header(division=2) + _NOTE_TRACK)
    good = drum_file(root / "good.mid", four_on_floor(8)).read_bytes()
    (root / "truncated.mid").write_bytes(good[: len(good) // 2])
    (root / "not-midi.mid").write_bytes(b"RIFF....this is a wave file, not MIDI")
    (root / "empty.mid").write_bytes(b"")
    (root / "bad-header-format.mid").write_bytes(_header(fmt=7) + _NOTE_TRACK)
    piano = [(i * TPQ, 60 + i % 12, 80) for i in range(64)]
    drum_file(root / "no-drum-notes.mid", piano, channel=0)
    drum_file(root / "drums-on-channel-1.mid", four_on_floor(8), channel=0)
    drum_file(root / "three-four-only.mid", four_on_floor(8), time_signatures=[(0, 3, 4)])
    overlapping = four_on_floor(4) + [(STEP * 4 + 5, 36, 90), (0, 36, 60)]
    drum_file(root / "overlapping-notes.mid", overlapping, duration=3 * TPQ)
    drum_file(root / "zero-length-notes.mid", four_on_floor(4), duration=0)
    drum_file(root / "absurd-tempo.mid", four_on_floor(4), tempos=[(0, 60_000.0)])
    drum_file(root / "short-fill.mid", four_on_floor(2))
    drum_file(root / "huge-file.mid", four_on_floor(400))  # > the 8 KiB cap used below
    mid = mido.MidiFile(type=1, ticks_per_beat=TPQ)
    mid.tracks.append(mido.MidiTrack([mido.MetaMessage("end_of_track", time=0)]))
    mid.save(root / "no-notes.mid")
    return {
        "good.mid": ("ok", ""),
        "smpte-division.mid": ("rejected", "smpte-division"),
        "zero-ticks-per-beat.mid": ("rejected", "zero-ticks-per-beat"),
        "tiny-ticks-per-beat.mid": ("rejected", "absurd-ticks-per-beat"),
        "truncated.mid": ("rejected", "truncated"),
        "not-midi.mid": ("rejected", "not-midi"),
        "empty.mid": ("rejected", "empty-file"),
        "bad-header-format.mid": ("rejected", "bad-header"),
        "no-drum-notes.mid": ("rejected", "no-drum-notes"),
        "drums-on-channel-1.mid": ("ok", ""),
        "three-four-only.mid": ("rejected", "no-4-4"),
        "overlapping-notes.mid": ("ok", ""),
        "zero-length-notes.mid": ("ok", ""),
        "absurd-tempo.mid": ("rejected", "absurd-tempo"),
        "short-fill.mid": ("rejected", "too-short"),
        "huge-file.mid": ("rejected", "too-large"),
        "no-notes.mid": ("rejected", "no-notes"),
    }


CONFIG = IngestConfig(max_file_bytes=8 * 1024)


def test_every_bad_file_is_a_reasoned_manifest_row(tmp_path):
    expected = build_bad_corpus(tmp_path / "in")
    no_dedupe = DedupeConfig(exact=False, near_threshold=None)  # several files are alike
    report = ingest(
        tmp_path / "in", tmp_path / "out", config=CONFIG, dedupe=no_dedupe, default_license="MIT"
    )
    manifest = pd.read_parquet(tmp_path / "out" / "manifest.parquet").set_index("path")
    assert sorted(manifest.index) == sorted(expected)
    for name, (status, code) in expected.items():
        row = manifest.loc[name]
        assert (row["status"], row["code"]) == (status, code), (name, row["reason"])
        if status == "rejected":
            assert len(row["reason"]) > 10  # a sentence for people, not just a code
    assert report.status_counts["rejected"] == 13
    assert "channels other than 10" in manifest.loc["drums-on-channel-1.mid", "reason"]
    assert manifest.loc["drums-on-channel-1.mid", "drum_channel"] == "other"
    assert "SMPTE" in manifest.loc["smpte-division.mid", "reason"]
    assert "3/4" in manifest.loc["three-four-only.mid", "reason"]
    assert manifest.loc["overlapping-notes.mid", "merged_notes"] >= 1


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("smpte-division.mid", "smpte-division"),
        ("truncated.mid", "truncated"),
        ("not-midi.mid", "not-midi"),
        ("absurd-tempo.mid", "absurd-tempo"),
        ("no-drum-notes.mid", "no-drum-notes"),
        ("huge-file.mid", "too-large"),
    ],
)
def test_read_midi_raises_midi_rejected_with_code(tmp_path, name, code):
    build_bad_corpus(tmp_path)
    with pytest.raises(MidiRejected) as err:
        read_midi(tmp_path / name, config=CONFIG)
    assert err.value.code == code
    assert isinstance(err.value, ValueError)


def test_drums_on_channel_1_can_be_refused(tmp_path):
    build_bad_corpus(tmp_path)
    strict = IngestConfig(drum_channel_fallback=False)
    with pytest.raises(MidiRejected, match="fallback disabled"):
        read_midi(tmp_path / "drums-on-channel-1.mid", config=strict)
    clips = read_midi(tmp_path / "drums-on-channel-1.mid")
    assert clips.velocity[0, 0, ::4].tolist() == [100] * 16


_FAULTY_WORKER = textwrap.dedent(
    """
    import os, time
    from technorhythm.corpus import _worker
    from technorhythm.corpus.file_job import process_file

    def faulty(path, config):
        name = os.path.basename(path)
        if "crash" in name:
            os.abort()
        if "hang" in name:
            time.sleep(120)
        if "memory" in name:
            b"x" * (4 * 2**30)  # beyond the worker's address-space limit
        return process_file(path, config)

    _worker.die_with_parent()
    _worker.serve(faulty)
    """
)


def test_worker_crash_hang_and_memory_become_rejected_rows(tmp_path, monkeypatch):
    root = tmp_path / "in"
    root.mkdir()
    for name in ("a-good", "b-crash", "c-good", "d-hang", "e-good", "f-memory", "g-good"):
        drum_file(root / f"{name}.mid", four_on_floor(4))
    script = tmp_path / "faulty_worker.py"
    script.write_text(_FAULTY_WORKER)
    monkeypatch.setattr(guard_module, "worker_command", lambda: [sys.executable, str(script)])
    config = IngestConfig(parse_timeout=1.0, max_file_memory_mb=256)
    report = ingest(root, tmp_path / "out", config=config, workers=1)
    manifest = pd.read_parquet(tmp_path / "out" / "manifest.parquet").set_index("path")
    assert manifest.loc["b-crash.mid", "code"] == "parser-crash"
    assert "SIGABRT" in manifest.loc["b-crash.mid", "reason"]
    assert manifest.loc["d-hang.mid", "code"] == "parser-timeout"
    assert manifest.loc["f-memory.mid", "code"] == "internal-error"
    assert "MemoryError" in manifest.loc["f-memory.mid", "reason"]
    # the good files read before and after the faults are kept (identical clips are
    # duplicates across files, so the first is ok and the rest are marked duplicate)
    good = manifest.loc[["a-good.mid", "c-good.mid", "e-good.mid", "g-good.mid"], "status"]
    assert good.tolist() == ["ok", "duplicate", "duplicate", "duplicate"]
    assert report.status_counts == {
        "ok": 1, "rejected": 3, "duplicate": 3, "excluded": 0, "skipped": 0,
    }  # fmt: skip
