"""Ensembles of pack networks: mixture draws and densities, parallel training, persistence."""

from __future__ import annotations

import json

import numpy as np
import pytest

from technorhythm.cli import main
from technorhythm.inference import PopulationEstimator
from technorhythm.inference.ensemble import FlowEnsemble, fit_flows
from technorhythm.inference.flows import ConditionalFlow
from technorhythm.inference.persistence import ModelError
from technorhythm.inference.set_summaries import observe_population
from technorhythm.simulator import simulate


def _toy(seed: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
    """t ~ Normal(c + shift, 0.1): two flows trained on different shifts are easy to tell."""
    rng = np.random.default_rng(seed)
    c = rng.uniform(-1, 1, size=(600, 1))
    return c + shift + 0.1 * rng.standard_normal((600, 1)), c


def _flow(seed: int) -> ConditionalFlow:
    return ConditionalFlow(
        model="mdn", hidden_features=16, num_transforms=1, max_num_epochs=150, seed=seed
    )


@pytest.fixture(scope="module")
def two_flows():
    (ta, ca), (tb, cb) = _toy(0, -3.0), _toy(1, 3.0)
    return fit_flows([(_flow(0), ta, ca), (_flow(1), tb, cb)], workers=1)


def test_mixture_draws_come_from_every_member_in_equal_shares(two_flows):
    ens = FlowEnsemble(two_flows)
    draws = ens.sample(np.zeros((1, 1)), 1001, seed=5)
    assert draws.shape == (1001, 1, 1)
    low = int((draws < 0).sum())
    assert low in (500, 501)  # stratified: 501 from the first member, 500 from the second
    # shuffled: a leading subset is a mixture as well
    assert 30 < int((draws[:100] < 0).sum()) < 70
    np.testing.assert_array_equal(draws, ens.sample(np.zeros((1, 1)), 1001, seed=5))
    assert not np.array_equal(draws, ens.sample(np.zeros((1, 1)), 1001, seed=6))


def test_mixture_density_is_the_mean_of_the_members(two_flows):
    ens = FlowEnsemble(two_flows)
    t = np.array([[[-3.0]], [[0.0]], [[3.0]]])
    c = np.zeros((1, 1))
    expected = np.log(
        0.5 * (np.exp(two_flows[0].log_prob(t, c)) + np.exp(two_flows[1].log_prob(t, c)))
    )
    np.testing.assert_allclose(ens.log_prob(t, c), expected, rtol=1e-6)
    # far from one member's mode the mixture is about log(1/2) below the other member alone
    np.testing.assert_allclose(
        ens.log_prob(t[:1], c), two_flows[0].log_prob(t[:1], c) + np.log(0.5), atol=0.01
    )


def test_a_single_member_draws_what_its_flow_draws(two_flows):
    c = np.zeros((2, 1))
    np.testing.assert_array_equal(
        FlowEnsemble(two_flows[:1]).sample(c, 50, seed=3), two_flows[0].sample(c, 50, seed=3)
    )


def test_members_must_agree_and_exist(two_flows):
    with pytest.raises(ValueError, match="at least one"):
        FlowEnsemble([])
    t, c = _toy(2, 0.0)
    wide = _flow(2).fit(np.hstack([t, t]), c)
    with pytest.raises(ValueError, match="disagree"):
        FlowEnsemble([two_flows[0], wide])


def test_training_in_worker_processes_gives_the_same_weights():
    t, c = _toy(3, 0.0)
    serial = fit_flows([(_flow(4), t, c), (_flow(5), t, c)], workers=1)
    parallel = fit_flows([(_flow(4), t, c), (_flow(5), t, c)], workers=2)
    for a, b in zip(serial, parallel, strict=True):
        for (name, x), (_, y) in zip(a.state()[0].items(), b.state()[0].items(), strict=True):
            assert np.array_equal(x.numpy(), y.numpy()), name
    # different seeds, different networks
    assert not np.array_equal(
        serial[0].sample(c[:1], 5, seed=0), serial[1].sample(c[:1], 5, seed=0)
    )


@pytest.mark.slow
def test_train_an_ensemble_saves_loads_and_keeps_the_first_member(tmp_path):
    """``--pack-members 2``: member 0 is the single-network model's pack network."""
    base = ["train", "--budget", "60", "--n-max", "8", "--seed", "3", "--max-epochs", "2"]
    base += ["--hidden-features", "8", "--num-transforms", "1", "--quiet", "--no-plot"]
    base += ["--loop-hidden-features", "8", "--loop-transforms", "1", "--loop-max-epochs", "2"]
    with pytest.warns(UserWarning, match="not yet fully converged"):
        assert main([*base, "--out", str(tmp_path / "one")]) == 0
        assert (
            main([*base, "--pack-members", "2", "--workers", "2", "--out", str(tmp_path / "two")])
            == 0
        )
    assert {p.name for p in (tmp_path / "two").iterdir()} == {
        "pack.pt",
        "pack_1.pt",
        "loop.pt",
        "manifest.json",
    }
    manifest = json.loads((tmp_path / "two" / "manifest.json").read_text())
    assert manifest["config"]["pack_members"] == 2
    assert "--pack-members 2" in manifest["data_reference"]["command"]
    one = PopulationEstimator.load(tmp_path / "one")
    two = PopulationEstimator.load(tmp_path / "two")
    assert len(one.pack_) == 1 and len(two.pack_) == 2
    assert "pack_members=2" in repr(two)
    for net in ("pack", "loop"):  # trained in worker processes, the same weights
        assert _same_weights(one, two, net), net
    x = observe_population(simulate({}, 8, seed=1), n_max=8)
    psi = two.sample_hyper(x, 400, seed=0)
    box = two.hyper_bounds
    assert np.all(psi >= box[:, 0]) and np.all(psi <= box[:, 1])
    lp = two.log_prob_hyper(psi[:5], x)
    assert lp.shape == (5, 1) and np.all(np.isfinite(lp))
    # the second member differs from the first, so the mixture is not the first alone
    assert not np.array_equal(psi, one.sample_hyper(x, 400, seed=0))
    # members put together after training are saved and loaded as they are, all of them
    joined = PopulationEstimator.load(tmp_path / "one")
    joined.pack_ = FlowEnsemble([joined.pack_.members[0], two.pack_.members[1]])
    joined.save(tmp_path / "joined")
    assert len(PopulationEstimator.load(tmp_path / "joined").pack_) == 2
    # a manifest whose member count disagrees with its networks is refused, not half-read
    path = tmp_path / "joined" / "manifest.json"
    edited = json.loads(path.read_text())
    edited["config"]["pack_members"] = 1
    path.write_text(json.dumps(edited))
    with pytest.raises(ModelError, match="lists 2 pack networks"):
        PopulationEstimator.load(tmp_path / "joined")
    # a model folder whose manifest lists a member whose file is gone is refused
    (tmp_path / "two" / "pack_1.pt").unlink()
    with pytest.raises(Exception, match="pack_1"):
        PopulationEstimator.load(tmp_path / "two")


def _same_weights(one, two, net: str) -> bool:
    a = (one.pack_.members[0] if net == "pack" else one.loop_).state()[0]
    b = (two.pack_.members[0] if net == "pack" else two.loop_).state()[0]
    return all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)


def test_training_processes_never_oversubscribe_the_cores():
    from technorhythm.inference.population_estimator import training_processes

    assert training_processes(2, 1, cores=2) == 2
    assert training_processes(2, 2, cores=2) == 1  # two two-thread trainings wait in turn
    assert training_processes(3, None, cores=2) == 2
    assert training_processes(4, 2, cores=8) == 4
    assert training_processes(1, 8, cores=2) == 1
