"""The ArviZ adapter: the population layout, netCDF round trip, summary and population tables."""

from __future__ import annotations

import arviz as az
import netCDF4
import numpy as np
import pytest

from technorhythm.inference.population import hyper_names
from technorhythm.posteriors.arviz_adapter import (
    HDI_CHUNK,
    ZLIB_LEVEL,
    PosteriorFileError,
    hdi_intervals,
    hyper_array,
    load_inference_data,
    loops_array,
    save_inference_data,
    select_group,
    summary_table,
    to_inference_data,
)
from technorhythm.posteriors.tables import (
    hyperprior_sd,
    identification_table,
    loop_table,
    population_table,
    posterior_correlations,
)
from technorhythm.simulator.knobs import KNOB_NAMES, KNOBS

K = len(KNOB_NAMES)
LOW = np.array([k.low for k in KNOBS])
WIDTH = np.array([k.high - k.low for k in KNOBS])


def _hyper(rng: np.random.Generator, n_groups: int = 2, n_draws: int = 4000) -> np.ndarray:
    """Locations ~ Normal(mid-range, (5% of the range)²), spreads ~ 10% ± 1% of the range."""
    loc = LOW + 0.5 * WIDTH + 0.05 * WIDTH * rng.standard_normal((n_groups, n_draws, K))
    loc[1:] += 0.1 * WIDTH  # later groups shifted by 10% of the range
    spread = 0.1 * WIDTH * (1 + 0.1 * rng.standard_normal((n_groups, n_draws, K)))
    return np.concatenate([loc, np.abs(spread)], axis=-1)


def _loops(rng: np.random.Generator, n_draws: int, n_loops: int) -> np.ndarray:
    return LOW + WIDTH * rng.random((n_draws, n_loops, K))


def test_variables_dims_coords_and_attrs(rng):
    h = _hyper(rng, n_draws=30)
    loops = _loops(rng, 30, 5)
    idata = to_inference_data(
        h, ["pack A", "pack/B"], by="pack", n_clips=[3, 2000], n_conditioned=[3, 1024],
        loops=loops, loop_ids=list("abcde"), loop_groups=["pack A"] * 3 + ["pack/B"] * 2,
        model_hash="deadbeef",
    )  # fmt: skip
    post = idata.posterior
    assert set(post.data_vars) == set(hyper_names()) | set(KNOB_NAMES)
    assert post["swing_16_loc"].dims == ("chain", "draw", "group")
    assert post["swing_16"].dims == ("chain", "draw", "loop")
    assert list(post["group"].values) == ["pack A", "pack/B"]
    assert list(post["loop_group"].values) == ["pack A"] * 3 + ["pack/B"] * 2
    assert post.attrs["by"] == "pack" and post.attrs["model"] == "population"
    assert post.attrs["model_hash"] == "deadbeef"
    assert post.attrs["n_per_group"] == '{"pack A": 3, "pack/B": 2000}'
    assert idata.constant_data["n_conditioned"].values.tolist() == [3, 1024]
    assert post["humanize_ms_spread"].attrs["units"].startswith("ms")
    i = KNOB_NAMES.index("hat_accent")
    np.testing.assert_array_equal(post["hat_accent_loc"].values[0, :, 1], h[1, :, i])
    np.testing.assert_allclose(post["hat_accent"].values[0, :, 4], loops[:, 4, i], rtol=1e-6)


def test_netcdf_round_trip_is_exact(rng, tmp_path):
    h = _hyper(rng, n_draws=50)
    x_obs = rng.standard_normal((2, 3))
    loops = _loops(rng, 50, 4)
    idata = to_inference_data(
        h, ["a", "b"], n_clips=[1, 2], x_obs=x_obs, summary_names=["s0", "s1", "s2"],
        loops=loops, loop_ids=["l0", "l1", "l2", "l3"], loop_groups=["a", "b", "b", "b"],
    )  # fmt: skip
    path = save_inference_data(idata, tmp_path / "sub" / "post.nc")
    assert [p.name for p in path.parent.iterdir()] == ["post.nc"]  # no temp file left
    back = load_inference_data(path)
    groups, knobs, arr = hyper_array(back)
    assert groups == ["a", "b"] and knobs == list(KNOB_NAMES)
    np.testing.assert_array_equal(arr, h)
    ids, owners, got = loops_array(back)
    assert ids == ["l0", "l1", "l2", "l3"] and owners == ["a", "b", "b", "b"]
    np.testing.assert_allclose(got, loops, rtol=1e-6)  # stored as float32
    ids_b, _, got_b = loops_array(back, "b")
    assert ids_b == ["l1", "l2", "l3"] and got_b.shape == (50, 3, K)
    np.testing.assert_array_equal(back.observed_data["x_obs"].values, x_obs)
    # every numeric variable compressed at the fastest level (draws barely compress further)
    with netCDF4.Dataset(path) as nc:
        filters = nc["posterior"]["hat_accent"].filters()
        assert filters["zlib"] and filters["complevel"] == ZLIB_LEVEL == 1
        assert nc["observed_data"]["x_obs"].filters()["zlib"]
    # a loaded posterior saves again (its read-back encodings do not get in the way)
    again = load_inference_data(save_inference_data(back, tmp_path / "again.nc"))
    np.testing.assert_array_equal(hyper_array(again)[2], h)


