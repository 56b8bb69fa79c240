"""The audition web app: knob sliders, a step grid and looped playback, on FastAPI.

:func:`create_app` builds the app; every asset is served from the package
(``audition/static``), nothing from elsewhere. The endpoints wrap the public API:

``GET /``                     the page
``GET /api/knobs``            the knob registry (range, default, unit, help text) and the
                              ranges of ``seed``, ``bpm`` and ``bars``
``GET /api/presets``          the shipped presets with their knob values
``GET /api/packs``            the groups of the fit given to the server (empty without one)
``GET /api/sample``           ``?pack=NAME&seed=S&index=J[&knobs=loops]``: knobs and pattern
                              seed of loop J of ``technorhythm generate --from-fit FIT --group
                              NAME --seed S [--knobs loops]``
``GET /api/loop``             ``?<knob>=…&seed=…&bpm=…&bars=…``: the loop's step grid
                              (velocity and microtiming per instrument and 16th step) and the
                              URLs of its WAV, MIDI and θ JSON
``GET /api/loop.wav``         the loop rendered by the built-in synth (loops seamlessly)
``GET /api/loop.mid``         the loop as a General MIDI drum file (a download)
``GET /api/theta.json``       the knobs as a preset-format file for ``generate --theta``

Loops come from :func:`technorhythm.simulator.render.generate_loops` and samples from
:func:`technorhythm.generation.draw_theta`. A bad request (unknown knob, a value out of
range, NaN) gets a 4xx answer with the registry's message; the server keeps running.
Simulated loops are cached (a bounded LRU), so a page asking for a loop's grid and then its
WAV simulates it once.
"""

import functools
import shlex
from importlib import resources
from pathlib import Path
from typing import Any

from technorhythm.audition.params import (
    BARS_RANGE,
    BPM_RANGE,
    DEFAULT_BPM,
    SEED_MAX,
    LoopRequest,
    RequestError,
    parse_loop,
)
from technorhythm.clips import INSTRUMENTS

__all__ = ["create_app", "loop_payload"]

CACHE_SIZE = 64
"""Simulated loops kept in memory (a few kB each; their audio is not kept: a 16-bar WAV at
20 bpm is 17 MB)."""


def _fastapi():
    """FastAPI, or an ImportError that says which extra to install."""
    try:
        import fastapi
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError(
            "the audition page needs FastAPI and uvicorn: pip install 'technorhythm[audition]'",
            name=exc.name,
        ) from None
    return fastapi


@functools.lru_cache(maxsize=CACHE_SIZE)
def _loop(request: LoopRequest):
    from technorhythm.simulator.render import generate_loops

    return generate_loops(
        list(request.theta), seed=request.seed, n_loops=1, bars=request.bars, bpm=request.bpm
    )[0]


def _wav(request: LoopRequest) -> bytes:
    from technorhythm.simulator.render import loop_wav_bytes

    return loop_wav_bytes(_loop(request))


def loop_payload(request: LoopRequest) -> dict[str, Any]:
    """The JSON answer of ``/api/loop``: grid, knobs and the URLs of the loop's files."""
    loop = _loop(request)
    steps = loop.n_steps
    velocity = loop.clips.velocity.transpose(1, 0, 2).reshape(len(INSTRUMENTS), -1)[:, :steps]
    offset = loop.clips.offset.transpose(1, 0, 2).reshape(len(INSTRUMENTS), -1)[:, :steps]
    query = request.query()
    return {
        "theta": request.theta_dict(),
        "seed": str(request.seed),
        "bpm": request.bpm,
        "bars": request.bars,
        "steps": steps,
        "instruments": list(INSTRUMENTS),
        "velocity": velocity.astype(int).tolist(),
        "offset": [[round(float(v), 4) for v in row] for row in offset],
        "hits": int((velocity > 0).sum()),
        "key": query,
        "wav": f"/api/loop.wav?{query}",
        "midi": f"/api/loop.mid?{query}",
        "theta_json": f"/api/theta.json?{query}",
    }


def _knobs() -> dict[str, Any]:
    from technorhythm.simulator.knobs import KNOBS

    return {
        "knobs": [
            {
                "name": k.name,
                "label": k.label,
                "low": k.low,
                "high": k.high,
                "default": k.default,
                "unit": k.unit,
                "meaning": k.meaning,
                "effect": k.effect,
            }
            for k in KNOBS
        ],
        "controls": {
            "seed": {"low": 0, "high": str(SEED_MAX), "default": "0"},
            "bpm": {"low": BPM_RANGE[0], "high": BPM_RANGE[1], "default": DEFAULT_BPM},
            "bars": {"low": BARS_RANGE[0], "high": BARS_RANGE[1], "default": 4},
        },
    }


