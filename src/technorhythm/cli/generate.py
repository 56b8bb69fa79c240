"""``technorhythm generate``: knob settings → MIDI loops (and WAV previews)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["knob_help", "parse_sets", "register"]


def knob_help() -> str:
    """One line per knob from the registry: name, range, default, meaning."""
    from technorhythm.simulator.knobs import KNOBS

    lines = ["knobs (--set NAME=VALUE; range, default, unit):"]
    for k in KNOBS:
        lines.append(f"  {k.name:18s} [{k.low:g}, {k.high:g}] default {k.default:g} ({k.unit})")
        lines.append(f"  {'':18s} {k.meaning}")
    return "\n".join(lines)


def _preset_help() -> str:
    from technorhythm.simulator.preset_io import list_presets

    return ", ".join(list_presets())


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``generate`` subcommand."""
    p = subparsers.add_parser(
        "generate",
        help="generate drum loops from knob settings (MIDI, optional WAV)",
        description=(
            "Simulate drum loops from a preset or a θ file, adjusted with --set, and write "
            "General MIDI drum files (channel 10) and optionally WAV previews. A loop of "
            "--bars bars is made of consecutive 4-bar clips cut to length. With --n N > 1 "
            "the files are OUT_000.mid, OUT_001.mid, ... (one loop each)."
        ),
        epilog=knob_help() + f"\n\npresets: {_preset_help()}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = p.add_mutually_exclusive_group()
    source.add_argument("--preset", metavar="NAME", help="start from a shipped preset (default)")
    source.add_argument("--theta", metavar="FILE.json", help="start from a θ JSON file")
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KNOB=VALUE",
        help="override one knob (repeatable)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--bpm", type=float, default=128.0, help="tempo (default 128)")
    p.add_argument("--bars", type=int, default=4, help="loop length in bars (default 4)")
    p.add_argument("--n", type=int, default=1, help="number of loops (default 1)")
    p.add_argument(
        "--rotate",
        type=int,
        default=0,
        metavar="STEPS",
        help="start the file STEPS 16ths into the loop (a rotation)",
    )
    p.add_argument("--out", metavar="FILE.mid", help="MIDI file to write")
    p.add_argument("--wav", metavar="FILE.wav", help="also write a WAV preview")
    p.add_argument(
        "--soundfont",
        metavar="FILE.sf2",
        help="render the WAV with FluidSynth and this SoundFont instead of the built-in synth",
    )
    p.add_argument(
        "--list-presets", action="store_true", help="list the presets with descriptions and exit"
    )
    p.set_defaults(func=_run)


def parse_sets(items: list[str]) -> dict[str, float]:
    """``["swing_16=0.2", ...]`` → ``{"swing_16": 0.2}``; errors name the knob and value."""
    from technorhythm.simulator.knobs import KnobError, get_knob

    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise KnobError(f"--set expects KNOB=VALUE; got {item!r}")
        knob = get_knob(name)
        try:
            number = float(value)
        except ValueError:
            number = value  # Knob.check reports it with the range
        out[name] = knob.check(number)
    return out


def _write_all(loops, midis, wavs, soundfont) -> None:
    from technorhythm.cli import describe_error
    from technorhythm.simulator.render import write_loop

    written: list[str] = []
    for loop, midi, wav in zip(loops, midis, wavs, strict=True):
        try:
            write_loop(loop, midi, None)
            if midi is not None:
                written.append(str(midi))
            write_loop(loop, None, wav, soundfont=soundfont)
        except (OSError, ValueError, RuntimeError) as exc:
            done = (
                f"; complete files written before the failure: {', '.join(written)}"
                if written
                else "; nothing was written"
            )
            raise ValueError(f"{describe_error(exc)}{done}") from exc
        if wav is not None:
            written.append(str(wav))
        line = loop.clips.onsets.transpose(1, 0, 2).reshape(5, -1)
        onsets = int(line[:, : loop.n_steps].sum())
        print(" ".join(str(p) for p in (midi, wav) if p is not None) + f"  ({onsets} hits)")


def _run(args: argparse.Namespace) -> int:
    from technorhythm.simulator.preset_io import (
        list_presets,
        load_preset,
        load_theta_file,
        preset_description,
    )
    from technorhythm.simulator.render import generate_loops, loop_paths

    if args.list_presets:
        for name in list_presets():
            print(f"{name}: {preset_description(name)}")
        return 0
    if not args.out and not args.wav:
        raise ValueError("nothing to write: give --out FILE.mid and/or --wav FILE.wav")
    if args.out and not args.out.lower().endswith((".mid", ".midi")):
        raise ValueError(f"--out must name a .mid file; got {args.out!r}")
    if args.wav and not args.wav.lower().endswith(".wav"):
        raise ValueError(f"--wav must name a .wav file; got {args.wav!r}")
    if args.seed < 0:
        raise ValueError(f"--seed must be a non-negative integer; got {args.seed}")
    theta = load_theta_file(args.theta) if args.theta else load_preset(args.preset or "default")
    theta.update(parse_sets(args.sets))
    loops = generate_loops(
        theta, seed=args.seed, n_loops=args.n, bars=args.bars, bpm=args.bpm, rotate=args.rotate
    )
    midis = loop_paths(args.out, args.n) if args.out else [None] * args.n
    wavs = loop_paths(args.wav, args.n) if args.wav else [None] * args.n
    from technorhythm.cli.paths import check_writable

    for paths, option in ((midis, "--out"), (wavs, "--wav")):
        for path in paths:
            if path is not None:
                check_writable(path, option)
    if args.soundfont and not Path(args.soundfont).is_file():
        raise ValueError(f"--soundfont {args.soundfont!r} is not a file")
    source = f"θ file {args.theta}" if args.theta else f"preset {args.preset or 'default'}"
    print(f"{source}, seed {args.seed}, {args.bpm:g} bpm, {args.bars} bars", file=sys.stderr)
    print("θ: " + ", ".join(f"{k}={v:g}" for k, v in theta.items()), file=sys.stderr)
    _write_all(loops, midis, wavs, args.soundfont)
    return 0
