"""Study areas and H3 grids on the shipped data, checked against independent computations."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import h3
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import Point, shape

from mapper import grid as grid_mod
from tests.conftest import (
    BOUNDARIES,
    MONACO,
    SWISS_CITIES,
    SWITZERLAND,
    invoke,
    read_rows,
    run_process,
)

GEOD = Geod(ellps="WGS84")


def _boundary(stem: str) -> shapely.Geometry:
    doc = json.loads((BOUNDARIES / f"{stem}.geojson").read_text())
    return shape(doc["features"][0]["geometry"])


def _grid(db: Path, area: str, *extra: str) -> dict[str, Any]:
    r = invoke("grid", area, "--format", "json", "--db", str(db), *extra)
    assert r.exit_code == 0, r.stderr
    doc: dict[str, Any] = json.loads(r.stdout)
    return doc


def _areas(db: Path) -> dict[str, dict[str, Any]]:
    r = invoke("area", "list", "--json", "--db", str(db))
    return {a["name"]: a for a in json.loads(r.stdout)["areas"]}


@pytest.mark.parametrize("name", list(SWISS_CITIES))
def test_city_counts_equal_an_independent_point_in_polygon(areas_store: Path, name: str) -> None:
    geom = _boundary(SWISS_CITIES[name])
    expected = Counter()
    for e in json.loads(SWITZERLAND.read_text()):
        if geom.intersects(Point(e["lon"], e["lat"])):
            expected[h3.latlng_to_cell(e["lat"], e["lon"], 9)] += 1
    g = _grid(areas_store, name, "--res", "9")
    got = {c["h3"]: c["cameras"] for c in g["cells"] if c["cameras"]}
    assert got == dict(expected)  # every h3 id equals h3.latlng_to_cell of its cameras
    assert sum(c["cameras"] for c in g["cells"]) == sum(expected.values()) > 0


@pytest.mark.parametrize("name", ["Zürich", "Genève", "Basel", "Aldersgate", "Monte-Carlo"])
def test_clipped_cell_areas_sum_to_the_area(areas_store: Path, name: str) -> None:
    g = _grid(areas_store, name)
    area = _areas(areas_store)[name]
    total = sum(c["area_km2"] for c in g["cells"])
    assert total == pytest.approx(area["geodesic_km2"], rel=0.005)
    assert 200 <= len(g["cells"]) <= 5000, (name, g["resolution"], len(g["cells"]))
    empty = [c for c in g["cells"] if c["cameras"] == 0]
    assert empty and all(c["per_km2"] == 0 for c in empty)
    for c in g["cells"]:
        assert h3.get_resolution(c["h3"]) == g["resolution"]
        assert len(c["h3"]) == 15 and h3.is_valid_cell(c["h3"])
        kinds = ("camera", "ALPR", "speed_camera", "guard", "gunshot_detector", "other", "unknown")
        assert c["cameras"] == sum(c[k] for k in kinds)


def test_default_resolution_rule() -> None:
    assert grid_mod.default_resolution(87.59) == 9
    assert grid_mod.default_resolution(2.9) == 11
    assert grid_mod.default_resolution(0.486) == 12
    assert grid_mod.default_resolution(41_000) == 6
    assert grid_mod.default_resolution(10_000_000) == 5


def test_official_area_wins_and_is_reported(areas_store: Path) -> None:
    a = _areas(areas_store)
    assert a["Zürich"]["area_km2"] == 87.92 and a["Zürich"]["area_official"] is True
    assert a["Zürich"]["geodesic_km2"] == pytest.approx(
        abs(GEOD.geometry_area_perimeter(_boundary("zurich"))[0]) / 1e6, rel=1e-9
    )
    assert a["Zürich"]["population"] == 409241 and a["Zürich"]["population_year"] == 2017
    assert a["Aldersgate"]["kind"] == "neighbourhood" and a["Aldersgate"]["area_official"] is False


def test_extract_extents_are_areas(areas_store: Path) -> None:
    a = _areas(areas_store)
    ext = a["munich_altstadt_2020-07-20 (extent)"]
    assert ext["kind"] == "extent"
    assert (ext["min_lon"], ext["min_lat"], ext["max_lon"], ext["max_lat"]) == pytest.approx(
        (11.5656571, 48.1314385, 11.5861277, 48.1433940)
    )
    g = _grid(areas_store, "munich_altstadt_2020-07-20 (extent)")
    # 23 of the extract's 209 cameras lie outside its header bounding box: they belong to
    # no figure of the extent. Count the inside ones independently.
    con = duckdb.connect(str(areas_store), read_only=True)
    pts = con.execute("SELECT lon, lat FROM cameras").fetchall()
    con.close()
    inside = [
        p for p in pts
        if ext["min_lon"] <= p[0] <= ext["max_lon"] and ext["min_lat"] <= p[1] <= ext["max_lat"]
    ]  # fmt: skip
    assert sum(c["cameras"] for c in g["cells"]) == len(inside) == 186


def test_monaco_quarters_from_the_pbf(areas_store: Path, tmp_path: Path) -> None:
    a = _areas(areas_store)
    quarters = {n for n, v in a.items() if v["kind"] == "admin"}
    assert quarters == {"La Rousse", "Monte-Carlo", "Fontvieille", "Monaco-Ville",
                        "La Condamine", "Larvotto"}  # fmt: skip
    db = tmp_path / "m.duckdb"
    r = invoke("area", "from-pbf", str(MONACO), "--db", str(db))
    assert r.exit_code == 0
    warned = [line for line in r.stderr.splitlines() if line.startswith("Warning:")]
    for name, level in [("Monaco", 2), ("Monaco", 8), ("Jardin Exotique", 10),
                        ("Les Monegetti", 10), ("Ravin de Sainte-Dévote", 10)]:  # fmt: skip
        assert any(f"{name} (relation/" in w and f"admin level {level})" in w for w in warned)


def test_grid_without_area_covers_the_store(areas_store: Path) -> None:
    r = invoke("grid", "--format", "json", "--db", str(areas_store))
    doc = json.loads(r.stdout)
    assert doc["resolution"] == 9
    assert sum(c["cameras"] for c in doc["cells"]) == 2611
    assert all(c["cameras"] > 0 for c in doc["cells"])


def test_grid_geojson_and_csv(areas_store: Path) -> None:
    r = invoke("grid", "Basel", "--format", "geojson", "--db", str(areas_store))
    doc = json.loads(r.stdout)
    assert doc["type"] == "FeatureCollection" and "OpenStreetMap" in doc["attribution"]
    assert all(shape(f["geometry"]).is_valid for f in doc["features"])
    r = invoke("grid", "Basel", "--format", "csv", "--db", str(areas_store))
    lines = r.stdout.splitlines()
    assert lines[0].startswith("# H3 grid of Basel") and "OpenStreetMap" in lines[1]
    assert lines[2].startswith("h3,cameras,")
    assert len(lines) - 3 == len(doc["features"])


def test_the_store_grid_csv_written_by_arrow_equals_the_rows_written_by_python(
    store_copy: Path,
) -> None:
    """``grid --format csv`` of the store goes through Arrow's CSV writer: byte for byte what
    the dictionaries give through ``output.to_csv``."""
    from mapper import ATTRIBUTION, output

    for res in (9, 12):
        got = invoke("grid", "--res", str(res), "--format", "csv", "--db", str(store_copy))
        g = grid_mod.grid(str(store_copy), None, res)
        assert g.table is not None and g.table.num_rows > 900
        want = output.to_csv(g.rows, grid_mod.COLUMNS, [
            f"H3 grid of all cameras at resolution {res}", f"Data {ATTRIBUTION}",
        ])  # fmt: skip
        assert got.stdout == want


def test_the_grid_json_and_geojson_written_as_they_go_equal_the_whole_documents(
    areas_store: Path,
) -> None:
    """``grid --format json|geojson`` writes its cells a batch at a time
    (``output.write_json``): byte for byte ``to_json`` of the whole document, for the store's
    grid (an Arrow table) and an area's (rows)."""
    from mapper import output

    for area, res in ((None, 12), ("Monte-Carlo", None), ("Basel", 10)):
        g = grid_mod.grid(str(areas_store), area, res)
        assert (g.table is not None) == (area is None) and len(g.rows) > 100
        args = [*([area] if area else []), *(["--res", str(res)] if res else [])]
        for fmt, doc in (("json", g.as_dict()), ("geojson", grid_mod.to_geojson(g))):
            got = invoke("grid", *args, "--format", fmt, "--db", str(areas_store))
            assert got.exit_code == 0, got.stderr
            assert got.stdout == output.to_json(doc) + "\n", (args, fmt)


