"""Listening-test sets: conditions, ablations, equal loudness, blinding, and the rating page."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from technorhythm.clips import N_STEPS
from technorhythm.generation import (
    build_listening_set,
    generate_from_pack,
    identified_knobs,
    write_listening,
)
from technorhythm.simulator.audio import SAMPLE_RATE, loudness_lufs, read_wav
from technorhythm.simulator.knobs import KNOB_NAMES, get_knob

ITEMS = 3
BPM = 124.0


@pytest.fixture(scope="module")
def lset(steady):
    return build_listening_set(steady, items=ITEMS, seed=2, bpm=BPM, max_ablated=2)


@pytest.fixture(scope="module")
def folder(lset, steady, tmp_path_factory):
    out = tmp_path_factory.mktemp("listening")
    record = write_listening(lset, out, fit_dir=steady.fit_dir, command="cmd")
    return out, record


def test_identified_knobs_follow_the_contraction(steady):
    # the oracle pins every location to 2% of its range: every knob is identified
    every = identified_knobs(steady, min_contraction=0.9)
    assert sorted(every["knob"]) == sorted(KNOB_NAMES)
    assert (every["contraction"] > 0.99).all()
    assert every["contraction"].is_monotonic_decreasing
    assert identified_knobs(steady, min_contraction=1.0).empty
    two = identified_knobs(steady, max_knobs=2)
    assert two["knob"].tolist() == every["knob"].tolist()[:2]
    assert two["default"].tolist() == [get_knob(k).default for k in two["knob"]]


def test_every_trial_has_its_conditions(lset, steady):
    frame = pd.DataFrame(
        [(i.trial, i.condition, i.knob, i.source) for i in lset.items],
        columns=["trial", "condition", "knob", "source"],
    )
    per_trial = frame.groupby("trial")["condition"].value_counts().unstack()
    assert per_trial.index.tolist() == [1, 2, 3]
    expected = {"reference": 1, "hidden_reference": 1, "real": 1, "gen": 1, "ablated": 2}
    expected["randomized"] = 1
    assert per_trial.to_dict("list") == {k: [v] * ITEMS for k, v in expected.items()}
    real_ids = frame[frame.condition.isin(["reference", "real"])]["source"]
    assert real_ids.is_unique and set(real_ids) <= set(steady.clip_ids)
    gen = generate_from_pack(steady, ITEMS, seed=2, bpm=BPM)
    by = {(i.trial, i.condition, i.knob): i for i in lset.items}
    for t in range(1, ITEMS + 1):
        np.testing.assert_array_equal(by[t, "gen", ""].theta, gen.theta[t - 1])
        assert by[t, "hidden_reference", ""].source == by[t, "reference", ""].source
        np.testing.assert_array_equal(
            by[t, "hidden_reference", ""].samples, by[t, "reference", ""].samples
        )
        for knob in lset.ablated["knob"]:
            item = by[t, "ablated", knob]
            k = KNOB_NAMES.index(knob)
            assert item.theta[k] == get_knob(knob).default and item.sim_seed == gen.sim_seeds[t - 1]
            others = np.arange(len(KNOB_NAMES)) != k
            np.testing.assert_array_equal(item.theta[others], gen.theta[t - 1][others])


def test_items_have_one_length_and_one_loudness(lset, folder):
    out, _ = folder
    key = pd.read_csv(out / "key.csv")
    lengths, levels = set(), []
    for name in key["file"]:
        samples, rate = read_wav(out / name)
        lengths.add(len(samples))
        levels.append(loudness_lufs(samples[:, 0], sample_rate=rate))
        assert np.abs(samples).max() <= 10 ** (-1 / 20) + 1e-4  # -1 dBFS ceiling
    assert lengths == {round(N_STEPS * 60 / (BPM * 4) * SAMPLE_RATE)}
    np.testing.assert_allclose(levels, lset.target_lufs, atol=0.05)
    assert lset.target_lufs <= -16.0
    # before matching they differed
    assert np.ptp(lset.input_lufs) > 1.0


def test_files_are_blinded_and_the_key_is_separate(lset, folder):
    out, record = folder
    key = pd.read_csv(out / "key.csv", keep_default_na=False)
    assert len(key) == len(lset.items) and key["file"].is_unique
    assert key["file"].str.fullmatch(r"items/[0-9a-f]{8}\.wav").all()
    assert set(key["condition"]) == {
        "reference",
        "hidden_reference",
        "real",
        "gen",
        "ablated",
        "randomized",
    }
    assert key.loc[key.condition == "randomized", "anchor"].all()
    page = (out / "mushra.html").read_text()
    data = json.loads(page.split('id="set-data">')[1].split("</script>")[0])
    assert set(data) == {"title", "set_id", "trials"}
    assert all(set(t) == {"trial", "reference", "items"} for t in data["trials"])
    shown = {f for t in data["trials"] for f in [t["reference"], *t["items"]]}
    assert shown == set(key["file"])
    for condition in ("hidden_reference", "randomized", "ablated"):
        assert condition not in json.dumps(data)
    # the manifest names files only with their checksums
    assert all(len(v) == 64 for v in record["files"].values())
    assert not any(
        name in json.dumps({k: v for k, v in record.items() if k != "files"})
        for name in key["file"]
    )
    assert record["trials"] == ITEMS and record["items_per_trial"] == 6
    assert set(record["files"]) == {*key["file"], "key.csv", "mushra.html"}


def test_a_pack_too_small_is_refused(steady):
    with pytest.raises(ValueError, match="use --items 20 or fewer"):
        build_listening_set(steady, items=21, seed=0)


def test_a_listening_folder_is_written_whole_by_one_writer(
    lset, steady, folder, tmp_path, hold_lock, monkeypatch
):
    from technorhythm.outdir import FolderLockedError

    out, _ = folder
    copy = tmp_path / "listening"
    shutil.copytree(out, copy)
    before = {p.relative_to(copy): p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    with pytest.raises(FileExistsError, match="--force"):
        write_listening(lset, copy, fit_dir=steady.fit_dir)
    import technorhythm.simulator.audio as audio

    def full_disk(samples, path, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(audio, "write_wav", full_disk)
    with pytest.raises(OSError, match="No space"):
        write_listening(lset, copy, fit_dir=steady.fit_dir, overwrite=True)
    after = {p.relative_to(copy): p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["listening"]
    holder = hold_lock(tmp_path / "other")
    with pytest.raises(FolderLockedError, match=f"pid {holder}"):
        write_listening(lset, tmp_path / "other", fit_dir=steady.fit_dir)


@pytest.mark.browser
def test_the_rating_page_plays_rates_and_downloads(folder, open_page, tmp_path):
    out, _ = folder
    key = pd.read_csv(out / "key.csv", keep_default_na=False).set_index("file")
    page, log = open_page((out / "mushra.html").as_uri())
    page.fill("#listener", "ada")
    page.dispatch_event("#listener", "change")
    assert page.inner_text("#trial-label") == f"Trial 1 of {ITEMS}"
    rows = page.locator("#items .item")
    assert rows.count() == 6
    files = [rows.nth(i).get_attribute("data-file") for i in range(6)]
    assert set(key.loc[files, "trial"]) == {1} and "reference" not in set(
        key.loc[files, "condition"]
    )
    rows.nth(0).locator("button").click()
    page.wait_for_function("f => window.mushra.player.currentSrc.endsWith(f)", arg=files[0])
    page.wait_for_function("window.mushra.player.readyState >= 1")  # the WAV loaded
    for i in range(6):
        rows.nth(i).locator("input[type=range]").fill(str(10 * (i + 1)))
    shot = tmp_path / "mushra.png"
    page.screenshot(path=str(shot), full_page=True)
    if os.environ.get("TECHNORHYTHM_SCREENSHOT_DIR"):  # how docs/img/generation is made
        shutil.copy(shot, Path(os.environ["TECHNORHYTHM_SCREENSHOT_DIR"]) / "mushra.png")
    page.click("#next")
    assert page.inner_text("#trial-label") == f"Trial 2 of {ITEMS}"
    assert "6 of 18 items rated" in page.inner_text("#progress")
    with page.expect_download() as download:
        page.click("#download")
    path = tmp_path / "ratings.csv"
    download.value.save_as(path)
    with path.open() as fh:
        ratings = list(csv.DictReader(fh))
    assert len(ratings) == 3 * 6
    first = [r for r in ratings if r["trial"] == "1"]
    assert [int(r["rating"]) for r in first] == [10, 20, 30, 40, 50, 60]
    assert [r["file"] for r in first] == files and first[0]["played"] == "1"
    assert all(r["listener"] == "ada" and r["rating"] == "" for r in ratings if r["trial"] != "1")
    page.reload()  # ratings survive a reload in the browser's storage
    page.fill("#listener", "ada")
    page.dispatch_event("#listener", "change")
    assert "6 of 18 items rated" in page.inner_text("#progress")
    assert log.console_errors == [] and log.page_errors == []
    assert all(url.startswith("file://") or url.startswith("blob:") for url in log.requests)
