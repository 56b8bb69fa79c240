"""``technorhythm features`` / ``targets`` / ``eda`` on a tiny dataset ingested in the test."""

import numpy as np
import pandas as pd
import pytest

from technorhythm.cli import main
from technorhythm.clips import HH_CLOSED, HH_OPEN, KICK, N_STEPS, SNARE, ClipBatch
from technorhythm.corpus.dataset import load_dataset
from technorhythm.corpus.ingest import ingest
from technorhythm.midi import write_midi
from technorhythm.summaries import FEATURE_NAMES, clip_features
from technorhythm.summaries.features import load_features
from technorhythm.summaries.targets import TARGET_NAMES, load_targets


def _loops(rng, n_clips, hat_step):
    v = np.zeros((n_clips, 5, N_STEPS), np.uint8)
    v[:, KICK, ::4] = 120
    v[:, SNARE, 4::8] = 100
    ghosts = rng.random((n_clips, N_STEPS)) < 0.3  # make every clip distinct (no dedupe)
    ghosts[:, 4::8] = False
    v[:, SNARE][ghosts] = 30
    v[:, HH_CLOSED, hat_step::2] = rng.integers(40, 90, (n_clips, 32 - hat_step // 2))
    v[:, HH_OPEN, 14::16] = 90
    v[:, HH_CLOSED, 14::16] = 0
    return ClipBatch(v, np.zeros(v.shape, np.float32), np.full(n_clips, 126.0))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("midi")
    for pack, hat_step in (("straight", 0), ("offbeat", 1)):
        (root / pack).mkdir()
        for k in range(3):
            write_midi(_loops(rng, 2, hat_step), root / pack / f"{pack}-loop-{k}.mid")
    out = tmp_path_factory.mktemp("ds") / "ds"
    ingest(root, out, pack_by="folder", default_license="CC0-1.0", progress=False)
    return out


def test_features_command_writes_one_row_per_clip(dataset, tmp_path, capsys):
    out = tmp_path / "features.parquet"
    assert main(["features", str(dataset), "--out", str(out)]) == 0
    frame = load_features(out)
    clips = load_dataset(dataset).clips
    assert len(frame) == len(clips) == 12  # 6 files × 2 clips, none a duplicate
    assert {"clip_id", "pack"} <= set(frame.columns)
    np.testing.assert_allclose(frame[list(FEATURE_NAMES)].to_numpy(), clip_features(clips))
    assert "12 clips" in capsys.readouterr().out


def test_targets_command_per_pack_and_overall(dataset, tmp_path):
    out = tmp_path / "corpus_targets.parquet"
    assert main(["targets", str(dataset), "--out", str(out), "--n-boot", "20"]) == 0
    frame = load_targets(out)
    assert set(frame["set"]) == {"all", "straight", "offbeat"}
    assert len(frame) == 3 * len(TARGET_NAMES)
    t = frame.set_index(["set", "target"])["estimate"]
    assert t["straight", "off16_ratio_hh_closed"] == 0.0
    assert t["offbeat", "off16_ratio_hh_closed"] == 1.0
    assert t["all", "density_kick"] == pytest.approx(0.25)
    assert t["all", "snare_backbeat"] == 1.0


def test_missing_dataset_is_a_clear_error(tmp_path, capsys):
    assert main(["features", str(tmp_path / "nope"), "--out", str(tmp_path / "f.parquet")]) == 2
    assert "not a dataset folder" in capsys.readouterr().err
    assert not (tmp_path / "f.parquet").exists()


def test_targets_bad_column_is_a_clear_error(dataset, tmp_path, capsys):
    code = main(["targets", str(dataset), "--out", str(tmp_path / "t.parquet"), "--by", "mood"])
    assert code == 2
    assert "cannot group by 'mood'" in capsys.readouterr().err


def test_nan_option_keeps_undefined_values_missing(dataset, tmp_path):
    out = tmp_path / "features.parquet"
    assert main(["features", str(dataset), "--out", str(out), "--nan"]) == 0
    frame = load_features(out)
    assert frame["vel_mean_cymbal"].isna().all()  # no cymbal in these loops
    assert isinstance(frame, pd.DataFrame)


@pytest.mark.slow  # matplotlib + scikit-learn NMF: ~10 s on a shared 2-core machine
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # 12 clips only
def test_eda_command_writes_plots_and_known_phase_numbers(dataset, tmp_path, capsys):
    import json

    out = tmp_path / "eda"
    code = main(["eda", str(dataset), "--out", str(out), "--by", "pack", "--dpi", "30"])
    assert code == 0
    for name in (
        "density_histograms.png",
        "kick_hat_phase.png",
        "velocity.png",
        "microtiming.png",
        "pca_components.png",
        "nmf_components.png",
    ):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    info = json.loads((out / "eda.json").read_text())
    xc = info["kick_hat_xcorr"]
    # straight loops: hats on every even step, so every kick (on the beat) has a hat at
    # lags 0 and ±2; off-beat loops: hats on odd steps only (plus the open hat on 14 of 16)
    assert xc["straight"]["0"] == 1.0 and xc["straight"]["1"] == 0.0
    assert xc["offbeat"]["1"] == 1.0 and xc["offbeat"]["0"] == 0.0
    assert xc["offbeat"]["2"] == 0.25  # only the kick on beat 4 has the open hat 2 steps later
    assert xc["all"]["0"] == 0.5
    assert set(info["nmf_relative_error"]) == {"2", "3", "4"}
    assert "PCA explained variance" in capsys.readouterr().out


def test_eda_needs_two_clips():
    from technorhythm.summaries.eda import run_eda

    with pytest.raises(ValueError, match="at least 2 clips"):
        run_eda(ClipBatch.empty(1), by=None)
