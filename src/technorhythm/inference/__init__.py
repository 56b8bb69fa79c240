"""Neural posterior estimation (sbi) of the simulator knobs from set-level summaries."""

__all__: list[str] = []
