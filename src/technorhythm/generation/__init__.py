"""Using a fit: loops generated from a fitted group, and listening-test sets.

* :func:`load_pack` / :func:`load_packs` — one fitted group (or all) of a fit folder, with
  the predictive model the posterior predictive checks use for it.
* :func:`draw_theta` — knob settings for new loops: one posterior predictive draw each
  (new loops of the pack's population, or variations of its own loops: ``knobs``), with a
  ``spread`` from the posterior mean setting (0) through the posterior (1) to wider.
* :func:`generate_from_pack` / :func:`write_generated` — loops as MIDI (and WAV) files with
  ``theta.csv`` and ``index.json``; the same seed gives the same bytes. Output folders are
  written whole or not at all, one writer at a time (:mod:`technorhythm.outdir`).
* :func:`build_listening_set` / :func:`write_listening` — a blinded MUSHRA-style test
  (reference, hidden reference, real, generated, ablated, randomized anchor) with an
  offline rating page and a separate key.
"""

from technorhythm.generation.fitted import PackPosterior, load_pack, load_packs, predictive_mean
from technorhythm.generation.listening import (
    CONDITIONS,
    ListeningItem,
    ListeningSet,
    build_listening_set,
    identified_knobs,
    key_table,
)
from technorhythm.generation.loops import (
    FROM_PACK,
    GeneratedLoops,
    check_generated_folder,
    generate_from_pack,
    loop_tempos,
    write_generated,
)
from technorhythm.generation.mushra import check_listening_folder, mushra_page, write_listening
from technorhythm.generation.sampling import (
    KNOB_SOURCES,
    apply_spread,
    check_knobs,
    check_spread,
    draw_theta,
    hold_knobs,
    loop_streams,
)

__all__ = [
    "CONDITIONS",
    "FROM_PACK",
    "KNOB_SOURCES",
    "GeneratedLoops",
    "ListeningItem",
    "ListeningSet",
    "PackPosterior",
    "apply_spread",
    "build_listening_set",
    "check_generated_folder",
    "check_knobs",
    "check_listening_folder",
    "check_spread",
    "draw_theta",
    "generate_from_pack",
    "hold_knobs",
    "identified_knobs",
    "key_table",
    "load_pack",
    "load_packs",
    "loop_streams",
    "loop_tempos",
    "mushra_page",
    "predictive_mean",
    "write_generated",
    "write_listening",
]
