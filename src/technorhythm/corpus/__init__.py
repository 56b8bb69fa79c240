"""Corpus ingestion: drum MIDI folders → canonical, deduplicated, licence-tracked clips.

Public API: :func:`read_midi` (one file → clips), :func:`ingest` (a folder →
dataset folder), :func:`load_dataset`, :func:`split_dataset`,
:func:`fetch_groove`, :class:`IngestConfig`, :class:`MidiRejected`, the drum map
and duplicate detection. The full specification is ``docs/data_pipeline.md``.
"""

from technorhythm.corpus.config import IngestConfig, MidiRejected
from technorhythm.corpus.dataset import SCHEMA_VERSION, Dataset, load_dataset
from technorhythm.corpus.dedupe import DedupeConfig, find_duplicates, onset_hash
from technorhythm.corpus.drum_map import DRUM_MAP, classify_pitches, drum_map_table
from technorhythm.corpus.fetch import fetch_groove
from technorhythm.corpus.ingest import IngestReport, ingest
from technorhythm.corpus.read import read_midi
from technorhythm.corpus.split import SplitResult, split_dataset

__all__ = [
    "DRUM_MAP",
    "SCHEMA_VERSION",
    "Dataset",
    "DedupeConfig",
    "IngestConfig",
    "IngestReport",
    "MidiRejected",
    "SplitResult",
    "classify_pitches",
    "drum_map_table",
    "fetch_groove",
    "find_duplicates",
    "ingest",
    "load_dataset",
    "onset_hash",
    "read_midi",
    "split_dataset",
]
