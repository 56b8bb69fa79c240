"""Output folders: one writer at a time, atomic replacement, recovery after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from technorhythm import outdir
from technorhythm.outdir import FolderLockedError, folder_lock, recover_folder, replacing_folder

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX flock")


def ours(path):
    return (path / "done.json").is_file()


def _write(folder, text):
    (folder / "data.txt").write_text(text)
    (folder / "done.json").write_text("{}")


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from technorhythm.outdir import folder_lock
    with folder_lock(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(120)
    """
)


def _hold_lock(path):
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_writer_is_refused_while_the_first_runs_and_not_after_a_kill(tmp_path):
    out = tmp_path / "out"
    holder = _hold_lock(out)
    try:
        msg = rf"being written by pid {holder.pid} on"
        with pytest.raises(FolderLockedError, match=msg), replacing_folder(out, ours):
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with replacing_folder(out, ours) as staging:  # the kernel released the dead lock
        _write(staging, "new")
    assert (out / "data.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no lock file left


def test_lock_is_reentrant_within_a_process(tmp_path):
    out = tmp_path / "out"
    with folder_lock(out), replacing_folder(out, ours) as staging:
        _write(staging, "a")
    assert (out / "data.txt").read_text() == "a"


def test_replacement_is_whole_and_failure_keeps_the_old_folder(tmp_path):
    out = tmp_path / "out"
    with replacing_folder(out, ours) as staging:
        _write(staging, "old")
    with pytest.raises(RuntimeError), replacing_folder(out, ours) as staging:
        (staging / "data.txt").write_text("half")
        raise RuntimeError("disk full")
    assert (out / "data.txt").read_text() == "old"
    with replacing_folder(out, ours) as staging:
        _write(staging, "new")
    assert sorted(p.name for p in out.iterdir()) == ["data.txt", "done.json"]
    assert (out / "data.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_refuses_to_replace_a_folder_that_is_not_ours(tmp_path):
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.tex").write_text("...")
    refused = pytest.raises(FileExistsError, match="not empty and holds no dataset")
    with refused, replacing_folder(out, ours, what="dataset"):
        pass
    assert (out / "chapter1.tex").exists()
    (tmp_path / "file").write_text("x")
    with (
        pytest.raises(FileExistsError, match="is not a folder"),
        replacing_folder(tmp_path / "file", ours),
    ):
        pass


def test_temporary_folders_of_killed_runs_are_cleaned(tmp_path):
    out = tmp_path / "out"
    for name in (".out.tmp-abc123", ".out.old-def456"):
        (tmp_path / name / "sub").mkdir(parents=True)
    (tmp_path / ".other.tmp-1").mkdir()  # another output's: left alone
    with replacing_folder(out, ours) as staging:
        _write(staging, "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.tmp-1", "out"]


def test_swap_without_exchange_rolls_back_an_interrupted_swap(tmp_path, monkeypatch):
    """Two-rename fallback: an exception between the renames puts the old folder back."""
    out = tmp_path / "out"
    with replacing_folder(out, ours) as staging:
        _write(staging, "old")
    monkeypatch.setattr(outdir, "_exchange", lambda a, b: False)
    real_rename = os.rename
    calls = []

    def rename_then_interrupt(src, dst):
        calls.append(dst)
        real_rename(src, dst)
        if len(calls) == 1:  # Ctrl-C between the two renames
            raise KeyboardInterrupt

    monkeypatch.setattr(outdir.os, "rename", rename_then_interrupt)
    with pytest.raises(KeyboardInterrupt), replacing_folder(out, ours) as staging:
        _write(staging, "new")
    assert (out / "data.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("staged", [True, False])
def test_next_run_completes_a_swap_killed_between_its_renames(tmp_path, staged):
    """The state kill -9 leaves: a journal, the old folder moved away, no folder at out."""
    out = tmp_path / "out"
    old, new = tmp_path / ".out.old-1", tmp_path / ".out.tmp-2"
    old.mkdir()
    _write(old, "old")
    if staged:
        new.mkdir()
        _write(new, "new")
    (tmp_path / ".out.swap").write_text(json.dumps({"new": new.name, "old": old.name}))
    with folder_lock(out):
        recover_folder(out)
    assert (out / "data.txt").read_text() == ("new" if staged else "old")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_exchange_replaces_in_one_step(tmp_path):
    if not sys.platform.startswith("linux"):
        pytest.skip("renameat2 is Linux-only")
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("a")
    (b / "x").write_text("b")
    if not outdir._exchange(a, b):
        pytest.skip("this file system cannot exchange names")
    assert (a / "x").read_text() == "b" and (b / "x").read_text() == "a"


def test_lock_holder_message_names_the_command(tmp_path):
    out = tmp_path / "out"
    holder = _hold_lock(out)
    try:
        time.sleep(0.1)
        info = json.loads((tmp_path / ".out.lock").read_text())
        assert info["pid"] == holder.pid and "-c" in info["command"]
    finally:
        holder.kill()
        holder.wait()


def test_holder_record_written_just_after_the_lock_is_still_named(tmp_path):
    # The holder takes the flock, then writes its record: a refusal in between waits for it.
    lock = tmp_path / ".out.lock"
    lock.write_text("")
    record = {"pid": 4242, "host": "h", "since": "then", "command": "technorhythm fit"}
    timer = threading.Timer(0.1, lambda: lock.write_text(json.dumps(record)))
    timer.start()
    try:
        assert outdir._holder(lock).startswith("pid 4242 on h")
    finally:
        timer.join()
    lock.write_text("")
    assert outdir._holder(lock, wait_s=0.05) == "another process"
