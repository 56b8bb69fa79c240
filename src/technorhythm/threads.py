"""Thread limits for the numeric libraries: the one place that sets them.

torch and the OpenMP/BLAS pools (through threadpoolctl, scikit-learn's own tool) default to
one thread per core. For the many small operations of posterior sampling, MMDs and
gradient boosting on a few hundred clips, one thread is as fast, and on a machine whose
cores are busy it avoids OpenMP threads waiting on each other at every barrier, which
can slow such code down by one or two orders of magnitude.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

__all__ = ["available_cores", "limit_threads"]


def available_cores() -> int:
    """The CPUs this process may run on (its affinity where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not every platform has CPU affinity
        return os.cpu_count() or 1


@contextlib.contextmanager
def limit_threads(n: int | None = 1) -> Iterator[None]:
    """Run the block with at most ``n`` torch, OpenMP and BLAS threads; restore afterwards.

    ``None`` leaves every setting as it is. torch is only touched when it is already
    imported (this never imports it).
    """
    if n is None:
        yield
        return
    import sys

    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(int(n))
    try:
        with threadpool_limits(limits=int(n)):
            yield
    finally:
        if torch is not None:
            torch.set_num_threads(before)