def _presets() -> dict[str, Any]:
    from technorhythm.simulator.preset_io import list_presets, load_preset, preset_description

    return {
        "presets": [
            {"name": n, "description": preset_description(n), "theta": load_preset(n)}
            for n in list_presets()
        ]
    }


def _sample(
    packs: dict, pack: str, seed: str, index: str, fit: str, knobs: str = "population"
) -> dict[str, Any]:
    from technorhythm.audition.params import parse_integer
    from technorhythm.generation import check_knobs, draw_theta, loop_streams
    from technorhythm.simulator.knobs import KNOB_NAMES

    if not packs:
        raise RequestError("the server was started without --fit: there is no pack", 404)
    if pack not in packs:
        raise RequestError(f"no pack {pack!r}; the fit's groups are: {', '.join(packs)}", 404)
    s = parse_integer("seed", seed, 0, SEED_MAX)
    j = parse_integer("index", index, 0, 10**9)
    try:
        check_knobs(knobs)
    except ValueError as err:
        raise RequestError(str(err)) from None
    try:
        theta = draw_theta(packs[pack], 1, seed=s, start=j, knobs=knobs)[0]
    except ValueError as err:  # e.g. a fit without per-loop draws
        raise RequestError(str(err), 409) from None
    extra = [] if knobs == "population" else ["--knobs", knobs]
    return {
        "pack": pack,
        "knobs": knobs,
        "theta": dict(zip(KNOB_NAMES, theta.tolist(), strict=True)),
        "seed": str(loop_streams(s, pack, j)[1]),
        "command": shlex.join(
            ["technorhythm", "generate", "--from-fit", fit, "--group", pack]
            + ["--seed", str(s), "--n", str(j + 1), *extra]
        ),
        "loop": f"loop_{j:03d}",
    }


def create_app(packs: dict | None = None, *, fit_dir: str | Path | None = None):
    """The audition app; ``packs`` (name → :class:`technorhythm.generation.PackPosterior`)
    enables the pack menu and sampling, ``fit_dir`` is shown on the page."""
    fastapi = _fastapi()
    from fastapi.responses import FileResponse, JSONResponse, Response
    from fastapi.staticfiles import StaticFiles

    packs = dict(packs or {})
    static = Path(str(resources.files("technorhythm.audition").joinpath("static")))
    app = fastapi.FastAPI(title="technorhythm audition", docs_url=None, redoc_url=None)

    @app.exception_handler(RequestError)
    async def _bad_request(_request, exc: RequestError):
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(static / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=static), name="static")

    @app.get("/api/knobs")
    def knobs():
        return _knobs()

    @app.get("/api/presets")
    def presets():
        return _presets()

    @app.get("/api/packs")
    def pack_list():
        return {
            "fit": str(fit_dir) if fit_dir is not None else None,
            "packs": [{"name": n, "n_clips": p.n_clips} for n, p in packs.items()],
        }

    @app.get("/api/sample")
    def sample(pack: str = "", seed: str = "0", index: str = "0", knobs: str = "population"):
        return _sample(packs, pack, seed, index, str(fit_dir or "FIT_DIR"), knobs)

    @app.get("/api/loop")
    def loop(request: fastapi.Request):
        return loop_payload(parse_loop(request.query_params.multi_items()))

    @app.get("/api/loop.wav")
    def loop_wav(request: fastapi.Request):
        body = _wav(parse_loop(request.query_params.multi_items()))
        return Response(body, media_type="audio/wav", headers={"Cache-Control": "max-age=3600"})

    @app.get("/api/loop.mid")
    def loop_mid(request: fastapi.Request):
        from technorhythm.simulator.render import loop_midi_bytes

        req = parse_loop(request.query_params.multi_items())
        headers = {"Content-Disposition": f'attachment; filename="loop_{req.seed}.mid"'}
        return Response(loop_midi_bytes(_loop(req)), media_type="audio/midi", headers=headers)

    @app.get("/api/theta.json")
    def theta_json(request: fastapi.Request):
        from technorhythm.simulator.preset_io import theta_document

        req = parse_loop(request.query_params.multi_items())
        text = theta_document(
            req.theta_dict(),
            name=f"audition-{req.seed}",
            description=f"knobs from the audition page (pattern seed {req.seed})",
        )
        headers = {"Content-Disposition": f'attachment; filename="theta_{req.seed}.json"'}
        return Response(text, media_type="application/json", headers=headers)

    return app
