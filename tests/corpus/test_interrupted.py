"""kill -9 during ingest: the previous dataset stays, workers die, the rerun cleans up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from corpus_midi import drum_file, four_on_floor

from technorhythm.corpus import ingest, load_dataset

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc; worker death by PR_SET_PDEATHSIG"
)

_RUN = textwrap.dedent(
    """
    import os, sys, time
    from technorhythm.corpus import IngestConfig, guard, ingest

    script = sys.argv[3]
    guard.worker_command = lambda: [sys.executable, script]
    ingest(sys.argv[1], sys.argv[2], config=IngestConfig(parse_timeout=120), workers=2,
           progress=False)
    """
)
_SLOW_WORKER = textwrap.dedent(
    """
    import os, time
    from technorhythm.corpus import _worker
    from technorhythm.corpus.file_job import process_file

    def slow(path, config):
        with open(os.environ["PID_DIR"] + f"/{os.getpid()}", "w"):
            pass
        time.sleep(120)

    _worker.die_with_parent()
    _worker.serve(slow)
    """
)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")  # a zombie has finished


@pytest.mark.slow
def test_kill_9_keeps_the_dataset_kills_workers_and_the_rerun_cleans_up(tmp_path):
    root = tmp_path / "in"
    root.mkdir()
    for i in range(6):
        drum_file(root / f"f{i}.mid", four_on_floor(4 + i))
    for i in range(6, 130):  # more than one batch of 64 files: both workers get work
        (root / f"f{i}.mid").write_bytes((root / f"f{i % 6}.mid").read_bytes())
    out = tmp_path / "out"
    ingest(root, out, progress=False)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    (tmp_path / "pids").mkdir()
    (tmp_path / "slow.py").write_text(_SLOW_WORKER)
    env = dict(os.environ, PID_DIR=str(tmp_path / "pids"))
    proc = subprocess.Popen(
        [sys.executable, "-c", _RUN, str(root), str(out), str(tmp_path / "slow.py")], env=env
    )
    deadline = time.monotonic() + 120
    while len(list((tmp_path / "pids").iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)  # wait until both workers are busy with a file
    workers = [int(p.name) for p in (tmp_path / "pids").iterdir()]
    assert len(workers) == 2 and all(_alive(pid) for pid in workers)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)  # the workers died with their parent
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # dataset untouched
    assert [p.name for p in tmp_path.glob(".out.tmp-*")]  # the killed run's staging folder
    ingest(root, out, progress=False)  # the rerun removes it and publishes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out", "pids", "slow.py"]
    assert len(load_dataset(out).clips) > 0
