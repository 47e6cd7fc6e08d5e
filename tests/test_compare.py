"""compare: figures checked against independent computations on the shipped data."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
import shapely
from shapely.geometry import Point, shape

from mapper import ATTRIBUTION, sql
from mapper.areas import AreaSpec, store_specs
from mapper.compare import gini, gini_with_empty, grade, rank
from mapper.grid import default_resolution
from tests.conftest import BOUNDARIES, SWISS_CITIES, SWITZERLAND, copy_cameras, invoke


def _compare(db: Path, *args: str) -> dict[str, Any]:
    r = invoke("compare", *args, "--format", "json", "--db", str(db))
    assert r.exit_code == 0, r.stderr
    doc: dict[str, Any] = json.loads(r.stdout)
    return doc


def test_swiss_cities(areas_store: Path) -> None:
    doc = _compare(areas_store, *SWISS_CITIES)
    assert doc["attribution"] == ATTRIBUTION and "resolution" in doc and "data_date" in doc
    rows = {r["area"]: r for r in doc["rows"]}
    assert set(rows) == set(SWISS_CITIES)
    elements = json.loads(SWITZERLAND.read_text())
    for name, stem in SWISS_CITIES.items():
        feature = json.loads((BOUNDARIES / f"{stem}.geojson").read_text())["features"][0]
        geom, props = shape(feature["geometry"]), feature["properties"]
        independent = sum(1 for e in elements if geom.intersects(Point(e["lon"], e["lat"])))
        r = rows[name]
        assert r["cameras"] == independent > 0
        assert r["area_official"] is True and r["area_km2"] == props["area_for_density_km2"]
        assert r["per_km2"] == pytest.approx(independent / props["area_for_density_km2"], abs=1e-3)
        assert r["per_1k"] == pytest.approx(independent / props["population"] * 1000, abs=1e-4)
        assert r["population"] == props["population"] and r["population_year"] == 2017
        assert sum(r["share_visibility"].values()) == pytest.approx(1, abs=0.001)
        assert sum(r["share_kind"].values()) == pytest.approx(1, abs=0.001)
        assert len(r["top_zones"]) <= 3
        assert r["grade"] in ("well tagged", "partly tagged", "barely tagged")
        assert 0 <= r["gini"] <= 1 and 0 < r["occupied_share"] <= 1 and r["max_cell"] >= 1
    # ranked on per_km2, descending, 1..5
    ordered = [r["per_km2"] for r in doc["rows"]]
    assert ordered == sorted(ordered, reverse=True)
    assert [r["rank"] for r in doc["rows"]] == [1, 2, 3, 4, 5]
    # each area on its own resolution, the grid rule by its own size; none forced
    assert doc["resolution"] is None
    assert {r["area"]: r["res"] for r in doc["rows"]} == {
        "Zürich": 9, "Bern": 10, "Genève": 10, "Lausanne": 10, "Basel": 10,
    }  # fmt: skip


def test_sort_by_population_puts_areas_without_one_last(areas_store: Path) -> None:
    doc = _compare(areas_store, "Zürich", "Aldersgate", "Basel", "--sort", "per_1k")
    assert [r["area"] for r in doc["rows"]][-1] == "Aldersgate"
    assert doc["rows"][-1]["rank"] is None and doc["rows"][-1]["per_1k"] is None


def test_gini() -> None:
    assert gini([3, 3, 3, 3]) == pytest.approx(0)
    assert gini([0] * 99 + [50]) == pytest.approx(0.99)
    assert gini([0, 0]) is None
    assert gini([]) is None
    assert 0 < gini([1, 2, 3, 10]) < 1  # type: ignore[operator]


def test_gini_with_empty_cells_equals_the_gini_of_every_cell() -> None:
    occupied = [1, 1, 2, 5, 9]
    for cells in (5, 6, 40):
        values = [0] * (cells - len(occupied)) + occupied
        ranked_sum = sum(j * x for j, x in enumerate(sorted(occupied), start=1))
        assert gini_with_empty(cells, len(occupied), sum(occupied), ranked_sum) == pytest.approx(
            gini(values)
        )
    assert gini_with_empty(10, 0, 0, 0) is None


def test_ties_share_a_rank() -> None:
    rows = [{"area": a, "cameras": n} for a, n in [("a", 5), ("b", 7), ("c", 5), ("d", 1)]]
    rank(rows, "cameras")
    assert [(r["area"], r["rank"]) for r in rows] == [("b", 1), ("a", 2), ("c", 2), ("d", 4)]


def test_grade_rule() -> None:
    assert grade({"a": 1, "b": 1, "c": 0.2, "d": 0.2}, 10) == "well tagged"
    assert grade({"a": 0.5, "b": 0.5, "c": 0, "d": 0.2}, 10) == "partly tagged"
    assert grade({"a": 0.1, "b": 0, "c": 0, "d": 0}, 10) == "barely tagged"
    assert grade({"a": 0, "b": 0, "c": 0, "d": 0}, 0) == "no cameras mapped"


def test_table_fits_100_columns_and_carries_date_and_attribution(areas_store: Path) -> None:
    r = invoke("compare", "--all", "--db", str(areas_store))
    assert r.exit_code == 0, r.stderr
    assert max(len(line) for line in r.stdout.splitlines()) <= 100
    assert "OpenStreetMap contributors" in r.stdout and "data date" in r.stdout
    assert "not all cameras" in r.stdout


def test_csv_and_markdown(areas_store: Path) -> None:
    r = invoke("compare", *SWISS_CITIES, "--format", "csv", "--db", str(areas_store))
    lines = r.stdout.splitlines()
    comments = [line for line in lines if line.startswith("#")]
    assert any("data date" in c for c in comments) and any(ATTRIBUTION in c for c in comments)
    rows = list(csv.DictReader(io.StringIO("\n".join(lines[len(comments) :]))))
    assert len(rows) == 5 and {"per_km2", "per_1k", "vis_public", "gini", "grade"} <= set(rows[0])
    md = invoke("compare", *SWISS_CITIES, "--format", "md", "--db", str(areas_store)).stdout
    assert "| rank | area |" in md and ATTRIBUTION in md and md.count("\n| ") >= 6


def test_kind_filter_and_all(areas_store: Path) -> None:
    doc = _compare(areas_store, "--all", "--kind", "neighbourhood")
    assert len(doc["rows"]) == 25 and {r["kind"] for r in doc["rows"]} == {"neighbourhood"}
    everything = _compare(areas_store, "--all")
    kinds = {r["kind"] for r in everything["rows"]}
    assert {"municipality", "neighbourhood", "extent", "admin"} <= kinds


def test_reported_share(areas_store: Path, tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    shutil.copy(areas_store, db)
    url = "https://example.org/zurich-count"
    r = invoke("area", "set", "Zürich", "--reported", "884", "--reported-source", url,
               "--db", str(db))  # fmt: skip
    assert r.exit_code == 0, r.stderr
    row = _compare(db, "Zürich")["rows"][0]
    assert row["reported_cameras"] == 884 and row["reported_source"] == url
    assert row["mapped_share"] == pytest.approx(row["cameras"] / 884, abs=1e-4)


def test_snapshot_given_for_undated_input(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    r = invoke("ingest", "--snapshot", "2023-06-14", str(SWITZERLAND), "--db", str(db))
    assert r.exit_code == 0 and "snapshot 2023-06-14T00:00:00Z" in r.stdout
    r = invoke("area", "add", "Basel", "--boundary", str(BOUNDARIES / "basel.geojson"),
               "--db", str(db))  # fmt: skip
    assert _compare(db, "Basel")["data_date"] == "2023-06-14"


def test_errors(areas_store: Path) -> None:
    r = invoke("compare", "--db", str(areas_store))
    assert r.exit_code == 1 and "name the areas to compare, or pass --all" in r.stderr
    r = invoke("compare", "Atlantis", "--db", str(areas_store))
    assert r.exit_code == 1 and "no area named 'Atlantis'" in r.stderr


# ----------------------------------------------------------------------------- at scale
#: The tiling of the store below: 3 x 3 copies of every camera and area, shifted by less
#: than the Swiss sample's own extent, so that copies interleave with each other's areas.
TILES = [(i * 0.37, j * 0.23) for j in range(3) for i in range(3)]


@pytest.fixture(scope="module")
def tiled_store(areas_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The areas store tiled 3 x 3: every camera and every area copied with a shift (areas
    renamed 'NAME #k'), about 23,000 cameras in about 330 areas."""
    db = tmp_path_factory.mktemp("tiled") / "tiled.duckdb"
    shutil.copy(areas_store, db)
    con = duckdb.connect(str(db))
    areas = con.execute(
        "SELECT name, kind, geometry, official_km2, population, population_year, admin_level "
        "FROM areas ORDER BY id"
    ).fetchall()
    con.close()
    copy_cameras(db, TILES[1:], 100_000_000_000_000)
    specs = []
    for k, (dx, dy) in enumerate(TILES[1:], start=1):
        for name, kind, wkb, official, pop, year, level in areas:
            geom = shapely.transform(shapely.from_wkb(wkb), lambda xy: xy + [dx, dy])  # noqa: B023
            specs.append(AreaSpec(
                name=f"{name} #{k}", kind=kind, geometry=geom, official_km2=official,
                population=pop, population_year=year, admin_level=level, source="tiled",
            ))  # fmt: skip
    store_specs(str(db), specs)
    return db


