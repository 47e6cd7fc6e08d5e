"""Boundaries from OSM relations (mapper.sources.boundaries, ``area from-pbf``), areas keyed by
relation id, the display-name rule for repeated names and the ``relation/ID`` resolver."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import osmium
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import LineString, MultiPolygon, Point, mapping
from shapely.ops import polygonize, unary_union

from mapper import sql
from mapper.errors import InputError
from mapper.sources.boundaries import (
    Boundary,
    Incomplete,
    boundaries_from_osm,
    parse_population,
    population_date,
)
from mapper.store import SCHEMA_VERSION, open_store
from tests.conftest import MONACO, OSM, invoke, read_rows

LIECHTENSTEIN = OSM / "liechtenstein_2015-07-27.osm.pbf"
SHIPPED = sorted(OSM.glob("*.osm.pbf"))
QUARTERS = {"La Rousse", "Monte-Carlo", "Fontvieille", "Monaco-Ville", "La Condamine", "Larvotto"}
INCOMPLETE_QUARTERS = {"Jardin Exotique", "Les Monegetti", "Ravin de Sainte-Dévote"}
GEOD = Geod(ellps="WGS84")
#: Added to every id of the second Monaco copy (a relation id stays below 2**63).
OFFSET = 10**10


def geodesic_km2(geom: Any) -> float:
    return float(abs(GEOD.geometry_area_perimeter(geom)[0]) / 1e6)


# --------------------------------------------------------------------- independent assembly


def independent(path: Path) -> dict[int, tuple[float, int]]:
    """(geodesic km², parts) of every boundary relation whose member ways and nodes are all
    in ``path``: pyosmium way geometries, shapely ``polygonize`` of their noded lines, and a
    face kept when a ray from it crosses the lines an odd number of times (even-odd)."""
    members: dict[int, list[int]] = {}
    for rel in osmium.FileProcessor(str(path), osmium.osm.RELATION):
        tags = rel.tags
        if tags.get("boundary") == "administrative" and tags.get("type") in (
            "boundary",
            "multipolygon",
        ):
            members[rel.id] = [
                m.ref for m in rel.members if m.type == "w" and m.role in ("outer", "inner", "")
            ]
    wanted = {w for ids in members.values() for w in ids}
    lines: dict[int, LineString] = {}
    ends: dict[int, tuple[int, int]] = {}
    for obj in osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations():
        if obj.is_way() and obj.id in wanted:
            try:
                lines[obj.id] = LineString([(n.lon, n.lat) for n in obj.nodes])
            except (osmium.InvalidLocationError, ValueError):
                continue
            ends[obj.id] = (obj.nodes[0].ref, obj.nodes[-1].ref)
    found: dict[int, tuple[float, int]] = {}
    for rel_id, ids in members.items():
        if not ids or not all(w in lines for w in ids):
            continue
        degree = Counter(n for w in dict.fromkeys(ids) for n in ends[w])
        if any(k % 2 for k in degree.values()):  # a ring that does not close
            continue
        noded = unary_union([lines[w] for w in dict.fromkeys(ids)])
        east = noded.bounds[2] + 1.0
        inside = []
        for face in polygonize(noded):
            p = face.representative_point()
            crossings = LineString([(p.x, p.y), (east, p.y)]).intersection(noded)
            if len(getattr(crossings, "geoms", [crossings])) % 2:
                inside.append(face)
        if inside:
            merged = unary_union(inside)
            parts = len(getattr(merged, "geoms", [merged]))
            found[rel_id] = (sum(geodesic_km2(f) for f in inside), parts)
    return found


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """What ``area from-pbf`` stores for every shipped PBF (one store per file)."""
    folder = tmp_path_factory.mktemp("from-pbf")
    out = {}
    for path in SHIPPED:
        db = folder / f"{path.stem}.duckdb"
        r = invoke("area", "from-pbf", str(path), "--db", str(db))
        assert r.exit_code == 0, r.stderr
        if not db.exists():  # nothing complete in the file (a city-centre clip)
            assert r.stdout.startswith("0 areas added"), r.stdout
            out[path.name] = []
            continue
        rows = read_rows(
            db, "SELECT osm_id, name, osm_name, admin_level, geodesic_km2, geometry FROM areas"
        )
        out[path.name] = [
            {"osm_id": r[0], "name": r[1], "osm_name": r[2], "admin_level": r[3],
             "km2": r[4], "geometry": shapely.from_wkb(r[5])}
            for r in rows
        ]  # fmt: skip
    return out


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_stored_boundary_equals_an_independent_assembly(
    path: Path, stored: dict[str, list[dict[str, Any]]]
) -> None:
    ours = stored[path.name]
    theirs = independent(path)
    for area in ours:
        assert area["osm_id"] in theirs, f"{area['name']}: not assembled independently"
        km2, parts = theirs[area["osm_id"]]
        assert area["km2"] == pytest.approx(km2, rel=1e-3), area["name"]
        assert len(area["geometry"].geoms) == parts, area["name"]
        assert area["km2"] == pytest.approx(geodesic_km2(area["geometry"]), rel=1e-9)
    # and nothing that can be assembled is left out
    assert {a["osm_id"] for a in ours} == set(theirs)


def test_liechtenstein_municipalities_with_their_exclaves(
    stored: dict[str, list[dict[str, Any]]],
) -> None:
    areas = {a["name"]: a for a in stored[LIECHTENSTEIN.name]}
    municipalities = {n for n, a in areas.items() if a["admin_level"] == 8}
    assert len(municipalities) == 11
    parts = {n: len(areas[n]["geometry"].geoms) for n in municipalities}
    assert parts["Vaduz"] == 7 and parts["Planken"] == 5 and parts["Schaan"] == 5
    assert sum(1 for p in parts.values() if p > 1) == 7
    # the municipalities tile the country: their areas add up to it
    total = sum(areas[n]["km2"] for n in municipalities)
    assert total == pytest.approx(areas["Liechtenstein"]["km2"], rel=1e-3)
    assert 155 < areas["Liechtenstein"]["km2"] < 165  # 160 km² officially


def test_monaco_editions_give_their_level_10_quarters(
    stored: dict[str, list[dict[str, Any]]],
) -> None:
    quarters = {
        name: {a["osm_name"] for a in rows if a["admin_level"] == 10}
        for name, rows in stored.items()
        if name.startswith("monaco")
    }
    assert quarters["monaco_2023-12-26.osm.pbf"] == QUARTERS
    assert len(quarters["monaco_2020-07-19.osm.pbf"]) >= 6
    assert quarters["monaco_2012-07.osm.pbf"]


# --------------------------------------------------------------------------- the reader


@pytest.fixture(scope="module")
def monaco_all() -> tuple[list[Boundary], list[Incomplete]]:
    return boundaries_from_osm(str(MONACO))


def test_monaco_level_10_has_exactly_the_six_complete_quarters() -> None:
    done, skipped = boundaries_from_osm(str(MONACO), admin_level=10)
    assert {b.name for b in done} == QUARTERS
    assert all(b.admin_level == 10 and b.osm_name == b.name for b in done)
    assert {(i.name, i.admin_level) for i in skipped} == {(n, 10) for n in INCOMPLETE_QUARTERS}
    for b in done:
        assert isinstance(b.geometry, MultiPolygon) and b.geometry.is_valid
        assert b.tags["boundary"] == "administrative"
    assert [(b.admin_level, b.name) for b in done] == sorted((b.admin_level, b.name) for b in done)


def test_monaco_reports_what_the_extract_cuts_off(
    monaco_all: tuple[list[Boundary], list[Incomplete]],
) -> None:
    done, skipped = monaco_all
    assert {b.name for b in done} == QUARTERS
    by_name = {(i.name, i.admin_level): i.reason for i in skipped}
    assert len(skipped) == 14
    assert by_name[("Monaco", 8)] == "3 of 25 member ways are missing from the extract"
    assert by_name[("France", 2)] == "1757 of 1765 member ways are missing from the extract"
    assert by_name[("Jardin Exotique", 10)] == "1 of 7 member ways are missing from the extract"
    assert all("missing from the extract" in r for r in by_name.values())


def test_population_comes_from_the_tags(
    monaco_all: tuple[list[Boundary], list[Incomplete]],
) -> None:
    for b in monaco_all[0]:
        assert b.population == parse_population(b.tags.get("population"))
        assert b.population_date == population_date(b.tags)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("9573", 9573), ("9,573", 9573), ("9 573", 9573), (" 9\u00a0573 ", 9573),
        ("1.234.567", 1234567), ("about 9000", None), ("9,57", None), ("9.5", None),
        ("-3", None), ("", None), ("٣٤", None), (None, None),
    ],
)  # fmt: skip
def test_parse_population(value: str | None, expected: int | None) -> None:
    assert parse_population(value) == expected


def test_population_date() -> None:
    assert population_date({"population:date": " 2022-12-31 "}) == "2022-12-31"
    assert population_date({"source:population": "INSEE 2022"}) == "2022"
    assert population_date({"source:population": "https://x/000436387"}) is None
    assert population_date({}) is None


def _write_synthetic(path: Path) -> None:
    """A square with a hole and an island in it (ways out of order and reversed), and
    relations that cannot be assembled, each for another reason (an invented edge case)."""
    nodes = {
        1: (0.0, 0.0), 2: (1.0, 0.0), 3: (1.0, 1.0), 4: (0.0, 1.0),
        11: (0.25, 0.25), 12: (0.75, 0.25), 13: (0.75, 0.75), 14: (0.25, 0.75),
        21: (0.4, 0.4), 22: (0.6, 0.4), 23: (0.6, 0.6), 24: (0.4, 0.6),
        31: (2.0, 0.0), 32: (3.0, 0.0), 33: (3.0, 1.0),
    }  # fmt: skip
    ways = {
        101: [1, 2, 3], 102: [1, 4, 3], 103: [11, 12, 13, 14, 11], 104: [21, 24, 23, 22, 21],
        105: [31, 32, 33], 106: [31, 32, 999, 31], 107: [31, 33, 32, 2, 31],
    }  # fmt: skip
    admin = {"boundary": "administrative", "type": "boundary"}
    relations = [
        (1, {**admin, "name": "Holey", "admin_level": "8", "population": "9 573",
             "source:population": "Census 2011"},
         [("w", 103, "inner"), ("w", 102, "outer"), ("n", 1, "admin_centre"),
          ("w", 104, ""), ("w", 101, "outer"), ("w", 101, "outer")]),
        (2, {**admin, "name": "Open", "admin_level": "9"}, [("w", 105, "outer")]),
        (3, {**admin, "admin_level": "9"}, [("w", 101, "outer"), ("w", 999, "outer")]),
        (4, {**admin, "name": "Holed node", "admin_level": "9"}, [("w", 106, "outer")]),
        (5, {"boundary": "postal_code", "type": "boundary"}, [("w", 101, "outer")]),
        (6, {**admin, "type": "multilinestring", "admin_level": "8"}, [("w", 101, "")]),
        (7, {**admin, "name": "Nodes only", "admin_level": "9"}, [("n", 1, "admin_centre")]),
        (8, {**admin, "name": "Bowtie", "admin_level": "9"}, [("w", 107, "outer")]),
    ]  # fmt: skip
    writer = osmium.SimpleWriter(str(path))
    try:
        for nid, (lon, lat) in nodes.items():
            writer.add_node(osmium.osm.mutable.Node(id=nid, location=(lon, lat), version=1))
        for wid, refs in ways.items():
            writer.add_way(osmium.osm.mutable.Way(id=wid, nodes=refs, version=1))
        for rid, tags, members in relations:
            writer.add_relation(
                osmium.osm.mutable.Relation(id=rid, tags=tags, members=members, version=1)
            )
    finally:
        writer.close()


@pytest.mark.parametrize("suffix", [".osm.pbf", ".osm", ".osm.gz", ".osm.bz2"])
def test_synthetic_rings_holes_islands_and_reasons(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"synthetic{suffix}"
    _write_synthetic(path)
    done, skipped = boundaries_from_osm(str(path))
    assert [b.name for b in done] == ["Holey"]
    holey = done[0]
    assert holey.osm_id == 1 and holey.admin_level == 8
    assert holey.population == 9573 and holey.population_date == "2011"
    assert holey.geometry.is_valid
    assert holey.geometry.area == pytest.approx(1 - 0.25 + 0.04)
    assert len(holey.geometry.geoms) == 2  # the square with its hole, the island
    assert not holey.geometry.contains(Point(0.3, 0.3))
    assert {i.name: i.reason for i in skipped} == {
        "Open": "its rings do not close (2 open ends)",
        "relation/3": "1 of 2 member ways are missing from the extract",
        "Holed node": "1 node of its member ways is missing from the extract",
        "Nodes only": "it has no member ways",
        "Bowtie": "libosmium could not assemble its rings (they cross, touch or enclose nothing)",
    }
    only_8, none = boundaries_from_osm(str(path), admin_level=8)
    assert [b.name for b in only_8] == ["Holey"] and none == []


def test_unreadable_files_are_input_errors(tmp_path: Path) -> None:
    cut = tmp_path / "cut.osm.pbf"
    cut.write_bytes(MONACO.read_bytes()[:200_000])
    with pytest.raises(InputError, match="truncated or corrupt"):
        boundaries_from_osm(str(cut))
    with pytest.raises(InputError, match="cannot be read"):
        boundaries_from_osm(str(tmp_path / "absent.osm.pbf"))
    history = tmp_path / "synthetic.osh.pbf"
    _write_synthetic(history)
    with pytest.raises(InputError, match="a history file; boundaries are read from a snapshot"):
        boundaries_from_osm(str(history))
    text = tmp_path / "notes.osm.pbf"
    text.write_text("no OSM here\n", encoding="utf-8")
    with pytest.raises(InputError, match="not an OSM file"):
        boundaries_from_osm(str(text))


# ---------------------------------------------------------------------- repeated names


def _copy_monaco(path: Path, copies: tuple[int, ...]) -> None:
    """Monaco 2023 written once per entry of ``copies`` (k: every id + k * OFFSET, shifted
    k * 0.1° east), names kept: the same quarters' names on several relations."""
    nodes, ways, rels = [], [], []
    for o in osmium.FileProcessor(str(MONACO)):
        if o.is_node():
            nodes.append((o.id, o.location.lon, o.location.lat, dict(o.tags)))
        elif o.is_way():
            ways.append((o.id, [n.ref for n in o.nodes], dict(o.tags)))
        else:
            rels.append((o.id, [(m.type, m.ref, m.role) for m in o.members], dict(o.tags)))
    mutable = osmium.osm.mutable
    writer = osmium.SimpleWriter(str(path))
    try:
        for k in copies:
            for i, lon, lat, tags in nodes:
                writer.add_node(mutable.Node(id=i + k * OFFSET, location=(lon + k * 0.1, lat),
                                             tags=tags, version=1))  # fmt: skip
        for k in copies:
            for i, refs, tags in ways:
                writer.add_way(mutable.Way(id=i + k * OFFSET, nodes=[r + k * OFFSET for r in refs],
                                           tags=tags, version=1))  # fmt: skip
        for k in copies:
            for i, members, tags in rels:
                moved = [(t, r + k * OFFSET, role) for t, r, role in members]
                writer.add_relation(mutable.Relation(id=i + k * OFFSET, members=moved,
                                                     tags=tags, version=1))  # fmt: skip
    finally:
        writer.close()


