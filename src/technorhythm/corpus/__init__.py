"""Corpus ingestion: drum MIDI folders → canonical, deduplicated, licence-tracked clips."""

__all__: list[str] = []
