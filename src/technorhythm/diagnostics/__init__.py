"""Diagnostics of posteriors: recovery and calibration (SBC, TARP) on simulated sets.

Split three ways, as sbi and ArviZ do: ``run_*`` returns arrays, ``check_*`` reduces to
figures or pass/fail, ``plot_*`` (in :mod:`technorhythm.diagnostics.plots`, imported
lazily; the only module here that imports matplotlib) draws. Misspecification of real
data lives with the fits, in :mod:`technorhythm.posteriors.misspecification`.
"""

from technorhythm.diagnostics.recovery import RecoveryResult, check_recovery, run_recovery
from technorhythm.diagnostics.sampling import (
    PosteriorSampler,
    PrecomputedSamples,
    SbiPosteriorView,
    draw_posterior_samples,
)
from technorhythm.diagnostics.sbc import SBCResult, check_sbc, run_sbc
from technorhythm.diagnostics.tarp import TarpResult, check_tarp, run_tarp

__all__ = [
    "PosteriorSampler",
    "PrecomputedSamples",
    "RecoveryResult",
    "SBCResult",
    "SbiPosteriorView",
    "TarpResult",
    "check_recovery",
    "check_sbc",
    "check_tarp",
    "draw_posterior_samples",
    "run_recovery",
    "run_sbc",
    "run_tarp",
]
