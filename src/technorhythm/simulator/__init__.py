"""The procedural rhythm simulator: interpretable knobs → clips (the corpus's ClipBatch type).

``simulate(theta, n, seed=...)`` is the vectorised, deterministic core; the knob
registry is in :mod:`~technorhythm.simulator.knobs`, presets in
:mod:`~technorhythm.simulator.preset_io`, MIDI/WAV rendering of generated loops in
:mod:`~technorhythm.simulator.render` and :mod:`~technorhythm.simulator.audio`.
"""

from technorhythm.simulator.engine import OFFSET_LIMIT, SIMULATOR_VERSION, coerce_theta, simulate
from technorhythm.simulator.knobs import (
    KNOB_NAMES,
    KNOBS,
    Knob,
    KnobError,
    default_theta,
    get_knob,
    knob_table,
    registry_hash,
    theta_to_array,
    theta_to_dict,
    validate_theta,
)
from technorhythm.simulator.preset_io import (
    PresetError,
    list_presets,
    load_preset,
    load_theta_file,
    preset_description,
    save_theta_file,
)
from technorhythm.simulator.render import Loop, demo_generate, generate_loops, write_loop

__all__ = [
    "KNOBS",
    "KNOB_NAMES",
    "Knob",
    "KnobError",
    "Loop",
    "OFFSET_LIMIT",
    "PresetError",
    "SIMULATOR_VERSION",
    "coerce_theta",
    "default_theta",
    "demo_generate",
    "generate_loops",
    "get_knob",
    "knob_table",
    "list_presets",
    "load_preset",
    "load_theta_file",
    "preset_description",
    "registry_hash",
    "save_theta_file",
    "simulate",
    "theta_to_array",
    "theta_to_dict",
    "validate_theta",
    "write_loop",
]
