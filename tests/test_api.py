"""The Python API (``mapper.api``, ``from mapper import Store``): every method on the shipped
samples, its frames' types, columns and CRS, and its numbers against the CLI's JSON output
for the same store; its errors against the CLI's ``Error:`` lines; the examples of
``docs/api.md`` run as doctests.

``fetch`` runs against the local Nominatim and Overpass of ``tests/live_server.py`` (built
from the shipped data, as in ``tests/test_live.py``), offline.
"""

from __future__ import annotations

import doctest
import gc
import html
import inspect
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import click
import folium
import geopandas as gpd
import h3
import pandas as pd
import pytest
import shapely
from branca.element import Figure
from shapely.geometry import box

from mapper import Store, api
from mapper.assets import remote_references
from mapper.cli import cli
from mapper.compare import FLAT_COLUMNS
from mapper.errors import AmbiguousArea, CamdensityError, InputError, NotFound, StoreError
from mapper.grid import COLUMNS as GRID_COLUMNS
from mapper.sources import live
from tests.conftest import (
    ALL_SAMPLES,
    BOUNDARIES,
    MONACO,
    MUNICH,
    OSM,
    ROOT,
    SWISS_CITIES,
    SWITZERLAND,
    invoke,
)
from tests.live_server import SWISS_TIMESTAMP, FakeOSM, boundary_place

DOC = ROOT / "docs" / "api.md"
WARDS = BOUNDARIES / "neighbourhoods" / "city-of-london_wards.geojson"


def cli_json(*args: Any) -> Any:
    r = invoke(*args)
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def cli_error(*args: Any) -> str:
    """The message of the CLI's one ``Error:`` line."""
    r = invoke(*args)
    assert r.exit_code == 1, (r.stdout, r.stderr)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.stderr
    return lines[0].removeprefix("Error: ")


def same(a: Any, b: Any) -> bool:
    """Equal, with pandas' missing values (NA, NaN, NaT) equal to JSON's null."""
    if b is None:
        return a is None or bool(pd.isna(a))
    if isinstance(b, float):
        return bool(a == pytest.approx(b, rel=1e-12, abs=1e-12))
    if isinstance(b, list) and not isinstance(a, list | dict | str):
        return list(a) == b
    return bool(a == b)


def assert_rows_match(df: pd.DataFrame, rows: list[dict[str, Any]], keys: Any) -> None:
    assert len(df) == len(rows)
    for i, expected in enumerate(rows):
        for k in keys:
            got = df.iloc[i][k]
            assert same(got, expected[k]), (i, k, got, expected[k])


# ------------------------------------------------------------------------------- stores


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Any]]:
    """A store built through the API from every shipped sample, the Swiss cities, the City
    of London wards and the Monaco quarters (the CLI's ``areas_store``, made the other way);
    with what the writing calls returned."""
    db = tmp_path_factory.mktemp("api") / "api.duckdb"
    store = Store(db)
    made: dict[str, Any] = {}
    made["ingest"] = store.ingest(*ALL_SAMPLES, snapshot="2023-06-14")
    made["ids"] = {
        name: store.add_area(name, BOUNDARIES / f"{stem}.geojson")
        for name, stem in SWISS_CITIES.items()
    }  # fmt: skip
    made["wards"] = store.import_areas(WARDS, "name")
    made["quarters"] = store.areas_from_pbf(MONACO, admin_level=10)
    yield store, made
    store.close()


@pytest.fixture(scope="module")
def store(built: tuple[Store, Any]) -> Store:
    return built[0]


@pytest.fixture(scope="module")
def db(store: Store) -> str:
    return str(store.path)


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "scratch.duckdb") as s:
        yield s


# --------------------------------------------------------------------------- the object


