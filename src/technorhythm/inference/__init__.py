"""Neural posterior estimation (sbi) of the simulator knobs: the population model.

* :class:`Population` — a pack as a population of loops: per knob a censored normal with
  a location and a spread (ψ), mass on the bounds included.
* :class:`PopulationEstimator` — amortised p(ψ | pack) and p(θ_i | loop, pack);
  :func:`simulate_population_sets` makes its training data, :func:`train_population` trains
  it, :func:`load_shipped` loads the packaged model. Its pack posterior may be the equal
  mixture of several pack networks (:class:`FlowEnsemble`).
* :mod:`technorhythm.inference.loop_npe` — the one-loop posterior of the per-loop route,
  whose draws :mod:`technorhythm.posteriors.hierarchical_pymc` combines in PyMC (the
  measured alternative to the amortised route).

The one-θ :class:`PosteriorEstimator` (every clip of a set from one θ) remains for sets
that are known to come from one knob setting.

* :func:`prior` — uniform over the knob registry's bounds (knob units).
* :func:`observe` / :func:`observe_sets` — x of a set of clips: summaries + log2(N)/10,
  with an explicit ``n_cap`` for sets larger than the training range.
* :func:`simulate_training_set` — seeded (θ, x) pairs, parallel with joblib or Dask.
* :class:`PosteriorEstimator` — sbi NPE behind a scikit-learn-style interface;
  ``save``/``load`` without pickle; :func:`load_shipped` for the packaged model.
"""

from technorhythm.inference.ensemble import FlowEnsemble
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
from technorhythm.inference.population import Population, hyper_bounds, hyper_names
from technorhythm.inference.population_data import (
    PopulationData,
    PopulationPlan,
    simulate_population_sets,
)
from technorhythm.inference.population_estimator import PopulationEstimator
from technorhythm.inference.population_training import train_population
from technorhythm.inference.prior import knob_bounds, prior, sample_prior
from technorhythm.inference.set_summaries import (
    loop_features,
    observe_population,
    observe_population_sets,
    set_feature_names,
)
from technorhythm.inference.training_data import (
    TrainingPlan,
    simulate_sets,
    simulate_training_set,
)
from technorhythm.inference.version import current_versions, version_hash

__all__ = [
    "FlowEnsemble",
    "Population",
    "PopulationData",
    "PopulationEstimator",
    "PopulationPlan",
    "hyper_bounds",
    "hyper_names",
    "loop_features",
    "observe_population",
    "observe_population_sets",
    "set_feature_names",
    "simulate_population_sets",
    "train_population",
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
