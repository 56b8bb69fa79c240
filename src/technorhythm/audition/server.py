"""Running the audition app with uvicorn: in the foreground (:func:`serve`) or in a thread.

The server binds to the loopback interface (127.0.0.1) unless another host is asked for;
:func:`is_loopback` tells whether a host keeps the page on this machine.
"""

from __future__ import annotations

import contextlib
import ipaddress
import threading
import time
from collections.abc import Iterator

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "is_loopback", "serve", "serving"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _config(app, host: str, port: int, log_level: str):
    import uvicorn

    return uvicorn.Config(app, host=host, port=int(port), log_level=log_level, access_log=False)


def serve(app, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, log_level: str = "info"):
    """Serve ``app`` until interrupted (Ctrl-C)."""
    import uvicorn

    uvicorn.Server(_config(app, host, port, log_level)).run()


@contextlib.contextmanager
def serving(
    app, *, host: str = DEFAULT_HOST, port: int = 0, timeout: float = 30.0
) -> Iterator[str]:
    """Serve ``app`` from a background thread; yields its base URL (``http://host:port``).

    ``port=0`` takes a free port. The server stops when the block ends.
    """
    import uvicorn

    server = uvicorn.Server(_config(app, host, port, "warning"))
    thread = threading.Thread(target=server.run, name="audition-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the audition server did not start on {host}:{port}")
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()
    try:
        yield f"http://{host}:{bound[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout)
