"""Saving figures: the one PNG writer every ``plots`` module uses.

Only plotting modules import this (it imports matplotlib); compute modules never do.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING

from technorhythm.atomic import atomic_write_bytes

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["save_figure", "png_bytes"]


def save_figure(
    fig: Figure,
    path: str | os.PathLike[str] | None,
    *,
    dpi: int = 90,
    colours: int | None = None,
) -> Path | Figure:
    """Write ``fig`` as a PNG atomically and close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : path-like or None
        Destination; with None the figure is returned open and nothing is written.
    dpi : int
        Resolution in dots per inch.
    colours : int, optional
        Quantise to a palette of this many colours (much smaller files for line art).

    Returns
    -------
    The path written, or the figure when ``path`` is None.
    """
    if path is None:
        return fig
    atomic_write_bytes(path, png_bytes(fig, dpi=dpi, colours=colours))
    return Path(path)


def png_bytes(fig: Figure, *, dpi: int = 90, colours: int | None = None) -> bytes:
    """``fig`` as PNG bytes (closed afterwards); ``colours`` quantises as in :func:`save_figure`."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    data = buf.getvalue()
    if colours is not None:
        from PIL import Image

        image = Image.open(io.BytesIO(data)).convert("RGB").quantize(colors=colours)
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=True)
        data = out.getvalue()
    return data
