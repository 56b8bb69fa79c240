"""Neural posterior estimation (sbi) of the simulator knobs from set-level summaries."""

from technorhythm.inference.estimator import ESTIMATORS, NotFittedError, PosteriorEstimator
from technorhythm.inference.persistence import (
    ModelError,
    ModelIntegrityError,
    ModelVersionError,
)
from technorhythm.inference.prior import knob_bounds, prior, sample_prior
from technorhythm.inference.version import current_versions, version_hash

__all__ = [
    "ESTIMATORS",
    "ModelError",
    "ModelIntegrityError",
    "ModelVersionError",
    "NotFittedError",
    "PosteriorEstimator",
    "current_versions",
    "knob_bounds",
    "prior",
    "sample_prior",
    "version_hash",
]
