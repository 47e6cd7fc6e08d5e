"""The store: one embedded DuckDB file, its schema and migrations, and the spatial extension."""

from __future__ import annotations

import glob
import importlib.util
import os
import threading
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
    (5, "schema-v5"), (6, "schema-v6"), (7, "schema-v7"),
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


class _Instance:
    """The process's one DuckDB database, in memory, into which each ``open_store`` attaches its
    file for as long as it is open (and detaches it after, releasing the file's lock).

    Spatial (an 81 MB library whose signature DuckDB checks on every load: 0.2 to 0.3 s, 0.4 to
    0.5 CPU-s here) and the h3 functions are loaded into it once: a notebook or any process
    that opens stores again and again pays for them once, not at every call.
    """

    def __init__(self) -> None:
        self.db = duckdb.connect(":memory:")
        # Commit straight into the file: a commit under this threshold would go to the
        # write-ahead log first and into the file again when the store closes (for an
        # ingest of 20,900 cameras, 0.05 s of 0.3). A setting of the whole database.
        self.db.execute("SET checkpoint_threshold = '0KB'")
        self.spatial = False
        self.functions: set[str] = set()
        self.attached: dict[str, tuple[str, bool, int]] = {}  # file -> (alias, write, users)
        self.count = 0


_INSTANCE: _Instance | None = None
_INSTANCE_LOCK = threading.Lock()


def _instance() -> _Instance:
    global _INSTANCE
    with _INSTANCE_LOCK:
        if _INSTANCE is None:
            _INSTANCE = _Instance()
        return _INSTANCE


def _instance_of(con: duckdb.DuckDBPyConnection) -> _Instance | None:
    """The shared instance when ``con`` is one of its connections."""
    inst = _INSTANCE
    return inst if inst is not None and id(con) in _CONNECTIONS else None


_CONNECTIONS: set[int] = set()  # ids of the shared instance's connections open now


def ensure_spatial(con: duckdb.DuckDBPyConnection) -> None:
    """Spatial on ``con``: loaded once into the shared instance for a store connection, else
    loaded into ``con``'s own database."""
    inst = _instance_of(con)
    if inst is None:
        load_spatial(con)
        return
    with _INSTANCE_LOCK:
        if not inst.spatial:
            load_spatial(con)
            inst.spatial = True


def once_per_database(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """True the first time ``name`` is asked for on ``con``'s database (Python functions are
    the database's, not the connection's: a second ``create_function`` of a name fails)."""
    inst = _instance_of(con)
    if inst is None:
        return True
    with _INSTANCE_LOCK:
        if name in inst.functions:
            return False
        inst.functions.add(name)
        return True


@contextmanager
def scratch() -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection of the process's DuckDB with spatial loaded and no store attached, for
    writing files (GeoParquet) from data already read; what it makes is temporary."""
    inst = _instance()
    con = inst.db.cursor()
    with _INSTANCE_LOCK:
        _CONNECTIONS.add(id(con))
    try:
        ensure_spatial(con)
        yield con
    finally:
        with _INSTANCE_LOCK:
            _CONNECTIONS.discard(id(con))
        con.close()


def _attach_error(path: Path, exc: duckdb.Error) -> StoreError:
    text = str(exc)
    # DuckDB's own words for a file another process holds ("Could not set lock on file
    # ...: Conflicting lock is held in ..."); not any message with "lock" in it (a
    # damaged file's "checksum ... in block" would read as a store in use).
    if "Could not set lock on file" in text or "Conflicting lock" in text:
        return StoreLocked(
            f"store is in use by another camdensity process ({path}); "
            "wait for it to finish or pass another --db"
        )
    if "Unique file handle conflict" in text:  # another connection of this very process
        return StoreLocked(
            f"store is open in another connection of this process ({path}); "
            "close that connection first or pass another --db"
        )
    if "not a valid DuckDB database" in text or "not a DuckDB" in text:
        return StoreError(
            f"{path} is not a camdensity store (not a DuckDB database file); pass another --db path"
        )
    return StoreError(f"cannot open store {path}: {text.splitlines()[0]}")


def _quoted(text: str) -> str:
    """A SQL string literal (ATTACH takes no parameter; the path is the user's own)."""
    return "'" + text.replace("'", "''") + "'"


def _attach(path: Path, write: bool) -> tuple[duckdb.DuckDBPyConnection, str, _Instance]:
    """A new connection of the shared instance whose default database is the store file."""
    global _INSTANCE
    inst = _instance()
    key = os.path.abspath(path)
    with _INSTANCE_LOCK:
        held = inst.attached.get(key)
        if held is not None and write and not held[1]:
            raise StoreLocked(
                f"store is open read-only in this process ({path}); close it before writing"
            )
        con = inst.db.cursor()
        try:
            if held is None:
                inst.count += 1
                alias = f"store{inst.count}"
                mode = "" if write else " (READ_ONLY)"
                try:
                    con.execute(f"ATTACH {_quoted(key)} AS {alias}{mode}")
                except duckdb.Error as exc:
                    if "invalidated" in str(exc) and not inst.attached:
                        _INSTANCE = None  # a fatal error spoilt it: the next open starts anew
                    raise _attach_error(path, exc) from None
                inst.attached[key] = (alias, write, 1)
            else:
                alias = held[0]
                inst.attached[key] = (alias, held[1], held[2] + 1)
            con.execute(f"USE {alias}")
        except BaseException:
            con.close()
            raise
        _CONNECTIONS.add(id(con))
    return con, key, inst


def _detach(con: duckdb.DuckDBPyConnection, key: str, inst: _Instance) -> None:
    """Close ``con`` (of ``inst``); the last connection to a file detaches it (and so
    checkpoints it and releases its lock)."""
    global _INSTANCE
    with _INSTANCE_LOCK:
        _CONNECTIONS.discard(id(con))
        alias, write, users = inst.attached[key]
        try:
            try:
                con.execute("ROLLBACK")  # a transaction left open by an error
            except duckdb.Error:
                pass
            con.close()
            if users > 1:
                inst.attached[key] = (alias, write, users - 1)
                return
            del inst.attached[key]
            inst.db.execute(f"DETACH {alias}")
        except duckdb.Error:
            # The database is no use any more (DuckDB invalidates it after a fatal error):
            # the next store opened in this process gets a new one.
            if not inst.attached and _INSTANCE is inst:
                _INSTANCE = None
            raise


def _version(con: duckdb.DuckDBPyConnection, path: Path) -> int | None:
    tables = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()
    }
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
    con, key, inst = _attach(path, write)
    try:
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
        _detach(con, key, inst)


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