def test_summary_matches_known_normal(rng):
    h = _hyper(rng)
    table = summary_table(to_inference_data(h, ["a", "b"]), prior_sd=hyperprior_sd())
    assert list(table.columns) == [
        "group", "knob", "param", "mean", "sd", "hdi_3%", "hdi_97%", "sd_ratio"
    ]  # fmt: skip
    assert len(table) == 2 * 2 * K
    row = table[(table.group == "b") & (table.knob == "hat_accent") & (table.param == "loc")]
    row = row.iloc[0]
    # N(0.6, 0.05²): 94% HDI = mean ± 1.881 sd
    assert row["mean"] == pytest.approx(0.6, abs=0.005)
    assert row["sd"] == pytest.approx(0.05, rel=0.05)
    assert row["hdi_3%"] == pytest.approx(0.6 - 1.881 * 0.05, abs=0.01)
    assert row["hdi_97%"] == pytest.approx(0.6 + 1.881 * 0.05, abs=0.01)
    # sd / hyperprior sd: the location's box is twice the knob range wide
    assert row["sd_ratio"] == pytest.approx(0.05 * np.sqrt(12) / 2.0, rel=0.05)


def test_population_table_knows_the_censored_normal(rng):
    # 20 000 draws: the 5 % / 95 % quantiles of new loops within 0.002 (one sd), not 0.005
    h = _hyper(rng, n_groups=1, n_draws=20000)
    k = KNOB_NAMES.index("ride")
    h[0, :, k] = -0.3  # every loop without ride
    h[0, :, K + k] = 0.05
    table = population_table(to_inference_data(h, ["p"]))
    ride = table[table.knob == "ride"].iloc[0]
    assert ride["mean"] == pytest.approx(0.0, abs=1e-6)
    assert ride["share_at_low"] == pytest.approx(1.0, abs=1e-6)
    assert ride["loops_5%"] == ride["loops_95%"] == 0.0
    inten = table[table.knob == "hat_accent"].iloc[0]
    # loc 0.5 ± 0.05, spread 0.1: a new loop is Normal(0.5, 0.1² + 0.05²) (clipping negligible)
    sd = np.hypot(0.1, 0.05)
    assert inten["loops_5%"] == pytest.approx(0.5 - 1.645 * sd, abs=0.01)
    assert inten["loops_95%"] == pytest.approx(0.5 + 1.645 * sd, abs=0.01)


def test_loop_table_rows_per_loop_and_knob(rng):
    h = _hyper(rng, n_groups=1, n_draws=200)
    loops = _loops(rng, 200, 3)
    idata = to_inference_data(
        h, ["p"], loops=loops, loop_ids=["x", "y", "z"], loop_groups=["p"] * 3
    )
    table = loop_table(idata)
    assert len(table) == 3 * K
    row = table[(table.loop == "y") & (table.knob == "hat_accent")].iloc[0]
    i = KNOB_NAMES.index("hat_accent")
    assert row["mean"] == pytest.approx(loops[:, 1, i].mean(), rel=1e-5)
    assert loop_table(to_inference_data(h, ["p"])).empty


