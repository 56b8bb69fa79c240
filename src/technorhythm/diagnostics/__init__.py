"""Diagnostics of posteriors: recovery, calibration (SBC, TARP) and misspecification.

Split three ways: ``run_*`` returns arrays, ``check_*`` reduces to figures or pass/fail,
``plot_*`` draws (only plotting modules import matplotlib).
"""

__all__: list[str] = []
