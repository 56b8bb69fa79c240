"""PosteriorEstimator on the toy model with a closed-form posterior."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from toy_model import (
    TOY_BOUNDS,
    TOY_NAMES,
    toy_exact_posterior,
    toy_training_set,
)

from technorhythm.inference import NotFittedError, PosteriorEstimator

SMALL = dict(
    estimator="nsf",
    hidden_features=32,
    num_transforms=2,
    training_batch_size=128,
    learning_rate=3e-3,
    max_num_epochs=40,
    stop_after_epochs=8,
    bounds=TOY_BOUNDS,
    names=TOY_NAMES,
)


@pytest.fixture(scope="module")
def toy_fitted() -> PosteriorEstimator:
    """A deliberately small, quickly trained model (accuracy is the C2ST test's job)."""
    theta, x = toy_training_set(1200, seed=1)
    return PosteriorEstimator(**SMALL, seed=3).fit(theta, x, data_reference={"toy": True})


def test_init_only_stores():
    est = PosteriorEstimator(estimator="bogus", hidden_features=-3)
    assert est.estimator == "bogus" and est.hidden_features == -3
    assert not hasattr(est, "density_estimator_")


def test_bad_config_is_named():
    theta, x = toy_training_set(10, seed=0)
    with pytest.raises(ValueError, match="estimator must be one of nsf, maf; got 'bogus'"):
        PosteriorEstimator(estimator="bogus", bounds=TOY_BOUNDS).append_simulations(theta, x)
    with pytest.raises(ValueError, match="hidden_features must be a positive integer"):
        PosteriorEstimator(hidden_features=0, bounds=TOY_BOUNDS).append_simulations(theta, x)


def test_bad_data_is_named():
    est = PosteriorEstimator(bounds=TOY_BOUNDS, names=TOY_NAMES)
    theta, x = toy_training_set(10, seed=0)
    with pytest.raises(ValueError, match=r"theta must have shape \(M, 2\)"):
        est.append_simulations(theta[:, :1], x)
    bad = theta.copy()
    bad[3, 1] = 7.5
    with pytest.raises(
        ValueError, match=r"theta\[3\] has mu_b=7.5 outside the prior \[-6.0, 6.0\]"
    ):
        est.append_simulations(bad, x)
    xbad = x.copy()
    xbad[4, 0] = np.nan
    with pytest.raises(ValueError, match="first bad row 4"):
        est.append_simulations(theta, xbad)


def test_use_before_training_is_explained():
    with pytest.raises(NotFittedError, match="not trained"):
        PosteriorEstimator(bounds=TOY_BOUNDS).sample(np.zeros(3), 5, seed=0)
    with pytest.raises(NotFittedError, match="append_simulations"):
        PosteriorEstimator(bounds=TOY_BOUNDS).train()


def test_posterior_tracks_closed_form(toy_fitted):
    # ȳ = (1, -2) from N = 1 draw: exact posterior Normal(ȳ, I), sd 1.
    x_one = np.array([1.0, -2.0, 0.0])
    one = toy_fitted.sample(x_one, 4000, seed=11)
    assert one.shape == (4000, 2)
    np.testing.assert_allclose(one.mean(axis=0), [1.0, -2.0], atol=0.4)
    np.testing.assert_allclose(one.std(axis=0), [1.0, 1.0], rtol=0.4)
    # The same ȳ from N = 16 draws: sd 1/4 exactly; this tiny model must at least narrow it.
    sixteen = toy_fitted.sample(np.array([1.0, -2.0, np.log2(16) / 10]), 4000, seed=11)
    assert one.std(axis=0).mean() / sixteen.std(axis=0).mean() > 1.8
    # Moving ȳ moves the posterior with it.
    moved = toy_fitted.sample(np.array([-3.0, 3.0, 0.0]), 4000, seed=11)
    np.testing.assert_allclose(moved.mean(axis=0), [-3.0, 3.0], atol=0.5)


def test_samples_within_bounds_and_seeded(toy_fitted):
    x_edge = np.array([5.9, -5.9, 0.0])  # posterior mass piles up against the box
    a = toy_fitted.sample(x_edge, 2000, seed=5)
    b = toy_fitted.sample(x_edge, 2000, seed=5)
    c = toy_fitted.sample(x_edge, 2000, seed=6)
    assert np.all(a >= TOY_BOUNDS[:, 0]) and np.all(a <= TOY_BOUNDS[:, 1])
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_global_torch_rng_untouched(toy_fitted):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    toy_fitted.sample(np.array([0.0, 0.0, 0.2]), 10, seed=1)
    np.testing.assert_array_equal(torch.rand(3).numpy(), expected.numpy())


def test_training_prints_nothing(capsys):
    theta, x = toy_training_set(200, seed=2)
    config = dict(SMALL, max_num_epochs=60, stop_after_epochs=1, learning_rate=0.05)
    est = PosteriorEstimator(**config, seed=0)
    est.fit(theta, x)
    assert est.training_history_["converged"]  # the case where sbi prints a note
    assert capsys.readouterr().out == ""


def test_training_is_deterministic_for_a_seed():
    theta, x = toy_training_set(300, seed=2)
    cfg = dict(SMALL, max_num_epochs=3)
    a = PosteriorEstimator(**cfg, seed=9).fit(theta, x)
    b = PosteriorEstimator(**cfg, seed=9).fit(theta, x)
    assert a.training_history_["training_loss"] == b.training_history_["training_loss"]
    x_obs = np.array([0.0, 1.0, 0.3])
    np.testing.assert_array_equal(a.sample(x_obs, 50, seed=0), b.sample(x_obs, 50, seed=0))


def test_training_history_records_sbi_losses(toy_fitted):
    h = toy_fitted.training_history_
    assert h["epochs_trained"] >= 1
    assert h["converged"] is (h["epochs_trained"] <= SMALL["max_num_epochs"])
    assert len(h["validation_loss"]) == len(h["training_loss"]) >= 2
    # Losses are negative log densities: training should reduce them.
    assert h["validation_loss"][-1] < h["validation_loss"][0]
    assert h["best_validation_loss"] == pytest.approx(min(h["validation_loss"]), abs=1e-6)


def test_log_prob_matches_closed_form(toy_fitted):
    x_obs = np.array([1.0, -2.0, 0.0])  # N = 1: exact posterior Normal((1, -2), I)
    theta = np.array([[1.0, -2.0], [1.0, -1.0], [-1.5, -2.0], [7.0, 0.0]])
    lp = toy_fitted.log_prob(theta[:3], x_obs)
    assert lp[0] > lp[1] > lp[2]
    # Exact differences from the mode: 0.5·1² and 0.5·2.5² nats.
    assert lp[0] - lp[2] == pytest.approx(0.5 * 2.5**2, abs=1.5)
    assert lp[0] == pytest.approx(np.log(1 / (2 * np.pi)), abs=0.7)
    assert toy_fitted.log_prob(theta[3:], x_obs)[0] == -np.inf


def test_sample_batched_shape(toy_fitted):
    xs = np.array([[1.0, -2.0, 0.0], [-3.0, 3.0, 0.0]])
    s = toy_fitted.sample_batched(xs, 2000, seed=0)
    assert s.shape == (2000, 2, 2)
    np.testing.assert_allclose(s.mean(axis=0), xs[:, :2], atol=0.5)


@pytest.mark.slow
@pytest.mark.parametrize("estimator", ["nsf", "maf"])
def test_c2st_against_exact_posterior(estimator):
    from sbi.utils.metrics import c2st

    theta, x = toy_training_set(6000, seed=4)
    config = dict(SMALL, estimator=estimator, max_num_epochs=200, stop_after_epochs=15)
    est = PosteriorEstimator(**config, seed=0).fit(theta, x)
    rng = np.random.default_rng(0)
    ybar = np.array([1.0, -2.0])
    for n in (1, 8):
        approx = est.sample(np.r_[ybar, np.log2(n) / 10], 1000, seed=1)
        exact = toy_exact_posterior(ybar, n, 1000, rng)
        acc = float(
            c2st(
                torch.as_tensor(approx, dtype=torch.float32),
                torch.as_tensor(exact, dtype=torch.float32),
                seed=0,
            )
        )
        assert acc < 0.6, f"{estimator}, N={n}: C2ST accuracy {acc:.3f}"


def test_constant_x_columns_are_ignored():
    # A column that never varies in training says nothing about θ; a real set may still
    # have another value there (simulator misspecification) without blowing up z-scoring.
    theta, x = toy_training_set(300, seed=2)
    x = np.column_stack([x, np.full(len(x), 0.25)])
    est = PosteriorEstimator(**dict(SMALL, max_num_epochs=2), seed=1)
    with pytest.warns(UserWarning, match="not yet fully converged"):
        est.fit(theta, x)
    np.testing.assert_array_equal(est.x_keep_, [True, True, True, False])
    a = est.sample(np.array([1.0, -2.0, 0.2, 0.25]), 100, seed=0)
    b = est.sample(np.array([1.0, -2.0, 0.2, 0.9]), 100, seed=0)
    np.testing.assert_array_equal(a, b)
    assert np.all(np.isfinite(a))


def test_bad_sample_requests_are_named(toy_fitted):
    with pytest.raises(ValueError, match="number of samples must be a positive integer; got 0"):
        toy_fitted.sample(np.zeros(3), 0, seed=0)
    with pytest.raises(ValueError, match=r"x_obs must have shape \(3,\); got \(2,\)"):
        toy_fitted.sample(np.zeros(2), 5, seed=0)
    with pytest.raises(ValueError, match=r"x_obs must have shape \(B, 3\)"):
        toy_fitted.sample_batched(np.zeros(3), 5, seed=0)
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        toy_fitted.sample(np.zeros(3), 5, seed=-1)
