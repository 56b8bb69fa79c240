"""technorhythm generate: files written, names, lengths and error messages."""

import mido
import pytest

from technorhythm.cli import main
from technorhythm.cli.generate import knob_help, parse_sets
from technorhythm.simulator.knobs import KNOB_NAMES, KnobError


def test_writes_one_midi_and_wav(tmp_path, capsys):
    out, wav = tmp_path / "demo.mid", tmp_path / "demo.wav"
    code = main(
        [
            "generate",
            "--preset",
            "minimal",
            "--seed",
            "42",
            "--bpm",
            "125",
            "--out",
            str(out),
            "--wav",
            str(wav),
        ]
    )
    assert code == 0 and out.is_file() and wav.is_file()
    assert mido.MidiFile(out).length == pytest.approx(4 * 4 * 60 / 125)
    assert "demo.mid" in capsys.readouterr().out


def test_n_loops_and_bars(tmp_path):
    out = tmp_path / "set.mid"
    assert (
        main(
            [
                "generate",
                "--n",
                "3",
                "--bars",
                "8",
                "--out",
                str(out),
                "--set",
                "swing_16=0.2",
                "--set",
                "hat_beats=1",
            ]
        )
        == 0
    )
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["set_000.mid", "set_001.mid", "set_002.mid"]
    assert mido.MidiFile(tmp_path / "set_001.mid").length == pytest.approx(8 * 4 * 60 / 128)


def test_same_seed_same_file(tmp_path):
    for name in ("a.mid", "b.mid"):
        main(["generate", "--seed", "7", "--out", str(tmp_path / name)])
    assert (tmp_path / "a.mid").read_bytes() == (tmp_path / "b.mid").read_bytes()


def test_theta_file(tmp_path):
    theta = tmp_path / "t.json"
    theta.write_text('{"kick_pulses": 8, "kick_extra": 0}')
    out = tmp_path / "t.mid"
    assert main(["generate", "--theta", str(theta), "--out", str(out)]) == 0
    kicks = [
        m
        for m in mido.MidiFile(out).tracks[0]
        if m.type == "note_on" and m.note == 36 and m.velocity
    ]
    assert len(kicks) == 32  # every 8th for 4 bars


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "swing_16=0.9"], "'swing_16' knob must be in [0.0, 0.45]"),
        (["--set", "cowbell=1"], "Unknown knob 'cowbell'"),
        (["--set", "snare_velocity"], "KNOB=VALUE"),
        (["--preset", "trance"], "Unknown preset 'trance'"),
        (["--bars", "0"], "bars must be"),
        (["--seed", "-3"], "--seed"),
    ],
)
def test_errors_name_the_problem(tmp_path, capsys, args, message):
    assert main(["generate", *args, "--out", str(tmp_path / "x.mid")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.mid").exists()


def test_nothing_to_write(capsys):
    assert main(["generate"]) == 2
    assert "nothing to write" in capsys.readouterr().err


def test_help_lists_every_knob_from_the_registry():
    text = knob_help()
    assert all(name in text for name in KNOB_NAMES)
    assert parse_sets(["swing_16=0.1", "hat_accent=1"]) == {"swing_16": 0.1, "hat_accent": 1.0}
    with pytest.raises(KnobError, match="got 'x'"):
        parse_sets(["hat_accent=x"])
