"""Formats other than the shipped ones, built from the real data, and the one-element-once rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import osmium

from tests.conftest import LONDON, MONACO, SWITZERLAND, invoke


def _swiss() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(SWITZERLAND.read_text())
    return data


def _count(db: Path) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute("SELECT count(*) FROM cameras").fetchone()
        return int(row[0]) if row else 0
    finally:
        con.close()


def _wrapped(elements: list[dict[str, Any]], stamp: str) -> dict[str, Any]:
    return {
        "version": 0.6,
        "generator": "Overpass API 0.7.61.5 4133829e",
        "osm3s": {"timestamp_osm_base": stamp, "copyright": "The data included in this document "
                  "is from www.openstreetmap.org. The data is made available under ODbL."},
        "elements": elements,
    }  # fmt: skip


def test_turbo_geojson_gives_the_same_cameras(tmp_path: Path) -> None:
    features = [
        {
            "type": "Feature",
            "properties": {"@id": f"node/{e['id']}", **e["tags"]},
            "geometry": {"type": "Point", "coordinates": [e["lon"], e["lat"]]},
            "id": f"node/{e['id']}",
        }
        for e in _swiss()
    ]
    gj = tmp_path / "export.geojson"
    gj.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    assert invoke("ingest", "--db", str(a), str(gj)).exit_code == 0
    assert invoke("ingest", "--db", str(b), str(SWITZERLAND)).exit_code == 0
    q = "SELECT osm_type, osm_id, lat, lon, tags, kind, visibility, directions FROM cameras ORDER BY 2"  # noqa: E501
    ca, cb = duckdb.connect(str(a), read_only=True), duckdb.connect(str(b), read_only=True)
    assert ca.execute(q).fetchall() == cb.execute(q).fetchall()
    ca.close()
    cb.close()


def test_wrapped_overpass_records_its_timestamp(tmp_path: Path) -> None:
    f = tmp_path / "ov.json"
    f.write_text(json.dumps(_wrapped(_swiss()[:100], "2023-06-14T10:21:03Z")))
    db = tmp_path / "s.duckdb"
    r = invoke("ingest", "--db", str(db), str(f))
    assert r.exit_code == 0, r.stderr
    assert "100 cameras (overpass-json, snapshot 2023-06-14T10:21:03Z)" in r.stdout
    r = invoke("stats", "--db", str(db), "--json")
    assert json.loads(r.stdout)["sources"][0]["snapshot"] == "2023-06-14T10:21:03Z"


def test_way_with_center_and_way_with_missing_nodes(tmp_path: Path) -> None:
    nodes = _swiss()[:3]
    elements = [
        *nodes,
        {"type": "way", "id": 1, "center": {"lat": 47.0, "lon": 8.0},
         "nodes": [5, 6, 7, 5], "tags": {"man_made": "surveillance"}},
        {"type": "way", "id": 2, "nodes": [991, 992], "tags": {"man_made": "surveillance"}},
    ]  # fmt: skip
    f = tmp_path / "ov.json"
    f.write_text(json.dumps(elements))
    db = tmp_path / "s.duckdb"
    r = invoke("ingest", "--db", str(db), str(f))
    assert r.exit_code == 0
    assert "1 camera way(s) skipped because their nodes are not in the extract (way/2)" in r.stderr
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT lat, lon FROM cameras WHERE osm_type = 'way'").fetchall() == [
        (47.0, 8.0)
    ]
    con.close()


def test_pbf_way_whose_nodes_are_missing_is_skipped_with_a_warning(tmp_path: Path) -> None:
    # The real London extract, minus the nodes of its one camera way.
    way_nodes: set[int] = set()
    for obj in osmium.FileProcessor(str(LONDON), osmium.osm.WAY):
        if obj.tags.get("man_made") == "surveillance":
            way_nodes.update(n.ref for n in obj.nodes)
    clipped = tmp_path / "clipped.osm.pbf"
    with osmium.SimpleWriter(str(clipped)) as w:
        for obj in osmium.FileProcessor(str(LONDON)):
            if not (obj.is_node() and obj.id in way_nodes):
                w.add(obj)
    db = tmp_path / "s.duckdb"
    r = invoke("ingest", "--db", str(db), str(clipped))
    assert r.exit_code == 0
    assert "1 camera way(s) skipped" in r.stderr and "way/326202224" in r.stderr
    assert _count(db) == 22


def test_extract_without_cameras_is_recorded(tmp_path: Path) -> None:
    empty = tmp_path / "nocams.osm.pbf"
    with osmium.SimpleWriter(str(empty)) as w:
        for obj in osmium.FileProcessor(str(MONACO)):
            if obj.tags.get("man_made") != "surveillance":
                w.add(obj)
    db = tmp_path / "s.duckdb"
    r = invoke("ingest", "--db", str(db), str(empty))
    assert r.exit_code == 0
    assert "no cameras in this pbf input (recorded" in r.stdout
    s = json.loads(invoke("stats", "--db", str(db), "--json").stdout)
    assert s["cameras"] == 0 and s["sources"][0]["cameras"] == 0


def _one(node: dict[str, Any], **tags: str) -> dict[str, Any]:
    return {**node, "tags": {**node["tags"], **tags}}


def test_newer_snapshot_wins_whatever_the_order(tmp_path: Path) -> None:
    node = _swiss()[0]
    old = tmp_path / "old.json"
    new = tmp_path / "new.json"
    undated = tmp_path / "undated.json"
    old.write_text(json.dumps(_wrapped([_one(node, operator="old")], "2021-01-01T00:00:00Z")))
    new.write_text(json.dumps(_wrapped([_one(node, operator="new")], "2023-01-01T00:00:00Z")))
    undated.write_text(json.dumps([_one(node, operator="undated")]))

    def operator(db: Path) -> list[Any]:
        con = duckdb.connect(str(db), read_only=True)
        try:
            return [r[0] for r in con.execute("SELECT operator FROM cameras").fetchall()]
        finally:
            con.close()

    for order, expected in [
        ((old, new), "new"),
        ((new, old), "new"),
        ((undated, old), "old"),
        ((old, undated), "old"),
        ((new, undated, old), "new"),
    ]:
        db = tmp_path / f"{'-'.join(p.stem for p in order)}.duckdb"
        for p in order:
            assert invoke("ingest", "--db", str(db), str(p)).exit_code == 0
        assert operator(db) == [expected], order


def test_tie_goes_to_the_later_ingest(tmp_path: Path) -> None:
    node = _swiss()[0]
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(_wrapped([_one(node, operator="a")], "2022-05-05T00:00:00Z")))
    b.write_text(json.dumps(_wrapped([_one(node, operator="b")], "2022-05-05T00:00:00Z")))
    db = tmp_path / "s.duckdb"
    assert invoke("ingest", "--db", str(db), str(a)).exit_code == 0
    r = invoke("ingest", "--db", str(db), str(b))
    assert r.exit_code == 0
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT operator FROM cameras").fetchall() == [("b",)]
    con.close()
    # and the other way round, with undated sources: the later one wins too
    c, d = tmp_path / "c.json", tmp_path / "d.json"
    c.write_text(json.dumps([_one(node, operator="c")]))
    d.write_text(json.dumps([_one(node, operator="d")]))
    db2 = tmp_path / "t.duckdb"
    assert invoke("ingest", "--db", str(db2), str(c)).exit_code == 0
    assert invoke("ingest", "--db", str(db2), str(d)).exit_code == 0
    con = duckdb.connect(str(db2), read_only=True)
    assert con.execute("SELECT operator FROM cameras").fetchall() == [("d",)]
    con.close()


def test_out_of_range_coordinates_are_rejected_per_element(tmp_path: Path) -> None:
    nodes = _swiss()[:10]
    nodes[0] = {**nodes[0], "lat": 123.0}
    nodes[1] = {**nodes[1], "lon": "8.5"}
    f = tmp_path / "ov.json"
    f.write_text(json.dumps(nodes))
    db = tmp_path / "s.duckdb"
    r = invoke("ingest", "--db", str(db), str(f))
    assert r.exit_code == 0
    assert "2 element(s) rejected" in r.stderr
    assert _count(db) == 8


def test_console_entry_flushes_and_exits_with_the_command_code(tmp_path: Path) -> None:
    """What the command printed reaches a pipe, and the exit code is the command's; a reader
    that went away (``| head``) is not an error."""
    import subprocess
    import sys

    db = tmp_path / "s.duckdb"
    code = "import sys; from mapper.cli import main; sys.argv[0] = 'camdensity'; main()"
    ok = subprocess.run(
        [sys.executable, "-c", code, "ingest", "--quiet", "--db", str(db), str(LONDON)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.endswith("23 cameras (pbf, snapshot 2020-07-20T10:31:02Z)\n")
    bad = subprocess.run(
        [sys.executable, "-c", code, "stats", "--db", str(tmp_path / "none.duckdb")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 1
    assert bad.stderr.startswith("Error: no store at")
    assert _count(db) == 23
