"""``camdensity fetch`` over real HTTP, offline: a local Nominatim and Overpass on 127.0.0.1.

The local server (tests/live_server.py) answers osmnx's real requests with responses built
from the shipped data: the Zürich, City of London and Munich boundaries (with their names and
populations) as Nominatim results, and the cameras of the Switzerland dump and of the City of
London extract inside the polygon osmnx asks about, as Overpass JSON. A station and a street
stand for places without a boundary. Nothing in osmnx is monkeypatched; the user cache folder
is pointed at a temporary folder through ``$XDG_CACHE_HOME``.
"""

from __future__ import annotations

import json
import shutil
import socket
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import osmium
import osmnx as ox
import pytest
import shapely

from mapper.sources import live
from mapper.sources._http import RETRIES, retry_delay
from tests.conftest import BOUNDARIES, LONDON, MONACO, SWITZERLAND, digest, invoke
from tests.live_server import SWISS_TIMESTAMP, FakeOSM, PlaceRecord, boundary_place

CAMERAS = (
    "SELECT osm_type, osm_id, lat, lon, tags, kind, visibility, camera_type, zone, mount, "
    "operator, directions, direction_invalid FROM cameras ORDER BY osm_type, osm_id"
)


# ------------------------------------------------------------------------- the served data


def _london_elements() -> list[dict[str, Any]]:
    """The cameras of the London extract as Overpass JSON: nodes, and the way with its nodes.

    The way's nodes carry no tags of their own in this extract; Overpass sends them bare.
    """
    out: dict[tuple[str, int], dict[str, Any]] = {}
    extract = osmium.FileProcessor(str(LONDON)).with_locations()
    for o in extract.with_filter(osmium.filter.KeyFilter("man_made")):
        tags = {t.k: t.v for t in o.tags}
        if tags.get("man_made") != "surveillance":
            continue
        if o.is_node():
            out[("node", o.id)] = {
                "type": "node", "id": o.id, "lat": o.location.lat, "lon": o.location.lon,
                "tags": tags,
            }  # fmt: skip
        elif o.is_way():
            for n in o.nodes:
                out.setdefault(("node", n.ref), {
                    "type": "node", "id": n.ref, "lat": n.lat, "lon": n.lon,
                })  # fmt: skip
            out[("way", o.id)] = {
                "type": "way", "id": o.id, "nodes": [n.ref for n in o.nodes], "tags": tags,
            }  # fmt: skip
    return list(out.values())


def _places() -> list[PlaceRecord]:
    zurich = boundary_place(
        BOUNDARIES / "zurich.geojson", queries=("Zürich", "Zurich"), osm_id=1682248,
        admin_level=8, addresstype="city", importance=0.7925,
        display_name={
            "": "Zürich, Bezirk Zürich, Zürich, Schweiz/Suisse/Svizzera/Svizra",
            "en": "Zurich, District Zurich, Zurich, Switzerland",
        },
        extratags={"capital": "4", "wikidata": "Q72", "wikipedia": "de:Zürich"},
    )  # fmt: skip
    london = boundary_place(
        BOUNDARIES / "city-of-london.geojson", queries=("City of London",), osm_id=51800,
        admin_level=6, addresstype="city", importance=0.7236,
        display_name={"": "City of London, Greater London, England, United Kingdom"},
        extratags={"wikidata": "Q23311"},
    )  # fmt: skip
    munich = boundary_place(
        BOUNDARIES / "munich.geojson", queries=("München", "Munich"), osm_id=62428,
        admin_level=6, addresstype="city", importance=0.8006,
        display_name={"": "München, Bayern, Deutschland", "en": "Munich, Bavaria, Germany"},
        extratags={"wikidata": "Q1726"},
    )  # fmt: skip
    # A station (a point) and a street (a line): places without a boundary.
    station = PlaceRecord(
        queries=("Zürich HB",), osm_type="node", osm_id=3174519960, category="railway",
        type="station", geometry=shapely.Point(8.5402, 47.3782), names={"name": "Zürich HB"},
        display_name={"": "Zürich HB, Bahnhofplatz, City, Zürich, Schweiz"}, place_rank=30,
        importance=0.51, addresstype="railway",
    )  # fmt: skip
    street = PlaceRecord(
        queries=("Bahnhofstrasse, Zürich",), osm_type="way", osm_id=4206539,
        category="highway", type="pedestrian",
        geometry=shapely.LineString([(8.5393, 47.3669), (8.5398, 47.3720), (8.5400, 47.3769)]),
        names={"name": "Bahnhofstrasse"}, place_rank=26, importance=0.29,
        display_name={"": "Bahnhofstrasse, City, Zürich, Schweiz"}, addresstype="road",
    )  # fmt: skip
    return [zurich, london, munich, station, street]


