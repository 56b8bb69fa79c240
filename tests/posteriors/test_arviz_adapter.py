"""The ArviZ adapter: labelled InferenceData, netCDF round trip, summary and correlation tables."""

from __future__ import annotations

import numpy as np
import pytest

from technorhythm.posteriors.arviz_adapter import (
    PosteriorFileError,
    identification_table,
    load_inference_data,
    posterior_correlations,
    samples_array,
    save_inference_data,
    select_group,
    summary_table,
    to_inference_data,
    uniform_prior_sd,
)
from technorhythm.simulator.knobs import KNOB_NAMES, KNOBS

K = len(KNOB_NAMES)


def _samples(rng: np.random.Generator, n_groups: int = 2, n_draws: int = 4000) -> np.ndarray:
    """Independent normal draws centred mid-range with sd = 5% of each knob's width."""
    mid = np.array([(k.low + k.high) / 2 for k in KNOBS])
    width = np.array([k.high - k.low for k in KNOBS])
    out = mid + 0.05 * width * rng.standard_normal((n_groups, n_draws, K))
    out[1:] += 0.1 * width  # later groups shifted by 10% of the range
    return out


def test_variables_dims_and_attrs(rng):
    s = _samples(rng)
    idata = to_inference_data(
        s, ["pack A", "pack/B"], by="pack", n_clips=[3, 2000], n_conditioned=[3, 1024],
        model_hash="deadbeef",
    )  # fmt: skip
    post = idata.posterior
    assert list(post.data_vars) == list(KNOB_NAMES)
    assert post["swing_16"].dims == ("chain", "draw", "group")
    assert list(post["group"].values) == ["pack A", "pack/B"]
    assert post.attrs["by"] == "pack"
    assert post.attrs["model_hash"] == "deadbeef"
    assert post.attrs["n_per_group"] == '{"pack A": 3, "pack/B": 2000}'
    assert idata.constant_data["n_conditioned"].values.tolist() == [3, 1024]
    assert post["humanize_ms"].attrs["units"].startswith("ms")
    np.testing.assert_array_equal(
        post["intensity"].values[0, :, 1], s[1, :, KNOB_NAMES.index("intensity")]
    )


def test_netcdf_round_trip_is_exact(rng, tmp_path):
    s = _samples(rng, n_draws=50)
    x_obs = rng.standard_normal((2, 3))
    idata = to_inference_data(
        s, ["a", "b"], n_clips=[1, 2], x_obs=x_obs, summary_names=["s0", "s1", "s2"]
    )
    path = save_inference_data(idata, tmp_path / "sub" / "post.nc")
    assert [p.name for p in path.parent.iterdir()] == ["post.nc"]  # no temp file left
    back = load_inference_data(path)
    groups, knobs, arr = samples_array(back)
    assert groups == ["a", "b"] and knobs == list(KNOB_NAMES)
    np.testing.assert_array_equal(arr, s)
    np.testing.assert_array_equal(back.observed_data["x_obs"].values, x_obs)
    assert list(back.observed_data["summary"].values) == ["s0", "s1", "s2"]


def test_summary_matches_known_normal(rng):
    s = _samples(rng)
    table = summary_table(to_inference_data(s, ["a", "b"]), prior_sd=uniform_prior_sd())
    assert list(table.columns) == ["group", "knob", "mean", "sd", "hdi_3%", "hdi_97%", "sd_ratio"]
    assert len(table) == 2 * K
    row = table[(table.group == "b") & (table.knob == "intensity")].iloc[0]
    # N(0.6, 0.05²): 94% HDI = mean ± 1.881 sd
    assert row["mean"] == pytest.approx(0.6, abs=0.005)
    assert row["sd"] == pytest.approx(0.05, rel=0.05)
    assert row["hdi_3%"] == pytest.approx(0.6 - 1.881 * 0.05, abs=0.01)
    assert row["hdi_97%"] == pytest.approx(0.6 + 1.881 * 0.05, abs=0.01)
    # sd / prior sd for a uniform prior: 0.05 w / (w / √12)
    assert row["sd_ratio"] == pytest.approx(0.05 * np.sqrt(12), rel=0.05)


def test_hdi_prob_names_columns(rng):
    table = summary_table(to_inference_data(_samples(rng, n_draws=200), ["a", "b"]), hdi_prob=0.9)
    assert {"hdi_5%", "hdi_95%"} <= set(table.columns)
    with pytest.raises(ValueError, match="hdi_prob"):
        summary_table(to_inference_data(_samples(rng, n_draws=10), ["a", "b"]), hdi_prob=1.5)


def test_correlations_find_the_trade_off(rng):
    s = rng.uniform(0.2, 0.8, (1, 5000, K))
    i, j = KNOB_NAMES.index("intensity"), KNOB_NAMES.index("hat_8ths")
    s[0, :, j] = 1.0 - s[0, :, i] + 0.01 * rng.standard_normal(5000)  # strong negative r
    corr = posterior_correlations(to_inference_data(s, ["all"]))
    assert len(corr) == K * (K - 1) // 2
    top = corr.iloc[0]
    assert (top.knob_a, top.knob_b) == ("intensity", "hat_8ths")
    assert top.r == pytest.approx(-1.0, abs=0.01)
    assert corr.iloc[1:].r.abs().max() < 0.1  # the rest are independent


def test_identification_contraction(rng):
    s = _samples(rng, n_groups=1)
    ident = identification_table(to_inference_data(s, ["all"]))
    assert ident.contraction.between(1 - 12 * 0.05**2 * 1.2, 1 - 12 * 0.05**2 * 0.8).all()
    # a posterior equal to the prior contracts nothing
    flat = np.stack([rng.uniform(k.low, k.high, 20000) for k in KNOBS], axis=-1)[None]
    ident = identification_table(to_inference_data(flat, ["all"]))
    np.testing.assert_allclose(ident.sd_ratio, 1.0, atol=0.03)


def test_select_group(rng):
    idata = to_inference_data(_samples(rng, n_draws=20), ["a", "b"])
    one = select_group(idata, "b")
    assert list(one.posterior["group"].values) == ["b"]
    with pytest.raises(KeyError, match="unknown group 'c'"):
        select_group(idata, "c")


@pytest.mark.parametrize(
    ("shape", "groups", "match"),
    [((2, 10, K - 1), ["a", "b"], "shape"), ((2, 10, K), ["a", "a"], "unique")],
)
def test_bad_input_is_named(shape, groups, match):
    with pytest.raises(ValueError, match=match):
        to_inference_data(np.zeros(shape), groups)


def test_non_finite_samples_rejected():
    s = np.zeros((1, 3, K))
    s[0, 1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        to_inference_data(s, ["a"])


def test_load_rejects_foreign_files(tmp_path):
    import xarray as xr

    foreign = tmp_path / "foreign.nc"
    xr.Dataset({"v": ("x", np.arange(3.0))}).to_netcdf(foreign, engine="h5netcdf")
    with pytest.raises(PosteriorFileError, match="not"):
        load_inference_data(foreign)
    garbage = tmp_path / "garbage.nc"
    garbage.write_bytes(b"definitely not netCDF")
    with pytest.raises(PosteriorFileError, match="not a readable"):
        load_inference_data(garbage)
    with pytest.raises(FileNotFoundError):
        load_inference_data(tmp_path / "missing.nc")
