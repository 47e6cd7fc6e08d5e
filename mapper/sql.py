"""The one loader for ``queries/*.sql``.

A file holds named blocks in the aiosql style::

    -- name: cameras-by-kind
    -- What the query answers, in a line or two.
    -- params: source_id
    SELECT ... WHERE source_id = $source_id;

Parameters are DuckDB named parameters (``$name``), declared on the ``-- params:`` line and
checked when the file loads (every declared name is used, every used name is declared) and
again when the query runs (the caller passes exactly those names). Values never enter SQL
text; identifiers go through :func:`quote_ident`: a column the caller chooses (a camera's
cell at one resolution) is ``{name}``, declared on an ``-- idents:`` line, checked alike and
given to :func:`run_on` (a plain lower-case name, or the query fails).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import duckdb

from mapper._resources import resource_dir

if TYPE_CHECKING:
    import pyarrow as pa

_NAME = re.compile(r"^--\s*name:\s*([a-z0-9][a-z0-9_-]*)\s*$")
_PARAMS = re.compile(r"^--\s*params:\s*(.*)$")
_BIND = re.compile(r"^--\s*bind:\s*(relation)\s*$")
_IDENTS = re.compile(r"^--\s*idents:\s*(.*)$")
# {name}: an identifier (a column) chosen by the caller, declared on '-- idents:'.
_IDENT_USED = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_IDENT_VALUE = re.compile(r"^[a-z_][a-z0-9_]*$")
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
    #: ``-- bind: relation``: scalar parameters travel as a one-row relation, not as bound
    #: values (see :func:`_as_relation`); for queries whose parameters may be subqueries.
    relation: bool = False
    #: ``-- idents: name``: ``{name}`` in the SQL is a column name the caller chooses
    #: (``run_on(con, query, {"name": "h3_9"})``), quoted by :func:`quote_ident`.
    idents: frozenset[str] = frozenset()


def _parse(file: str, text: str) -> list[Query]:
    blocks: list[Query] = []
    name: str | None = None
    doc: list[str] = []
    params: set[str] = set()
    idents: set[str] = set()
    relation = False
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
        named = set(_IDENT_USED.findall(sql))
        if named != idents:
            raise QueryFileError(
                f"{file}: query '{name}' declares idents {sorted(idents)} but uses {sorted(named)}"
            )
        blocks.append(Query(name, file, " ".join(doc).strip(), frozenset(params), sql, relation,
                            frozenset(idents)))  # fmt: skip

    in_header = False
    for line in text.splitlines():
        m = _NAME.match(line.strip())
        if m:
            flush()
            name, doc, params, body, in_header = m.group(1), [], set(), [], True
            relation, idents = False, set()
            continue
        stripped = line.strip()
        if in_header and stripped.startswith("--"):
            pm = _PARAMS.match(stripped)
            im = _IDENTS.match(stripped)
            if pm:
                params = {p.strip() for p in pm.group(1).split(",") if p.strip()}
            elif im:
                idents = {p.strip() for p in im.group(1).split(",") if p.strip()}
            elif _BIND.match(stripped):
                relation = True
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
    return run_on(con, name, {}, **params)


def run_on(
    con: duckdb.DuckDBPyConnection, name: str, idents: Mapping[str, str], /, **params: Any
) -> duckdb.DuckDBPyConnection:
    """``run``, with the query's declared identifiers (``-- idents:``) put in as quoted
    names, e.g. ``run_on(con, "grid-store", {"cell": "h3_9"})``."""
    text, bound = _statement(con, name, idents, params)
    return con.execute(text, bound) if bound else con.execute(text)


def arrow(
    con: duckdb.DuckDBPyConnection, name: str, idents: Mapping[str, str] | None = None, /,
    **params: Any,
) -> pa.Table:  # fmt: skip
    """The rows of a named ``SELECT`` as an Arrow table, which DuckDB builds while the query
    runs (a relation's Arrow result, filled by every thread), instead of a result kept whole
    first and then converted, as ``run_on(...).to_arrow_table()`` does: on the 1M-camera bench
    store, the 1M cameras without a cell in 28 ms instead of 57, the 424,566 cells of the
    store's grid in 111 ms instead of 146."""
    text, bound = _statement(con, name, idents or {}, params)
    table: pa.Table = con.sql(text, params=bound).to_arrow_table()
    return table


def _statement(
    con: duckdb.DuckDBPyConnection, name: str, idents: Mapping[str, str], params: Mapping[str, Any]
) -> tuple[str, Mapping[str, Any] | None]:
    """A named query's text with its identifiers in, and what to bind to it: its scalar
    parameters are a registered relation the text reads (see :func:`_as_relation`; nothing
    left to bind), or else the parameters themselves."""
    q = get(name)
    _check(q, params)
    text = _with_idents(q, idents)
    if not params:
        return text, None
    scalar = _as_relation(params) if q.relation else None
    if scalar is None:
        return text, params
    columns, exprs = scalar
    con.register(PARAMS_RELATION, columns)
    return _USED.sub(lambda m: exprs[m.group(1)], text), None


def _with_idents(q: Query, idents: Mapping[str, str]) -> str:
    if set(idents) != q.idents:
        raise QueryFileError(
            f"query '{q.name}' takes idents {sorted(q.idents)}, was given {sorted(idents)}"
        )
    for value in idents.values():
        if not _IDENT_VALUE.match(value):
            raise QueryFileError(f"query '{q.name}': '{value}' is not a plain column name")
    if not idents:
        return q.sql
    return _IDENT_USED.sub(lambda m: quote_ident(idents[m.group(1)]), q.sql)


#: The one-row relation that carries scalar parameters (see :func:`_as_relation`).
PARAMS_RELATION = "camdensity_params"


def _as_relation(params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]] | None:
    """Scalar parameters as a one-row NumPy relation, and the SQL that reads each of them.

    DuckDB's Python client imports pandas the first time it converts a bound Python value
    (0.5 s, and 0.2 s more at exit: a third of a whole ingest). It reads NumPy arrays of
    numbers and of fixed-width text (as an ENUM) without pandas, so scalars travel that way:
    ``$name`` becomes ``(SELECT name FROM camdensity_params)`` (text cast back to VARCHAR),
    None becomes NULL, bytes go as hex and come back with ``unhex``, a naive datetime as ISO
    text cast back to TIMESTAMP. Values
    still never enter the SQL text. Anything else (lists, text holding NUL, which NumPy
    would drop at the end of a string) is bound the usual way.
    """
    import numpy as np

    columns: dict[str, Any] = {}
    exprs: dict[str, str] = {}
    for key, value in params.items():
        read = f"(SELECT {quote_ident(key)} FROM {PARAMS_RELATION})"  # noqa: S608 (names only)
        if value is None:
            exprs[key] = "NULL"
            continue
        if isinstance(value, bool):
            columns[key] = np.array([value], np.bool_)
        elif isinstance(value, int) and -(2**63) <= value < 2**63:
            columns[key] = np.array([value], np.int64)
        elif isinstance(value, float):
            columns[key] = np.array([value], np.float64)
        elif isinstance(value, str) and "\x00" not in value:
            columns[key] = np.array([value], np.str_)
            read = f"CAST({read} AS VARCHAR)"  # NumPy text arrives as an ENUM
        elif isinstance(value, bytes):
            columns[key] = np.array([value.hex()], np.str_)
            read = f"unhex(CAST({read} AS VARCHAR))"
        elif isinstance(value, datetime) and value.tzinfo is None:
            columns[key] = np.array([value.isoformat()], np.str_)
            read = f"CAST(CAST({read} AS VARCHAR) AS TIMESTAMP)"
        else:
            return None
        exprs[key] = read
    if not columns:  # every value is NULL: DuckDB needs at least one column
        columns["_"] = np.array([0], np.int8)
    return columns, exprs


def rows(con: duckdb.DuckDBPyConnection, name: str, /, **params: Any) -> list[dict[str, Any]]:
    """Run a query and return its rows as dictionaries."""
    cur = run(con, name, **params)
    cols = [d[0] for d in cur.description or []]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def quote_ident(name: str) -> str:
    """Quote an SQL identifier (the only way a name enters SQL text)."""
    return '"' + name.replace('"', '""') + '"'
