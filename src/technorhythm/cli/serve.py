"""``technorhythm serve``: the audition page on a local web server."""

from __future__ import annotations

import argparse
import sys

from technorhythm.cli._args import int_at_least

__all__ = ["register"]


def _run(args: argparse.Namespace) -> int:
    from technorhythm.audition import create_app, is_loopback, serve

    packs = None
    if args.fit:
        from technorhythm.generation import load_packs

        packs = load_packs(args.fit)
        print(f"fit {args.fit}: packs {', '.join(packs)}", file=sys.stderr)
    try:
        import uvicorn  # noqa: F401  (the server)

        app = create_app(packs, fit_dir=args.fit)
    except ImportError as exc:
        raise ValueError(
            f"{exc.name or 'a web package'} is missing: the audition page needs the audition "
            "extra (pip install 'technorhythm[audition]')"
        ) from None
    if not is_loopback(args.host):
        print(
            f"warning: serving on {args.host}: other machines on the network can reach the "
            "page and make the server render loops",
            file=sys.stderr,
        )
    print(f"audition page: http://{args.host}:{args.port}/  (Ctrl-C stops the server)")
    serve(app, host=args.host, port=args.port)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from technorhythm.audition.server import DEFAULT_HOST, DEFAULT_PORT

    p = sub.add_parser(
        "serve",
        help="audition page: knob sliders, step grid and looped playback in a browser",
        description=(
            "Run a local web app: a slider per knob (range, default, unit and help from the "
            "knob registry), a preset menu, a step grid of the current loop (velocity as "
            "shade, microtiming visible), looped playback that swaps the new loop in at the "
            "bar line, and downloads of the MIDI and of the knobs as JSON. With --fit, a pack "
            "menu and a button that sets the sliders to a draw from the pack's posterior. "
            "Every asset is served locally. Needs the audition extra "
            "(pip install 'technorhythm[audition]')."
        ),
    )
    p.add_argument("--fit", metavar="FIT_DIR", help="a folder from `technorhythm fit`")
    p.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"interface to bind (default {DEFAULT_HOST}: this machine only)",
    )
    p.add_argument(
        "--port", type=int_at_least(1), default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    p.set_defaults(func=_run)