@pytest.fixture(scope="module")
def elements() -> list[dict[str, Any]]:
    return json.loads(SWITZERLAND.read_text(encoding="utf-8")) + _london_elements()


@pytest.fixture(scope="module")
def running(elements: list[dict[str, Any]]) -> Iterator[FakeOSM]:
    srv = FakeOSM(_places(), elements, SWISS_TIMESTAMP).start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def server(running: FakeOSM) -> Iterator[FakeOSM]:
    """The module's server, with no faults queued and no requests seen yet."""
    running.reset()
    yield running
    assert running.errors == []  # the server itself never failed


@pytest.fixture(autouse=True)
def user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user cache folder (platformdirs reads $XDG_CACHE_HOME), private to each test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "camdensity" / "osmnx"


@pytest.fixture(scope="module")
def nominatim_answers(running: FakeOSM, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Nominatim's answer for 'Zürich', as osmnx cached it in an earlier run (the server's).

    Tests about Overpass start from it: their geocoding is answered from the cache, without
    osmnx's one-second pause before each Nominatim request; Overpass is asked afresh.
    """
    cache = tmp_path_factory.mktemp("warm")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(cache))
        assert fetch(running, cache / "warm.duckdb", "Zürich").exit_code == 0
    files = sorted((cache / "camdensity" / "osmnx").glob("*.json"))
    return [f for f in files if isinstance(json.loads(f.read_text(encoding="utf-8")), list)]


@pytest.fixture
def geocoded(nominatim_answers: list[Path], user_cache: Path) -> None:
    user_cache.mkdir(parents=True, exist_ok=True)
    for f in nominatim_answers:
        shutil.copy(f, user_cache / f.name)


@pytest.fixture(scope="module")
def seeded_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("seed") / "seed.duckdb"
    assert invoke("ingest", "--db", str(db), str(MONACO)).exit_code == 0
    return db


@pytest.fixture
def seeded(seeded_store: Path, tmp_path: Path) -> Path:
    db = tmp_path / "seeded.duckdb"
    shutil.copy(seeded_store, db)
    return db


def closed_port_url(path: str) -> str:
    """A URL on 127.0.0.1 where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


def fetch(server: FakeOSM, db: Path, *args: str) -> Any:
    """``camdensity fetch ARGS`` against the local server."""
    return invoke(
        "fetch", *args, "--nominatim-url", server.nominatim_url,
        "--overpass-url", server.overpass_url, "--timeout", "10", "--db", str(db),
    )  # fmt: skip