@pytest.mark.parametrize("prob", [0.5, 0.9, 0.94])
def test_hdi_intervals_are_arviz_hdi_of_every_column(rng, prob):
    # float32 draws as fits store them; rounded columns make ties, a NaN column goes to ArviZ
    draws = rng.standard_normal((400, HDI_CHUNK + 37, 2)).astype(np.float32)
    draws[:, :50] = np.round(draws[:, :50] * 2) / 2
    draws[:, 60:90] = rng.lognormal(size=(400, 30, 2))
    draws[5, 100, 1] = np.nan
    got = hdi_intervals(draws, prob)
    assert got.shape == (HDI_CHUNK + 37, 2, 2)
    flat = draws.reshape(400, -1)
    expected = np.stack(
        [az.hdi(flat[:, j].astype(np.float64), hdi_prob=prob) for j in range(flat.shape[1])]
    )
    np.testing.assert_array_equal(got.reshape(-1, 2), expected)
    assert np.isfinite(got[:50]).all() and (got[:50, :, 1] >= got[:50, :, 0]).all()
    np.testing.assert_array_equal(hdi_intervals(draws[:, 3, 0], prob), expected[6])


@pytest.mark.parametrize("prob, match", [(1.5, "interval"), (0.0, "interval"), (1.0, "Too few")])
def test_hdi_intervals_refuse_what_arviz_refuses(prob, match):
    with pytest.raises(ValueError, match=match):
        hdi_intervals(np.arange(10.0).reshape(5, 2), prob)


def test_hdi_prob_names_columns(rng):
    table = summary_table(to_inference_data(_hyper(rng, n_draws=200), ["a", "b"]), hdi_prob=0.9)
    assert {"hdi_5%", "hdi_95%"} <= set(table.columns)
    with pytest.raises(ValueError, match="hdi_prob"):
        summary_table(to_inference_data(_hyper(rng, n_draws=10), ["a", "b"]), hdi_prob=1.5)


def test_correlations_find_the_trade_off(rng):
    h = _hyper(rng, n_groups=1, n_draws=5000)
    i, j = KNOB_NAMES.index("hat_accent"), KNOB_NAMES.index("hat_offbeats")
    h[0, :, j] = 1.0 - h[0, :, i] + 0.001 * rng.standard_normal(5000)  # strong negative r
    corr = posterior_correlations(to_inference_data(h, ["all"]))
    assert len(corr) == K * (K - 1) // 2
    top = corr.iloc[0]
    assert (top.knob_a, top.knob_b) == ("hat_accent", "hat_offbeats")
    assert top.r == pytest.approx(-1.0, abs=0.01)
    assert corr.iloc[1:].r.abs().max() < 0.1  # the rest are independent


def test_identification_contraction(rng):
    box_sd = hyperprior_sd()
    h = _hyper(rng, n_groups=1)
    ident = identification_table(to_inference_data(h, ["all"]))
    locs = ident[ident.param == "loc"]
    expected = 1 - (0.05 * WIDTH / np.array([box_sd[f"{n}_loc"] for n in KNOB_NAMES])) ** 2
    np.testing.assert_allclose(locs.contraction, expected, atol=0.01)


def test_select_group_keeps_its_loops(rng):
    h = _hyper(rng, n_draws=20)
    idata = to_inference_data(
        h, ["a", "b"], loops=_loops(rng, 20, 3), loop_ids=["1", "2", "3"],
        loop_groups=["a", "b", "b"],
    )  # fmt: skip
    one = select_group(idata, "b")
    assert list(one.posterior["group"].values) == ["b"]
    assert list(one.posterior["loop"].values) == ["2", "3"]
    with pytest.raises(KeyError, match="unknown group 'c'"):
        select_group(idata, "c")


@pytest.mark.parametrize(
    ("shape", "groups", "match"),
    [((2, 10, 2 * K - 1), ["a", "b"], "shape"), ((2, 10, 2 * K), ["a", "a"], "unique")],
)
def test_bad_input_is_named(shape, groups, match):
    with pytest.raises(ValueError, match=match):
        to_inference_data(np.zeros(shape), groups)


def test_loops_must_match_and_name_their_groups(rng):
    h = _hyper(rng, n_draws=10)
    with pytest.raises(ValueError, match="matching"):
        to_inference_data(h, ["a", "b"], loops=_loops(rng, 9, 2), loop_ids=["1", "2"],
                          loop_groups=["a", "a"])  # fmt: skip
    with pytest.raises(ValueError, match="not fitted"):
        to_inference_data(h, ["a", "b"], loops=_loops(rng, 10, 2), loop_ids=["1", "2"],
                          loop_groups=["a", "c"])  # fmt: skip


def test_non_finite_samples_rejected():
    h = np.zeros((1, 3, 2 * K))
    h[0, 1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        to_inference_data(h, ["a"])


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
