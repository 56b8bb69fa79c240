"""Corpus ingestion: drum MIDI folders → canonical, deduplicated, licence-tracked clips.

Public API: :func:`read_midi` (one file → clips), :class:`IngestConfig`,
:class:`MidiRejected`, the drum map, and duplicate detection.
"""

from technorhythm.corpus.config import IngestConfig, MidiRejected
from technorhythm.corpus.dedupe import DedupeConfig, find_duplicates, onset_hash
from technorhythm.corpus.drum_map import DRUM_MAP, classify_pitches, drum_map_table
from technorhythm.corpus.read import read_midi

__all__ = [
    "DRUM_MAP",
    "DedupeConfig",
    "IngestConfig",
    "MidiRejected",
    "classify_pitches",
    "drum_map_table",
    "find_duplicates",
    "onset_hash",
    "read_midi",
]
