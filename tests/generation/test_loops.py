"""Loops from a fitted group: determinism, independence from the options, the output folder."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from technorhythm.clips import N_STEPS
from technorhythm.generation import draw_theta, generate_from_pack, write_generated
from technorhythm.simulator.audio import read_wav
from technorhythm.simulator.knobs import KNOB_NAMES


def test_options_other_than_the_seed_keep_the_loops(steady):
    base = generate_from_pack(steady, 3, seed=9, bars=4, bpm=126.0)
    np.testing.assert_array_equal(base.theta, draw_theta(steady, 3, seed=9))
    longer = generate_from_pack(steady, 5, seed=9, bars=8, bpm=140.0)
    np.testing.assert_array_equal(longer.theta[:3], base.theta)
    assert longer.sim_seeds[:3] == base.sim_seeds
    for short, long in zip(base.loops, longer.loops, strict=False):
        assert long.n_steps == 2 * N_STEPS
        # the first 4 bars hit the same instruments on the same steps, as loud
        np.testing.assert_array_equal(long.clips.velocity[0], short.clips.velocity[0])
    other = generate_from_pack(steady, 3, seed=10, bars=4, bpm=126.0)
    assert not np.array_equal(other.theta, base.theta)


def test_loops_vary_between_themselves(steady):
    gen = generate_from_pack(steady, 16, seed=0, bpm=126.0)
    spread = gen.theta_table()[list(KNOB_NAMES)].std()
    assert (spread > 0).all()
    patterns = {loop.clips.velocity.tobytes() for loop in gen.loops}
    assert len(patterns) == 16


def test_tempos_from_the_pack(steady, dataset_dir):
    from technorhythm.corpus import load_dataset

    pack_tempos = set(load_dataset(dataset_dir).clips.bpm)
    gen = generate_from_pack(steady, 6, seed=1)  # default: from-pack
    assert set(gen.bpm) <= pack_tempos
    with pytest.raises(ValueError, match="bpm must be in"):
        generate_from_pack(steady, 1, seed=1, bpm=1000.0)


def test_the_folder_and_same_seed_same_bytes(steady, tmp_path):
    gen = generate_from_pack(steady, 4, seed=5, bpm=126.0)
    record = write_generated(gen, steady, tmp_path / "a", wav=True, command="cmd")
    again = generate_from_pack(steady, 4, seed=5, bpm=126.0)
    write_generated(again, steady, tmp_path / "b", wav=True, command="cmd")
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    loops = [f"loop_{j:03d}.{ext}" for j in range(4) for ext in ("mid", "wav")]
    assert names == sorted([*loops, "index.json", "theta.csv"])
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    table = pd.read_csv(tmp_path / "a" / "theta.csv")
    assert table.columns.tolist() == ["loop", "bpm", "seed", *KNOB_NAMES]
    np.testing.assert_allclose(table[list(KNOB_NAMES)].to_numpy(), gen.theta, rtol=1e-5)
    index = json.loads((tmp_path / "a" / "index.json").read_text())
    assert index == record
    assert index["group"] == "steady" and index["seed"] == 5 and index["command"] == "cmd"
    assert index["fit"] == str(steady.fit_dir) and set(index["files"]) == set(names) - {
        "index.json"
    }
    samples, rate = read_wav(tmp_path / "a" / "loop_000.wav")
    assert len(samples) == round(N_STEPS * 60 / (126.0 * 4) * rate)


def test_a_folder_is_not_overwritten_without_force(steady, tmp_path):
    write_generated(generate_from_pack(steady, 3, seed=1, bpm=126.0), steady, tmp_path)
    with pytest.raises(FileExistsError, match="--force"):
        write_generated(generate_from_pack(steady, 1, seed=1, bpm=126.0), steady, tmp_path)
    write_generated(
        generate_from_pack(steady, 1, seed=1, bpm=126.0), steady, tmp_path, overwrite=True
    )
    assert sorted(p.name for p in tmp_path.glob("loop_*")) == ["loop_000.mid"]
    assert len(pd.read_csv(tmp_path / "theta.csv")) == 1


def test_a_crash_while_writing_keeps_the_previous_folder(steady, tmp_path, monkeypatch):
    out = tmp_path / "loops"
    write_generated(generate_from_pack(steady, 2, seed=1, bpm=126.0), steady, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    import technorhythm.simulator.render as render

    real = render.write_loop
    calls = []

    def failing(loop, midi, wav, **kwargs):
        calls.append(midi)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(loop, midi, wav, **kwargs)

    monkeypatch.setattr(render, "write_loop", failing)
    gen = generate_from_pack(steady, 3, seed=9, bpm=126.0)
    with pytest.raises(OSError, match="No space"):
        write_generated(gen, steady, out, overwrite=True)
    assert len(calls) == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loops"]  # no staging, no lock


def test_a_second_writer_is_refused(steady, tmp_path, hold_lock):
    from technorhythm.outdir import FolderLockedError

    out = tmp_path / "loops"
    holder = hold_lock(out)
    with pytest.raises(FolderLockedError, match=f"pid {holder}"):
        write_generated(generate_from_pack(steady, 1, seed=1, bpm=126.0), steady, out)
    assert not out.exists()


def test_a_folder_of_other_files_is_never_replaced(steady, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    gen = generate_from_pack(steady, 1, seed=1, bpm=126.0)
    with pytest.raises(FileExistsError, match="holds no generated loops"):
        write_generated(gen, steady, tmp_path, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
