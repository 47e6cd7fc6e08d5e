"""compare: figures checked against independent computations on the shipped data."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import Point, shape

from mapper import ATTRIBUTION
from mapper.compare import gini, grade, rank
from tests.conftest import BOUNDARIES, SWISS_CITIES, SWITZERLAND, invoke


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
    # one resolution for all: the default for the largest area (Zürich, 88 km²)
    assert doc["resolution"] == 9


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
