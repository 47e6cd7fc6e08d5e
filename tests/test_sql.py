"""Every query in queries/*.sql loads, declares its parameters, and runs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import shapely
from shapely.geometry import box

from mapper import sql
from mapper.grid import prepare
from mapper.ingest import stage
from mapper.sources import read_file
from mapper.store import open_store
from tests.conftest import LONDON, MONACO


def _sample_params(name: str, tmp: Path) -> dict[str, Any]:
    values: dict[str, Any] = {
        "path": str(LONDON),
        "speed": False,
        "snapshot": None,
        "source_id": 1,
        "public_only": False,
        "license": "ODbL-1.0",
        "sha256": "0" * 64,
        "format": "pbf",
        "cameras": 0,
        "skipped_ways": 0,
        "rejected": 0,
        "area_id": 1,
        "res": 9,
        "state": 1,
        "name": "test area",
        "kind": "custom",
        "geometry": shapely.to_wkb(box(7.40, 43.72, 7.44, 43.75)),
        "geodesic_km2": 1.0,
        "source": "test",
        "min_lon": 7.40,
        "min_lat": 43.72,
        "max_lon": 7.44,
        "max_lat": 43.75,
        "reported": 10,
        "key": "test-key",
        "reported_source": "https://example.org",
        "population": 100,
        "read_at": datetime(2024, 1, 1),  # streets.sql
        "streets": 0,
        "buildings": 0,
        "file_id": 1,
    }
    if name == "export-geoparquet":
        values["path"] = str(tmp / "q.parquet")
    q = sql.get(name)
    return {p: values.get(p) for p in q.params}


def test_queries_load_and_are_documented() -> None:
    qs = sql.queries()
    assert len(qs) >= 10
    for q in qs.values():
        assert q.doc, f"{q.name} in {q.file} has no comment saying what it answers"


def test_param_declarations_are_checked() -> None:
    with pytest.raises(sql.QueryFileError, match="declares params"):
        sql._parse("x.sql", "-- name: a\n-- params: x\nSELECT $y")
    with pytest.raises(sql.QueryFileError, match="takes"):
        sql.run(None, "source-hashes", extra=1)  # type: ignore[arg-type]
    with pytest.raises(sql.QueryFileError, match="declares idents"):
        sql._parse("x.sql", "-- name: a\nSELECT {col} FROM t")
    with pytest.raises(sql.QueryFileError, match="takes idents"):
        sql.run(None, "cells-missing")  # type: ignore[arg-type]
    with pytest.raises(sql.QueryFileError, match="not a plain column name"):
        sql.run_on(None, "cells-missing", {"cell": 'h3_9" IS NULL OR "x'})  # type: ignore[arg-type]


def test_every_query_runs(tmp_path: Path) -> None:
    db = tmp_path / "q.duckdb"
    ex = read_file(str(MONACO))
    with open_store(db, write=True) as con:
        prepare(con)
        con.register("grid_rows", con.execute("SELECT * FROM grid_cache").to_arrow_table())
        con.register("area_rows", con.execute("SELECT 0 AS pos, * FROM areas").to_arrow_table())
        stage(con, ex)
        con.register("snapshot_rows", con.execute(  # what mapper.history.keep_snapshot adds
            "SELECT 0 AS seq, 1 AS version, 1672531200000000 AS edited_us, true AS prior_known,"
            " 0 AS from_us, 0 AS to_us, CAST(0 AS TINYINT) AS ended"
        ).to_arrow_table())  # fmt: skip
        con.execute("CREATE TEMP TABLE wanted_refs (id BIGINT)")
        con.register("export_rows", con.execute("SELECT 1.0 AS lat, 2.0 AS lon").to_arrow_table())
        con.register(
            "cell_rows",
            con.execute(
                "SELECT 0 AS rid, 'node' AS osm_type, 1 AS osm_id, 1.0 AS lat, 2.0 AS lon, "
                "CAST(1 AS UBIGINT) AS cell"
            ).to_arrow_table(),
        )
        con.register(
            "area_rows_h3",
            con.execute("SELECT CAST(1 AS UBIGINT) AS cell, 1.0 AS area_km2").to_arrow_table(),
        )
        con.register("compare_rows", con.execute("SELECT 1 AS area_id, 9 AS res").to_arrow_table())
        for table in ("streets", "buildings"):  # what mapper.streets.write_streets stages
            con.register(table[:-1] + "_rows", con.execute(
                f"SELECT * EXCLUDE (file_id) FROM {table}"  # noqa: S608 (our own table names)
            ).to_arrow_table())  # fmt: skip
        files: dict[str, list[str]] = {}
        for q in sql.queries().values():
            if not q.name.startswith("schema-"):  # the schema was run by open_store above
                files.setdefault(q.file, []).append(q.name)
        for names in files.values():  # a file's blocks may build on each other, in order
            con.execute("BEGIN TRANSACTION")
            try:
                for name in names:
                    # a camera's cell column; the stored cell areas
                    idents = {i: {"cell": "h3_9", "areas": "cell_areas"}[i]
                              for i in sql.get(name).idents}  # fmt: skip
                    sql.run_on(con, name, idents, **_sample_params(name, tmp_path))
            finally:
                con.execute("ROLLBACK")


def test_quote_ident() -> None:
    assert sql.quote_ident('a"b') == '"a""b"'


def test_arrow_is_the_table_of_the_query(areas_store: Path) -> None:
    """``sql.arrow`` (a relation's Arrow result) gives what ``run_on(...).to_arrow_table()``
    gives: parameters read from the one-row relation, bound ones, identifiers, none."""
    with open_store(areas_store) as con:
        names = [r["name"] for r in sql.rows(con, "area-names")]
        assert len(names) > 5
        cases: list[tuple[str, dict[str, str], dict[str, Any]]] = [
            ("source-hashes", {}, {}),
            ("cells-complete", {}, {"key": "cell-areas-9"}),  # bind: relation
            ("cells-missing", {"cell": "h3_9"}, {}),
            *[("area-get", {}, {"name": n}) for n in names],
        ]
        for name, idents, params in cases:
            want = sql.run_on(con, name, idents, **params).to_arrow_table()
            got = sql.arrow(con, name, idents, **params)
            assert got.num_rows == want.num_rows
            assert got.combine_chunks().equals(want.combine_chunks()), name
        assert sum(sql.arrow(con, "area-get", {}, name=n).num_rows for n in names) == len(names)