def test_import_mapper_stays_light_and_store_is_exported() -> None:
    code = (
        "import sys, mapper, mapper.cli\n"
        "assert 'pandas' not in sys.modules and 'geopandas' not in sys.modules\n"
        "from mapper import Store\n"
        "assert Store.__module__ == 'mapper.api' and 'geopandas' in sys.modules\n"
        "try:\n    mapper.Nope\nexcept AttributeError as e:\n    print(e)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "module 'mapper' has no attribute 'Nope'"


def test_a_temporary_store_is_a_private_file_gone_on_close() -> None:
    s = Store()
    folder = s.path.parent
    assert s.temporary and s.path.is_file() and folder.name.startswith("camdensity-store-")
    assert folder.stat().st_mode & 0o777 == 0o700
    assert s.stats()["cameras"] == 0  # an empty store of the current schema, readable
    assert s.areas().empty and list(s.areas().columns) == [*api.AREA_COLUMNS, "geometry"]
    assert "temporary" in repr(s)
    s.close()
    assert not folder.exists() and s.closed and "(closed)" in repr(s)
    s.close()  # again: nothing happens
    with pytest.raises(StoreError, match="this Store is closed"):
        s.stats()


def test_a_forgotten_temporary_store_is_removed_when_collected() -> None:
    s = Store()
    folder = s.path.parent
    del s
    gc.collect()
    assert not folder.exists()


def test_with_closes_even_on_error() -> None:
    with pytest.raises(NotFound), Store() as s:
        folder = s.path.parent
        s.compare("Nowhere")
    assert not folder.exists()


def test_a_path_store_is_made_at_the_first_write_like_the_cli(tmp_path: Path) -> None:
    db = tmp_path / "new.duckdb"
    s = Store(db)
    assert not s.temporary and not db.exists()
    with pytest.raises(StoreError) as exc:
        s.stats()
    assert str(exc.value) == cli_error("stats", "--db", db)
    s.ingest(MONACO)
    assert db.is_file()
    s.close()
    assert db.is_file()  # closing a store on a path keeps its file
    with pytest.raises(InputError):
        Store("")


# ------------------------------------------------------------------------------- ingest


def test_ingest_rows_match_stats_json(store: Store, built: tuple[Store, Any], db: str) -> None:
    df = built[1]["ingest"]
    assert isinstance(df, pd.DataFrame) and list(df.columns) == list(api.INGEST_COLUMNS)
    assert str(df["snapshot"].dtype) == "datetime64[us, UTC]"
    assert df["path"].tolist() == [str(p) for p in ALL_SAMPLES]
    assert set(df["status"]) == {"ingested"}
    sources = cli_json("stats", "--json", "--db", db)["sources"]
    for row, src in zip(df.itertuples(), sources, strict=True):
        assert (row.path, row.format, row.cameras, row.stored) == (
            src["path"], src["format"], src["cameras"], src["stored"],
        )  # fmt: skip
        assert row.snapshot.strftime("%Y-%m-%dT%H:%M:%SZ") == src["snapshot"]
    # only the undated Overpass list takes the given snapshot
    assert sources[-1]["snapshot"] == "2023-06-14T00:00:00Z"
    assert sources[-1]["snapshot_kind"] == "given"
    assert [s["snapshot_kind"] for s in sources[:-1]].count("given") == 0


def test_the_same_store_either_way(store: Store, areas_store: Path, db: str) -> None:
    """The API-built store and the CLI-built one (tests/conftest.py) hold the same numbers
    (the CLI's store ingests the Swiss dump without a date; ingest dates do not count)."""
    ours, theirs = store.stats(), cli_json("stats", "--json", "--db", areas_store)
    for key in ("cameras", "nodes", "ways", "by_kind", "by_visibility", "by_zone"):
        assert ours[key] == theirs[key], key
    assert [s["cameras"] for s in ours["sources"]] == [s["cameras"] for s in theirs["sources"]]
    ours_a = {a["name"]: a for a in cli_json("area", "list", "--json", "--db", db)["areas"]}
    theirs_a = cli_json("area", "list", "--json", "--db", areas_store)["areas"]
    assert set(ours_a) == {a["name"] for a in theirs_a}
    for a in theirs_a:
        assert ours_a[a["name"]]["area_km2"] == a["area_km2"]
        assert ours_a[a["name"]]["population"] == a["population"]


def test_ingest_again_is_unchanged_and_options_are_checked(scratch: Store) -> None:
    first = scratch.ingest(MUNICH, include="speed_camera")
    assert first["status"].tolist() == ["ingested"]
    again = scratch.ingest(MUNICH)
    assert again.loc[0, "status"] == "unchanged" and again.loc[0, "cameras"] == 0
    with pytest.raises(InputError, match="cannot include 'cars'"):
        scratch.ingest(MONACO, include=["cars"])
    with pytest.raises(InputError, match="give a date like 2023-06-14"):
        scratch.ingest(SWITZERLAND, snapshot="last summer")
    with pytest.raises(InputError, match="give one or more files"):
        scratch.ingest()
    missing = scratch.path.parent / "missing.osm.pbf"
    with pytest.raises(InputError) as exc:
        scratch.ingest(missing)
    assert str(exc.value) == cli_error("ingest", "--db", scratch.path, missing)


@pytest.mark.parametrize(
    "given",
    [
        "2023-06-14", "2023-06-14T00:00:00Z", date(2023, 6, 14), datetime(2023, 6, 14),
        datetime(2023, 6, 14, 2, tzinfo=timezone(timedelta(hours=2))),
    ],
)  # fmt: skip
def test_snapshot_forms(tmp_path: Path, given: Any) -> None:
    with Store(tmp_path / "s.duckdb") as s:
        df = s.ingest(SWITZERLAND, snapshot=given)
        assert df.loc[0, "snapshot"] == pd.Timestamp("2023-06-14", tz=UTC)


def test_streets_match_the_clis(tmp_path: Path) -> None:
    with Store(tmp_path / "ours.duckdb") as s:
        s.ingest(MUNICH)
        df = s.streets(MUNICH)
        assert list(df.columns) == list(api.STREETS_COLUMNS)
        assert s.streets(MUNICH).loc[0, "status"] == "unchanged"
        extent = "munich_altstadt_2020-07-20 (extent)"
        ours = s.compare(extent)
        theirs = cli_json("compare", extent, "--format", "json", "--db", s.path)["rows"][0]
    row = df.iloc[0]
    assert row.status == "stored" and row.streets > 1000 and row.buildings > 1000
    r = invoke("streets", MUNICH, "--db", tmp_path / "theirs.duckdb")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.strip() == (
        f"{MUNICH}: {row.streets} street ways ({row.street_km:.1f} km of streets, "
        f"{row.walk_km:.1f} km of walking ways), {row.buildings} buildings"
    )
    assert ours.loc[0, "street_km"] == theirs["street_km"] > 0
    assert ours.loc[0, "coverage"] == theirs["coverage"]
    with pytest.raises(InputError) as exc:
        Store(tmp_path / "x.duckdb").streets(tmp_path / "missing.osm.pbf")
    assert str(exc.value) == cli_error("streets", tmp_path / "missing.osm.pbf", "--db",
                                       tmp_path / "x.duckdb")  # fmt: skip


# ------------------------------------------------------------------------------- areas


def area_list(db: Any) -> dict[str, dict[str, Any]]:
    return {a["name"]: a for a in cli_json("area", "list", "--json", "--db", db)["areas"]}


def test_areas_match_area_list_json(store: Store, db: str) -> None:
    gdf = store.areas()
    assert isinstance(gdf, gpd.GeoDataFrame) and gdf.crs.to_string() == "EPSG:4326"
    assert list(gdf.columns) == [*api.AREA_COLUMNS, "geometry"]
    rows = cli_json("area", "list", "--json", "--db", db)["areas"]
    assert_rows_match(gdf, rows, api.AREA_COLUMNS)
    assert set(gdf.geometry.geom_type) == {"MultiPolygon"}
    zurich = gdf.set_index("name").loc["Zürich"]
    boundary = gpd.read_file(BOUNDARIES / "zurich.geojson").geometry.iloc[0]
    assert zurich.geometry.symmetric_difference(boundary).area < 1e-12
    for c in ("id", "population", "osm_id", "admin_level"):
        assert str(gdf[c].dtype) == "Int64"


def test_add_area_returns_the_id_the_cli_lists(built: tuple[Store, Any], db: str) -> None:
    listed = area_list(db)
    for name, area_id in built[1]["ids"].items():
        assert listed[name]["id"] == area_id and listed[name]["source"].endswith(".geojson")


def test_add_area_from_objects_matches_the_file(scratch: Store) -> None:
    path = BOUNDARIES / "bern.geojson"
    frame = gpd.read_file(path)
    scratch.add_area("from file", path)
    scratch.add_area("from frame", frame.to_crs("EPSG:2056"))  # transformed back to 4326
    scratch.add_area("from series", frame.geometry)
    scratch.add_area("from shapely", frame.geometry.iloc[0], population=5, area_km2=50.0,
                     population_year=2020)  # fmt: skip
    listed = area_list(scratch.path)
    f, g, s, sh = (listed[n] for n in ("from file", "from frame", "from series", "from shapely"))
    # a frame's columns are the file's properties: the official area and population
    assert (g["area_km2"], g["area_official"], g["population"]) == (
        f["area_km2"], True, f["population"],
    )  # fmt: skip
    assert g["population_year"] == f["population_year"]
    assert g["source"] == "a GeoDataFrame" and s["source"] == "a GeoSeries"
    assert s["geodesic_km2"] == pytest.approx(f["geodesic_km2"], rel=1e-12)
    assert g["geodesic_km2"] == pytest.approx(f["geodesic_km2"], rel=1e-6)  # a round trip
    assert not s["area_official"] and s["population"] is None
    assert (sh["area_km2"], sh["area_official"], sh["population"], sh["population_year"]) == (
        50.0, True, 5, 2020,
    )  # fmt: skip
    assert sh["population_source"] == "given to Store.add_area"


def test_add_area_errors_are_the_clis(scratch: Store) -> None:
    path = BOUNDARIES / "basel.geojson"
    scratch.add_area("Basel", path)
    with pytest.raises(InputError) as exc:
        scratch.add_area("Basel", path)
    assert str(exc.value) == cli_error("area", "add", "Basel", "--boundary", path, "--db",
                                       scratch.path)  # fmt: skip
    with pytest.raises(InputError, match="GeoDataFrame of 25 rows; give one row"):
        scratch.add_area("wards", gpd.read_file(WARDS))
    with pytest.raises(InputError, match="the boundary is a Point"):
        scratch.add_area("a point", shapely.Point(7.5, 47.5))
    with pytest.raises(InputError, match="give a GeoJSON file path, a shapely geometry"):
        scratch.add_area("a dict", {"type": "Polygon"})  # type: ignore[arg-type]
    with pytest.raises(InputError, match="kind 'city' is not one of"):
        scratch.add_area("box", box(7.5, 47.5, 7.6, 47.6), kind="city")
    scratch.add_area("Basel", box(7.5, 47.5, 7.6, 47.6), replace=True)
    assert area_list(scratch.path)["Basel"]["source"] == "a shapely geometry"


def test_import_areas_match_area_list(built: tuple[Store, Any], db: str) -> None:
    wards = built[1]["wards"]
    assert isinstance(wards, gpd.GeoDataFrame) and len(wards) == 25
    listed = area_list(db)
    names = json.loads(WARDS.read_text(encoding="utf-8"))["features"]
    assert sorted(wards["name"]) == sorted(f["properties"]["name"] for f in names)
    for row in wards.itertuples():
        assert row.id == listed[row.name]["id"] and row.kind == "neighbourhood"


def test_areas_from_pbf_match_the_cli(built: tuple[Store, Any], db: str, tmp_path: Path) -> None:
    quarters = built[1]["quarters"]
    assert isinstance(quarters, pd.DataFrame)
    listed = area_list(db)
    for row in quarters.itertuples():
        a = listed[row.name]
        assert (row.id, row.osm_type, row.osm_id, row.admin_level) == (
            a["id"], a["osm_type"], a["osm_id"], a["admin_level"],
        )  # fmt: skip
        assert row.area_km2 == pytest.approx(a["geodesic_km2"], rel=1e-12)
    # the CLI on a store of its own: the same areas, the same relations skipped
    other = tmp_path / "pbf.duckdb"
    r = invoke("area", "from-pbf", MONACO, "--admin-level", "10", "--db", other)
    assert r.exit_code == 0, r.stderr
    shown = [line.split(":")[0] for line in r.stdout.splitlines()[:-1]]
    assert shown == quarters["name"].tolist()
    warned = [line.removeprefix("Warning: ") for line in r.stderr.splitlines()]
    assert warned == quarters.attrs["skipped"] and len(warned) == 3


def test_set_rename_remove(scratch: Store) -> None:
    scratch.add_area("Lausanne", BOUNDARIES / "lausanne.geojson")
    assert scratch.set_area("Lausanne", reported=100, reported_source="https://example.org") == (
        "Lausanne"
    )
    assert scratch.set_area("Lausanne", population=1, population_year=2000) == "Lausanne"
    a = area_list(scratch.path)["Lausanne"]
    assert (a["reported_cameras"], a["population"], a["population_year"]) == (100, 1, 2000)
    assert scratch.compare("Lausanne").loc[0, "reported_cameras"] == 100
    assert scratch.rename_area("Lausanne", "Losanna") == "Lausanne"
    assert list(area_list(scratch.path)) == ["Losanna"]
    with pytest.raises(InputError) as exc:
        scratch.set_area("Losanna", reported=3)
    assert str(exc.value) == cli_error("area", "set", "Losanna", "--reported", "3", "--db",
                                       scratch.path)  # fmt: skip
    assert scratch.remove_area("Losanna") == "Losanna"
    assert scratch.areas().empty


def test_relation_ids_and_ambiguous_names(scratch: Store) -> None:
    """An area argument goes through ``areas.get``: ``relation/ID`` works, and a name that
    several areas answer to is the CLI's ambiguity error."""
    scratch.areas_from_pbf(MONACO, admin_level=10)
    osm = scratch.areas().set_index("name").loc["Fontvieille"]
    scratch.add_area("Fontvieille", box(7.41, 43.72, 7.42, 43.73), kind="custom")
    by_id = scratch.compare(f"relation/{osm['osm_id']}")
    assert by_id.loc[0, "area"] == f"Fontvieille (relation {osm['osm_id']})"
    assert len(scratch.cameras(f"relation/{osm['osm_id']}")) == by_id.loc[0, "cameras"]
    assert scratch.compare("Fontvieille").loc[0, "kind"] == "custom"  # the exact name
    with pytest.raises(AmbiguousArea) as exc:
        scratch.compare("fontvieille")
    assert str(exc.value) == cli_error("compare", "fontvieille", "--db", scratch.path)


# ------------------------------------------------------------------------------ readers


def test_stats_is_stats_json(store: Store, db: str) -> None:
    assert store.stats() == cli_json("stats", "--json", "--db", db)


def test_cameras_match_export_geojson(store: Store, db: str, tmp_path: Path) -> None:
    gdf = store.cameras()
    assert isinstance(gdf, gpd.GeoDataFrame) and gdf.crs.to_string() == "EPSG:4326"
    assert list(gdf.columns) == [*api.CAMERA_COLUMNS, "geometry"]
    out = tmp_path / "cameras.geojson"
    assert invoke("export", "--format", "geojson", "-o", out, "--db", db).exit_code == 0
    features = json.loads(out.read_text(encoding="utf-8"))["features"]
    assert len(gdf) == len(features) == store.stats()["cameras"]
    for row, f in zip(gdf.itertuples(), features, strict=True):
        assert f"{row.osm_type}/{row.osm_id}" == f["id"]
        assert [row.lon, row.lat] == f["geometry"]["coordinates"]
        assert (row.geometry.x, row.geometry.y) == (row.lon, row.lat)
        props = f["properties"]
        for k in api.CAMERA_COLUMNS:
            if k not in ("lat", "lon", "tags"):
                assert same(getattr(row, k), props[k]), (f["id"], k)
        assert isinstance(row.tags, dict)
        assert row.tags.get("man_made") == "surveillance" or row.kind == "speed_camera"
    assert str(gdf["osm_id"].dtype) == "Int64" and gdf["lat"].dtype == float


def test_cameras_public_only_is_export_public_only(store: Store, db: str, tmp_path: Path) -> None:
    out = tmp_path / "public.geojson"
    r = invoke("export", "--format", "geojson", "-o", out, "--public-only", "--db", db)
    assert r.exit_code == 0
    ids = [f["id"] for f in json.loads(out.read_text(encoding="utf-8"))["features"]]
    public = store.cameras(public_only=True)
    assert (public["osm_type"] + "/" + public["osm_id"].astype(str)).tolist() == ids
    assert len(public) < len(store.cameras())


def test_cameras_in_an_area_are_the_ones_compare_counts(store: Store, db: str) -> None:
    rows = cli_json("compare", *SWISS_CITIES, "--format", "json", "--db", db)["rows"]
    boundaries = store.areas().set_index("name").geometry
    for row in rows:
        inside = store.cameras(row["area"])
        assert len(inside) == row["cameras"], row["area"]
        assert inside.attrs["area"] == row["area"]
        assert inside.geometry.intersects(boundaries[row["area"]].buffer(1e-6)).all()
        public = store.cameras(row["area"], public_only=True)
        assert len(public) == (~inside["visibility"].isin(["indoor", "other"])).sum()


def test_grid_matches_grid_json(store: Store, db: str) -> None:
    for args in (("Zürich",), ("Aldersgate", "--res", "10"), ()):
        area = args[0] if args else None
        res = int(args[2]) if len(args) > 1 else None
        gdf = store.grid(area, res)
        assert isinstance(gdf, gpd.GeoDataFrame) and gdf.crs.to_string() == "EPSG:4326"
        expected = cli_json("grid", *args, "--format", "json", "--db", db)
        columns = list(expected["cells"][0])  # the grid's columns, and any the store adds
        assert columns[: len(GRID_COLUMNS)] == list(GRID_COLUMNS)
        assert list(gdf.columns) == [*columns, "geometry"]
        assert gdf.attrs["area"] == expected["area"]
        assert gdf.attrs["resolution"] == expected["resolution"]
        assert_rows_match(gdf, expected["cells"], columns)
        assert len(gdf) > 10
        for cell, geom in zip(gdf["h3"], gdf.geometry, strict=True):  # every cell's outline
            want = shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(cell)])
            assert shapely.equals_exact(geom, want, 0), cell
    with pytest.raises(InputError) as exc:
        store.grid("Zürich", 4)
    assert str(exc.value) == cli_error("grid", "Zürich", "--res", "4", "--db", db)


