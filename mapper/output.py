"""Rendering rows (lists of dictionaries) as a terminal table, CSV, JSON or Markdown."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from itertools import islice
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

if TYPE_CHECKING:
    import pyarrow as pa


def cell(v: Any, digits: int = 2) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if not math.isfinite(v):
            return ""
        return f"{v:.{digits}f}"
    return str(v)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str], digits: int = 2) -> str:
    """A plain aligned table: text left, numbers right."""
    texts = [[cell(r.get(c), digits) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(t[i]) for t in texts]) for i, c in enumerate(columns)]
    numeric = [
        all(isinstance(r.get(c), int | float) or r.get(c) is None for r in rows) for c in columns
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [line(list(columns)), line(["-" * w for w in widths])]
    out += [line(t) for t in texts]
    return "\n".join(out)


def write_csv_rows(f: TextIO, rows: Iterable[Sequence[Any]]) -> None:
    """CSV rows, each ending in ``\n``. ``csv.writer`` quotes a field that holds its own line
    end (``\n``) but not a bare ``\r``, which readers take for a line end too: a row with
    one is written fully quoted."""
    plain = csv.writer(f, lineterminator="\n")
    quoted = csv.writer(f, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for values in rows:
        bare_cr = any(isinstance(v, str) and "\r" in v for v in values)
        (quoted if bare_cr else plain).writerow(values)


def _head(columns: Sequence[str], comments: Sequence[str]) -> str:
    """The ``# comment`` lines and the header line of a CSV."""
    buf = io.StringIO()
    for c in comments:
        buf.write(f"# {c}\n")
    write_csv_rows(buf, [columns])
    return buf.getvalue()


def to_csv(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], comments: Sequence[str] = ()
) -> str:
    buf = io.StringIO()
    buf.write(_head(columns, comments))
    write_csv_rows(buf, ([_plain(r.get(c)) for c in columns] for r in rows))
    return buf.getvalue()


def write_table_csv(out: BinaryIO, table: pa.Table, comments: Sequence[str] = ()) -> None:
    """``to_csv`` of an Arrow table of numbers and plain text (no comma, quote or line end in
    any value, such as H3 ids; Arrow refuses one that has), written by Arrow's CSV writer:
    the same text (a float in its shortest form either way, though Arrow writes 2.0 as
    2 and 1e-05 as 0.00001), for the grid of a large store in a fraction of the time (the
    1M-camera bench's 424,566 cells: 0.4 s, against 5.9 s through dictionaries)."""
    import pyarrow.csv

    out.write(_head(table.column_names, comments).encode())
    options = pyarrow.csv.WriteOptions(include_header=False, quoting_style="none")
    pyarrow.csv.write_csv(table, out, options)
    out.flush()


def _plain(v: Any) -> Any:
    if isinstance(v, list | dict):
        return json.dumps(v, ensure_ascii=False)
    if v is None:
        return ""
    return v


def to_markdown(rows: Sequence[dict[str, Any]], columns: Sequence[str], digits: int = 2) -> str:
    def esc(s: str) -> str:
        return s.replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        out.append("| " + " | ".join(esc(cell(r.get(c), digits)) for c in columns) + " |")
    return "\n".join(out)


def to_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False, default=str, allow_nan=False)


#: Where :func:`write_json` puts its items: a control character, which JSON always escapes,
#: so that no other value of the document is written the same way.
_ITEMS = "\x00camdensity-items"


def write_json(out: TextIO, doc: Mapping[str, Any], key: str, batch: int = 4096) -> None:
    """``to_json(doc)`` and a line end, with ``doc[key]`` (any iterable: a generator) written
    as its list a few thousand items at a time, so that a long list is never one list or one
    string in memory: ``grid --format geojson`` of the 1M-camera bench store (424,566 cells)
    made a 438 MB string and a 4.1 GB process."""
    placeholder = {k: (_ITEMS if k == key else v) for k, v in doc.items()}
    # the key at the top level: the only place a line starts with two spaces and a key
    entry = f"\n  {to_json(key)}: "
    head, tail = to_json(placeholder).split(entry + to_json(_ITEMS), 1)
    out.write(head + entry)
    items = iter(doc[key])
    opened = False
    while chunk := list(islice(items, batch)):
        # an item's lines one level deeper than to_json puts them (the list is at level 1)
        text = ",\n".join("    " + to_json(i).replace("\n", "\n    ") for i in chunk)
        out.write((",\n" if opened else "[\n") + text)
        opened = True
    out.write(("\n  ]" if opened else "[]") + tail + "\n")
    out.flush()
