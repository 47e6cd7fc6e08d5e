"""Tests for mapper.sources.pbf_boundaries: admin boundaries assembled from a PBF's relations."""

from __future__ import annotations

from pathlib import Path

import osmium
import pytest
from pyproj import Geod
from shapely.geometry import LineString, MultiPolygon
from shapely.ops import polygonize, unary_union

from mapper.errors import InputError
from mapper.sources import pbf_boundaries
from mapper.sources.pbf_boundaries import (
    Boundary,
    Incomplete,
    boundaries_from_pbf,
    parse_population,
    population_date,
)

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples" / "osm"
MONACO = SAMPLES / "monaco_2023-12-26.osm.pbf"
QUARTERS = {"La Rousse", "Monte-Carlo", "Fontvieille", "Monaco-Ville", "La Condamine", "Larvotto"}
INCOMPLETE_QUARTERS = {"Jardin Exotique", "Les Monegetti", "Ravin de Sainte-Dévote"}
GEOD = Geod(ellps="WGS84")


def geodesic_km2(geom: object) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0]) / 1e6


@pytest.fixture(scope="module")
def monaco_all() -> tuple[list[Boundary], list[Incomplete]]:
    return boundaries_from_pbf(str(MONACO))


@pytest.fixture(scope="module")
def monaco_10() -> tuple[list[Boundary], list[Incomplete]]:
    return boundaries_from_pbf(str(MONACO), admin_level=10)


@pytest.fixture(scope="module")
def independent_areas() -> dict[str, float]:
    """Level-10 quarters read with pyosmium and polygonized from their member ways' lines."""
    members: dict[str, list[int]] = {}
    for rel in osmium.FileProcessor(str(MONACO), osmium.osm.RELATION):
        tags = rel.tags
        if tags.get("boundary") == "administrative" and tags.get("admin_level") == "10":
            members[tags.get("name")] = [m.ref for m in rel.members if m.type == "w"]
    wanted = {w for ids in members.values() for w in ids}
    lines: dict[int, LineString] = {}
    reader = osmium.FileProcessor(str(MONACO), osmium.osm.NODE | osmium.osm.WAY)
    for obj in reader.with_locations():
        if obj.is_way() and obj.id in wanted:
            try:
                lines[obj.id] = LineString([(n.lon, n.lat) for n in obj.nodes])
            except osmium.InvalidLocationError:
                continue
    areas: dict[str, float] = {}
    for name, ids in members.items():
        if ids and all(w in lines for w in ids):
            faces = polygonize(unary_union([lines[w] for w in ids]))
            areas[name] = sum(geodesic_km2(f) for f in faces)
    return areas


# --------------------------------------------------------------------------- Monaco


def test_monaco_level_10_has_exactly_the_six_complete_quarters(
    monaco_10: tuple[list[Boundary], list[Incomplete]],
) -> None:
    done, skipped = monaco_10
    assert {b.name for b in done} == QUARTERS
    assert len(done) == 6
    assert all(b.admin_level == 10 for b in done)
    assert {(i.name, i.admin_level) for i in skipped} == {(n, 10) for n in INCOMPLETE_QUARTERS}
    for b in done:
        assert isinstance(b.geometry, MultiPolygon)
        assert b.geometry.is_valid and not b.geometry.is_empty
        assert b.tags["boundary"] == "administrative"
        minx, miny, maxx, maxy = b.geometry.bounds
        assert 7.40 < minx < maxx < 7.45 and 43.72 < miny < maxy < 43.76
    assert [(b.admin_level, b.name) for b in done] == sorted((b.admin_level, b.name) for b in done)


def test_monaco_without_a_level_reports_what_the_extract_cuts_off(
    monaco_all: tuple[list[Boundary], list[Incomplete]],
    monaco_10: tuple[list[Boundary], list[Incomplete]],
) -> None:
    done, skipped = monaco_all
    assert [(b.osm_id, b.name) for b in done] == [(b.osm_id, b.name) for b in monaco_10[0]]
    levels = {(i.name, i.admin_level) for i in skipped}
    assert {("Monaco", 2), ("Monaco", 8)} <= levels
    assert {(n, 10) for n in INCOMPLETE_QUARTERS} <= levels
    # The French relations around Monaco reach far outside the clip as well.
    assert {("France", 2), ("Alpes-Maritimes", 6), ("Nice", 7), ("Beausoleil", 8)} <= levels
    assert {i.admin_level for i in skipped if i.name not in INCOMPLETE_QUARTERS} <= {
        2,
        3,
        4,
        6,
        7,
        8,
    }
    assert len(skipped) == 14
    by_name = {(i.name, i.admin_level): i.reason for i in skipped}
    assert by_name[("Monaco", 8)] == "3 of 25 member ways are missing from the extract"
    assert all("missing from the extract" in i.reason for i in skipped)


