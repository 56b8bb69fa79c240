"""split_dataset, fetch_groove (offline, with archives built here) and the CLI commands."""

from __future__ import annotations

import hashlib
import json
import stat
import zipfile

import numpy as np
import pytest
from corpus_midi import TPQ, drum_file, four_on_floor

from technorhythm.cli import main
from technorhythm.corpus import fetch_groove, ingest, load_dataset, split_dataset
from technorhythm.corpus.fetch import ChecksumMismatch, UnsafeArchive
from technorhythm.corpus.split import assign_packs_to_splits


def _corpus(root, n_packs=6, files_per_pack=2):
    """Packs of distinct grooves: each file has snares on its own random 16ths."""
    rng = np.random.default_rng(7)
    for p in range(n_packs):
        (root / f"pack{p}").mkdir(parents=True, exist_ok=True)
        for f in range(files_per_pack):
            steps = rng.choice(64, size=12, replace=False).tolist()
            notes = four_on_floor(4) + [(s * TPQ // 4, 38, 90) for s in steps]
            drum_file(root / f"pack{p}" / f"f{f}.mid", notes)


def test_assignment_is_seeded_and_close_to_ratios():
    sizes = {f"p{i}": 10 + i for i in range(20)}
    a = assign_packs_to_splits(sizes, (0.8, 0.1, 0.1), seed=3)
    assert a == assign_packs_to_splits(sizes, (0.8, 0.1, 0.1), seed=3)
    assert set(a.values()) == {"train", "valid", "test"}
    total = sum(sizes.values())
    share = {s: sum(sizes[p] for p in a if a[p] == s) / total for s in ("train", "valid", "test")}
    assert share["train"] == pytest.approx(0.8, abs=0.05)
    assert share["test"] == pytest.approx(0.1, abs=0.05)
    with pytest.raises(ValueError, match="cannot split 2 pack"):
        assign_packs_to_splits({"a": 1, "b": 1}, (0.8, 0.1, 0.1), seed=0)
    assert set(assign_packs_to_splits({"a": 1, "b": 1}, (0.5, 0.5, 0), seed=0).values()) == {
        "train",
        "valid",
    }


def test_split_dataset_whole_packs_zero_overlap(tmp_path):
    _corpus(tmp_path / "in")
    ingest(tmp_path / "in", tmp_path / "ds")
    result = split_dataset(tmp_path / "ds", ratios=(0.6, 0.2, 0.2), seed=1)
    assert (result.pack_overlap, result.file_overlap) == (0, 0)
    ds = load_dataset(tmp_path / "ds")
    meta = ds.clips.meta
    assert set(meta["split"]) == {"train", "valid", "test"}
    assert (meta.groupby("pack")["split"].nunique() == 1).all()
    assert (meta.groupby("source")["split"].nunique() == 1).all()
    stored = json.loads((tmp_path / "ds" / "split.json").read_text())
    assert stored["assignment"] == result.assignment
    assert stored["verified"] == {"pack_overlap": 0, "file_overlap": 0}
    assert int(result.sizes["clips"].sum()) == len(meta)
    again = split_dataset(tmp_path / "ds", ratios=(0.6, 0.2, 0.2), seed=1)
    assert again.assignment == result.assignment


def _zip(path, members: dict[str, bytes], symlink: str | None = None):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def _groove_members(tmp_path):
    midi = drum_file(tmp_path / "x.mid", four_on_floor(4)).read_bytes()
    return {
        "groove/info.csv": b"drummer,session,midi_filename\nd1,d1/s1,drummer1/s1/1.mid\n",
        "groove/LICENSE": b"Creative Commons Attribution 4.0 International License.",
        "groove/drummer1/s1/1.mid": midi,
    }


def test_fetch_from_local_zip_verifies_and_extracts(tmp_path):
    archive, sha = _zip(tmp_path / "g.zip", _groove_members(tmp_path))
    root = fetch_groove(tmp_path / "data", source=archive, sha256=sha)
    assert root == tmp_path / "data" / "groove"
    assert (root / "drummer1" / "s1" / "1.mid").is_file()
    with pytest.raises(FileExistsError):
        fetch_groove(tmp_path / "data", source=archive, sha256=sha)
    with pytest.raises(ChecksumMismatch, match="refusing to extract"):
        fetch_groove(tmp_path / "other", source=archive, sha256="0" * 64)
    assert not (tmp_path / "other" / "groove").exists()


@pytest.mark.parametrize(
    "evil", ["../escape.mid", "groove/../../escape.mid", "/tmp/abs-escape.mid", "C:/win.mid"]
)
def test_fetch_refuses_path_escaping_members(tmp_path, evil):
    members = {**_groove_members(tmp_path), evil: b"MThd"}
    archive, sha = _zip(tmp_path / "evil.zip", members)
    with pytest.raises(UnsafeArchive, match="refused"):
        fetch_groove(tmp_path / "data" / "inner", source=archive, sha256=sha)
    assert not (tmp_path / "data" / "escape.mid").exists()
    assert not (tmp_path / "escape.mid").exists()
    assert not (tmp_path / "data" / "inner" / "groove").exists()  # nothing extracted at all


def test_fetch_refuses_symlink_members_and_copies_folders(tmp_path):
    archive, sha = _zip(tmp_path / "ln.zip", _groove_members(tmp_path), symlink="groove/link")
    with pytest.raises(UnsafeArchive, match="symbolic link"):
        fetch_groove(tmp_path / "d1", source=archive, sha256=sha)
    good, sha = _zip(tmp_path / "ok.zip", _groove_members(tmp_path))
    src = fetch_groove(tmp_path / "d2", source=good, sha256=sha)
    copy = fetch_groove(tmp_path / "d3", source=src)
    assert (copy / "drummer1" / "s1" / "1.mid").read_bytes() == (
        src / "drummer1" / "s1" / "1.mid"
    ).read_bytes()


def test_cli_ingest_split_fetch(tmp_path, capsys):
    _corpus(tmp_path / "in")
    assert (
        main(["ingest", str(tmp_path / "in"), "--out", str(tmp_path / "ds"), "--no-progress"]) == 0
    )
    out = capsys.readouterr().out
    assert "files: 12 (ok 12, rejected 0, duplicate 0, excluded 0, skipped 0)" in out
    assert main(["split", str(tmp_path / "ds"), "--seed", "2"]) == 0
    assert "verified: 0 packs and 0 files" in capsys.readouterr().out
    archive, sha = _zip(tmp_path / "g.zip", _groove_members(tmp_path))
    args = ["corpus", "fetch", "groove", "--from", str(archive), "--dest", str(tmp_path / "data")]
    assert main([*args, "--sha256", sha]) == 0
    assert "ready at" in capsys.readouterr().out
    assert main([*args[:-1], str(tmp_path / "data2")]) == 2  # pinned hash: mismatch → exit 2
    assert "SHA-256" in capsys.readouterr().err
    assert main(["ingest", str(tmp_path / "nope"), "--out", str(tmp_path / "x")]) == 2
    assert main(["corpus", "drum-map"]) == 0
    assert "TD-11" in capsys.readouterr().out
