"""The store's connections: one DuckDB database per process, each store file attached to it
while open (``mapper.store.open_store``), spatial and the h3 functions loaded into it once."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from mapper import compare, store
from mapper.errors import StoreLocked
from tests.conftest import ROOT


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """A new process database for the test (the one of the pytest process may have spatial
    loaded already), and a record of every load of spatial."""
    monkeypatch.setattr(store, "_INSTANCE", None)
    loads: list[Any] = []
    real = store.load_spatial

    def counted(con: duckdb.DuckDBPyConnection) -> None:
        loads.append(con)
        real(con)

    monkeypatch.setattr(store, "load_spatial", counted)
    yield loads


def _other_process(code: str, db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, str(db)], capture_output=True, text=True, cwd=ROOT,
        timeout=60,
    )  # fmt: skip


def test_spatial_is_loaded_once_per_process(fresh: list[Any], seeded: Path) -> None:
    first = compare.compare(str(seeded), all_areas=True)
    second = compare.compare(str(seeded), all_areas=True)
    assert first.rows and [r["cameras"] for r in first.rows] == [r["cameras"] for r in second.rows]
    assert len(fresh) == 1  # the second compare found it loaded
    with store.scratch() as con:  # GeoParquet's connection is the same database
        assert con.execute("SELECT ST_AsText(ST_Point(1, 2))").fetchone() == ("POINT (1 2)",)
    assert len(fresh) == 1


def test_the_file_is_released_when_the_store_closes(seeded: Path) -> None:
    write = "import duckdb, sys; duckdb.connect(sys.argv[1]).execute('CHECKPOINT')"
    with store.open_store(seeded, write=True) as con:
        assert con.execute("SELECT count(*) FROM cameras").fetchone() is not None
        held = _other_process(write, seeded)
        assert held.returncode != 0 and "Could not set lock" in held.stderr
    assert _other_process(write, seeded).returncode == 0


def test_two_stores_open_at_once_each_see_their_own(seeded: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.duckdb"
    with store.open_store(empty, write=True) as e, store.open_store(seeded) as m:
        assert e.execute("SELECT count(*) FROM cameras").fetchone() == (0,)
        got = m.execute("SELECT count(*) FROM cameras").fetchone()
        assert got is not None and got[0] > 0
        # the schema check looks at the store's own tables, not at the other store's
        assert store._version(e, empty) == store.SCHEMA_VERSION


def test_a_store_opened_again_inside_itself_shares_its_file(seeded: Path) -> None:
    with store.open_store(seeded, write=True) as outer:
        outer.execute("BEGIN TRANSACTION")
        outer.execute("DELETE FROM cameras")
        with store.open_store(seeded) as inner:  # a reader inside the writer: the same file
            n = inner.execute("SELECT count(*) FROM cameras").fetchone()
            assert n is not None and n[0] > 0  # the writer's change is not committed
        outer.execute("ROLLBACK")
    with store.open_store(seeded) as reader, pytest.raises(StoreLocked, match="read-only"):
        with store.open_store(seeded, write=True):
            pass
    assert reader is not None


def test_a_connection_of_ones_own_is_named(seeded: Path) -> None:
    """A notebook's own ``duckdb.connect`` to the store file (read-write, DuckDB's default):
    DuckDB lets a process open a file once, and the call says which is in the way."""
    own = duckdb.connect(str(seeded))
    try:
        with pytest.raises(StoreLocked, match="open in another connection of this process"):
            with store.open_store(seeded):
                pass
    finally:
        own.close()
    own = duckdb.connect(str(seeded), read_only=True)  # two readers of one file: allowed
    try:
        with store.open_store(seeded) as con:
            assert con.execute("SELECT count(*) FROM cameras").fetchone() is not None
    finally:
        own.close()
