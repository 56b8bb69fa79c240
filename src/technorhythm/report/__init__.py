"""The diagnostic report of a fit: one self-contained HTML page a person opens in a browser.

* :func:`build_report` — read a fit folder (its checks, its model and the model's
  validation record) and write the page: header, groups ranked by fit quality with a
  forest plot per knob, per group the ArviZ marginals, identifiability, correlations with
  merge candidates and the posterior predictive checks, and the model's calibration.
* :func:`save_validation_record` / :func:`load_validation_record` — the calibration
  figures kept in a model folder (``validation.json``), which the report shows.

One module per section (:mod:`.header`, :mod:`.across`, :mod:`.marginals`,
:mod:`.identifiability`, :mod:`.correlations`, :mod:`.checks`, :mod:`.calibration`);
every ArviZ call goes through :mod:`technorhythm.posteriors.arviz_adapter`, and
:mod:`.plots` is the only module here that imports matplotlib (imported lazily, with the
sections, when a report is built).
"""

from technorhythm.report.validation_record import (
    VALIDATION_FILE,
    ValidationRecord,
    ValidationRecordError,
    ValidationRun,
    load_validation_record,
    save_validation_record,
)

__all__ = [
    "VALIDATION_FILE",
    "ReportResult",
    "ValidationRecord",
    "ValidationRecordError",
    "ValidationRun",
    "build_report",
    "load_validation_record",
    "save_validation_record",
]


def __getattr__(name: str):
    # the builder pulls in matplotlib and ArviZ: load it on first use only
    if name in ("build_report", "ReportResult"):
        from technorhythm.report import build

        return getattr(build, name)
    raise AttributeError(f"module 'technorhythm.report' has no attribute {name!r}")
