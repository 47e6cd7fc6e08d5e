"""The one loader for ``queries/*.sql``.

A file holds named blocks in the aiosql style::

    -- name: cameras-by-kind
    -- What the query answers, in a line or two.
    -- params: source_id
    SELECT ... WHERE source_id = $source_id;

Parameters are DuckDB named parameters (``$name``), declared on the ``-- params:`` line and
checked when the file loads (every declared name is used, every used name is declared) and
again when the query runs (the caller passes exactly those names). Values never enter SQL
text; identifiers go through :func:`quote_ident`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import duckdb

from mapper._resources import resource_dir

_NAME = re.compile(r"^--\s*name:\s*([a-z0-9][a-z0-9_-]*)\s*$")
_PARAMS = re.compile(r"^--\s*params:\s*(.*)$")
# $name outside of string literals; our queries keep literals simple (no '$' inside them).
_USED = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


class QueryFileError(Exception):
    """A query file is malformed (a programming error, caught by the test suite)."""


@dataclass(frozen=True)
class Query:
    name: str
    file: str
    doc: str
    params: frozenset[str]
    sql: str


def _parse(file: str, text: str) -> list[Query]:
    blocks: list[Query] = []
    name: str | None = None
    doc: list[str] = []
    params: set[str] = set()
    body: list[str] = []

    def flush() -> None:
        if name is None:
            if "".join(body).strip():
                raise QueryFileError(f"{file}: SQL before the first '-- name:' line")
            return
        sql = "\n".join(body).strip().rstrip(";").strip()
        if not sql:
            raise QueryFileError(f"{file}: query '{name}' is empty")
        used = set(_USED.findall(sql))
        if used != params:
            raise QueryFileError(
                f"{file}: query '{name}' declares params {sorted(params)} but uses {sorted(used)}"
            )
        blocks.append(Query(name, file, " ".join(doc).strip(), frozenset(params), sql))

    in_header = False
    for line in text.splitlines():
        m = _NAME.match(line.strip())
        if m:
            flush()
            name, doc, params, body, in_header = m.group(1), [], set(), [], True
            continue
        stripped = line.strip()
        if in_header and stripped.startswith("--"):
            pm = _PARAMS.match(stripped)
            if pm:
                params = {p.strip() for p in pm.group(1).split(",") if p.strip()}
            else:
                doc.append(stripped[2:].strip())
            continue
        in_header = False
        body.append(line)
    flush()
    return blocks


@cache
def queries() -> Mapping[str, Query]:
    """Every named query of every file in ``queries/``; names are unique across files."""
    found: dict[str, Query] = {}
    for path in sorted(resource_dir("queries").glob("*.sql")):
        for q in _parse(path.name, path.read_text(encoding="utf-8")):
            if q.name in found:
                raise QueryFileError(
                    f"query '{q.name}' is defined in {found[q.name].file} and {q.file}"
                )
            found[q.name] = q
    return found


def get(name: str) -> Query:
    try:
        return queries()[name]
    except KeyError:
        raise QueryFileError(f"no query named '{name}' in queries/") from None


def _check(q: Query, params: Mapping[str, Any]) -> None:
    if set(params) != q.params:
        raise QueryFileError(
            f"query '{q.name}' takes {sorted(q.params)}, was given {sorted(params)}"
        )


def run(con: duckdb.DuckDBPyConnection, name: str, /, **params: Any) -> duckdb.DuckDBPyConnection:
    """Execute a named query with its declared parameters bound."""
    q = get(name)
    _check(q, params)
    if params:
        return con.execute(q.sql, params)
    return con.execute(q.sql)


def rows(con: duckdb.DuckDBPyConnection, name: str, /, **params: Any) -> list[dict[str, Any]]:
    """Run a query and return its rows as dictionaries."""
    cur = run(con, name, **params)
    cols = [d[0] for d in cur.description or []]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def quote_ident(name: str) -> str:
    """Quote an SQL identifier (the only way a name enters SQL text)."""
    return '"' + name.replace('"', '""') + '"'