def test_quarter_areas_match_an_independent_pyosmium_assembly(
    monaco_10: tuple[list[Boundary], list[Incomplete]], independent_areas: dict[str, float]
) -> None:
    assert set(independent_areas) == QUARTERS
    for b in monaco_10[0]:
        ours = geodesic_km2(b.geometry)
        assert 0.1 < ours < 1.0
        assert ours == pytest.approx(independent_areas[b.name], rel=0.005), b.name


def test_population_comes_from_the_tags(
    monaco_all: tuple[list[Boundary], list[Incomplete]],
) -> None:
    for b in monaco_all[0]:
        assert b.population == parse_population(b.tags.get("population"))
        assert b.population_date == population_date(b.tags)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("9573", 9573),
        ("9,573", 9573),
        ("9 573", 9573),
        (" 9\u00a0573 ", 9573),
        ("1.234.567", 1234567),
        ("39050", 39050),
        ("about 9000", None),
        ("9,57", None),
        ("9.5", None),
        ("-3", None),
        ("", None),
        ("٣٤", None),
        (None, None),
    ],
)
def test_parse_population(value: str | None, expected: int | None) -> None:
    assert parse_population(value) == expected


def test_population_date() -> None:
    assert population_date({"population:date": " 2022-12-31 "}) == "2022-12-31"
    assert population_date({"source:population": "INSEE 2022"}) == "2022"
    assert population_date({"source:population": "https://x/000436387"}) is None
    assert population_date({}) is None


def test_truncated_pbf_is_an_input_error(tmp_path: Path) -> None:
    cut = tmp_path / "cut.osm.pbf"
    cut.write_bytes(MONACO.read_bytes()[:200_000])
    with pytest.raises(InputError, match="truncated or corrupt"):
        boundaries_from_pbf(str(cut))


def test_missing_or_foreign_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        boundaries_from_pbf(str(tmp_path / "absent.osm.pbf"))
    text = tmp_path / "notes.osm.pbf"
    text.write_text("<osm></osm>\n", encoding="utf-8")
    with pytest.raises(InputError, match="not an OSM PBF"):
        boundaries_from_pbf(str(text))


@pytest.mark.parametrize(
    "name",
    [
        "helsinki_kamppi_kluuvi_2019.osm.pbf",
        "london_city_holborn_2020-07-20.osm.pbf",
        "munich_altstadt_2020-07-20.osm.pbf",
    ],
)
def test_other_samples_do_not_crash(name: str) -> None:
    done, skipped = boundaries_from_pbf(str(SAMPLES / name))
    assert skipped
    for b in done:
        assert b.geometry.is_valid and not b.geometry.is_empty
    assert all(i.reason for i in skipped)


# --------------------------------------------------------------------------- synthetic


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A square with a hole and an island in it (ways out of order and reversed), plus
    relations with an open ring, a missing way, a missing node and ones to ignore."""
    path = tmp_path_factory.mktemp("pbf") / "synthetic.osm.pbf"
    nodes = {
        1: (0.0, 0.0), 2: (1.0, 0.0), 3: (1.0, 1.0), 4: (0.0, 1.0),
        11: (0.25, 0.25), 12: (0.75, 0.25), 13: (0.75, 0.75), 14: (0.25, 0.75),
        21: (0.4, 0.4), 22: (0.6, 0.4), 23: (0.6, 0.6), 24: (0.4, 0.6),
        31: (2.0, 0.0), 32: (3.0, 0.0), 33: (3.0, 1.0),
    }  # fmt: skip
    ways = {
        101: [1, 2, 3],
        102: [1, 4, 3],  # must be reversed to follow 101
        103: [11, 12, 13, 14, 11],
        104: [21, 24, 23, 22, 21],
        105: [31, 32, 33],
        106: [31, 32, 999, 31],  # node 999 is not in the file
    }
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
    return path


def test_synthetic_rings_holes_and_islands(synthetic: Path) -> None:
    done, skipped = boundaries_from_pbf(str(synthetic))
    assert [b.name for b in done] == ["Holey"]
    holey = done[0]
    assert holey.osm_id == 1 and holey.admin_level == 8
    assert holey.population == 9573 and holey.population_date == "2011"
    assert holey.geometry.is_valid
    assert holey.geometry.area == pytest.approx(1 - 0.25 + 0.04)
    assert len(holey.geometry.geoms) == 2  # the square with its hole, the island
    assert not holey.geometry.contains(LineString([(0.3, 0.3), (0.31, 0.31)]))
    reasons = {i.name: i.reason for i in skipped}
    assert reasons == {
        "Open": "outer ring does not close (2 open ends)",
        "relation/3": "1 of 2 member ways are missing from the extract",
        "Holed node": "1 nodes of its member ways are missing from the extract",
    }
    assert [i.admin_level for i in skipped] == [9, 9, 9]


def test_synthetic_level_filter_and_member_cap(
    synthetic: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pbf_boundaries, "MAX_MEMBERS", 5)
    done, skipped = boundaries_from_pbf(str(synthetic), admin_level=8)
    assert done == []  # level 8 leaves out the level-9 relations; the cap skips Holey
    assert [(i.name, i.reason) for i in skipped] == [
        ("Holey", "6 members, over the limit of 5 per relation")
    ]
