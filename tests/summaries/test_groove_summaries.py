"""Real Groove clips go through the same feature and summary functions (needs the corpus)."""

import numpy as np
import pytest

from technorhythm.clips import ClipBatch
from technorhythm.corpus import MidiRejected, read_midi
from technorhythm.summaries import FEATURE_NAMES, clip_features, features_frame, summarize


@pytest.mark.data
def test_groove_beats_have_finite_features_and_summaries(groove):
    files = sorted(groove.rglob("*beat*4-4.mid"))[:12]
    assert files, "no 4/4 beat files found in the Groove folder"
    batches = []
    for path in files:
        try:
            batches.append(read_midi(path))
        except MidiRejected:
            continue
    batch = ClipBatch.concat(batches)
    assert len(batch) > 0
    frame = features_frame(batch)
    assert frame.shape == (len(batch), len(FEATURE_NAMES)) and len(FEATURE_NAMES) >= 20
    assert np.isfinite(frame.to_numpy()).all()
    x = summarize(batch)
    assert np.isfinite(x).all()
    # played drums: timing is off the grid, densities are plausible
    assert frame["timing_spread_ms"].median() > 1.0
    assert 0 < frame["density_kick"].mean() < 0.6
    np.testing.assert_allclose(clip_features(batch[:1])[0], frame.iloc[0].to_numpy())