def one_error(stderr: str, *fragments: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error: "), stderr
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


def cameras(db: Path, area: str | None = None) -> list[tuple[Any, ...]]:
    """Stored cameras (inside the named area when given: boundary points count as inside)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(CAMERAS).fetchall()
        if area is None:
            return rows
        wkb = con.execute("SELECT geometry FROM areas WHERE name = ?", [area]).fetchone()
    finally:
        con.close()
    assert wkb is not None, area
    geom = shapely.from_wkb(wkb[0])
    return [r for r in rows if geom.covers(shapely.Point(r[3], r[2]))]


def area_row(db: Path, name: str) -> dict[str, Any]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        cur = con.execute("SELECT * FROM areas WHERE name = ?", [name])
        cols = [d[0] for d in cur.description]
        row = cur.fetchone()
    finally:
        con.close()
    assert row is not None, name
    return dict(zip(cols, row, strict=True))


def sources(db: Path) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            "SELECT format, snapshot, snapshot_kind, cameras FROM sources"
        ).fetchall()
    finally:
        con.close()


# ------------------------------------------------------------------------- fetching


def test_fetch_zurich_stores_what_ingest_and_area_add_store(
    server: FakeOSM, tmp_path: Path
) -> None:
    names = [
        "overpass_url", "nominatim_url", "requests_timeout", "use_cache", "cache_folder",
        "http_user_agent", "overpass_rate_limit", "requests_kwargs", "doh_url_template",
    ]  # fmt: skip
    settings = {n: getattr(ox.settings, n) for n in names}
    resolver = socket.getaddrinfo
    fetched = tmp_path / "fetched.duckdb"
    r = fetch(server, fetched, "Zürich")
    assert r.exit_code == 0, r.stderr
    assert r.stderr == ""
    assert r.stdout.startswith("Zürich: relation/1682248, admin level 8, 87.59 km², population")
    assert "221 cameras (snapshot 2023-06-14T00:00:00Z)" in r.stdout
    # osmnx's settings (and the resolver it replaces) are as they were
    assert {n: getattr(ox.settings, n) for n in names} == settings
    assert socket.getaddrinfo is resolver

    by_hand = tmp_path / "by_hand.duckdb"
    assert invoke("ingest", "--db", str(by_hand), str(SWITZERLAND)).exit_code == 0
    r = invoke("area", "add", "Zürich", "--boundary", str(BOUNDARIES / "zurich.geojson"),
               "--db", str(by_hand))  # fmt: skip
    assert r.exit_code == 0, r.stderr

    expected = cameras(by_hand, "Zürich")
    assert len(expected) == 221
    assert cameras(fetched) == expected  # every column, the normalised ones included
    assert cameras(fetched, "Zürich") == expected

    # the area: the OSM name (not the English one osmnx's Accept-Language asks for), the
    # admin level and population of the extratags, the boundary as served
    a, b = area_row(fetched, "Zürich"), area_row(by_hand, "Zürich")
    assert (a["kind"], a["admin_level"], a["osm_id"]) == ("admin", 8, 1682248)
    assert (a["population"], a["population_year"]) == (409241, 2017)
    assert a["population_source"].startswith("OSM population tag of relation/1682248")
    assert a["source"] == "OSM relation/1682248 via Nominatim"
    assert shapely.from_wkb(a["geometry"]).equals(shapely.from_wkb(b["geometry"]))
    assert a["geodesic_km2"] == pytest.approx(b["geodesic_km2"])
    assert sources(fetched) == [("overpass-live", datetime(2023, 6, 14), "overpass", 221)]

    # one element once: the undated dump, ingested after, keeps the fetched copies
    r = invoke("ingest", "--db", str(fetched), str(SWITZERLAND))
    assert r.exit_code == 0, r.stderr
    assert "2144 cameras (overpass-json, snapshot no date, 221 held by a newer source)" in r.stdout
    assert len(cameras(fetched)) == 2144
    assert cameras(fetched, "Zürich") == expected

    # what osmnx sent: a polite user agent, extratags and namedetails, one Overpass query
    searches = [s for s in server.seen if s.path.endswith("/search")]
    assert len(searches) == 1
    assert searches[0].params["extratags"] == "1" and searches[0].params["namedetails"] == "1"
    assert searches[0].params["q"] == "Zürich"
    assert all(s.headers["User-Agent"].startswith("camdensity/") for s in server.seen)
    assert server.count("/interpreter") == 1
    assert server.count("/status") >= 1  # osmnx's rate limiting asks for a free slot


def test_fetch_places_a_way_at_the_mean_of_its_nodes_like_ingest(
    server: FakeOSM, tmp_path: Path
) -> None:
    fetched = tmp_path / "fetched.duckdb"
    r = fetch(server, fetched, "City of London")
    assert r.exit_code == 0, r.stderr
    assert "14 cameras" in r.stdout

    by_hand = tmp_path / "by_hand.duckdb"
    assert invoke("ingest", "--db", str(by_hand), str(LONDON)).exit_code == 0
    r = invoke("area", "add", "City of London", "--boundary",
               str(BOUNDARIES / "city-of-london.geojson"), "--db", str(by_hand))  # fmt: skip
    assert r.exit_code == 0, r.stderr

    got, expected = cameras(fetched, "City of London"), cameras(by_hand, "City of London")
    assert [r[:2] for r in got] == [r[:2] for r in expected]
    assert sum(1 for r in got if r[0] == "way") == 1
    for g, e in zip(got, expected, strict=True):
        assert g[2:4] == pytest.approx(e[2:4], abs=1e-9)  # the way: the mean of its 4 nodes
        assert g[4:] == e[4:]
    assert area_row(fetched, "City of London")["admin_level"] == 6


def test_a_place_without_mapped_cameras_is_stored_with_none(
    server: FakeOSM, tmp_path: Path
) -> None:
    db = tmp_path / "f.duckdb"  # the served data holds no camera in Munich
    r = fetch(server, db, "Munich")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("München: relation/62428, admin level 6, ")
    assert "population 1487708; 0 cameras (snapshot 2023-06-14T00:00:00Z)" in r.stdout
    assert cameras(db) == []
    assert sources(db) == [("overpass-live", datetime(2023, 6, 14), "overpass", 0)]
    assert area_row(db, "München")["source_id"] is not None  # dated by that source


def test_fetch_again_is_answered_from_the_cache(
    server: FakeOSM, tmp_path: Path, user_cache: Path, geocoded: None
) -> None:
    db = tmp_path / "f.duckdb"
    assert fetch(server, db, "Zürich").exit_code == 0
    assert len(list(user_cache.glob("*.json"))) == 2  # a Nominatim and an Overpass answer
    server.reset()
    server.nominatim_faults.extend([504] * 9)  # were it asked, it would fail
    server.overpass_faults.extend([504] * 9)

    r = fetch(server, db, "Zürich")
    assert r.exit_code == 0, r.stderr
    assert "221 cameras (snapshot 2023-06-14T00:00:00Z, unchanged since the last fetch)" in r.stdout
    assert server.seen == []  # not even the Overpass status: this works offline
    assert len(cameras(db)) == 221 and len(sources(db)) == 1


def test_no_cache_asks_afresh_and_leaves_the_cache_alone(
    server: FakeOSM, tmp_path: Path, user_cache: Path, geocoded: None
) -> None:
    cached = sorted(p.name for p in user_cache.iterdir())
    r = fetch(server, tmp_path / "f.duckdb", "Zürich", "--no-cache")
    assert r.exit_code == 0, r.stderr
    assert "snapshot 2023-06-14T00:00:00Z" in r.stdout  # read from the fresh answer
    assert server.count("/search") == 1 and server.count("/interpreter") == 1
    assert sorted(p.name for p in user_cache.iterdir()) == cached


def test_two_names_for_one_place_are_fetched_once(
    server: FakeOSM, tmp_path: Path, geocoded: None
) -> None:
    db = tmp_path / "f.duckdb"
    r = fetch(server, db, "Zürich", "Zurich")
    assert r.exit_code == 0, r.stderr
    assert r.stderr.strip() == (
        "Warning: 'Zurich' is the same place as 'Zürich' (relation/1682248); fetched once"
    )
    assert server.count("/interpreter") == 1
    assert len(cameras(db)) == 221 and len(sources(db)) == 1


def test_admin_level_selects_and_refuses(server: FakeOSM, tmp_path: Path, geocoded: None) -> None:
    db = tmp_path / "f.duckdb"
    r = fetch(server, db, "Zürich", "--admin-level", "8")
    assert r.exit_code == 0, r.stderr
    assert area_row(db, "Zürich")["admin_level"] == 8

    before = digest(db)
    r = fetch(server, db, "Zürich", "--admin-level", "4")
    assert r.exit_code == 1
    one_error(r.stderr, "Error: 'Zürich' has no boundary of admin level 4",
              "admin level 8, a Polygon")  # fmt: skip
    assert digest(db) == before


def test_choose_takes_the_first_polygon_of_the_level() -> None:
    def result(kind: str, level: int | None) -> dict[str, Any]:
        tags = {"admin_level": str(level)} if level else {}
        return {"geojson": {"type": kind}, "extratags": tags}

    results = [result("Point", None), result("Polygon", 4), result("MultiPolygon", 8)]
    assert live.choose(results, None) is results[1]
    assert live.choose(results, 8) is results[2]
    assert live.choose(results, 6) is None


# ------------------------------------------------------------------------- faults


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every pause the command asks for (``time.sleep``), recorded and kept short: "fails at
    once" is checked by what was asked, not by a clock on a loaded machine."""
    asked: list[float] = []
    sleep = time.sleep

    def record(seconds: float) -> None:
        asked.append(seconds)
        sleep(min(seconds, 0.01))

    monkeypatch.setattr(time, "sleep", record)
    return asked


def test_no_network_fails_within_the_timeout(seeded: Path, pauses: list[float]) -> None:
    before = digest(seeded)
    r = invoke(
        "fetch", "Zürich", "--nominatim-url", closed_port_url("/"),
        "--overpass-url", closed_port_url("/api"), "--timeout", "5", "--db", str(seeded),
    )  # fmt: skip
    assert r.exit_code == 1
    assert sum(pauses) <= 1, pauses  # at most osmnx's 1 s pause before asking Nominatim
    one_error(r.stderr, "Zürich: cannot reach Nominatim at 127.0.0.1:",
              "fetch needs the network", "'camdensity ingest FILE'")  # fmt: skip
    assert digest(seeded) == before


def test_unreachable_overpass_fails_fast_after_geocoding(
    server: FakeOSM, seeded: Path, geocoded: None, pauses: list[float]
) -> None:
    before = digest(seeded)
    r = invoke(
        "fetch", "Zürich", "--nominatim-url", server.nominatim_url,
        "--overpass-url", closed_port_url("/api"), "--timeout", "5", "--db", str(seeded),
    )  # fmt: skip
    assert r.exit_code == 1
    assert sum(pauses) <= 1, pauses  # osmnx alone would first pause 60 s
    one_error(r.stderr, "cannot reach the Overpass API at 127.0.0.1:", "fetch needs the network")
    assert digest(seeded) == before


@pytest.mark.parametrize(
    ("place", "expect"),
    [
        ("Atlantis", "Nominatim found no place named 'Atlantis'"),
        ("Zürich HB", "'Zürich HB' geocodes to Zürich HB (railway=station, a Point), not an area"),
        ("Bahnhofstrasse, Zürich", "(highway=pedestrian, a LineString), not an area"),
    ],
)
def test_place_without_a_boundary(server: FakeOSM, seeded: Path, place: str, expect: str) -> None:
    before = digest(seeded)
    r = fetch(server, seeded, place)
    assert r.exit_code == 1
    one_error(r.stderr, expect)
    assert server.count("/interpreter") == 0
    assert digest(seeded) == before


def test_overpass_busy_is_retried_a_bounded_number_of_times(
    server: FakeOSM, seeded: Path, geocoded: None
) -> None:
    server.overpass_faults.extend([429, 504] * 5)
    before = digest(seeded)
    r = fetch(server, seeded, "Zürich")
    assert r.exit_code == 1
    one_error(r.stderr, "Zürich: the Overpass API at 127.0.0.1:", "is busy (HTTP 504)",
              f"gave up after {RETRIES + 1} attempts", "try again in a few minutes")  # fmt: skip
    assert server.count("/interpreter") == RETRIES + 1
    assert digest(seeded) == before


def test_overpass_busy_then_answering_succeeds(
    server: FakeOSM, tmp_path: Path, geocoded: None
) -> None:
    server.overpass_faults.extend([429, 504])
    r = fetch(server, tmp_path / "f.duckdb", "Zürich")
    assert r.exit_code == 0, r.stderr
    assert "221 cameras (snapshot 2023-06-14T00:00:00Z)" in r.stdout
    assert server.count("/interpreter") == 3


@pytest.mark.parametrize(
    ("service", "fault", "expect"),
    [
        ("overpass", "truncated", "the Overpass API at 127.0.0.1:"),
        ("overpass", "remark", "did not complete the query (runtime error: Query timed out"),
        ("nominatim", "truncated", "Nominatim at 127.0.0.1:"),
    ],
)
def test_malformed_answers(
    server: FakeOSM, seeded: Path, service: str, fault: str, expect: str, user_cache: Path,
    nominatim_answers: list[Path],
) -> None:  # fmt: skip
    if service == "overpass":
        user_cache.mkdir(parents=True)
        for f in nominatim_answers:
            shutil.copy(f, user_cache / f.name)
        server.overpass_faults.append(fault)
    else:
        server.nominatim_faults.append(fault)
    before = digest(seeded)
    r = fetch(server, seeded, "Zürich")
    assert r.exit_code == 1
    line = one_error(r.stderr, "Zürich: ", expect)
    if fault == "truncated":
        assert "sent a malformed response (not JSON" in line
    assert digest(seeded) == before


def test_every_place_or_nothing(server: FakeOSM, seeded: Path, geocoded: None) -> None:
    before = digest(seeded)
    r = fetch(server, seeded, "Zürich", "Atlantis")
    assert r.exit_code == 1
    one_error(r.stderr, "Error: Nominatim found no place named 'Atlantis'")
    assert server.count("/interpreter") == 1  # Zürich was downloaded, then nothing stored
    assert digest(seeded) == before


def test_an_area_of_the_same_name_is_not_overwritten(
    server: FakeOSM, tmp_path: Path, geocoded: None
) -> None:
    db = tmp_path / "f.duckdb"
    r = invoke("area", "add", "Zürich", "--boundary", str(BOUNDARIES / "zurich.geojson"),
               "--db", str(db))  # fmt: skip
    assert r.exit_code == 0
    r = fetch(server, db, "Zürich")
    assert r.exit_code == 1
    one_error(r.stderr, "an area named 'Zürich' already exists", "camdensity area remove")
    assert cameras(db) == []


def test_retry_delay_follows_retry_after_and_backs_off() -> None:
    assert retry_delay(0, "0") == 0
    assert retry_delay(0, "7") == 7
    assert retry_delay(0, "3600") is None  # longer than is worth waiting: give up now
    assert [retry_delay(i, None) for i in range(RETRIES)] == [5.0, 15.0, 30.0]
    assert retry_delay(RETRIES, None) is None


def _nominatim_answer(geojson: dict[str, Any]) -> Any:
    import requests

    r = requests.Response()
    r.status_code = 200
    r._content = json.dumps([{"importance": 0.5, "boundingbox": ["0", "1", "0", "1"],
                              "geojson": geojson}]).encode()  # fmt: skip
    return r


@pytest.mark.parametrize(
    "coordinates",
    [[[[0, 0], [1, 0], [0, 0]]], [[[0, 0], [1, 0], [1, "x"], [0, 0]]], [[0, 0]], "ring",
     [[[0, 0], [1, 0], [1, 1], [True, 0]]], [[[0, 0], [1, 0], [1, 1], [0, 0, 0, 0]]]],
    ids=["three-positions", "a-string", "not-nested", "not-a-list", "a-bool", "four-numbers"],
)  # fmt: skip
def test_a_boundary_shapely_cannot_read_is_a_malformed_answer(coordinates: Any) -> None:
    """Refused where it is found, when the answer arrives, not when shapely trips over it."""
    from mapper.errors import ServiceError
    from mapper.sources._http import check_nominatim

    url = "http://127.0.0.1:1/nominatim/search"
    with pytest.raises(ServiceError, match=r"malformed response \(a Polygon without valid"):
        check_nominatim(url, _nominatim_answer({"type": "Polygon", "coordinates": coordinates}))
    multi = {"type": "MultiPolygon", "coordinates": [coordinates]}
    with pytest.raises(ServiceError, match="a MultiPolygon without valid coordinates"):
        check_nominatim(url, _nominatim_answer(multi))
    ok = [[[0, 0], [1, 0], [1, 1], [0, 0]]]
    check_nominatim(url, _nominatim_answer({"type": "Polygon", "coordinates": ok}))
    check_nominatim(url, _nominatim_answer({"type": "Point", "coordinates": [0, 0]}))
