"""Export cameras as CSV, GeoJSON or GeoParquet, each carrying the ODbL attribution."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import duckdb

from mapper import ATTRIBUTION, sql
from mapper.errors import InputError
from mapper.output import write_csv_rows
from mapper.store import open_store, scratch

FORMATS = ("csv", "geojson", "parquet")
COLUMNS = (
    "osm_type", "osm_id", "lat", "lon", "kind", "visibility", "camera_type", "zone", "mount",
    "operator", "directions", "direction_invalid", "source",
)  # fmt: skip
LICENSE = "ODbL-1.0"


def _atomic_target(out: Path) -> Path:
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{out}: folder {parent} does not exist")
    return parent


def attribution_note(out: Path) -> Path:
    return out.with_name(out.name + ".attribution.txt")


def write_csv(rows: list[dict[str, Any]], out: Path, columns: tuple[str, ...] = COLUMNS) -> None:
    parent = _atomic_target(out)
    fd, tmp = tempfile.mkstemp(prefix=".camdensity-", suffix=".csv", dir=parent)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            write_csv_rows(f, [columns])
            write_csv_rows(f, ([_csv_value(r.get(c)) for c in columns] for r in rows))
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    attribution_note(out).write_text(
        f"{out.name}: data {ATTRIBUTION}.\nLicence: Open Database License {LICENSE}, "
        "https://opendatacommons.org/licenses/odbl/1-0/\n",
        encoding="utf-8",
    )


def _csv_value(v: Any) -> Any:
    if isinstance(v, list):
        return json.dumps(v, separators=(", ", ": "))
    if isinstance(v, bool):
        return "true" if v else "false"
    return "" if v is None else v


def write_geojson(
    rows: list[dict[str, Any]], out: Path, extra: dict[str, Any] | None = None
) -> None:
    parent = _atomic_target(out)
    features = []
    for r in rows:
        props = {k: v for k, v in r.items() if k not in ("lat", "lon")}
        features.append(
            {
                "type": "Feature",
                "id": f"{r['osm_type']}/{r['osm_id']}",
                "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
                "properties": props,
            }
        )
    doc = {
        "type": "FeatureCollection",
        "license": LICENSE,
        "attribution": ATTRIBUTION,
        **(extra or {}),
        "features": features,
    }
    fd, tmp = tempfile.mkstemp(prefix=".camdensity-", suffix=".geojson", dir=parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False, separators=(",", ":"), default=str)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_geoparquet(con: duckdb.DuckDBPyConnection, rows: Any, out: Path) -> None:
    """``rows``: an Arrow table with lat/lon columns. Written by DuckDB spatial (GeoParquet 1.0)."""
    parent = _atomic_target(out)
    tmpdir = tempfile.mkdtemp(prefix="camdensity-")
    try:
        tmp = os.path.join(tmpdir, "out.parquet")
        con.register("export_rows", rows)
        try:
            sql.run(con, "export-geoparquet", path=tmp, license=f"{LICENSE}; data {ATTRIBUTION}")
        finally:
            con.unregister("export_rows")
        fd, staged = tempfile.mkstemp(prefix=".camdensity-", suffix=".parquet", dir=parent)
        os.close(fd)
        shutil.move(tmp, staged)
        os.replace(staged, out)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def export(fmt: str, out: str, db: str | None = None, *, public_only: bool = False) -> int:
    """Write every stored camera to ``out``; returns the number written."""
    if fmt not in FORMATS:
        raise InputError(f"unknown export format '{fmt}'; use one of {', '.join(FORMATS)}")
    target = Path(out)
    with open_store(db) as con:
        cur = sql.run(con, "export-cameras", public_only=public_only)
        if fmt == "parquet":
            table = cur.to_arrow_table()
            n = int(table.num_rows)
        else:
            cols = [d[0] for d in cur.description or []]
            rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
            n = len(rows)
    if fmt == "csv":
        write_csv(rows, target)
    elif fmt == "geojson":
        write_geojson(rows, target)
    else:
        with scratch() as s:
            write_geoparquet(s, table, target)
    return n