@pytest.fixture(scope="module")
def twice(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("twice")
    files = {"both": folder / "monaco-2x1.osm.pbf", "second": folder / "monaco-second.osm.pbf"}
    _copy_monaco(files["both"], (0, 1))
    _copy_monaco(files["second"], (1,))
    return files


FONTVIEILLE = 2220206
FONTVIEILLE_2 = FONTVIEILLE + OFFSET


def _names(db: Path) -> dict[int, tuple[str, str | None]]:
    r = invoke("area", "list", "--json", "--db", str(db))
    assert r.exit_code == 0, r.stderr
    return {a["osm_id"]: (a["name"], a["osm_name"]) for a in json.loads(r.stdout)["areas"]}


def test_two_boundaries_of_one_name_are_both_stored(twice: dict[str, Path], tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    r = invoke("area", "from-pbf", twice["both"], "--admin-level", "10", "--db", db)
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "12 areas added, 6 incomplete relations skipped"
    names = _names(db)
    assert len(names) == 12
    for osm_id, (name, osm_name) in names.items():
        assert osm_name in QUARTERS and name == f"{osm_name} (relation {osm_id})"
    assert names[FONTVIEILLE_2] == (f"Fontvieille (relation {FONTVIEILLE_2})", "Fontvieille")

    ambiguous = (
        f"Error: 'Fontvieille' matches 2 areas: relation/{FONTVIEILLE} 'Fontvieille (relation "
        f"{FONTVIEILLE})' (admin level 10, no enclosing area in the store); "
        f"relation/{FONTVIEILLE_2} 'Fontvieille (relation {FONTVIEILLE_2})' (admin level 10, "
        "no enclosing area in the store); pass relation/ID or the exact name to choose one\n"
    )
    out = tmp_path / "m.html"
    for args in (["compare"], ["map", "-o", out], ["grid"]):
        r = invoke(*args, "Fontvieille", "--db", db)
        assert (r.exit_code, r.stderr) == (1, ambiguous), args
        r = invoke(*args, "fontvieille", "--db", db)
        assert r.exit_code == 1 and "'fontvieille' matches 2 areas" in r.stderr
        r = invoke(*args, f"relation/{FONTVIEILLE_2}", "--db", db)
        assert r.exit_code == 0, (args, r.stderr)
    r = invoke("compare", f"relation/{FONTVIEILLE}", f"relation/{FONTVIEILLE_2}", "--format",
               "json", "--db", db)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)["rows"]
    assert sorted(row["area"] for row in rows) == sorted(
        [
            f"Fontvieille (relation {FONTVIEILLE})",
            f"Fontvieille (relation {FONTVIEILLE_2})",
        ]
    )
    r = invoke("grid", "relation/1", "--db", db)
    assert (r.exit_code, r.stderr) == (
        1, "Error: no area made from relation/1 in the store; see 'camdensity area list'\n"
    )  # fmt: skip


def test_names_do_not_depend_on_the_order_of_import(twice: dict[str, Path], tmp_path: Path) -> None:
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    for db, order in ((a, (MONACO, twice["second"])), (b, (twice["second"], MONACO))):
        first = invoke("area", "from-pbf", order[0], "--admin-level", "10", "--db", db)
        assert first.exit_code == 0, first.stderr
        alone = _names(db)
        assert all(name == osm_name for name, osm_name in alone.values())  # plain while unique
        second = invoke("area", "from-pbf", order[1], "--admin-level", "10", "--db", db)
        assert second.exit_code == 0, second.stderr
    assert _names(a) == _names(b)
    assert _names(a)[FONTVIEILLE][0] == f"Fontvieille (relation {FONTVIEILLE})"
    # one left: the plain name comes back
    r = invoke("area", "remove", f"relation/{FONTVIEILLE_2}", "--db", a)
    assert r.stdout == f"area 'Fontvieille (relation {FONTVIEILLE_2})' removed\n"
    assert _names(a)[FONTVIEILLE][0] == "Fontvieille"
    r = invoke("area", "set", "Fontvieille", "--population", "3600", "--db", a)
    assert r.stdout == "area 'Fontvieille' updated\n"


def test_reimporting_a_relation_needs_replace(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    assert invoke("area", "from-pbf", MONACO, "--admin-level", "10", "--db", db).exit_code == 0
    before = _names(db)
    r = invoke("area", "from-pbf", MONACO, "--admin-level", "10", "--db", db)
    assert (r.exit_code, r.stderr.splitlines()[-1]) == (
        1, f"Error: relation/{FONTVIEILLE} is already in the store as area 'Fontvieille'; "
        "pass --replace to replace it",
    )  # fmt: skip
    r = invoke("area", "set", f"relation/{FONTVIEILLE}", "--population", "3600", "--db", db)
    assert r.exit_code == 0, r.stderr
    # one area named twice (by relation id and by name) is one panel, one row
    r = invoke("map", f"relation/{FONTVIEILLE}", "Fontvieille", "-o", tmp_path / "m.html",
               "--db", db)  # fmt: skip
    assert r.exit_code == 0 and "1 panel(s)" in r.stderr, r.stderr
    r = invoke("area", "from-pbf", MONACO, "--admin-level", "10", "--replace", "--db", db)
    assert r.exit_code == 0, r.stderr
    assert _names(db) == before
    with open_store(db) as con:
        assert sql.rows(con, "area-get", name="Fontvieille")[0]["population"] is None


def test_a_name_of_ones_own_moves_the_osm_area_aside(tmp_path: Path) -> None:
    """A GeoJSON area named like an OSM area: the OSM one shows its relation id, and a name
    both answer to lists both, each with its enclosing area."""
    db = tmp_path / "s.duckdb"
    assert invoke("area", "from-pbf", LIECHTENSTEIN, "--db", db).exit_code == 0
    with open_store(db) as con:
        vaduz = sql.rows(con, "area-get", name="Vaduz")[0]
    boundary = tmp_path / "vaduz.geojson"
    shape = shapely.from_wkb(vaduz["geometry"])
    boundary.write_text(json.dumps({"type": "Feature", "geometry": mapping(shape),
                                    "properties": {"population": 5696}}))  # fmt: skip
    r = invoke("area", "add", "Vaduz", "--boundary", boundary, "--db", db)
    assert r.exit_code == 0, r.stderr
    names = _names(db)
    assert names[1155956] == ("Vaduz (relation 1155956)", "Vaduz")
    assert names[None] == ("Vaduz", None)
    r = invoke("compare", "VADUZ", "--db", db)
    assert (r.exit_code, r.stderr) == (1, (
        "Error: 'VADUZ' matches 2 areas: 'Vaduz' (kind municipality, in 'Wahlkreis Oberland'); "
        "relation/1155956 'Vaduz (relation 1155956)' (admin level 8, in 'Wahlkreis Oberland'); "
        "pass relation/ID or the exact name to choose one\n"
    ))  # fmt: skip
    r = invoke("compare", "Vaduz", "relation/1155956", "--format", "json", "--db", db)
    assert r.exit_code == 0, r.stderr
    # removing the own one gives the OSM area its plain name back
    assert invoke("area", "remove", "Vaduz", "--db", db).exit_code == 0
    assert _names(db)[1155956] == ("Vaduz", "Vaduz")
    # a rename is a name of one's own: the rule leaves it alone
    r = invoke("area", "rename", "relation/1155956", "Vaduz (FL)", "--db", db)
    assert r.stdout == "area 'Vaduz' renamed to 'Vaduz (FL)'\n"
    assert _names(db)[1155956] == ("Vaduz (FL)", "Vaduz")


# --------------------------------------------------------------------------- migration


def test_a_v2_store_migrates(tmp_path: Path) -> None:
    db = tmp_path / "v2.duckdb"
    con = duckdb.connect(str(db))
    for version, block in ((1, "schema-v1"), (2, "schema-v2")):
        con.execute(sql.get(block).sql)
        con.execute("INSERT INTO schema_version VALUES (?)", [version])
    square = shapely.to_wkb(shapely.box(7.41, 43.73, 7.42, 43.74))
    old = [  # as the v2 from-pbf and fetch stored them
        ("Monaco (admin level 8)", 2220322, "monaco.osm.pbf"),
        ("relation/77", 77, "monaco.osm.pbf"),
        ("Zürich", 1682248, "OSM relation/1682248 via Nominatim"),
        ("Some way", 5, "OSM way/5 via Nominatim"),
        ("Bern", None, "bern.geojson"),
    ]
    for name, osm_id, source in old:
        con.execute(
            "INSERT INTO areas (name, kind, geometry, geodesic_km2, osm_id, source, min_lon, "
            "min_lat, max_lon, max_lat) VALUES (?, 'admin', ?, 1.0, ?, ?, 7.41, 43.73, 7.42, "
            "43.74)",
            [name, square, osm_id, source],
        )
    con.close()
    r = invoke("area", "from-pbf", MONACO, "--admin-level", "10", "--db", db)  # writes: migrates
    assert r.exit_code == 0, r.stderr
    with open_store(db) as con:
        assert con.execute("SELECT max(version) FROM schema_version").fetchone() == (
            SCHEMA_VERSION,
        )
        rows = {r["name"]: r for r in sql.rows(con, "area-list")}
    got = {n: (rows[n]["osm_type"], rows[n]["osm_name"]) for n, _, _ in old}
    assert got == {
        "Monaco (admin level 8)": ("relation", "Monaco"),
        "relation/77": ("relation", None),
        "Zürich": ("relation", None),
        "Some way": ("way", None),
        "Bern": (None, None),
    }
    assert "Fontvieille" in rows
    r = invoke("grid", "way/5", "--db", db)
    assert r.exit_code == 0, r.stderr


def test_site_config_compare_names_take_relation_ids(
    twice: dict[str, Path], tmp_path: Path
) -> None:
    from mapper.errors import AmbiguousArea
    from mapper.site_build import _named
    from mapper.store import open_store

    def _named_in(db: Path, names: list[str]) -> list[str]:
        with open_store(db) as con:
            return _named(con, names)

    db = tmp_path / "s.duckdb"
    assert (
        invoke("area", "from-pbf", twice["both"], "--admin-level", "10", "--db", db).exit_code == 0
    )
    got = _named_in(db, [f"relation/{FONTVIEILLE_2}", "Atlantis", "relation/1"])
    assert got == [f"Fontvieille (relation {FONTVIEILLE_2})"]
    with pytest.raises(AmbiguousArea, match="'Larvotto' matches 2 areas"):
        _named_in(db, ["Larvotto"])


def test_display_names_are_a_function_of_the_set() -> None:
    from itertools import permutations

    from mapper.areas import display_names

    named = [(1, "Neustadt", 11), (2, "Neustadt", 12), (3, "Altstadt", 13), (4, "Au", 14)]
    expected = {
        1: "Neustadt (relation 11)", 2: "Neustadt (relation 12)", 3: "Altstadt",
        4: "Au (relation 14)",
    }  # fmt: skip
    for order in permutations(named):
        assert display_names(order, given=["Au"]) == expected
    assert display_names(named[:1]) == {1: "Neustadt"}
