"""Neural posterior estimation (sbi) of the simulator knobs: the population model.

* :class:`Population` — a pack as a population of loops: per knob a censored normal with
  a location and a spread (ψ), mass on the bounds included.
* :class:`PopulationEstimator` — amortised p(ψ | pack) and p(θ_i | loop, pack);
  :func:`simulate_population_sets` makes its training data, :func:`train_population` trains
  it, :func:`load_shipped` loads the packaged model.
* :mod:`technorhythm.inference.hierarchical` — the per-loop route: one-θ NPE draws of every
  loop combined in a hierarchical PyMC model (measured against the amortised route).

The one-θ pieces below remain: the per-loop estimator of that route is a
:class:`PosteriorEstimator` trained on sets of one clip.

* :func:`prior` — uniform over the knob registry's bounds (knob units).
* :func:`observe` / :func:`observe_sets` — x of a set of clips: summaries + log2(N)/10,
  with an explicit ``n_cap`` for sets larger than the training range.
* :func:`simulate_training_set` — seeded (θ, x) pairs, parallel with joblib or Dask.
* :class:`PosteriorEstimator` — sbi NPE behind a scikit-learn-style interface;
  ``save``/``load`` without pickle; :func:`load_shipped` for the packaged model.
"""

from technorhythm.inference.estimator import ESTIMATORS, NotFittedError, PosteriorEstimator
from technorhythm.inference.observe import (
    N_FEATURE_NAME,
    N_MAX,
    effective_n,
    n_feature,
    observe,
    observe_sets,
)
from technorhythm.inference.packaged import SHIPPED_RETRAIN_COMMAND, load_shipped
from technorhythm.inference.persistence import (
    ModelError,
    ModelIntegrityError,
    ModelVersionError,
)
from technorhythm.inference.prior import knob_bounds, prior, sample_prior
from technorhythm.inference.training_data import (
    TrainingPlan,
    simulate_sets,
    simulate_training_set,
)
from technorhythm.inference.version import current_versions, version_hash

__all__ = [
    "ESTIMATORS",
    "N_FEATURE_NAME",
    "N_MAX",
    "ModelError",
    "ModelIntegrityError",
    "ModelVersionError",
    "NotFittedError",
    "PosteriorEstimator",
    "SHIPPED_RETRAIN_COMMAND",
    "TrainingPlan",
    "current_versions",
    "effective_n",
    "knob_bounds",
    "load_shipped",
    "n_feature",
    "observe",
    "observe_sets",
    "prior",
    "sample_prior",
    "simulate_sets",
    "simulate_training_set",
    "version_hash",
]
