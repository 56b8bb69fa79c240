"""``technorhythm generate``: knob settings → MIDI loops (and WAV previews).

From a preset or a θ file (``--out FILE.mid``), or from a fitted group's posterior
(``--from-fit FIT_DIR --group NAME --out DIR``, :mod:`technorhythm.generation`).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from technorhythm.cli._args import int_at_least

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
            "the files are OUT_000.mid, OUT_001.mid, ... (one loop each).\n\n"
            "With --from-fit FIT_DIR --group NAME --out DIR, every loop gets its own knobs "
            "from the group's posterior (hyperparameters from the posterior, then the loop's "
            "knobs from the pack's population: the model the posterior predictive checks "
            "use); with --knobs loops, the knobs of one of the pack's own loops instead, "
            "drawn from that loop's posterior (variations of the pack's loops). DIR "
            "receives loop_000.mid ... (and .wav with --wav), theta.csv with every "
            "loop's knobs and index.json (fit, group, seed, command, checksums). Loop j "
            "depends only on the seed, the group, --knobs and --spread: the same seed gives "
            "the same bytes, and more loops, other --bars or --bpm keep the loops' knobs "
            "and hits."
        ),
        epilog=knob_help() + f"\n\npresets: {_preset_help()}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = p.add_mutually_exclusive_group()
    source.add_argument("--preset", metavar="NAME", help="start from a shipped preset (default)")
    source.add_argument("--theta", metavar="FILE.json", help="start from a θ JSON file")
    source.add_argument(
        "--from-fit",
        metavar="FIT_DIR",
        help="draw each loop's knobs from a fitted group's posterior (a `technorhythm fit` folder)",
    )
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KNOB=VALUE",
        help="override one knob (repeatable)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--bpm",
        metavar="N|from-pack",
        help="tempo (default 128; with --from-fit default from-pack: each loop takes the "
        "tempo of a clip of the group)",
    )
    p.add_argument("--bars", type=int, default=4, help="loop length in bars (default 4)")
    p.add_argument(
        "--n",
        type=int_at_least(1),
        help="number of loops (default 1; with --from-fit 16)",
    )
    p.add_argument(
        "--rotate",
        type=int,
        default=0,
        metavar="STEPS",
        help="start the file STEPS 16ths into the loop (a rotation)",
    )
    p.add_argument(
        "--out", metavar="FILE.mid|DIR", help="MIDI file to write (with --from-fit: a folder)"
    )
    p.add_argument(
        "--wav",
        nargs="?",
        const=True,
        metavar="FILE.wav",
        help="also write a WAV preview (with --from-fit: no file name, one WAV per loop)",
    )
    p.add_argument(
        "--soundfont",
        metavar="FILE.sf2",
        help="render the WAV with FluidSynth and this SoundFont instead of the built-in synth",
    )
    p.add_argument(
        "--list-presets", action="store_true", help="list the presets with descriptions and exit"
    )
    fit = p.add_argument_group("generating from a fit (--from-fit)")
    fit.add_argument("--group", metavar="NAME", help="the fitted group (pack, style, split, all)")
    fit.add_argument(
        "--spread",
        type=float,
        default=1.0,
        help="0 = every loop at the posterior mean setting, 1 = the posterior (default), "
        ">1 = wider: each loop's knobs move s times as far from the mean (clipped to the "
        "knob range)",
    )
    fit.add_argument(
        "--knobs",
        choices=("population", "loops"),
        default="population",
        help="population (default): each loop's knobs are a new draw from the pack's "
        "population, so loops combine settings freely; loops: each loop takes the knobs of "
        "one of the pack's own loops, drawn from that loop's posterior — variations of the "
        "pack's loops, closer to the pack (needs a fit made without --no-loops)",
    )
    fit.add_argument(
        "--dataset",
        metavar="DATASET_DIR",
        help="the dataset of the fit, for --bpm from-pack (default: the one fit.json names)",
    )
    fit.add_argument("--force", action="store_true", help="replace generated loops in --out")
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
        print(" ".join(str(p) for p in (midi, wav) if p is not None) + f"  ({_hits(loop)} hits)")


def _run(args: argparse.Namespace) -> int:
    if args.list_presets:
        from technorhythm.simulator.preset_io import list_presets, preset_description

        for name in list_presets():
            print(f"{name}: {preset_description(name)}")
        return 0
    if args.seed < 0:
        raise ValueError(f"--seed must be a non-negative integer; got {args.seed}")
    if args.from_fit:
        return _run_from_fit(args)
    for option in ("group", "dataset"):
        if getattr(args, option) is not None:
            raise ValueError(f"--{option} needs --from-fit")
    if args.spread != 1.0:
        raise ValueError("--spread needs --from-fit")
    if args.knobs != "population":
        raise ValueError("--knobs needs --from-fit")
    return _run_preset(args)


def _tempo_option(text: str | None, default: str | float) -> str | float:
    if text is None:
        return default
    if text == "from-pack":
        return text
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"--bpm expects a number or 'from-pack'; got {text!r}") from None


def _run_preset(args: argparse.Namespace) -> int:
    from technorhythm.cli.paths import check_writable
    from technorhythm.simulator.preset_io import load_preset, load_theta_file
    from technorhythm.simulator.render import generate_loops, loop_paths

    if args.wav is True:
        raise ValueError("--wav needs a file name (FILE.wav) unless you generate --from-fit")
    bpm = _tempo_option(args.bpm, 128.0)
    if isinstance(bpm, str):
        raise ValueError("--bpm from-pack needs --from-fit; give a tempo in bpm")
    n = args.n or 1
    if not args.out and not args.wav:
        raise ValueError("nothing to write: give --out FILE.mid and/or --wav FILE.wav")
    if args.out and not args.out.lower().endswith((".mid", ".midi")):
        raise ValueError(f"--out must name a .mid file; got {args.out!r}")
    if args.wav and not args.wav.lower().endswith(".wav"):
        raise ValueError(f"--wav must name a .wav file; got {args.wav!r}")
    midis = loop_paths(args.out, n) if args.out else [None] * n
    wavs = loop_paths(args.wav, n) if args.wav else [None] * n
    for paths, option in ((midis, "--out"), (wavs, "--wav")):
        for path in paths:
            if path is not None:
                check_writable(path, option)
    _check_soundfont(args.soundfont)
    theta = load_theta_file(args.theta) if args.theta else load_preset(args.preset or "default")
    theta.update(parse_sets(args.sets))
    loops = generate_loops(
        theta, seed=args.seed, n_loops=n, bars=args.bars, bpm=bpm, rotate=args.rotate
    )
    source = f"θ file {args.theta}" if args.theta else f"preset {args.preset or 'default'}"
    print(f"{source}, seed {args.seed}, {bpm:g} bpm, {args.bars} bars", file=sys.stderr)
    print("θ: " + ", ".join(f"{k}={v:g}" for k, v in theta.items()), file=sys.stderr)
    _write_all(loops, midis, wavs, args.soundfont)
    return 0


def _check_soundfont(soundfont: str | None) -> None:
    if soundfont and not Path(soundfont).is_file():
        raise ValueError(f"--soundfont {soundfont!r} is not a file")


def _hits(loop) -> int:
    line = loop.clips.onsets.transpose(1, 0, 2).reshape(5, -1)
    return int(line[:, : loop.n_steps].sum())


def from_fit_command(args: argparse.Namespace, n: int, bpm: str | float) -> str:
    """The canonical command line of a ``--from-fit`` run (recorded in ``index.json``)."""
    parts = ["technorhythm", "generate", "--from-fit", str(args.from_fit)]
    if args.group is not None:
        parts += ["--group", args.group]
    parts += ["--n", str(n), "--seed", str(args.seed), "--spread", f"{args.spread:g}"]
    if args.knobs != "population":
        parts += ["--knobs", args.knobs]
    parts += ["--bars", str(args.bars), "--bpm", bpm if isinstance(bpm, str) else f"{bpm:g}"]
    for item in args.sets:
        parts += ["--set", item]
    if args.rotate:
        parts += ["--rotate", str(args.rotate)]
    if args.dataset:
        parts += ["--dataset", str(args.dataset)]
    parts += ["--out", str(args.out)]
    if args.wav:
        parts.append("--wav")
    if args.soundfont:
        parts += ["--soundfont", str(args.soundfont)]
    return shlex.join(parts)


_SOURCE = {"population": "pack's population", "loops": "pack's own loops"}


def _run_from_fit(args: argparse.Namespace) -> int:
    from technorhythm.cli.paths import check_writable
    from technorhythm.generation import (
        check_generated_folder,
        generate_from_pack,
        load_pack,
        write_generated,
    )

    if not args.out:
        raise ValueError("--from-fit writes a folder of loops: give --out DIR")
    if isinstance(args.wav, str):
        raise ValueError(
            "with --from-fit, --wav takes no file name: one WAV per loop goes into --out"
        )
    check_writable(args.out, "--out", folder=True)
    check_generated_folder(args.out, args.force)
    _check_soundfont(args.soundfont)
    n = args.n or 16
    bpm = _tempo_option(args.bpm, "from-pack")
    pack = load_pack(args.from_fit, args.group)
    hold = parse_sets(args.sets)
    gen = generate_from_pack(
        pack,
        n,
        seed=args.seed,
        bars=args.bars,
        bpm=bpm,
        spread=args.spread,
        knobs=args.knobs,
        hold=hold,
        rotate=args.rotate,
        data=args.dataset,
    )
    record = write_generated(
        gen,
        pack,
        args.out,
        wav=bool(args.wav),
        command=from_fit_command(args, n, bpm),
        soundfont=args.soundfont,
        overwrite=args.force,
    )
    table = gen.theta_table()
    knobs = [c for c in table.columns if c not in ("loop", "bpm", "seed")]
    print(
        f"group {pack.group!r} of {args.from_fit} ({pack.n_clips} clips), seed {args.seed}, "
        f"spread {args.spread:g}, knobs from the {_SOURCE[args.knobs]}, {args.bars} bars: "
        f"{len(gen)} loops → {args.out}",
        file=sys.stderr,
    )
    print("knobs over the loops: mean [min–max]", file=sys.stderr)
    for knob in knobs:
        col = table[knob]
        print(f"  {knob:20s} {col.mean():8.3f} [{col.min():.3f}–{col.max():.3f}]", file=sys.stderr)
    for name, loop, bpm_j in zip(gen.names(), gen.loops, gen.bpm, strict=True):
        files = [f"{name}.mid"] + ([f"{name}.wav"] if args.wav else [])
        print(" ".join(files) + f"  ({_hits(loop)} hits, {bpm_j:.1f} bpm)")
    print(f"theta.csv, index.json ({len(record['files'])} files) → {args.out}", file=sys.stderr)
    return 0
