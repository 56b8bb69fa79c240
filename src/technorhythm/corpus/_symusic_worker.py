"""Isolated symusic parser process (also importable for :func:`score_arrays`).

Run as a script (``python _symusic_worker.py``) it imports nothing but the
standard library, numpy and symusic, so it starts fast. Protocol, between our
own processes only: stdin holds a pickled list of file paths; for each path, in
order, stdout receives one frame = 8-byte big-endian length + pickle of
``("ok", arrays)`` or ``("error", message)``, flushed at once. A crash or hang on
file *k* therefore leaves the frames of files ``0..k-1`` readable, and the
parent knows exactly which file killed the parser.
"""

from __future__ import annotations

import pickle
import struct
import sys

import numpy as np


def _notes(tracks) -> dict[str, np.ndarray]:
    times, pitches, vels = [], [], []
    for track in tracks:
        arr = track.notes.numpy()
        times.append(arr["time"].astype(np.int64))
        pitches.append(arr["pitch"].astype(np.int16) & 0x7F)
        vels.append(arr["velocity"].astype(np.int16) & 0x7F)
    if not times:
        return {
            "time": np.zeros(0, np.int64),
            "pitch": np.zeros(0, np.int16),
            "velocity": np.zeros(0, np.int16),
        }
    time = np.concatenate(times)
    order = np.argsort(time, kind="stable")
    return {
        "time": time[order],
        "pitch": np.concatenate(pitches)[order],
        "velocity": np.concatenate(vels)[order],
    }


def score_arrays(data: bytes) -> dict[str, object]:
    """Parse MIDI ``data`` with symusic into plain arrays (times in ticks).

    Keys: ``tpq``, ``end``, ``tempo_time``, ``tempo_qpm``, ``ts_time``, ``ts_num``,
    ``ts_den``, ``drum`` and ``other`` (dicts of ``time``/``pitch``/``velocity``
    for notes on channel 10 and on every other channel).
    """
    import symusic

    score = symusic.Score.from_midi(data)
    tempos = sorted((int(t.time), float(t.qpm)) for t in score.tempos)
    sigs = sorted(
        (int(s.time), int(s.numerator), int(s.denominator)) for s in score.time_signatures
    )
    return {
        "tpq": int(score.tpq),
        "end": int(score.end()),
        "tempo_time": np.array([t for t, _ in tempos], np.int64),
        "tempo_qpm": np.array([q for _, q in tempos], np.float64),
        "ts_time": np.array([s[0] for s in sigs], np.int64),
        "ts_num": np.array([s[1] for s in sigs], np.int64),
        "ts_den": np.array([s[2] for s in sigs], np.int64),
        "drum": _notes([t for t in score.tracks if t.is_drum]),
        "other": _notes([t for t in score.tracks if not t.is_drum]),
    }


def _send(out, obj) -> None:
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(struct.pack(">Q", len(payload)))
    out.write(payload)
    out.flush()


def main() -> None:
    paths = pickle.load(sys.stdin.buffer)
    out = sys.stdout.buffer
    for path in paths:
        try:
            with open(path, "rb") as fh:
                data = fh.read()
            _send(out, ("ok", score_arrays(data)))
        except Exception as exc:  # report any parser error as this file's result
            _send(out, ("error", f"{type(exc).__name__}: {exc}"))


if __name__ == "__main__":
    main()
