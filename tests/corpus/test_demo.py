"""The built-in demo corpus: notation parser, rendering and the demo command."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from technorhythm.cli import main
from technorhythm.clips import HH_OPEN, KICK, SNARE, canonicalize
from technorhythm.corpus import load_dataset, read_midi
from technorhythm.corpus.demo_corpus import load_demo_patterns, parse_patterns


def test_parse_notation_known_pattern():
    text = """
    == p1 | bpm: 128 | swing: 0.1 | humanize: 2   # comment
    kick    X...x...X...o...
    snare   ....X.......X...|....X.......XxXx
    hh_open ..x. ..x. ..x. ..x.
    """
    (p,) = parse_patterns(text, "pk")
    assert (p.name, p.pack, p.bpm, p.swing, p.humanize_ms) == ("p1", "pk", 128.0, 0.1, 2.0)
    assert p.velocity[KICK, :16].tolist()[::4] == [120, 90, 120, 55]
    assert np.array_equal(p.velocity[KICK, :16], p.velocity[KICK, 48:])
    assert p.velocity[SNARE, 28:32].tolist() == [120, 90, 120, 90]
    assert p.velocity[SNARE, 12:16].tolist() == [120, 0, 0, 0]
    assert p.velocity[HH_OPEN].sum() == 16 * 90


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kick X...", "before the first"),
        ("== a | bpm: 128\nbass X...X...X...X...", "unknown instrument"),
        ("== a | bpm: 128\nkick X..", "16, 32 or 64"),
        ("== a | bpm: 500\nkick X...X...X...X...", "bpm must be"),
        ("== a | bpm: 128\nkick ................", "no notes"),
    ],
)
def test_parse_errors_name_the_line(text, message):
    with pytest.raises(ValueError, match=message) as err:
        parse_patterns(text, "pk", "file.txt")
    assert "file.txt, line" in str(err.value)


def test_builtin_patterns_are_valid_and_varied():
    patterns = load_demo_patterns()
    assert 32 <= len(patterns) <= 64
    assert len({p.pack for p in patterns}) in (3, 4)
    assert len({p.name for p in patterns}) == len(patterns)
    bpms = [p.bpm for p in patterns]
    assert min(bpms) <= 122 and max(bpms) >= 140
    assert sum(p.humanize_ms > 0 for p in patterns) >= 5
    assert all((p.velocity > 0).sum() >= 8 for p in patterns)


@pytest.mark.slow
def test_demo_command_renders_ingests_and_splits(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    assert "step 3/" in out and "zero overlap verified: 0 packs, 0 files" in out
    # the demo ends with the check table of every fitted group
    assert "C2ST" in out and "verdict p" in out
    checks = pd.read_csv(tmp_path / "demo" / "fit" / "check" / "check.csv")
    assert checks.group.tolist() == ["detroit", "industrial", "minimal", "warehouse", "all"]
    # and then writes four loops from the corpus's posterior and says how to audition them
    assert len(list((tmp_path / "demo" / "from_fit").glob("loop_*.wav"))) == 4
    assert " serve --fit " in out
    # and writes the diagnostic report, printing where it is
    report = tmp_path / "demo" / "report.html"
    assert report.is_file() and f"diagnostic report → {report}" in out
    ds = load_dataset(tmp_path / "demo" / "dataset")
    assert len(ds.manifest) == len(load_demo_patterns())
    assert set(ds.manifest["status"]) <= {"ok", "duplicate"}
    assert ds.clips.meta["license"].eq("MIT").all()
    assert set(ds.clips.meta["split"]) == {"train", "valid", "test"}
    # rendered MIDI reads back to the authored onsets
    (p,) = [p for p in load_demo_patterns() if p.name == "wh-pump"]
    clip = read_midi(tmp_path / "demo" / "corpus_midi" / "warehouse" / "wh-pump.mid")
    assert np.array_equal(clip.velocity[0], clip.velocity[1])
    choked, _, _ = canonicalize(p.velocity[None], np.zeros((1, 5, 64), np.float32))
    assert np.array_equal(clip.velocity[0], choked[0])  # hats under open hats are choked
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 0  # re-runs in place
