"""The optional Dask path (``--scheduler ADDRESS``): one way to connect, with clear errors.

Dask is an optional extra (``pip install 'technorhythm[dask]'``); nothing else imports it.
"""

from __future__ import annotations

__all__ = ["dask_client"]


def dask_client(scheduler: str, *, timeout: str = "10s"):
    """A ``distributed.Client`` connected to ``scheduler``.

    Raises ``ValueError`` saying what to do when the extra is not installed or the scheduler
    cannot be reached.
    """
    try:
        from distributed import Client
    except ImportError:
        raise ValueError(
            "--scheduler needs Dask, an optional extra: pip install 'technorhythm[dask]'"
        ) from None
    try:
        return Client(scheduler, timeout=timeout)
    except OSError as exc:
        raise ValueError(f"cannot reach the Dask scheduler at {scheduler!r}: {exc}") from None