def test_compare_matches_compare_json(store: Store, db: str) -> None:
    df = store.compare(*SWISS_CITIES)
    expected = cli_json("compare", *SWISS_CITIES, "--format", "json", "--db", db)
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns)[: len(FLAT_COLUMNS)] == FLAT_COLUMNS
    first = expected["rows"][0]
    rest = [k for k, v in first.items() if k not in FLAT_COLUMNS and not isinstance(v, dict)]
    assert list(df.columns)[len(FLAT_COLUMNS) :] == [k for k in rest if k != "top_zones"]
    assert {"population_source", "boundary_source", "boundary_credit"} <= set(rest)
    for k in ("data_date", "resolution", "sort", "attribution", "caveat"):
        assert df.attrs[k] == expected[k], k
    assert df["area"].tolist() == [r["area"] for r in expected["rows"]]
    for (_, got), row in zip(df.iterrows(), expected["rows"], strict=True):
        for k, v in row.items():
            if isinstance(v, dict):
                prefix = {"share_visibility": "vis_", "share_kind": "kind_",
                          "completeness": "with_"}[k]  # fmt: skip
                for sub, x in v.items():
                    assert same(got[prefix + sub], x), (row["area"], k, sub)
            elif k == "top_zones":
                assert got[k] == "; ".join(f"{z} ({n})" for z, n in v)
            else:
                assert same(got[k], v), (row["area"], k, got[k], v)


