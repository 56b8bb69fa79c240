"""Shipped knob presets (JSON package data); see :mod:`technorhythm.simulator.preset_io`."""
