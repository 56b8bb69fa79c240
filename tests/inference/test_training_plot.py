"""The training-loss figure: losses, the best epoch and the annealing epochs."""

from __future__ import annotations

import pytest

from technorhythm.inference.plots import plot_training_history

HISTORY = {"training_loss": [5.0, 4.0, 3.5, 3.0, 2.9], "validation_loss": [5.5, 4.5, 4.0, 3.4, 3.6]}


def legend_labels(fig):
    return [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def test_the_best_epoch_is_marked_and_nothing_shaded_without_annealing(tmp_path):
    fig = plot_training_history({**HISTORY, "anneal_from_epoch": None}, tmp_path / "loss.png")
    assert legend_labels(fig) == ["training", "validation", "best epoch (4)"]
    assert (tmp_path / "loss.png").stat().st_size > 0


def test_annealing_epochs_are_shaded_from_the_end_of_the_first_phase():
    fig = plot_training_history({**HISTORY, "anneal_from_epoch": 3})
    assert legend_labels(fig)[-1] == "annealed (epochs 4–5)"
    (span,) = [p for p in fig.axes[0].patches if p.get_label().startswith("annealed")]
    assert span.get_x() == pytest.approx(3.5)
    assert span.get_x() + span.get_width() == pytest.approx(5.5)


def test_a_history_without_losses_is_refused():
    with pytest.raises(ValueError, match="no losses"):
        plot_training_history({"training_loss": [], "validation_loss": []})
