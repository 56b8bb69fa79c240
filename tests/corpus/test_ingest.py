"""ingest / load_dataset: packs, licences, dedupe, manifest, determinism, atomicity."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pandas as pd
import pytest
from corpus_midi import STEP, TPQ, drum_file, four_on_floor

from technorhythm.corpus import DedupeConfig, ingest, load_dataset, read_midi

ingest_module = importlib.import_module("technorhythm.corpus.ingest")


def _groove(bars: int, extra: list[tuple[int, int, int]] = ()) -> list[tuple[int, int, int]]:
    """Four-on-the-floor with a snare backbeat and optional extra notes."""
    notes = four_on_floor(bars) + [
        (b * 4 * TPQ + k * TPQ, 38, 90) for b in range(bars) for k in (1, 3)
    ]
    return notes + list(extra)


# closed hat on every 16th step of 4 bars (the off-beat 8ths are already in _groove)
_sixteenths = [(k * STEP, 42, 40) for k in range(64) if k % 4 != 2]


def build_packs(root):
    """Three packs: MIT (licence.json), CC BY-ND (LICENSE text: excluded), none (default)."""
    (root / "alpha").mkdir(parents=True)
    (root / "alpha" / "license.json").write_text(json.dumps({"license": "MIT"}))
    drum_file(root / "alpha" / "a1.mid", _groove(8))
    drum_file(root / "alpha" / "a2.mid", _groove(4, _sixteenths))
    (root / "beta" / "sub").mkdir(parents=True)
    (root / "beta" / "LICENSE").write_text(
        "This work is licensed under the Creative Commons Attribution-NoDerivatives 4.0 "
        "International License."
    )
    drum_file(root / "beta" / "sub" / "b1.mid", _groove(4, [(STEP * 5, 46, 70)]))
    (root / "gamma").mkdir()
    # an exact copy of a1's first window (other velocities): duplicate of alpha/a1.mid
    drum_file(root / "gamma" / "g1.mid", [(t, p, max(1, v - 10)) for t, p, v in _groove(4)])
    # a near-duplicate of a2 (two more ride notes on top of its 88 onsets: Jaccard 88/90)
    near = _groove(4, [*_sixteenths, (STEP * 3, 51, 50), (STEP * 7, 51, 50)])
    drum_file(root / "gamma" / "g2.mid", near)
    # something new
    drum_file(root / "gamma" / "g3.mid", _groove(4, [(b * TPQ, 51, 80) for b in range(16)]))
    (root / "gamma" / "notes.txt").write_text("not an input: not a MIDI suffix")


def test_packs_licences_dedupe_and_manifest(tmp_path):
    build_packs(tmp_path / "in")
    report = ingest(tmp_path / "in", tmp_path / "out", default_license="CC-BY-4.0")
    ds = load_dataset(tmp_path / "out")
    m = ds.manifest.set_index("path")
    assert list(m.index) == [
        "alpha/a1.mid", "alpha/a2.mid", "beta/sub/b1.mid", "gamma/g1.mid", "gamma/g2.mid",
        "gamma/g3.mid",
    ]  # fmt: skip
    assert m["status"].to_dict() == {
        "alpha/a1.mid": "ok",
        "alpha/a2.mid": "ok",
        "beta/sub/b1.mid": "excluded",
        "gamma/g1.mid": "duplicate",
        "gamma/g2.mid": "duplicate",
        "gamma/g3.mid": "ok",
    }
    assert m.loc["beta/sub/b1.mid", "license"] == "CC-BY-ND-4.0"
    assert "forbids derivatives" in m.loc["beta/sub/b1.mid", "reason"]
    assert m.loc["alpha/a1.mid", "license"] == "MIT"
    assert m.loc["gamma/g3.mid", "license"] == "CC-BY-4.0"
    assert m.loc["gamma/g3.mid", "license_source"] == "--default-license"
    assert m["pack"].tolist() == ["alpha", "alpha", "beta", "gamma", "gamma", "gamma"]
    assert m["n_clips"].tolist() == [2, 1, 0, 0, 0, 1]
    # dedupe table: what was removed, as a duplicate of what
    d = ds.dedupe.set_index("clip_id")
    assert d.loc["gamma/g1.mid#0", "duplicate_of"] == "alpha/a1.mid#0"
    assert d.loc["gamma/g1.mid#0", "kind"] == "exact"
    assert d.loc["gamma/g2.mid#0", "duplicate_of"] == "alpha/a2.mid#0"
    assert d.loc["gamma/g2.mid#0", "kind"] == "near"
    assert d.loc["gamma/g2.mid#0", "similarity"] == pytest.approx(88 / 90)
    # clips: the same arrays read_midi gives, with pack / licence / ids
    meta = ds.clips.meta
    assert meta["clip_id"].tolist() == [
        "alpha/a1.mid#0",
        "alpha/a1.mid#1",
        "alpha/a2.mid#0",
        "gamma/g3.mid#0",
    ]
    assert meta["split"].isna().all()
    direct = read_midi(tmp_path / "in" / "alpha" / "a1.mid")
    assert np.array_equal(ds.clips.velocity[:2], direct.velocity)
    assert np.array_equal(ds.clips.offset[:2], direct.offset)
    assert report.n_clips == 4
    assert report.excluded_packs == ["beta"]
    assert report.n_exact_duplicates == 1 and report.n_near_duplicates == 1
    assert "excluded" in report.summary()


def test_pack_by_depth_and_metadata_column(tmp_path):
    build_packs(tmp_path / "in")
    pd.DataFrame(
        {
            "file": ["alpha/a1.mid", "gamma/g3.mid"],
            "session": ["s1", "s2"],
            "style": ["techno/x", "house"],
        }
    ).to_csv(tmp_path / "in" / "info.csv", index=False)
    ingest(tmp_path / "in", tmp_path / "out", dedupe=DedupeConfig(exact=False, near_threshold=None))
    meta = load_dataset(tmp_path / "out").clips.meta.drop_duplicates("source").set_index("source")
    assert meta.loc["alpha/a1.mid", "pack"] == "s1"  # auto: session column of info.csv
    assert meta.loc["alpha/a2.mid", "pack"] == "_unlisted"
    assert meta.loc["alpha/a1.mid", "style"] == "techno"
    assert meta.loc["alpha/a1.mid", "style_detail"] == "x"
    ingest(tmp_path / "in", tmp_path / "out2", pack_by="folder:2", metadata=None)
    m = load_dataset(tmp_path / "out2").manifest.set_index("path")
    assert m.loc["beta/sub/b1.mid", "pack"] == "beta/sub"
    with pytest.raises(ValueError, match="not a column"):
        ingest(tmp_path / "in", tmp_path / "out3", pack_by="drummer")


@pytest.mark.slow
def test_output_is_byte_identical_across_runs_and_workers(tmp_path):
    build_packs(tmp_path / "in")
    (tmp_path / "in" / "delta").mkdir()
    for i in range(6):  # more files so that chunks differ between worker counts
        drum_file(
            tmp_path / "in" / "delta" / f"d{i}.mid", _groove(4 + i, [(STEP * (i + 1), 39, 60)])
        )
    ingest(tmp_path / "in", tmp_path / "w1", workers=1)
    ingest(tmp_path / "in", tmp_path / "w1b", workers=1)
    ingest(tmp_path / "in", tmp_path / "w2", workers=2)
    names = ["clips.parquet", "manifest.parquet", "dedupe.parquet", "dataset.json"]
    for name in names:
        ref = (tmp_path / "w1" / name).read_bytes()
        assert (tmp_path / "w1b" / name).read_bytes() == ref, name
        assert (tmp_path / "w2" / name).read_bytes() == ref, name


def test_failed_run_leaves_previous_dataset_intact(tmp_path, monkeypatch):
    build_packs(tmp_path / "in")
    out = tmp_path / "out"
    ingest(tmp_path / "in", out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ingest_module, "write_json", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest(tmp_path / "in", out, default_license="MIT")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]  # no temp left


def test_refuses_to_replace_a_folder_that_is_not_a_dataset(tmp_path):
    build_packs(tmp_path / "in")
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "thesis.tex").write_text("...")
    with pytest.raises(FileExistsError, match="holds no dataset"):
        ingest(tmp_path / "in", tmp_path / "precious")
    with pytest.raises(ValueError, match="no MIDI files"):
        ingest(tmp_path / "precious", tmp_path / "out")


def test_load_dataset_detects_tampering_and_schema(tmp_path):
    build_packs(tmp_path / "in")
    ingest(tmp_path / "in", tmp_path / "out")
    clips = tmp_path / "out" / "clips.parquet"
    clips.write_bytes(clips.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ValueError, match="SHA-256"):
        load_dataset(tmp_path / "out")
    info = json.loads((tmp_path / "out" / "dataset.json").read_text())
    info["schema_version"] = 999
    (tmp_path / "out" / "dataset.json").write_text(json.dumps(info))
    with pytest.raises(ValueError, match="schema version 999"):
        load_dataset(tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="not a dataset folder"):
        load_dataset(tmp_path / "in")


@pytest.mark.slow
def test_dask_scheduler_gives_the_same_bytes(tmp_path):
    distributed = pytest.importorskip("distributed")
    build_packs(tmp_path / "in")
    ingest(tmp_path / "in", tmp_path / "local")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        ingest(tmp_path / "in", tmp_path / "dask", scheduler=cluster.scheduler_address)
    for name in ("clips.parquet", "manifest.parquet", "dedupe.parquet", "dataset.json"):
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
