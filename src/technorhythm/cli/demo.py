"""``technorhythm demo``: the main job on the built-in demo corpus, as a list of steps.

Each step is a function ``step(ctx: DemoContext) -> None`` registered in
:data:`STEPS` with a title; the command runs them in order, printing a header
per step. Later stages append their own steps (generate loops, fit the shipped
model, ...) by adding functions to :data:`STEPS`; a step reads what earlier
steps left in ``ctx.results`` (e.g. ``ctx.results["dataset"]``, the dataset folder).
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DemoContext", "STEPS", "register", "run_demo"]

_MARKER = ".technorhythm-demo"


@dataclass
class DemoContext:
    """What the steps share: the output folder, a seed and the results so far."""

    out: Path
    seed: int = 0
    results: dict[str, Any] = field(default_factory=dict)

    def say(self, text: str = "") -> None:
        print(text, flush=True)


def step_render_corpus(ctx: DemoContext) -> None:
    """Render the authored demo patterns (corpus/demo/*.txt) to MIDI files, one folder per pack."""
    from technorhythm.corpus.demo_corpus import render_demo_corpus

    midi_dir = ctx.out / "corpus_midi"
    if midi_dir.exists():
        if not (midi_dir / _MARKER).is_file():
            raise FileExistsError(f"{str(midi_dir)!r} exists and was not written by the demo")
        shutil.rmtree(midi_dir)
    files = render_demo_corpus(midi_dir)
    (midi_dir / _MARKER).write_text("rendered by `technorhythm demo`\n")
    packs = sorted({p.parent.name for p in files})
    ctx.results["corpus_midi"] = midi_dir
    ctx.say(f"{len(files)} MIDI files in {len(packs)} packs ({', '.join(packs)}) → {midi_dir}")


def step_ingest(ctx: DemoContext) -> None:
    """Ingest the rendered folder like any corpus and print what was found."""
    from technorhythm.corpus import ingest

    report = ingest(ctx.results["corpus_midi"], ctx.out / "dataset", progress=False)
    ctx.results["dataset"] = ctx.out / "dataset"
    ctx.results["ingest_report"] = report
    ctx.say(report.summary())


def step_split(ctx: DemoContext) -> None:
    """Assign whole packs to train/valid/test and show the sizes per split and per pack."""
    import pandas as pd

    from technorhythm.clips import INSTRUMENTS
    from technorhythm.corpus import load_dataset, split_dataset

    result = split_dataset(ctx.results["dataset"], ratios=(0.5, 0.25, 0.25), seed=ctx.seed)
    ctx.say(result.sizes.to_string(index=False))
    ctx.say(f"zero overlap verified: {result.pack_overlap} packs, {result.file_overlap} files")
    ds = load_dataset(ctx.results["dataset"])
    clips = ds.clips
    onsets = clips.onsets.mean(axis=2)  # (B, 5): share of steps with an onset
    table = pd.DataFrame(onsets, columns=list(INSTRUMENTS))
    table["bpm"] = clips.bpm
    table["pack"] = clips.meta["pack"].to_numpy()
    table["split"] = clips.meta["split"].to_numpy()
    summary = table.groupby(["pack", "split"]).agg(
        clips=("bpm", "size"), bpm_min=("bpm", "min"), bpm_max=("bpm", "max"),
        **{f"{name}_density": (name, "mean") for name in INSTRUMENTS},
    )  # fmt: skip
    ctx.say("\nper pack: clips, tempo range and onset density (share of 16th steps struck)")
    ctx.say(summary.round(2).to_string())
    ctx.results["loaded_dataset"] = ds


def step_generate(ctx: DemoContext) -> None:
    """Generate one 4-bar loop per simulator preset, as MIDI and WAV (built-in synth)."""
    from technorhythm.simulator.render import demo_generate

    files = demo_generate(ctx.out / "generated", seed=ctx.seed)
    ctx.results["generated"] = files
    for midi, wav in zip(files[::2], files[1::2], strict=True):
        ctx.say(f"{midi}  {wav.name}")


def step_fit(ctx: DemoContext) -> None:
    """Fit every pack and the whole demo corpus with the shipped estimator; print the table."""
    from technorhythm.inference.packaged import load_shipped
    from technorhythm.posteriors import fit_groups, format_summary, save_fit

    estimator = load_shipped()
    result = fit_groups(
        ctx.results["dataset"], estimator=estimator, by="pack", add_all=True, seed=ctx.seed
    )
    save_fit(result, ctx.out / "fit", dataset=str(ctx.results["dataset"]), overwrite=True)
    ctx.results["fit"] = result
    ctx.say(format_summary(result))
    ctx.say(f"posteriors (netCDF), summary.csv, forest.png → {ctx.out / 'fit'}")


def step_check(ctx: DemoContext) -> None:
    """Posterior predictive checks of every fitted group: do generated loops measure like it?"""
    from technorhythm.posteriors import check_fit, save_checks
    from technorhythm.posteriors.check_io import format_checks

    result = check_fit(ctx.results["fit"], ctx.results["dataset"])
    save_checks(result, ctx.out / "fit" / "check")
    ctx.results["check"] = result
    ctx.say(format_checks(result.table()))
    ctx.say(
        "C2ST: accuracy of a classifier telling real from generated loops (0.5 = cannot); "
        "D post/floor: distance to the pack over the real-half vs real-half distance; "
        "verdict p < 0.05 = misspecified"
    )
    ctx.say(f"check.csv, check.json, plots per group → {ctx.out / 'fit' / 'check'}")


def step_generate_from_fit(ctx: DemoContext) -> None:
    """Write 4 loops from the whole corpus's posterior (``all``) and say how to audition."""
    import shlex
    import sys

    from technorhythm.generation import generate_from_pack, load_pack, write_generated

    fit_dir, out = ctx.out / "fit", ctx.out / "from_fit"
    pack = load_pack(fit_dir, "all")
    gen = generate_from_pack(pack, 4, seed=ctx.seed)
    command = shlex.join(
        ["technorhythm", "generate", "--from-fit", str(fit_dir), "--group", "all", "--n", "4"]
        + ["--seed", str(ctx.seed), "--out", str(out), "--wav", "--force"]
    )
    write_generated(gen, pack, out, wav=True, command=command, overwrite=True)
    table = gen.theta_table()
    ctx.say(f"4 loops from the posterior of 'all' ({pack.n_clips} clips) → {out}")
    with _wide_tables():
        ctx.say(table.round(3).to_string(index=False))
    ctx.say(f"same loops from the command line: {command}")
    exe = Path(sys.executable).with_name("technorhythm")
    serve = shlex.join([_shown(exe) if exe.is_file() else "technorhythm", "serve"])
    ctx.say(
        f"\naudition the knobs and sample loops from each pack in a browser:\n"
        f"  {serve} --fit {shlex.quote(str(fit_dir))}\n"
        f"  then open http://127.0.0.1:8765/ (Ctrl-C stops the server)"
    )


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _wide_tables():
    import pandas as pd

    return pd.option_context("display.width", 200, "display.max_columns", 40)


def step_report(ctx: DemoContext) -> None:
    """Write the diagnostic report of the fit: one HTML file to open in a browser."""
    from technorhythm.report import build_report

    result = build_report(ctx.out / "fit", ctx.out / "report.html", run_checks=False)
    ctx.results["report"] = result.path
    ctx.say(f"diagnostic report → {result.path} (open it in a browser)")


STEPS: list[tuple[str, Callable[[DemoContext], None]]] = [
    ("render the built-in demo corpus to MIDI", step_render_corpus),
    ("ingest it into a dataset", step_ingest),
    ("split packs into train/valid/test", step_split),
    ("generate loops from the simulator presets (MIDI + WAV)", step_generate),
    ("fit every pack and the whole corpus with the shipped posterior estimator", step_fit),
    ("check the fits: loops generated from each posterior against the pack", step_check),
    ("write the diagnostic report (HTML)", step_report),
    ("generate loops from the whole corpus's posterior; the audition page", step_generate_from_fit),
]
"""Demo steps in order: (title, function). Append to extend the demo."""


def run_demo(out: str | Path, *, seed: int = 0) -> DemoContext:
    """Run every step of :data:`STEPS` into ``out``; returns the shared context."""
    ctx = DemoContext(out=Path(out), seed=seed)
    ctx.out.mkdir(parents=True, exist_ok=True)
    for i, (title, step) in enumerate(STEPS, start=1):
        ctx.say(f"\n== step {i}/{len(STEPS)}: {title}")
        step(ctx)
    ctx.say(f"\ndemo finished; outputs in {ctx.out}")
    return ctx


def _run(args: argparse.Namespace) -> int:
    run_demo(args.out, seed=args.seed)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="run the main job on the built-in demo corpus (no download needed)",
        description=(
            "Render the built-in demo corpus (48 authored techno patterns in 4 packs, MIT) to "
            "MIDI, ingest it, split it by pack and print a summary of what was found."
        ),
    )
    p.add_argument("--out", default="demo_out", help="output folder (default ./demo_out)")
    p.add_argument("--seed", type=int, default=0, help="seed for every random step")
    p.set_defaults(func=_run)
