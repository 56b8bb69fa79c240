"""Every directory entry is accounted for: links, FIFOs, odd names never abort the batch."""

from __future__ import annotations

import os
import sys

import pandas as pd
import pytest
from corpus_midi import drum_file, four_on_floor

from technorhythm.corpus import ingest, load_dataset
from technorhythm.corpus.scan import display_path, scan_input

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX links and FIFOs")

NON_UTF8 = os.fsdecode(b"caf\xe9-groove.mid")  # Latin-1 é: not valid UTF-8


def build_odd_folder(root):
    """A good file plus one entry of every kind that needs a word."""
    (root / "pack").mkdir(parents=True)
    good = drum_file(root / "pack" / "good.mid", four_on_floor(8))
    drum_file(root / "pack" / "other.mid", [(t, p, v) for t, p, v in four_on_floor(8) if p == 36]
              + [(t + 60, 38, 80) for t in range(0, 32 * 480, 960)])  # fmt: skip
    (root / "pack" / "link.mid").symlink_to(good)
    (root / "pack" / "dangling.mid").symlink_to(root / "gone.mid")
    (root / "pack" / "loop.mid").symlink_to(root / "pack" / "loop.mid")
    (root / "pack" / "to-folder.mid").symlink_to(root / "pack")
    (root / "pack" / "notes-link").symlink_to(good)
    os.mkfifo(root / "pack" / "pipe.mid")
    os.mkfifo(root / "pack" / "pipe-without-suffix")
    (root / "pack" / "folder.mid").mkdir()
    backbeat = [(b * 480, 38, 90) for b in range(1, 16, 2)]
    drum_file(root / "pack" / "folder.mid" / "inside.mid", four_on_floor(4) + backbeat)
    with open(os.path.join(os.fsencode(root / "pack"), os.fsencode(NON_UTF8)), "wb") as fh:
        fh.write((root / "pack" / "other.mid").read_bytes())
    (root / "pack" / "readme.txt").write_text("not an input")


EXPECTED = {
    "pack/good.mid": ("ok", ""),
    "pack/other.mid": ("duplicate", "duplicate"),  # same bytes as the non-UTF-8 file
    "pack/link.mid": ("duplicate", "duplicate"),  # the same file, read through the link
    "pack/dangling.mid": ("rejected", "dangling-link"),
    "pack/loop.mid": ("rejected", "link-loop"),
    "pack/to-folder.mid": ("rejected", "link-to-folder"),
    "pack/notes-link": ("skipped", "not-midi-name"),
    "pack/pipe.mid": ("rejected", "not-a-file"),
    "pack/pipe-without-suffix": ("skipped", "not-a-file"),
    "pack/folder.mid": ("skipped", "folder-named-midi"),
    "pack/folder.mid/inside.mid": ("ok", ""),
    display_path("pack/" + NON_UTF8): ("ok", ""),
}


def test_every_entry_gets_a_row_and_the_batch_completes(tmp_path):
    build_odd_folder(tmp_path / "in")
    report = ingest(tmp_path / "in", tmp_path / "out", default_license="MIT", progress=False)
    ds = load_dataset(tmp_path / "out")
    m = ds.manifest.set_index("path")
    got = {p: (r["status"], r["code"]) for p, r in m.iterrows()}
    # the non-UTF-8 file sorts (by bytes) before other.mid, so other.mid is the duplicate
    assert got == EXPECTED
    for path, (status, _) in EXPECTED.items():
        if status in ("rejected", "skipped"):
            assert len(m.loc[path, "reason"]) > 20, path
    assert "does not exist" in m.loc["pack/dangling.mid", "reason"]
    assert "read through a symbolic link" in m.loc["pack/link.mid", "reason"]
    assert "never opened" in m.loc["pack/pipe.mid", "reason"]
    assert report.status_counts["skipped"] == 3


def test_non_utf8_names_are_stored_losslessly(tmp_path):
    build_odd_folder(tmp_path / "in")
    ingest(tmp_path / "in", tmp_path / "out", default_license="MIT", progress=False)
    ds = load_dataset(tmp_path / "out")
    row = ds.manifest.set_index("path").loc["pack/caf\\xe9-groove.mid"]
    assert row["path_bytes"] == b"pack/caf\xe9-groove.mid"
    assert os.path.isfile(os.path.join(os.fsencode(tmp_path / "in"), row["path_bytes"]))
    assert "pack/caf\\xe9-groove.mid#0" in ds.clips.meta["clip_id"].tolist()
    shown = [display_path(os.fsdecode(b)) for b in ds.manifest["path_bytes"]]
    assert shown == ds.manifest["path"].tolist()


def test_scan_never_follows_links_to_folders(tmp_path):
    root = tmp_path / "in"
    (root / "a").mkdir(parents=True)
    (root / "a" / "up").symlink_to(root)  # a loop through a folder link
    drum_file(root / "a" / "x.mid", four_on_floor(4))
    entries = scan_input(root)
    assert [(e.rel, e.code) for e in entries] == [("a/up", "link-to-folder"), ("a/x.mid", "")]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file_and_folder(tmp_path):
    root = tmp_path / "in"
    (root / "locked").mkdir(parents=True)
    drum_file(root / "locked" / "hidden.mid", four_on_floor(4))
    drum_file(root / "good.mid", four_on_floor(4))
    secret = drum_file(root / "secret.mid", four_on_floor(4))
    secret.chmod(0)
    (root / "locked").chmod(0)
    try:
        ingest(root, tmp_path / "out", progress=False)
    finally:
        (root / "locked").chmod(0o755)
    m = pd.read_parquet(tmp_path / "out" / "manifest.parquet").set_index("path")
    assert m.loc["secret.mid", "code"] == "unreadable"
    assert m.loc["locked", "code"] == "unreadable-folder"
    assert m.loc["good.mid", "status"] == "ok"


def test_unreadable_entries_without_permissions_tricks(tmp_path, monkeypatch):
    """The same cases as above where the test runs as root (who can read anything)."""
    from technorhythm.corpus import IngestConfig, file_job, parse, scan

    root = tmp_path / "in"
    (root / "locked").mkdir(parents=True)
    secret = drum_file(root / "secret.mid", four_on_floor(4))
    real_scandir, real_open = os.scandir, os.open

    def scandir(path):
        if os.fspath(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    def deny(path, *args, **kwargs):
        if os.fspath(path) == str(secret):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(scan.os, "scandir", scandir)
    entries = {e.rel: e for e in scan_input(root)}
    assert entries["locked"].code == "unreadable-folder"
    assert "Permission denied" in entries["locked"].reason
    monkeypatch.setattr(parse.os, "open", deny)
    result = file_job.process_file(str(secret), IngestConfig())
    assert (result.code, result.reason) == (
        "unreadable",
        "cannot read file: Permission denied",
    )
