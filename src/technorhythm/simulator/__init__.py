"""The procedural rhythm simulator: interpretable knobs → clips (the corpus's ClipBatch type)."""

from technorhythm.simulator.knobs import (
    KNOB_NAMES,
    KNOBS,
    Knob,
    KnobError,
    default_theta,
    get_knob,
    registry_hash,
    theta_to_array,
    theta_to_dict,
    validate_theta,
)

__all__ = [
    "KNOBS",
    "KNOB_NAMES",
    "Knob",
    "KnobError",
    "default_theta",
    "get_knob",
    "registry_hash",
    "theta_to_array",
    "theta_to_dict",
    "validate_theta",
]
