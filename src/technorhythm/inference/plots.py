"""Plots of training (matplotlib imported lazily; compute modules never import it)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["plot_training_history"]


def plot_training_history(
    history: Mapping[str, Any],
    path: str | Path | None = None,
    *,
    title: str = "NPE training",
):
    """Training and validation loss per epoch (sbi's summary), best epoch marked.

    Epochs after ``anneal_from_epoch`` (the first phase's length, when the history has one)
    ran at the annealing learning rate and are shaded.

    Parameters
    ----------
    history : mapping
        ``training_history_`` of a :class:`~technorhythm.inference.PosteriorEstimator`
        (``training_loss``, ``validation_loss`` per epoch: mean negative log posterior
        density of θ in the network's (logit) space, in nats).
    path : path, optional
        Write a PNG here (atomically).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    from technorhythm.figures import save_figure

    train = list(history.get("training_loss", []))
    valid = list(history.get("validation_loss", []))
    if not train or not valid:
        raise ValueError("the training history has no losses to plot")
    fig = Figure(figsize=(6.0, 3.6), layout="constrained")
    ax = fig.add_subplot()
    epochs = range(1, len(train) + 1)
    ax.plot(epochs, train, label="training", color="#1f77b4")
    ax.plot(range(1, len(valid) + 1), valid, label="validation", color="#d62728")
    best = min(range(len(valid)), key=valid.__getitem__)
    ax.axvline(best + 1, color="0.5", lw=0.8, ls="--", label=f"best epoch ({best + 1})")
    first_phase = history.get("anneal_from_epoch")
    if first_phase is not None and first_phase < len(valid):
        ax.axvspan(
            first_phase + 0.5,
            len(valid) + 0.5,
            color="0.92",
            zorder=0,
            label=f"annealed (epochs {first_phase + 1}–{len(valid)})",
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (−log q(θ | x), nats)")
    ax.set_title(title)
    ax.legend(frameon=False)
    if path is not None:
        save_figure(fig, path, dpi=120)
    return fig