@pytest.mark.parametrize(("fmt", "first"), [("csv", b"# H3 grid of all cameras"),
                                           ("json", b"{"), ("geojson", b"{")])  # fmt: skip
def test_a_reader_that_goes_away_from_the_grid_is_not_an_error(
    store_copy: Path, fmt: str, first: bytes
) -> None:
    """The store's grid (about 250 kB as CSV, more than a pipe holds) read one line at a time
    and the pipe closed after the first: exit 0, nothing on stderr."""
    import subprocess
    import sys

    code = "import sys; from mapper.cli import main; sys.argv[0] = 'camdensity'; main()"
    cmd = [sys.executable, "-c", code, "grid", "--res", "12", "--format", fmt]
    proc = subprocess.Popen(
        [*cmd, "--db", str(store_copy)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(first)
    proc.stdout.close()
    with proc.stderr:
        err = proc.stderr.read()
    assert proc.wait(timeout=120) == 0, err
    assert err == b""


def test_grid_cache_follows_the_store_state(areas_store: Path, tmp_path: Path) -> None:
    db = tmp_path / "c.duckdb"
    shutil.copy(areas_store, db)
    first = grid_mod.grid(str(db), "munich_altstadt_2020-07-20 (extent)")
    again = grid_mod.grid(str(db), "munich_altstadt_2020-07-20 (extent)")
    assert again.cached and again.rows == first.rows
    # a new input changes the state: the grid is computed again and sees the new cameras
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps([{"type": "node", "id": 1, "lat": 48.137, "lon": 11.575,
                                  "tags": {"man_made": "surveillance"}}]))  # fmt: skip
    # dated after the Munich extract, whose box holds the point (an undated input is older
    # than any dated one, and the Munich snapshot, which lacks the camera, would win)
    r = invoke("ingest", "--snapshot", "2024-01-01", "--db", str(db), str(extra))
    assert r.exit_code == 0
    after = grid_mod.grid(str(db), "munich_altstadt_2020-07-20 (extent)")
    assert not after.cached
    assert sum(r["cameras"] for r in after.rows) == sum(r["cameras"] for r in first.rows) + 1


def test_invalid_polygon_is_repaired_with_a_warning(tmp_path: Path, samples_store: Path) -> None:
    db = tmp_path / "s.duckdb"
    shutil.copy(samples_store, db)
    bowtie = {"type": "Polygon", "coordinates": [[[8.5, 47.3], [8.6, 47.4], [8.6, 47.3],
                                                  [8.5, 47.4], [8.5, 47.3]]]}  # fmt: skip
    f = tmp_path / "bowtie.geojson"
    f.write_text(json.dumps(bowtie))
    r = invoke("area", "add", "Bowtie", "--boundary", str(f), "--db", str(db))
    assert r.exit_code == 0, r.stderr
    assert "Warning:" in r.stderr and "invalid polygon repaired" in r.stderr
    assert _areas(db)["Bowtie"]["geodesic_km2"] > 0


@pytest.mark.parametrize(
    "geometry, message",
    [
        ({"type": "Point", "coordinates": [8.5, 47.3]}, "is a Point, not a Polygon"),
        ({"type": "Polygon", "coordinates": []}, "the boundary is empty"),
        ({"type": "Polygon", "coordinates": [[[800, 47], [801, 47], [801, 48], [800, 47]]]},
         "not longitude/latitude"),
    ],
)  # fmt: skip
def test_bad_boundaries_are_refused(
    geometry: dict[str, Any], message: str, tmp_path: Path, samples_store: Path
) -> None:
    db = tmp_path / "s.duckdb"
    shutil.copy(samples_store, db)
    before = db.read_bytes()
    f = tmp_path / "b.geojson"
    f.write_text(json.dumps({"type": "Feature", "geometry": geometry, "properties": {}}))
    r = invoke("area", "add", "X", "--boundary", str(f), "--db", str(db))
    assert r.exit_code == 1
    assert r.stderr.startswith("Error: ") and message in r.stderr
    assert db.read_bytes() == before


def test_area_errors(areas_store: Path, tmp_path: Path) -> None:
    r = invoke("grid", "zürich", "--db", str(areas_store))
    assert r.exit_code == 1 and "no area named 'zürich'" in r.stderr and "'Zürich'" in r.stderr
    r = invoke("grid", "Zürich", "--res", "14", "--db", str(areas_store))
    assert r.exit_code == 1 and "resolution 14 is out of range" in r.stderr
    r = invoke("area", "add", "Zürich", "--boundary", str(BOUNDARIES / "zurich.geojson"),
               "--db", str(areas_store))  # fmt: skip
    assert r.exit_code == 1 and "already exists; pass --replace" in r.stderr


def test_population_and_reported_can_be_set(areas_store: Path, tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    shutil.copy(areas_store, db)
    r = invoke("area", "set", "Monte-Carlo", "--population", "3500", "--population-year", "2016",
               "--db", str(db))  # fmt: skip
    assert r.exit_code == 0
    r = invoke("area", "set", "Zürich", "--reported", "1000", "--db", str(db))
    assert r.exit_code == 1 and "--reported-source" in r.stderr
    a = _areas(db)["Monte-Carlo"]
    assert (a["population"], a["population_year"]) == (3500, 2016)


# ----------------------------------------------------------------------------- stored cells
def _cells(db: Path) -> list[tuple[float, float, tuple[int | None, ...]]]:
    """Each camera's position and its stored cells at resolutions 5 to 12 (None: not yet)."""
    got = read_rows(
        db, "SELECT lat, lon, h3_5, h3_6, h3_7, h3_8, h3_9, h3_10, h3_11, h3_12 FROM cameras"
    )
    return [(r[0], r[1], tuple(r[2:])) for r in got]


def _with_cell(db: Path, res: int) -> int:
    return sum(1 for _, _, cells in _cells(db) if cells[res - 5] is not None)


def test_stored_cells_are_h3_latlng_to_cell_of_every_shipped_camera(store_copy: Path) -> None:
    """h3ronpy computes the stored ids: each must be h3-py's own, at its own resolution."""
    grid_mod.store_cells(str(store_copy), range(5, 13))
    cams = _cells(store_copy)
    con = duckdb.connect(str(store_copy), read_only=True)
    areas = dict(con.execute("SELECT cell, area_km2 FROM cell_areas").fetchall())
    con.close()
    assert len(cams) > 2500
    parents_differ = 0
    occupied = set()
    for lat, lon, cells in cams:
        finest = h3.latlng_to_cell(lat, lon, 15)
        for res in range(5, 13):
            cell = cells[res - 5]
            assert cell == h3.str_to_int(h3.latlng_to_cell(lat, lon, res)), (lat, lon, res)
            parents_differ += h3.cell_to_parent(finest, res) != h3.int_to_str(cell)
            occupied.add(cell)
    assert parents_differ > 0  # what a parent of a finer cell would have got wrong
    assert set(areas) == occupied
    for cell, km2 in list(areas.items())[:500]:
        assert km2 == h3.cell_area(h3.int_to_str(cell), "km^2")


def test_cells_computed_in_chunks_on_several_threads_are_h3s(
    store_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large inputs go to h3ronpy in one chunk per core: chunks of 700 on three 'cores' give
    h3-py's ids, in the cameras' order."""
    import numpy as np

    cams = _cells(store_copy)
    lat = np.array([c[0] for c in cams])
    lon = np.array([c[1] for c in cams])
    assert len(cams) > 2100  # three chunks, the last of another size
    monkeypatch.setattr(grid_mod, "CELLS_CHUNK", 700)
    monkeypatch.setattr(grid_mod, "_cores", lambda: 3)
    for res in (5, 9, 12):
        got = grid_mod.latlng_to_cells(lat, lon, res)
        want = [h3.str_to_int(h3.latlng_to_cell(a, b, res)) for a, b in zip(lat, lon, strict=True)]
        assert got.dtype == np.uint64 and got.tolist() == want


def test_cores_where_the_system_cannot_say_which(monkeypatch: pytest.MonkeyPatch) -> None:
    """macOS has no ``os.sched_getaffinity``: the count of CPUs stands for it."""
    import os

    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    assert grid_mod._cores() == (os.cpu_count() or 1)


def test_a_store_with_some_cells_gets_the_rest_and_every_area(store_copy: Path) -> None:
    """Cells already stored and cells computed now are counted alike when the areas missing
    are looked for (before the new cells are written)."""
    grid_mod.store_cells(str(store_copy), [10])
    con = duckdb.connect(str(store_copy))
    con.execute("UPDATE cameras SET h3_10 = NULL WHERE osm_id % 2 = 0")
    con.execute("DELETE FROM cell_areas")
    con.execute("DELETE FROM meta WHERE key = 'cell-areas-10'")
    kept = con.execute("SELECT count(h3_10), count(*) FROM cameras").fetchone()
    con.close()
    assert kept is not None and 0 < kept[0] < kept[1]
    table = grid_mod.store_grid(str(store_copy), 10)
    cams = _cells(store_copy)
    for lat, lon, cells in cams:
        assert cells[10 - 5] == h3.str_to_int(h3.latlng_to_cell(lat, lon, 10))
    occupied = {cells[10 - 5] for _, _, cells in cams}
    areas = dict(read_rows(store_copy, "SELECT cell, area_km2 FROM cell_areas"))
    assert set(areas) == occupied
    assert table.num_rows == len(occupied)
    for cell, km2 in areas.items():
        assert km2 == h3.cell_area(h3.int_to_str(cell), "km^2")


def test_cells_are_computed_on_first_use_and_kept(store_copy: Path) -> None:
    total = len(_cells(store_copy))
    assert _with_cell(store_copy, 10) == 0
    first = _grid(store_copy, "munich_altstadt_2020-07-20 (extent)", "--res", "10")
    assert _with_cell(store_copy, 10) == total  # every camera of the store, not only the area's
    again = _grid(store_copy, "munich_altstadt_2020-07-20 (extent)", "--res", "10")
    assert again == first
    doc = json.loads(invoke("grid", "--res", "10", "--format", "json", "--db",
                            str(store_copy)).stdout)  # fmt: skip
    con = duckdb.connect(str(store_copy), read_only=True)
    marked = con.execute("SELECT value FROM meta WHERE key = 'cell-areas-10'").fetchone()
    now = con.execute("SELECT value FROM meta WHERE key = 'state'").fetchone()
    con.close()
    assert sum(c["cameras"] for c in doc["cells"]) == total
    assert marked == now  # every area kept in this state: the next reader skips the look
    # a reader beside another process's reader cannot write: it computes the cells and
    # keeps nothing
    con = duckdb.connect(str(store_copy), read_only=True)
    try:
        r = run_process("grid", "--res", "11", "--format", "json", "--db", str(store_copy))
    finally:
        con.close()
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert sum(c["cameras"] for c in doc["cells"]) == 2611
    assert _with_cell(store_copy, 11) == 0
    # alone, it writes the cells first and reads them from the column: the same answer
    alone = invoke("grid", "--res", "11", "--format", "json", "--db", str(store_copy))
    assert json.loads(alone.stdout) == doc
    assert _with_cell(store_copy, 11) == total


def test_a_camera_moved_by_a_newer_snapshot_gets_the_cell_of_its_new_position(
    tmp_path: Path,
) -> None:
    from datetime import datetime

    from mapper.ingest import ingest

    def dump(name: str, lat: float) -> str:
        path = tmp_path / name
        path.write_text(json.dumps([{"type": "node", "id": 7, "lat": lat, "lon": 8.5,
                                     "tags": {"man_made": "surveillance"}}]))  # fmt: skip
        return str(path)

    db = tmp_path / "moved.duckdb"
    ingest([dump("a.json", 47.37)], str(db), snapshot=datetime(2023, 1, 1))
    grid_mod.store_cells(str(db), [12])
    ((_, _, before),) = _cells(db)
    assert before[12 - 5] == h3.str_to_int(h3.latlng_to_cell(47.37, 8.5, 12))
    ingest([dump("b.json", 47.38)], str(db), snapshot=datetime(2024, 1, 1))
    assert _cells(db) == [(47.38, 8.5, (None,) * 8)]  # the new row starts without cells
    doc = json.loads(invoke("grid", "--res", "12", "--format", "json", "--db", str(db)).stdout)
    assert [c["h3"] for c in doc["cells"]] == [h3.latlng_to_cell(47.38, 8.5, 12)]


def test_cells_of_a_v6_store_move_into_the_column(tmp_path: Path) -> None:
    """Schema v7 moves the cells a store kept by position (``point_cells``) to its cameras."""
    from mapper import sql
    from mapper.store import MIGRATIONS

    db = tmp_path / "v6.duckdb"
    cell = h3.str_to_int(h3.latlng_to_cell(47.37, 8.5, 9))
    con = duckdb.connect(str(db))
    for version, name in MIGRATIONS:
        if version <= 6:
            sql.run(con, name)
            sql.run(con, "schema-version-add", version=version)
    con.execute(
        "INSERT INTO cameras VALUES ('node', 7, 47.37, 8.5, MAP {'man_made': 'surveillance'}, "
        "'camera', 'unknown', 'unknown', NULL, NULL, NULL, [], false, 1)"
    )
    con.execute("INSERT INTO point_cells VALUES (9, 47.37, 8.5, $cell), (9, 1.0, 1.0, 1)",
                {"cell": cell})  # fmt: skip
    con.close()
    assert invoke("ingest", "--db", str(db), str(SWITZERLAND)).exit_code == 0  # upgrades it
    con = duckdb.connect(str(db), read_only=True)
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    con.close()
    assert "point_cells" not in tables
    assert [c for c in _cells(db) if c[:2] == (47.37, 8.5)] == [
        (47.37, 8.5, (None, None, None, None, cell, None, None, None))
    ]


def test_a_store_from_before_is_migrated_and_its_cells_filled(tmp_path: Path) -> None:
    from mapper import sql
    from mapper.store import MIGRATIONS, SCHEMA_VERSION

    db = tmp_path / "v4.duckdb"
    con = duckdb.connect(str(db))
    for version, name in MIGRATIONS:
        if version < 5:  # the schema before the cells
            sql.run(con, name)
            sql.run(con, "schema-version-add", version=version)
    con.close()
    r = invoke("grid", "--db", str(db))
    assert r.exit_code == 1 and "older camdensity" in r.stderr
    assert invoke("ingest", "--db", str(db), str(SWITZERLAND)).exit_code == 0
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT max(version) FROM schema_version").fetchone() == (SCHEMA_VERSION,)
    con.close()
    assert _with_cell(db, 9) == 0
    doc = json.loads(invoke("grid", "--format", "json", "--db", str(db)).stdout)
    assert sum(c["cameras"] for c in doc["cells"]) == 2144
    assert _with_cell(db, 9) == 2144
