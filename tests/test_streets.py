"""Streets and buildings: the reader (mapper/sources/streets.py), the store (schema v6,
``camdensity streets``) and the street figures per area and per H3 cell, held against an
independent computation (pyosmium way geometries, pyproj geodesic lengths, shapely clipping).
"""

from __future__ import annotations

from pathlib import Path

import osmium
import osmium.geom
import pytest
import shapely
from pyproj import Geod

from mapper.areas import geometry_of
from mapper.areas import get as get_area
from mapper.coverage import area_coverage, cell_polygons
from mapper.grid import area_grid, prepare
from mapper.sources.streets import STREET_HIGHWAYS, WALK_HIGHWAYS, read_streets
from mapper.store import open_store
from tests.conftest import MONACO, MUNICH, invoke

EXTENT = "munich_altstadt_2020-07-20 (extent)"
STREETS = {
    "motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "residential",
    "living_street", "service", "motorway_link", "trunk_link", "primary_link",
    "secondary_link", "tertiary_link",
}  # fmt: skip
WALK = {"pedestrian", "footway", "path", "steps", "cycleway", "living_street"}
GEOD = Geod(ellps="WGS84")


def _independent(path: Path) -> dict[str, list[shapely.LineString]]:
    """Every street and walking way of the file as a line, by pyosmium's WKB factory."""
    wkb = osmium.geom.WKBFactory()
    out: dict[str, list[shapely.LineString]] = {"streets": [], "walk": []}
    fp = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations()
    for obj in fp:
        if not isinstance(obj, osmium.osm.Way) or "highway" not in obj.tags:
            continue
        hw = obj.tags["highway"]
        if obj.tags.get("area") == "yes" or (hw not in STREETS and hw not in WALK):
            continue
        line = shapely.from_wkb(bytes.fromhex(wkb.create_linestring(obj)))
        if hw in STREETS:
            out["streets"].append(line)
        if hw in WALK:
            out["walk"].append(line)
    return out


def _km(lines: list[shapely.LineString], shape: shapely.Geometry) -> float:
    return sum(GEOD.geometry_length(line.intersection(shape)) for line in lines) / 1000


@pytest.fixture(scope="module")
def munich_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("streets") / "munich.duckdb"
    assert invoke("ingest", "--db", db, MUNICH).exit_code == 0
    r = invoke("streets", "--db", db, MUNICH)
    assert r.exit_code == 0, r.stderr
    assert "street ways" in r.stdout and "buildings" in r.stdout
    return db


def test_documented_lists() -> None:
    assert set(STREET_HIGHWAYS) == STREETS
    assert set(WALK_HIGHWAYS) == WALK


def test_reader_counts_and_lengths_match_pyosmium() -> None:
    d = read_streets(str(MUNICH))
    ref = _independent(MUNICH)
    assert sum(d.street) == len(ref["streets"])
    assert sum(d.walk) == len(ref["walk"])
    ours = sum(x for x, s in zip(d.length_m, d.street, strict=True) if s) / 1000
    theirs = sum(GEOD.geometry_length(g) for g in ref["streets"]) / 1000
    assert ours == pytest.approx(theirs, rel=1e-6)
    # buildings: closed ways and multipolygons, valid polygons
    assert len(d.buildings) > 2000
    assert {"way", "relation"} == set(d.building_types)
    assert shapely.is_valid(d.buildings).all()
    assert set(shapely.get_type_id(d.buildings)) == {6}  # MultiPolygon


def test_street_length_per_area_and_per_cell(munich_store: Path) -> None:
    ref = _independent(MUNICH)
    with open_store(munich_store) as con:
        prepare(con)
        area = get_area(con, EXTENT)
        cov = area_coverage(con, area)
        cells = area_grid(con, area, 10)
    shape = geometry_of(area)
    fig = cov.figures()
    assert fig["street_km"] == pytest.approx(_km(ref["streets"], shape), rel=0.005)
    assert fig["walk_km"] == pytest.approx(_km(ref["walk"], shape), rel=0.005)
    ids = [c["h3"] for c in cells]
    ours = cov.cells(ids, [c["cameras"] for c in cells])
    polys = cell_polygons(ids)
    checked = 0
    for row, poly in zip(ours, polys, strict=True):
        theirs = _km(ref["streets"], poly.intersection(shape))
        if theirs > 0.05:
            assert row["street_km"] == pytest.approx(theirs, rel=0.005), row["h3"]
            checked += 1
        else:
            assert row["street_km"] == pytest.approx(theirs, abs=0.0005)
    assert checked > 20
    assert sum(r["street_km"] for r in ours) == pytest.approx(fig["street_km"], rel=0.005)


def test_streets_rerun_is_unchanged(munich_store: Path) -> None:
    r = invoke("streets", "--db", munich_store, MUNICH)
    assert r.exit_code == 0
    assert "already stored" in r.stdout


