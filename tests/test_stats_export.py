"""stats --json and the three export formats, on the real samples."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq

from mapper import ATTRIBUTION
from tests.conftest import invoke


def test_stats_json(samples_store: Path) -> None:
    r = invoke("stats", "--db", str(samples_store), "--json")
    assert r.exit_code == 0
    s = json.loads(r.stdout)
    assert s["cameras"] == 2611
    assert sum(s["by_kind"].values()) == 2611
    assert sum(s["by_visibility"].values()) == 2611
    assert {src["format"] for src in s["sources"]} == {"pbf", "overpass-json"}
    assert sum(src["cameras"] for src in s["sources"]) == 2611
    assert all({"path", "format", "snapshot", "cameras"} <= src.keys() for src in s["sources"])
    assert 0 < s["share_with_direction"] < 1
    assert s["data_date"] == "2023-12-26T21:21:22Z"
    assert s["attribution"] == ATTRIBUTION


def test_stats_table(samples_store: Path) -> None:
    r = invoke("stats", "--db", str(samples_store))
    assert r.exit_code == 0
    assert r.stdout.startswith("2611 cameras (2610 nodes, 1 ways)")
    assert "© OpenStreetMap contributors" in r.stdout


def test_export_csv(samples_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "cams.csv"
    r = invoke("export", "--db", str(samples_store), "--format", "csv", "-o", str(out))
    assert r.exit_code == 0, r.stderr
    with out.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2611
    assert list(rows[0]) == [
        "osm_type", "osm_id", "lat", "lon", "kind", "visibility", "camera_type", "zone",
        "mount", "operator", "directions", "direction_invalid", "source",
    ]  # fmt: skip
    # the real Swiss camera tagged camera:direction=190-100, as JSON text
    assert any(r["directions"] == "[[190.0, 100.0]]" for r in rows)
    assert all(isinstance(json.loads(r["directions"]), list) for r in rows)
    assert "© OpenStreetMap contributors" in (tmp_path / "cams.csv.attribution.txt").read_text()


def test_a_carriage_return_in_a_tag_stays_in_its_row(tmp_path: Path) -> None:
    """Found by the end-to-end tag fuzz: an operator "x\\r0" split its CSV row in two."""
    src = tmp_path / "cams.json"
    src.write_text(json.dumps([
        {"type": "node", "id": 1, "lat": 47.5, "lon": 7.5,
         "tags": {"man_made": "surveillance", "operator": "x\r0"}},
        {"type": "node", "id": 2, "lat": 47.6, "lon": 7.6,
         "tags": {"man_made": "surveillance", "operator": "plain"}},
    ]))  # fmt: skip
    db, out = tmp_path / "s.duckdb", tmp_path / "cams.csv"
    assert invoke("ingest", "--db", str(db), str(src)).exit_code == 0
    r = invoke("export", "--db", str(db), "--format", "csv", "-o", str(out))
    assert r.exit_code == 0, r.stderr
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["osm_id"], r["operator"]) for r in rows] == [("1", "x\r0"), ("2", "plain")]


def test_every_csv_of_the_commands_keeps_a_carriage_return_in_its_row() -> None:
    """``output.to_csv`` (compare, an area's grid, the history series, the site's grid.csv)
    writes rows as the export does: a value with a bare "\r" (an area or operator name)
    stays in its row, read back as it was."""
    import csv
    import io

    from mapper import output

    rows = [{"area": "x\r0", "n": 1}, {"area": "plain", "n": 2}]
    text = output.to_csv(rows, ["area", "n"], ["a comment"])
    assert text.startswith("# a comment\narea,n\n")
    body = text.split("\n", 1)[1]
    back = list(csv.DictReader(io.StringIO(body, newline="")))
    assert [(r["area"], r["n"]) for r in back] == [("x\r0", "1"), ("plain", "2")]


def test_export_geojson(samples_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "cams.geojson"
    assert (
        invoke(
            "export", "--db", str(samples_store), "--format", "geojson", "-o", str(out)
        ).exit_code
        == 0
    )
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["license"] == "ODbL-1.0" and "OpenStreetMap contributors" in doc["attribution"]
    assert len(doc["features"]) == 2611
    f = next(f for f in doc["features"] if f["id"] == "way/326202224")
    assert f["geometry"]["type"] == "Point"
    assert f["properties"]["operator"] == "City of London Police"


def test_export_public_only(samples_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "pub.geojson"
    r = invoke(
        "export", "--db", str(samples_store), "--format", "geojson", "--public-only", "-o", str(out)
    )
    assert r.exit_code == 0
    feats = json.loads(out.read_text())["features"]
    s = json.loads(invoke("stats", "--db", str(samples_store), "--json").stdout)
    private = s["by_visibility"].get("indoor", 0) + s["by_visibility"].get("other", 0)
    assert len(feats) == 2611 - private
    assert not {f["properties"]["visibility"] for f in feats} & {"indoor", "other"}


def test_export_geoparquet(samples_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "cams.parquet"
    assert (
        invoke(
            "export", "--db", str(samples_store), "--format", "parquet", "-o", str(out)
        ).exit_code
        == 0
    )
    meta = pq.read_metadata(out).metadata
    geo = json.loads(meta[b"geo"])
    assert geo["primary_column"] == "geometry"
    assert geo["columns"]["geometry"]["encoding"] == "WKB"
    assert b"OpenStreetMap contributors" in meta[b"license"]
    table = pq.read_table(out)
    assert table.num_rows == 2611
    assert "directions" in table.column_names


def test_write_json_is_to_json_written_in_batches() -> None:
    """The streamed document is ``to_json`` of the whole one, whatever the batch size, the
    list's place among the keys, its items (nested, text to escape, none at all)."""
    import io

    from mapper import output

    items = [{"a": 1, "b": [1.5, {"c": 'x\ny "q" ü'}], "d": None}, 2, "three", [], {}]
    for doc, key in (
        ({"head": "h", "cells": items, "tail": {"t": [1, 2]}}, "cells"),
        ({"cells": items}, "cells"),
        ({"x": 1, "features": []}, "features"),
        ({"features": [{"k": "\x00camdensity-items"}], "after": "\u2028"}, "features"),
        ({"before": {"cells": "\x00camdensity-items"}, "cells": [1]}, "cells"),
    ):
        want = output.to_json(doc) + "\n"
        for batch in (1, 2, 4096):
            out = io.StringIO()
            output.write_json(out, {**doc, key: iter(doc[key])}, key, batch=batch)
            assert out.getvalue() == want, (doc, batch)