def test_compare_options_match_the_cli(store: Store, db: str) -> None:
    for kwargs, args in (
        ({"all": True, "kinds": ["neighbourhood"], "sort": "cameras"},
         ["--all", "--kind", "neighbourhood", "--sort", "cameras"]),
        ({"sort": "per_1k", "res": 8}, [*SWISS_CITIES, "--sort", "per_1k", "--res", "8"]),
    ):  # fmt: skip
        names = [] if kwargs.get("all") else list(SWISS_CITIES)
        df = store.compare(*names, **kwargs)
        expected = cli_json("compare", *args, "--format", "json", "--db", db)
        assert df["area"].tolist() == [r["area"] for r in expected["rows"]]
        assert df["rank"].tolist() == [r["rank"] for r in expected["rows"]]
        assert df.attrs["resolution"] == expected["resolution"]


def test_compare_errors_are_the_clis(store: Store, db: str) -> None:
    with pytest.raises(NotFound) as missing:
        store.compare("Atlantis")
    assert str(missing.value) == cli_error("compare", "Atlantis", "--db", db)
    with pytest.raises(InputError) as nothing:
        store.compare()
    assert str(nothing.value) == cli_error("compare", "--db", db)
    with pytest.raises(InputError, match="cannot sort by 'beauty'"):  # click refuses it there
        store.compare("Bern", sort="beauty")


