"""Diagnostics: calibration on simulated sets, and posterior predictive checks on real ones.

* recovery, SBC and TARP of an estimator on simulated sets;
* posterior predictive checks of a group of real clips against generated ones: C2ST by
  feature family (:mod:`.c2st`), composite D against its real-vs-real floor
  (:mod:`.predictive`), core histograms with bootstrap bands (:mod:`.histograms`), MGEval
  overlap (:mod:`.overlap`) and the calibrated misspecification verdict (:mod:`.verdict`).

Split three ways, as sbi and ArviZ do: ``run_*`` returns arrays, ``check_*`` reduces to
figures or pass/fail, ``plot_*`` (in :mod:`technorhythm.diagnostics.plots`, imported
lazily) and :mod:`technorhythm.diagnostics.plots_checks` draw; they are the only modules
here that import matplotlib.
"""

from technorhythm.diagnostics.c2st import C2STResult, check_c2st, run_c2st
from technorhythm.diagnostics.coverage import (
    check_hpd_coverage,
    check_interval_coverage,
    run_hpd_ranks,
)
from technorhythm.diagnostics.histograms import HistogramCheck, check_histograms, run_histograms
from technorhythm.diagnostics.overlap import run_overlap
from technorhythm.diagnostics.predictive import (
    PredictiveCheck,
    check_predictive,
    run_predictive_check,
)
from technorhythm.diagnostics.recovery import RecoveryResult, check_recovery, run_recovery
from technorhythm.diagnostics.sampling import (
    PosteriorSampler,
    PrecomputedSamples,
    SbiPosteriorView,
    draw_posterior_samples,
)
from technorhythm.diagnostics.sbc import SBCResult, check_sbc, run_sbc
from technorhythm.diagnostics.tarp import TarpResult, check_tarp, run_tarp
from technorhythm.diagnostics.verdict import Verdict, check_verdict, run_verdict

__all__ = [
    "C2STResult",
    "HistogramCheck",
    "PredictiveCheck",
    "Verdict",
    "check_c2st",
    "check_hpd_coverage",
    "check_interval_coverage",
    "run_hpd_ranks",
    "check_histograms",
    "check_predictive",
    "check_verdict",
    "run_c2st",
    "run_histograms",
    "run_overlap",
    "run_predictive_check",
    "run_verdict",
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
