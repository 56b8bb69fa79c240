"""Section: the posterior marginals of a group, drawn by ArviZ.

One panel per knob: the posterior of the loops' mean value E[θ] with its HDI and
posterior mean (``az.plot_posterior`` through the adapter), on the knob's whole range so
that a narrow posterior looks narrow.
"""

from __future__ import annotations

from technorhythm.posteriors.arviz_adapter import DEFAULT_HDI_PROB
from technorhythm.report import html, plots
from technorhythm.report.inputs import ReportInputs

__all__ = ["render"]


def render(
    inputs: ReportInputs,
    group: str,
    *,
    hdi_prob: float = DEFAULT_HDI_PROB,
    canvas: plots.MarginalsCanvas | None = None,
) -> str:
    """The marginals figure of ``group`` (HTML); ``canvas`` is a figure shared by the groups
    of one report (default: a figure of its own)."""
    if canvas is None:
        png = plots.marginals_png(
            inputs.means, group, inputs.knobs, inputs.bounds, hdi_prob=hdi_prob
        )
    else:
        png = canvas.png(inputs.means, group, hdi_prob=hdi_prob)
    return html.image(
        png,
        f"posterior marginals of {group}",
        f"Posterior of each knob's mean value over the group's loops, with its {hdi_prob:.0%} "
        "HDI (ArviZ); the x axis spans the knob's range.",
    )