# ------------------------------------------------------------------------------ history

MONACOS = [OSM / "monaco_2012-07.osm.pbf", OSM / "monaco_2020-07-19.osm.pbf", MONACO]


@pytest.fixture(scope="module")
def years(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """Monaco in 2012, 2020 and 2023, with the 2023 extract's quarters."""
    with Store(tmp_path_factory.mktemp("years") / "years.duckdb") as s:
        s.ingest(*MONACOS)
        s.areas_from_pbf(MONACO, admin_level=10)
        yield s


def test_history_matches_history_json(years: Store) -> None:
    names = ["monaco_2023-12-26 (extent)", "Monte-Carlo"]
    df = years.history(*names)
    assert list(df.columns) == list(api.HISTORY_COLUMNS)
    assert str(df["at"].dtype) == "datetime64[us, UTC]"
    series = cli_json("history", *names, "--format", "json", "--db", years.path)["series"]
    steps = [(s["area"], st) for s in series for st in s["steps"]]
    assert len(df) == len(steps) and len(steps) >= 6
    for row, (area, st) in zip(df.itertuples(), steps, strict=True):
        assert (row.area, row.date, row.standing, row.cameras) == (
            area, st["date"], st["standing"], st["cameras"],
        )  # fmt: skip
        assert row.at.strftime("%Y-%m-%dT%H:%M:%SZ") == st["at"]
        for k in ("added", "removed", "retagged"):
            assert getattr(row, k) == len(st[k]) and getattr(row, f"{k}_ids") == st[k]
        assert row.aimed_share == st["aimed_share"]
    assert df.attrs["notes"] == {s["area"]: s["note"] for s in series}
    assert df["added"].sum() > 0
    with pytest.raises(InputError) as exc:
        years.history("Monte-Carlo", every="week")
    assert "--every must be one of" in str(exc.value)


@pytest.mark.parametrize(
    "kwargs, args",
    [
        ({}, []),
        ({"start": "2013-01-01", "end": date(2021, 1, 1)},
         ["--from", "2013-01-01", "--to", "2021-01-01"]),
        ({"end": "2020-12-31"}, ["monaco_2020-07-19 (extent)", "--to", "2020-12-31"]),
    ],
)  # fmt: skip
def test_diff_matches_diff_geojson(years: Store, kwargs: dict[str, Any], args: list[str]) -> None:
    names = [a for a in args if not a.startswith("--") and not a[:1].isdigit()]
    gdf = years.diff(*names, **kwargs)
    assert isinstance(gdf, gpd.GeoDataFrame) and gdf.crs.to_string() == "EPSG:4326"
    doc = cli_json("diff", *args, "--format", "geojson", "--db", years.path)
    assert list(gdf.columns)[: len(api.DIFF_COLUMNS)] == list(api.DIFF_COLUMNS)
    assert set(doc["features"][0]["properties"]) | {"lat", "lon", "geometry"} == set(gdf.columns)
    for k in ("from", "to", "areas", "note", "attribution"):
        assert gdf.attrs[k] == doc[k], k
    assert len(gdf) == len(doc["features"]) > 0
    for row, f in zip(gdf.itertuples(), doc["features"], strict=True):
        assert f"{row.osm_type}/{row.osm_id}" == f["id"]
        assert [round(row.lon, 7), round(row.lat, 7)] == f["geometry"]["coordinates"]
        for k, v in f["properties"].items():
            assert same(getattr(row, k), v), (f["id"], k)


def test_compare_as_of_within_and_top_match_the_cli(years: Store) -> None:
    cases = [
        ({"at": "2020-12-31"}, ["--at", "2020-12-31"]),
        ({"at": date(2012, 12, 31), "sort": "cameras"}, ["--at", "2012-12-31", "--sort",
                                                         "cameras"]),
        ({"within": "monaco_2023-12-26 (extent)", "admin_level": 10},
         ["--within", "monaco_2023-12-26 (extent)", "--admin-level", "10"]),
        ({"top": 2, "sort": "cameras"}, ["--top", "2", "--sort", "cameras"]),
    ]  # fmt: skip
    for kwargs, args in cases:
        df = years.compare(all=True, **kwargs)
        expected = cli_json("compare", "--all", *args, "--format", "json", "--db", years.path)
        assert df["area"].tolist() == [r["area"] for r in expected["rows"]], kwargs
        assert df["cameras"].tolist() == [r["cameras"] for r in expected["rows"]], kwargs
        assert df.attrs["data_date"] == expected["data_date"]
    assert len(years.compare(all=True, top=2)) == 2
    with pytest.raises(InputError) as exc:
        years.compare(all=True, at="last year")
    assert str(exc.value) == cli_error("compare", "--all", "--at", "last year", "--db",
                                       years.path)  # fmt: skip


# ------------------------------------------------------------------------------ outputs


def test_map_is_the_clis_file(store: Store, db: str, tmp_path: Path) -> None:
    m = store.map("Zürich", tiles="none")
    assert isinstance(m, folium.Map)
    out = tmp_path / "zurich.html"
    r = invoke("map", "Zürich", "-o", out, "--tiles", "none", "--db", db)
    assert r.exit_code == 0, r.stderr
    assert m.get_root().render().encode("utf-8") == out.read_bytes()
    saved = tmp_path / "saved.html"
    m.save(str(saved))
    assert saved.read_bytes() == out.read_bytes()


def test_side_by_side_is_the_clis_file(store: Store, db: str, tmp_path: Path) -> None:
    fig = store.map("Zürich", "Bern", scheme="jenks", bins=4)
    assert isinstance(fig, Figure)
    out = tmp_path / "two.html"
    args = ["map", "Zürich", "Bern", "-o", out, "--scheme", "jenks", "--bins", "4"]
    assert invoke(*args, "--db", db).exit_code == 0
    assert fig.render().encode("utf-8") == out.read_bytes()


def iframe_page(shown: str) -> str:
    """The page inside the ``<iframe srcdoc="...">`` Jupyter is given."""
    m = re.search(r'srcdoc="([^"]*)"', shown)
    assert m, shown[:300]
    return html.unescape(m.group(1))


def test_the_map_jupyter_shows_loads_no_outside_script(store: Store) -> None:
    for shown in (store.map("Bern")._repr_html_(), store.map("Bern", "Basel")._repr_html_()):
        page = iframe_page(shown)
        assert "L.map(" in page
        assert remote_references(page) == []
        assert remote_references(shown) == []
        assert not re.search(r"<script[^>]+src=", page)
    cdn = iframe_page(store.map("Bern", assets="cdn")._repr_html_())
    assert any("cdn.jsdelivr.net" in u for u in remote_references(cdn))
    with pytest.raises(InputError, match="--assets must be inline or cdn"):
        store.map("Bern", assets="link")
    with pytest.raises(NotFound):
        store.map("Atlantis")
    with pytest.raises(InputError, match="name at least one area"):
        store.map()


def test_export_is_the_clis_file(store: Store, db: str, tmp_path: Path) -> None:
    for fmt, suffix in (("geojson", ".geojson"), ("csv", ".csv")):
        ours = store.export(tmp_path / f"ours{suffix}")
        theirs = tmp_path / f"theirs{suffix}"
        assert invoke("export", "--format", fmt, "-o", theirs, "--db", db).exit_code == 0
        assert ours.read_bytes() == theirs.read_bytes()
    parquet = store.export(tmp_path / "cameras.parquet", public_only=True)
    assert len(gpd.read_parquet(parquet)) == len(store.cameras(public_only=True))
    with pytest.raises(InputError, match="say which format"):
        store.export(tmp_path / "cameras.txt")


SITE_CONFIG = f"""
title = "Two Swiss cities"
compare = ["Bern", "Basel"]
[[inputs]]
path = "{SWITZERLAND}"
snapshot = "2023-06-14"
[[areas]]
name = "Bern"
boundary = "{BOUNDARIES / "bern.geojson"}"
[[areas]]
name = "Basel"
boundary = "{BOUNDARIES / "basel.geojson"}"
"""


@pytest.mark.slow  # the site itself: test_site.py, quick
def test_site_is_the_clis_site(tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text(SITE_CONFIG, encoding="utf-8")
    with Store(tmp_path / "ours.duckdb") as s:
        ours = s.site(tmp_path / "ours", config=config, tiles="none")
        assert ours == tmp_path / "ours"
        assert sorted(s.compare("Bern", "Basel")["area"]) == ["Basel", "Bern"]
    theirs = tmp_path / "theirs"
    r = invoke("site", "--db", tmp_path / "theirs.duckdb", "--config", config, "--out", theirs,
               "--tiles", "none", "--quiet")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    files = sorted(p.relative_to(ours) for p in ours.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(theirs) for p in theirs.rglob("*") if p.is_file())
    assert len(files) > 10
    for name in ("index.html", "compare.html", "maps/compare.html"):
        assert (ours / name).read_bytes() == (theirs / name).read_bytes(), name


# -------------------------------------------------------------------------------- fetch


@pytest.fixture(scope="module")
def fake_osm() -> Iterator[FakeOSM]:
    """A local Nominatim and Overpass answering for Zürich from the shipped data."""
    zurich = boundary_place(
        BOUNDARIES / "zurich.geojson", queries=("Zürich", "Zurich"), osm_id=1682248,
        admin_level=8, addresstype="city", importance=0.7925,
        display_name={"": "Zürich, Bezirk Zürich, Zürich, Schweiz/Suisse/Svizzera/Svizra"},
        extratags={"wikidata": "Q72"},
    )  # fmt: skip
    elements = json.loads(SWITZERLAND.read_text(encoding="utf-8"))
    srv = FakeOSM([zurich], elements, SWISS_TIMESTAMP).start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def online(fake_osm: FakeOSM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeOSM:
    """The services' default addresses point at the local stand-in; a private user cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(live, "DEFAULT_NOMINATIM_URL", fake_osm.nominatim_url)
    monkeypatch.setattr(live, "DEFAULT_OVERPASS_URL", fake_osm.overpass_url)
    return fake_osm


def test_fetch_matches_the_clis_fetch(online: FakeOSM, tmp_path: Path) -> None:
    with Store(tmp_path / "ours.duckdb") as s:
        df = s.fetch("Zürich", timeout=10)
        again = s.fetch("Zürich", timeout=10)
        assert list(df.columns) == list(api.FETCH_COLUMNS)
        assert again.loc[0, "status"] == "unchanged"
        row = df.iloc[0]
        assert (row.place, row.area, row.osm_type, row.osm_id, row.admin_level) == (
            "Zürich", "Zürich", "relation", 1682248, 8,
        )  # fmt: skip
        assert (row.format, row.status) == ("overpass-live", "ingested")
        assert row.snapshot == pd.Timestamp(SWISS_TIMESTAMP)
        ours_stats = cli_json("stats", "--json", "--db", s.path)
        ours_areas = area_list(s.path)
        assert s.stats() == ours_stats
        with pytest.raises(CamdensityError) as exc:
            s.fetch("Atlantis", timeout=10)
    theirs = tmp_path / "theirs.duckdb"
    r = invoke("fetch", "Zürich", "--timeout", "10", "--db", theirs)
    assert r.exit_code == 0, r.stderr
    assert str(exc.value) == cli_error("fetch", "Atlantis", "--timeout", "10", "--db", theirs)
    theirs_stats = cli_json("stats", "--json", "--db", theirs)
    assert ours_stats["cameras"] == theirs_stats["cameras"] == row.cameras == row.stored
    assert ours_stats["by_kind"] == theirs_stats["by_kind"]
    a, b = ours_areas["Zürich"], area_list(theirs)["Zürich"]
    assert {k: v for k, v in a.items() if k != "id"} == {k: v for k, v in b.items() if k != "id"}
    assert row.area_km2 == pytest.approx(a["geodesic_km2"], rel=1e-12)
    assert row.population == a["population"]


# --------------------------------------------------------------------------------- docs


@pytest.mark.slow  # every method is checked against its command by the quick tier
def test_docs_api_examples_run(online: FakeOSM, tmp_path: Path, monkeypatch: Any) -> None:
    """Every ``>>>`` example of docs/api.md, in order, from a folder laid out as a checkout
    (``data`` and ``examples`` linked, ``build`` empty)."""
    for name in ("data", "examples"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / "build").mkdir()
    monkeypatch.chdir(tmp_path)
    # a fence line ends an example's expected output, as a blank line does
    text = re.sub(r"(?m)^```.*$", "", DOC.read_text(encoding="utf-8"))
    test = doctest.DocTestParser().get_doctest(text, {}, "docs/api.md", str(DOC), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    report: list[str] = []
    runner.run(test, out=report.append, clear_globs=False)
    assert runner.failures == 0, "".join(report)
    assert runner.tries >= 40
    assert (tmp_path / "build" / "zurich.html").is_file()
    assert test.globs["store"].closed


def test_docs_api_has_an_example_of_every_method() -> None:
    text = DOC.read_text(encoding="utf-8")
    examples = "\n".join(line for line in text.splitlines() if line.startswith((">>>", "...")))
    public = [n for n in vars(Store) if not n.startswith("_") and callable(getattr(Store, n))]
    assert len(public) >= 15
    for name in public:
        if name == "close":
            continue
        assert re.search(rf"\.{name}\(", examples), f"docs/api.md has no example of .{name}()"
        assert f"`.{name}(" in text, f"docs/api.md has no section for .{name}()"
    assert "Store()" in examples and "with Store() as" in examples


def test_the_readme_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Python API", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.S)
    (tmp_path / "data").symlink_to(ROOT / "data")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})


#: Each CLI command and the Store method over the same library function.
COMMANDS = {
    "ingest": "ingest", "streets": "streets", "stats": "stats", "export": "export",
    "area add": "add_area", "area import": "import_areas", "area from-pbf": "areas_from_pbf",
    "area list": "areas", "area set": "set_area", "area rename": "rename_area",
    "area remove": "remove_area", "grid": "grid", "compare": "compare", "map": "map",
    "site": "site", "fetch": "fetch", "history": "history", "diff": "diff",
}  # fmt: skip
#: A CLI parameter's name in the Python call, where they differ.
RENAMED = {"files": "paths", "file": "path", "names": "areas", "area_name": "area",
           "all_areas": "all", "no_cache": "cache"}  # fmt: skip
#: Output choices that a frame or a file makes moot.
OUTPUT_ONLY = {"db", "as_json", "fmt", "output"}


def _commands() -> dict[str, Any]:
    found = {}
    for name, cmd in cli.commands.items():
        if isinstance(cmd, click.Group):
            found.update({f"{name} {sub}": c for sub, c in cmd.commands.items()})
        else:
            found[name] = cmd
    return found


def test_every_command_is_a_store_method_with_its_options() -> None:
    commands = _commands()
    assert set(commands) == set(COMMANDS), "a command without its Store method (or gone)"
    for command, method in COMMANDS.items():
        params = inspect.signature(getattr(Store, method)).parameters
        for p in commands[command].params:
            name = p.name or ""
            if command == "export" and name in ("fmt", "output"):
                name = {"fmt": "format", "output": "out"}[name]
            elif name in OUTPUT_ONLY:
                continue
            name = RENAMED.get(name, name)
            assert name in params, f"Store.{method} lacks {name} (camdensity {command})"


def test_warnings_go_to_the_camdensity_logger(
    scratch: Store, caplog: pytest.LogCaptureFixture
) -> None:
    bowtie = shapely.Polygon([(7.40, 43.72), (7.44, 43.75), (7.44, 43.72), (7.40, 43.75)])
    with caplog.at_level("WARNING", logger="camdensity"):
        scratch.add_area("bowtie", bowtie, kind="custom")
        quarters = scratch.areas_from_pbf(MONACO, admin_level=10)
    logged = [r.getMessage() for r in caplog.records if r.name == "camdensity"]
    assert any("invalid polygon repaired" in m for m in logged)
    assert set(quarters.attrs["skipped"]) <= set(logged)
    assert area_list(scratch.path)["bowtie"]["geodesic_km2"] > 0


def test_every_method_says_which_command_it_is() -> None:
    for command, method in COMMANDS.items():
        doc = inspect.getdoc(getattr(Store, method)) or ""
        assert f"``camdensity {command}" in doc, f"Store.{method}'s docstring"
