"""HTML building blocks of the report: one self-contained page, no script, no network.

Every figure is a PNG embedded as a ``data:`` URI, the style sheet is inline, and nothing
refers to another file or host, so the page reads the same offline in any browser. All
text passes through :func:`escape`.
"""

from __future__ import annotations

import base64
import html as _html
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

__all__ = [
    "STYLE",
    "Section",
    "escape",
    "anchor",
    "image",
    "table",
    "key_values",
    "note",
    "fmt",
    "document",
]

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       margin: 0 auto; max-width: 1280px; padding: 0 1.2em 3em; color: #1d1d1f; }
h1 { font-size: 1.6em; margin: 1em 0 0.3em; }
h2 { font-size: 1.3em; margin-top: 2em; border-bottom: 2px solid #ccd; padding-bottom: 0.2em; }
h3 { font-size: 1.15em; margin-top: 1.8em; background: #eef1f7; padding: 0.3em 0.5em; }
h4 { font-size: 1em; margin: 1.2em 0 0.4em; }
nav { columns: 3 16em; background: #f6f7fa; padding: 0.6em 1em; border-radius: 4px; }
nav a { display: block; }
table { border-collapse: collapse; margin: 0.4em 0 1em; font-size: 0.92em; }
th, td { border: 1px solid #d5d8e0; padding: 0.2em 0.5em; text-align: right; }
th { background: #f0f2f6; }
td.text, th.text { text-align: left; }
table.kv th { text-align: left; vertical-align: top; }
table.kv td { text-align: left; }
code, pre { font: 0.9em/1.4 ui-monospace, Menlo, Consolas, monospace; }
pre { background: #f6f7fa; padding: 0.5em 0.8em; overflow-x: auto; white-space: pre-wrap; }
figure { margin: 0.6em 0 1.2em; }
figure img { max-width: 100%; height: auto; border: 1px solid #e3e5ea; }
figcaption { font-size: 0.9em; color: #444; max-width: 60em; }
.note { background: #fff7e0; border-left: 4px solid #e0a800; padding: 0.4em 0.8em; }
.bad { background: #fde2e1; }
.good { background: #e2f5e6; }
.identified { background: #d8f0dc; }
.weak { background: #fff1c7; }
.prior-dominated { background: #eceef2; color: #555; }
.flagged { color: #b00020; font-weight: 600; }
.ok { color: #1b7f3b; font-weight: 600; }
.row { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
"""


@dataclass(frozen=True)
class Section:
    """A titled part of the page: ``anchor`` id, heading ``title`` and ``body`` HTML."""

    anchor: str
    title: str
    body: str
    level: int = 2

    def html(self) -> str:
        h = f"h{self.level}"
        return (
            f'<section id="{escape(self.anchor)}"><{h}>{escape(self.title)}</{h}>'
            f"{self.body}</section>"
        )


def escape(text: object) -> str:
    """HTML-escaped ``str(text)`` (quotes included)."""
    return _html.escape(str(text), quote=True)


def anchor(prefix: str, name: str, index: int) -> str:
    """A unique, URL-safe element id from a name and its index."""
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name).strip("-")
    return f"{prefix}-{index}-{safe[:40]}"


def image(png: bytes, alt: str, caption: str = "", *, width: int | None = None) -> str:
    """A figure with an embedded PNG (``data:`` URI) and an optional caption (HTML)."""
    data = base64.b64encode(png).decode("ascii")
    size = f' width="{int(width)}"' if width else ""
    cap = f"<figcaption>{caption}</figcaption>" if caption else ""
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{escape(alt)}"{size}>{cap}</figure>'
    )


def fmt(value: object, spec: str = ".3g") -> str:
    """A number formatted with ``spec`` ('-' for None/NaN); other values as text."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return "-"
        return format(value, spec)
    return str(value)


def table(
    frame: pd.DataFrame,
    *,
    formats: Mapping[str, str] | None = None,
    row_classes: Sequence[str] | None = None,
    cell_classes: Mapping[str, Sequence[str]] | None = None,
    headers: Mapping[str, str] | None = None,
    text_columns: Iterable[str] = (),
) -> str:
    """``frame`` as an HTML table.

    ``formats`` maps columns to format specs (default ``.3g`` for numbers);
    ``row_classes``/``cell_classes`` add CSS classes per row or per cell of a column;
    ``headers`` renames columns; ``text_columns`` are left-aligned.
    """
    formats = dict(formats or {})
    headers = dict(headers or {})
    text_cols = set(text_columns) | {
        c
        for c in frame.columns
        if c not in formats
        and not (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))
    }
    left = ' class="text"'
    head = "".join(
        f"<th{left if c in text_cols else ''}>{escape(headers.get(c, c))}</th>"
        for c in frame.columns
    )
    rows = []
    for i, rec in enumerate(frame.itertuples(index=False)):
        cells = []
        for c, v in zip(frame.columns, rec, strict=True):
            classes = []
            if c in text_cols:
                classes.append("text")
            if cell_classes and c in cell_classes:
                classes.append(cell_classes[c][i])
            cls = f' class="{" ".join(x for x in classes if x)}"' if classes else ""
            cells.append(f"<td{cls}>{escape(fmt(v, formats.get(c, '.3g')))}</td>")
        cls = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
        rows.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def key_values(pairs: Iterable[tuple[str, str]]) -> str:
    """A two-column table of (label, HTML value) pairs; labels are escaped, values not."""
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in pairs)
    return f'<table class="kv"><tbody>{rows}</tbody></table>'


def note(text_html: str) -> str:
    """A highlighted remark (HTML)."""
    return f'<p class="note">{text_html}</p>'


def document(
    title: str, intro: str, nav: Sequence[tuple[str, str]], sections: Iterable[str]
) -> str:
    """The whole page: ``<title>``, heading, ``intro`` HTML, a table of contents of
    (anchor, label) links and the sections' HTML in order."""
    links = "".join(f'<a href="#{escape(a)}">{escape(label)}</a>' for a, label in nav)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1>{intro}<nav>{links}</nav>{''.join(sections)}"
        "</body></html>\n"
    )
