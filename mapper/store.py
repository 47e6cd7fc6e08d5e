"""The store: one embedded DuckDB file, its schema and migrations, and the spatial extension."""

from __future__ import annotations

import glob
import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from mapper import _faults, sql
from mapper.errors import SpatialUnavailable, StoreError, StoreLocked, StoreOutdated

DEFAULT_DB = "camdensity.duckdb"
ENV_DB = "CAMDENSITY_DB"

#: Schema versions and the named query (in ``queries/schema.sql``) that reaches each one.
MIGRATIONS: tuple[tuple[int, str], ...] = (
    (1, "schema-v1"), (2, "schema-v2"), (3, "schema-v3"), (4, "schema-v4"),
    (5, "schema-v5"), (6, "schema-v6"),
)  # fmt: skip
SCHEMA_VERSION = MIGRATIONS[-1][0]


def store_path(db: str | os.PathLike[str] | None = None) -> Path:
    """``--db`` if given, else ``$CAMDENSITY_DB``, else ``camdensity.duckdb`` here."""
    return Path(db or os.environ.get(ENV_DB) or DEFAULT_DB)


def _spatial_package_file() -> str | None:
    try:
        spec = importlib.util.find_spec("duckdb_extension_spatial")
    except (ImportError, ValueError, AttributeError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        pattern = os.path.join(root, "extensions", f"v{duckdb.__version__}", "*.duckdb_extension")
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    return None


def load_spatial(con: duckdb.DuckDBPyConnection) -> None:
    """Load DuckDB spatial from the ``duckdb-extension-spatial`` wheel, else ``INSTALL spatial``."""
    path = _spatial_package_file()
    errors: list[str] = []
    if path is not None:
        try:
            # INSTALL takes a literal, not a parameter; the path comes from our own package.
            con.execute("INSTALL '" + path.replace("'", "''") + "'")
            con.execute("LOAD spatial")
            return
        except duckdb.Error as exc:
            errors.append(str(exc).splitlines()[0])
    try:
        con.execute("INSTALL spatial")
        con.execute("LOAD spatial")
        return
    except duckdb.Error as exc:
        errors.append(str(exc).splitlines()[0])
    raise SpatialUnavailable(
        "DuckDB's spatial extension could not be loaded "
        f"(pip install duckdb-extension-spatial=={duckdb.__version__}); " + "; ".join(errors)
    )


def scratch() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with spatial loaded, for reading inputs away from the store.

    A corrupt input can make a DuckDB extension invalidate its database; doing the reading
    here keeps the store out of harm's way.
    """
    con = duckdb.connect(":memory:")
    try:
        load_spatial(con)
    except BaseException:
        con.close()
        raise
    return con


def _connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        text = str(exc)
        # DuckDB's own words for a file another process holds ("Could not set lock on file
        # ...: Conflicting lock is held in ..."); not any message with "lock" in it (a
        # damaged file's "checksum ... in block" would read as a store in use).
        if "Could not set lock on file" in text or "Conflicting lock" in text:
            raise StoreLocked(
                f"store is in use by another camdensity process ({path}); "
                "wait for it to finish or pass another --db"
            ) from None
        if "not a valid DuckDB database" in text or "not a DuckDB" in text:
            raise StoreError(
                f"{path} is not a camdensity store (not a DuckDB database file); "
                "pass another --db path"
            ) from None
        raise StoreError(f"cannot open store {path}: {text.splitlines()[0]}") from None


def _version(con: duckdb.DuckDBPyConnection, path: Path) -> int | None:
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if "schema_version" not in tables:
        if tables:
            raise StoreError(
                f"{path} is a DuckDB file but not a camdensity store; pass another --db"
            )
        return None
    row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else None


def _migrate(con: duckdb.DuckDBPyConnection, current: int | None) -> None:
    con.execute("BEGIN TRANSACTION")
    try:
        for version, name in MIGRATIONS:
            if current is None or version > current:
                sql.run(con, name)
                sql.run(con, "schema-version-add", version=version)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


@contextmanager
def open_store(
    db: str | os.PathLike[str] | None = None, *, write: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the store; ``write=True`` creates it and takes the write lock.

    Readers open read-only, so they may run beside each other but not beside a writer.
    """
    path = store_path(db)
    if not write and not path.exists():
        raise StoreError(f"no store at {path}: run 'camdensity ingest FILE' first, or pass --db")
    if path.exists() and path.is_dir():
        raise StoreError(f"{path} is a folder, not a store file; pass another --db")
    con = _connect(path, read_only=not write)
    try:
        if write:
            # Commit straight into the file: a commit under this threshold would go to the
            # write-ahead log first and into the file again when the store closes (for an
            # ingest of 20,900 cameras, 0.05 s of 0.3).
            con.execute("SET checkpoint_threshold = '0KB'")
        current = _version(con, path)
        if current is not None and current > SCHEMA_VERSION:
            raise StoreError(
                f"{path} was written by a newer camdensity (schema {current}; this version reads "
                f"up to {SCHEMA_VERSION}): upgrade camdensity (pip install -U camdensity)"
            )
        if current != SCHEMA_VERSION:
            if not write and current is None:
                raise StoreOutdated(f"{path} is an empty store: run 'camdensity ingest FILE' first")
            if not write:
                raise StoreOutdated(
                    f"{path} was written by an older camdensity (schema {current}; this "
                    f"version uses {SCHEMA_VERSION}): a command that writes to it upgrades it "
                    "first, e.g. 'camdensity ingest FILE'"
                )
            _migrate(con, current)
        yield con
    finally:
        con.close()


@contextmanager
def transaction(
    con: duckdb.DuckDBPyConnection, *, changes_data: bool = True
) -> Iterator[duckdb.DuckDBPyConnection]:
    """All of it or none of it; a change of cameras or areas moves the store to a new state."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
        if changes_data:
            sql.run(con, "state-bump")
        _faults.point("before-commit")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    _faults.point("after-commit")


def state(con: duckdb.DuckDBPyConnection) -> int:
    """The store's state: it changes with every committed write (cache key for grids)."""
    row = sql.run(con, "state-get").fetchone()
    return int(row[0]) if row else 0
