"""technorhythm: the statistical grammar of drum patterns as an interpretable generator.

Data flows one way: :mod:`technorhythm.corpus` turns MIDI folders into
canonical clips (:class:`technorhythm.clips.ClipBatch`);
:mod:`technorhythm.simulator` generates clips of the same type from a handful
of knobs; :mod:`technorhythm.summaries` describes any set of clips;
:mod:`technorhythm.inference` learns posteriors over the knobs from
simulations; :mod:`technorhythm.posteriors` fits packs and corpora;
:mod:`technorhythm.diagnostics` checks calibration and misspecification.
"""

from technorhythm.clips import INSTRUMENTS, N_STEPS, STEPS_PER_BEAT, ClipBatch

__version__ = "0.1.0"

__all__ = ["ClipBatch", "INSTRUMENTS", "N_STEPS", "STEPS_PER_BEAT", "__version__"]
