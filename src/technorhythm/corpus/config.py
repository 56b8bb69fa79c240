"""Options of MIDI reading and ingestion, and the rejection error."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from technorhythm.clips import CanonicalConfig

__all__ = ["IngestConfig", "MidiRejected"]


class MidiRejected(ValueError):
    """A MIDI file that yields no clips or is invalid; ``reason`` says why, for people.

    ``code`` is a short stable identifier of the reason (e.g. ``"smpte-division"``),
    used to count rejections by kind in the manifest.
    """

    def __init__(self, reason: str, code: str = "invalid") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code

    def __reduce__(self):  # keep picklable across worker processes
        return (MidiRejected, (self.reason, self.code))


@dataclass(frozen=True)
class IngestConfig:
    """How MIDI files become clips. Every field is recorded in the dataset options.

    Parameters
    ----------
    min_onsets : int
        A 4-bar window with fewer mapped onsets (after merging and choke) is
        *near-empty*: dropped and counted.
    max_file_bytes : int
        Files larger than this are rejected before parsing (size cap).
    min_ticks_per_beat : int
        Files whose resolution (ticks per quarter note) is below this cannot
        place 16th notes and are rejected. ``0`` is always rejected.
    min_bpm, max_bpm : float
        Any tempo event outside this range (quarter notes per minute) rejects the file.
    drum_channel_fallback : bool
        When a file has no notes on MIDI channel 10, read the notes of the other
        channels as drums if at least ``fallback_kit_fraction`` of them hit a
        pitch of the drum map (kick, snare, hats, cymbals or toms); otherwise reject.
    fallback_kit_fraction : float
        See ``drum_channel_fallback``.
    parse_timeout : float
        Seconds allowed per file in the isolated worker process, for every per-file
        stage (reading, checks, event parsing and clip building): hang protection.
    max_notes : int
        Per-file budget on note-on events; a file with more is rejected
        (``over-budget``) while it is read, before its notes are all held in memory.
    max_clips_per_file : int
        Per-file budget on 4-bar windows that hold enough notes to become clips;
        windows of silence are counted arithmetically and never materialised.
    max_file_memory_mb : float
        Per-file memory budget of the isolated worker, in MiB: clip building checks
        its estimate before allocating (``over-budget``), and the worker process runs
        under an address-space limit of its start-up size plus this budget.
    canonical : CanonicalConfig
        Choke and rotation rules (:func:`technorhythm.clips.canonicalize`).
    """

    min_onsets: int = 8
    max_file_bytes: int = 8 * 1024 * 1024
    min_ticks_per_beat: int = 12
    min_bpm: float = 20.0
    max_bpm: float = 400.0
    drum_channel_fallback: bool = True
    fallback_kit_fraction: float = 0.8
    parse_timeout: float = 20.0
    max_notes: int = 4_000_000
    max_clips_per_file: int = 50_000
    max_file_memory_mb: float = 1024.0
    canonical: CanonicalConfig = field(default_factory=CanonicalConfig)

    def __post_init__(self) -> None:
        if self.min_onsets < 1:
            raise ValueError(f"min_onsets must be >= 1; got {self.min_onsets!r}")
        if self.max_file_bytes < 14:
            raise ValueError(f"max_file_bytes must be >= 14; got {self.max_file_bytes!r}")
        if self.min_ticks_per_beat < 1:
            raise ValueError(f"min_ticks_per_beat must be >= 1; got {self.min_ticks_per_beat!r}")
        if not 0 < self.min_bpm < self.max_bpm:
            raise ValueError(
                f"need 0 < min_bpm < max_bpm; got min_bpm={self.min_bpm}, max_bpm={self.max_bpm}"
            )
        if not 0.0 < self.fallback_kit_fraction <= 1.0:
            raise ValueError(
                f"fallback_kit_fraction must be in (0, 1]; got {self.fallback_kit_fraction!r}"
            )
        if not self.parse_timeout > 0:
            raise ValueError(f"parse_timeout must be > 0 seconds; got {self.parse_timeout!r}")
        for name in ("max_notes", "max_clips_per_file"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1; got {getattr(self, name)!r}")
        if not self.max_file_memory_mb >= 64:
            raise ValueError(
                f"max_file_memory_mb must be >= 64 MiB; got {self.max_file_memory_mb!r}"
            )

    def to_dict(self) -> dict:
        """Plain JSON-able dict of every option."""
        return asdict(self)