def test_streets_errors(tmp_path: Path) -> None:
    bad = tmp_path / "x.osm.pbf"
    bad.write_bytes(b"not osm")
    r = invoke("streets", "--db", tmp_path / "s.duckdb", bad)
    assert r.exit_code == 1
    assert r.stderr.startswith("Error: ")
    assert "not an OSM file" in r.stderr
    r = invoke("streets", "--db", tmp_path / "s.duckdb", tmp_path / "missing.osm.pbf")
    assert r.exit_code == 1
    assert r.stderr.startswith("Error: ")
    cut = tmp_path / "cut.osm.pbf"
    cut.write_bytes(MUNICH.read_bytes()[:400_000])
    r = invoke("streets", "--db", tmp_path / "s.duckdb", cut)
    assert r.exit_code == 1
    assert r.stderr.startswith("Error: ") and "truncated or corrupt" in r.stderr


def test_store_without_streets_gives_no_figures(tmp_path: Path) -> None:
    db = tmp_path / "m.duckdb"
    assert invoke("ingest", "--db", db, MONACO).exit_code == 0
    with open_store(db) as con:
        prepare(con)
        area = get_area(con, "monaco_2023-12-26 (extent)")
        fig = area_coverage(con, area).figures()
    assert set(fig.values()) == {None}


def test_history_files_are_refused(tmp_path: Path) -> None:
    history = MUNICH.parent.parent / "history" / "faroe-islands_2017.osh.pbf"
    r = invoke("streets", "--db", tmp_path / "h.duckdb", history)
    assert r.exit_code == 1
    assert r.stderr.startswith("Error: ") and "a history file" in r.stderr


def test_only_areas_the_clip_holds_get_street_figures(munich_store: Path, tmp_path: Path) -> None:
    """An area half outside the extract's box would show only the streets the clip holds:
    it gets none; an area inside the box gets them."""
    import json
    import shutil

    db = tmp_path / "copy.duckdb"
    shutil.copy(munich_store, db)
    boxes = {"inside": (11.570, 48.135, 11.580, 48.140), "across": (11.580, 48.135, 11.600, 48.140)}
    for name, (x0, y0, x1, y1) in boxes.items():
        geo = tmp_path / f"{name}.geojson"
        ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
        polygon = {"type": "Polygon", "coordinates": [ring]}
        geo.write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": polygon}))
        assert invoke("area", "add", name, "--boundary", geo, "--db", db).exit_code == 0
    r = invoke("compare", "inside", "across", "--db", db, "--format", "json")
    assert r.exit_code == 0, r.stderr
    rows = {row["area"]: row for row in json.loads(r.stdout)["rows"]}
    assert rows["inside"]["street_km"] > 0 and rows["inside"]["coverage"] is not None
    assert rows["across"]["street_km"] is None and rows["across"]["coverage"] is None


def test_grid_and_compare_outputs_carry_the_street_figures(munich_store: Path) -> None:
    import csv
    import io
    import json

    r = invoke("grid", EXTENT, "--res", "10", "--format", "csv", "--db", munich_store)
    assert r.exit_code == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO("".join(
        line for line in r.stdout.splitlines(keepends=True) if not line.startswith("#")
    ))))  # fmt: skip
    assert {"street_km", "walk_km", "per_street_km", "coverage", "coverage_discs"} <= set(rows[0])
    grid_km = sum(float(x["street_km"]) for x in rows if x["street_km"])
    r = invoke("compare", EXTENT, "--format", "json", "--sort", "coverage", "--db", munich_store)
    assert r.exit_code == 0, r.stderr
    (row,) = json.loads(r.stdout)["rows"]
    assert grid_km == pytest.approx(row["street_km"], rel=0.005)
    assert row["per_street_km"] == pytest.approx(row["cameras"] / row["street_km"], rel=1e-3)
    r = invoke("compare", EXTENT, "--format", "csv", "--db", munich_store)
    header = next(line for line in r.stdout.splitlines() if not line.startswith("#"))
    assert header.endswith("street_km,walk_km,per_street_km,directed,undirected,coverage,"
                           "coverage_discs")  # fmt: skip
    table = invoke("compare", EXTENT, "--db", munich_store).stdout
    assert "street km" in table and all(len(line) <= 100 for line in table.splitlines())


def test_a_file_without_a_header_box_speaks_for_the_box_of_its_nodes() -> None:
    monaco_2012 = MONACO.parent / "monaco_2012-07.osm.pbf"
    lons, lats = [], []
    for node in osmium.FileProcessor(str(monaco_2012), osmium.osm.NODE):
        lons.append(node.location.lon)
        lats.append(node.location.lat)
    assert read_streets(str(monaco_2012)).bbox == (min(lons), min(lats), max(lons), max(lats))
    assert read_streets(str(MUNICH)).bbox == pytest.approx(
        (11.5657, 48.1314, 11.5861, 48.1434), abs=1e-4
    )
