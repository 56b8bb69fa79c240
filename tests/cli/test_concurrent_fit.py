"""Two `technorhythm fit` runs into one folder: one wins, the other is refused; never a mix."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX flock"),
]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from technorhythm.corpus import ingest
    from technorhythm.corpus.demo_corpus import render_demo_corpus

    root = tmp_path_factory.mktemp("demo")
    render_demo_corpus(root / "midi")
    ingest(root / "midi", root / "dataset", progress=False)
    return root / "dataset"


def _fit(dataset, out, seed: int, *extra: str) -> subprocess.Popen:
    argv = [sys.executable, "-m", "technorhythm", "fit", str(dataset), "--out", str(out),
            "--seed", str(seed), "--n-samples", "200", "--no-check", "--no-plot",
            *extra]  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _assert_one_whole_fit(out, seeds) -> int:
    record = json.loads((out / "fit.json").read_text())
    seed = record["options"]["seed"]
    assert seed in seeds
    for rel in [*record["group_files"].values(), *record["files"]]:
        assert (out / rel).is_file(), rel
    groups = sorted(p.name for p in (out / "groups").iterdir())
    assert groups == sorted(p.split("/", 1)[1] for p in record["group_files"].values())
    # the CSV and the Parquet summary come from the same run (different seeds differ)
    csv = pd.read_csv(out / "summary.csv")
    parquet = pd.read_parquet(out / "summary.parquet")
    pd.testing.assert_series_equal(csv["mean"], parquet["mean"], rtol=1e-5)
    return seed


@pytest.mark.parametrize("force", [False, True])
def test_two_concurrent_fits_into_one_folder(dataset, tmp_path, force):
    out = tmp_path / "fit"
    extra = ("--force",) if force else ()
    runs = [_fit(dataset, out, seed, *extra) for seed in (1, 2)]
    results = [(p.wait(timeout=600), p.stdout.read(), p.stderr.read()) for p in runs]
    codes = [code for code, _, _ in results]
    assert 0 in codes
    for code, _, err in results:
        assert "Traceback" not in err
        if code != 0:
            assert code == 2
            # the holder is named when its lock record is already written; a refusal in the
            # instant before says "by another process"
            assert "is being written by" in err or "already holds a fit" in err
    if not force:
        assert sorted(codes) == [0, 2]  # the loser is refused, by the lock or by the fit
    seed = _assert_one_whole_fit(out, (1, 2))
    winners = [s for s, (code, _, _) in zip((1, 2), results, strict=True) if code == 0]
    assert seed in winners
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit"]  # no lock or temp left