def test_compare_all_on_a_tiled_store_equals_an_independent_count(tiled_store: Path) -> None:
    doc = _compare(tiled_store, "--all")
    con = duckdb.connect(str(tiled_store), read_only=True)
    pts = con.execute("SELECT lon, lat FROM cameras").fetchnumpy()
    areas = con.execute("SELECT name, geometry FROM areas").fetchall()
    con.close()
    assert len(pts["lon"]) > 20_000 and len(areas) > 300
    expected = {}
    for name, wkb in areas:
        geom = shapely.from_wkb(wkb)
        shapely.prepare(geom)
        expected[name] = int(shapely.intersects_xy(geom, pts["lon"], pts["lat"]).sum())
    got = {r["area"]: r["cameras"] for r in doc["rows"]}
    assert got == expected
    assert sum(1 for n in expected.values() if n > 0) > 100


def test_compare_is_one_join_whatever_the_number_of_areas(
    tiled_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mapper import compare as compare_mod

    counted: list[str] = []
    real = sql.run

    def run(con: Any, name: str, /, **params: Any) -> Any:
        counted.append(name)
        return real(con, name, **params)

    monkeypatch.setattr(sql, "run", run)
    few = compare_mod.compare(str(tiled_store), ["Zürich", "Basel"])
    few_calls, counted[:] = len(counted), []
    many = compare_mod.compare(str(tiled_store), all_areas=True)
    assert len(few.rows) == 2 and len(many.rows) > 300
    assert len(counted) <= few_calls + 2  # + the selection query (names: none)
    assert counted.count("compare-join") == 1


def test_each_area_on_its_own_resolution_or_the_forced_one(tiled_store: Path) -> None:
    doc = _compare(tiled_store, "--all")
    assert doc["resolution"] is None
    km2 = _geodesic(tiled_store)
    for r in doc["rows"]:
        assert r["res"] == default_resolution(km2[r["area"]]), r["area"]
    assert {r["res"] for r in doc["rows"]} >= {9, 10, 11, 12}
    quarters = [r for r in doc["rows"] if r["area"].startswith("Monte-Carlo")]
    assert quarters and all(r["res"] == 12 for r in quarters)
    forced = _compare(tiled_store, "--all", "--res", "8")
    assert forced["resolution"] == 8 and {r["res"] for r in forced["rows"]} == {8}
    # concentration on the area's cells: occupied cells are at most the cells, and the
    # busiest cell at a coarser resolution holds at least as many cameras
    fine = {r["area"]: r for r in doc["rows"]}
    for r in forced["rows"]:
        f = fine[r["area"]]
        assert f["max_cell"] <= r["max_cell"] and f["cameras"] == r["cameras"]
        if r["cameras"]:
            assert 0 <= r["gini"] <= 1 and 0 < r["occupied_share"] <= 1
            assert round(r["occupied_share"] * r["cells"]) >= 1


def _geodesic(db: Path) -> dict[str, float]:
    """Every area's geodesic km² by name, as stored."""
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("SELECT name, geodesic_km2 FROM areas").fetchall()
    con.close()
    return {name: float(km2) for name, km2 in rows}


def test_top_and_formats(tiled_store: Path) -> None:
    doc = _compare(tiled_store, "--all", "--sort", "cameras", "--top", "7")
    assert len(doc["rows"]) == 7 and [r["rank"] for r in doc["rows"]][0] == 1
    every = _compare(tiled_store, "--all", "--sort", "cameras")
    assert doc["rows"] == every["rows"][:7]
    r = invoke("compare", "--all", "--top", "3", "--format", "csv", "--db", str(tiled_store))
    body = [line for line in r.stdout.splitlines() if not line.startswith("#")]
    assert r.exit_code == 0 and len(body) == 4 and "res" in body[0].split(",")
    r = invoke("compare", "--all", "--top", "5", "--db", str(tiled_store))
    assert r.exit_code == 0 and max(len(line) for line in r.stdout.splitlines()) <= 100
    assert "by each area's size" in r.stdout
    r = invoke("compare", "--all", "--top", "0", "--db", str(tiled_store))
    assert r.exit_code == 2


def test_within_and_admin_level_on_the_monaco_quarters(areas_store: Path) -> None:
    quarters = {"Fontvieille", "La Condamine", "La Rousse", "Larvotto", "Monaco-Ville",
                "Monte-Carlo"}  # fmt: skip
    extent = "monaco_2023-12-26 (extent)"
    level10 = _compare(areas_store, "--all", "--admin-level", "10")
    assert {r["area"] for r in level10["rows"]} == quarters
    assert all(r["admin_level"] == 10 and r["osm"].startswith("relation/") for r in level10["rows"])
    # inside the extract's extent: by the enclosing rule (box inside the box, then all but 1 %
    # of the area inside), computed here with shapely
    con = duckdb.connect(str(areas_store), read_only=True)
    rows = con.execute("SELECT name, geometry FROM areas").fetchall()
    con.close()
    geoms = {n: shapely.from_wkb(w) for n, w in rows}
    outer = geoms[extent]
    ox0, oy0, ox1, oy1 = outer.bounds
    expected = set()
    for n, g in geoms.items():
        x0, y0, x1, y1 = g.bounds
        boxed = x0 >= ox0 and y0 >= oy0 and x1 <= ox1 and y1 <= oy1
        if n != extent and boxed and g.intersection(outer).area >= 0.99 * g.area:
            expected.add(n)
    within = _compare(areas_store, "--all", "--within", extent)
    assert {r["area"] for r in within["rows"]} == expected == quarters - {"La Rousse"}
    # La Rousse reaches 0.0002° north of the extract's box
    both = _compare(areas_store, "--all", "--kind", "admin", "--admin-level", "10",
                    "--within", extent)  # fmt: skip
    assert {r["area"] for r in both["rows"]} == expected
    named = _compare(areas_store, "Zürich", "Larvotto", "La Rousse", "--within", extent)
    assert {r["area"] for r in named["rows"]} == {"Larvotto"}
    r = invoke("compare", "--all", "--admin-level", "8", "--db", str(areas_store))
    assert r.exit_code == 1 and "no areas to compare" in r.stderr
    r = invoke("compare", "--all", "--within", "relation/5986438", "--db", str(areas_store))
    assert r.exit_code == 1 and "no areas to compare" in r.stderr  # nothing in Monte-Carlo
    r = invoke("compare", "--all", "--within", "relation/1", "--db", str(areas_store))
    assert r.exit_code == 1 and "no area made from relation/1" in r.stderr


def test_shared_names_keep_their_relation_id_in_the_terminal_table() -> None:
    from mapper.compare import short_name

    assert short_name("Monte-Carlo (relation 110311)", 26) == "Monte-C… (relation 110311)"
    assert short_name("Larvotto", 26) == "Larvotto"
    assert short_name("A very long name without any relation at all", 26) == (
        "A very long name without …"
    )
