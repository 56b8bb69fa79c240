"""Posteriors for packs, splits and corpora: fitting groups, InferenceData and summary tables."""

__all__: list[str] = []
