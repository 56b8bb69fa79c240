"""The audition web app: hear the knobs, and loops sampled from a fit, in a browser.

* :func:`create_app` — the FastAPI app (endpoints in :mod:`technorhythm.audition.app`),
  with every asset served from the package: no CDN, no network.
* :func:`serve` / :func:`serving` — uvicorn in the foreground, or in a thread (for tests and
  benchmarks); the server binds to 127.0.0.1 unless told otherwise.
* :func:`parse_loop` — what a request asks for, checked against the knob registry.

FastAPI and uvicorn come with the ``audition`` extra (``pip install 'technorhythm[audition]'``).
"""

from technorhythm.audition.app import create_app, loop_payload
from technorhythm.audition.params import LoopRequest, RequestError, parse_loop
from technorhythm.audition.server import DEFAULT_HOST, DEFAULT_PORT, is_loopback, serve, serving

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "LoopRequest",
    "RequestError",
    "create_app",
    "is_loopback",
    "loop_payload",
    "parse_loop",
    "serve",
    "serving",
]
