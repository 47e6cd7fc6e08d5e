"""Streets and buildings in the store: ``camdensity streets FILE`` reads them (through
:mod:`mapper.sources.streets`) and stores them in the tables of schema v6; the coverage
figures (:mod:`mapper.coverage`) read them back by area and clip them.

Why a command of its own, and not part of ``ingest``: streets and buildings are most of an
extract (on the 100x-tiled Munich file, 296,000 ways and 242,500 buildings against 20,900
cameras), and reading them takes several times as long as reading the cameras, which every
ingest does. They are read once per file and stored, so that ``compare``, ``grid``, ``map``
and ``site`` compute the figures from the store alone, like every other figure, and never
depend on the source file still being where it was. A file read again (same sha256) is
skipped; a way or building read from another file replaces the older copy. An extract
speaks for its box (the header box, else the box of its nodes): an area gets street
figures only when a stored file's box holds the area's box, so that a ward half outside a
city-centre clip does not show the half of its streets that the clip holds.

Clipping is done in lon/lat with shapely (a street's part inside an area or an H3 cell), and
every length is geodesic (pyproj ``Geod`` on the WGS84 ellipsoid), segment by segment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import shapely
from numpy.typing import NDArray

from mapper import sql
from mapper.sources import sha256_of
from mapper.sources.streets import StreetData, geodesic_lengths, read_streets
from mapper.store import open_store, transaction


@dataclass
class StreetsResult:
    path: str
    status: str  # 'stored' or 'unchanged'
    streets: int = 0
    buildings: int = 0
    street_km: float = 0.0
    walk_km: float = 0.0
    skipped_ways: int = 0


def _boxes(geoms: NDArray[np.object_]) -> NDArray[np.float64]:
    return shapely.bounds(geoms) if len(geoms) else np.empty((0, 4))


def _street_table(d: StreetData) -> Any:
    import pyarrow as pa

    box = _boxes(d.lines)
    return pa.table({
        "osm_id": pa.array(d.way_ids, pa.int64()),
        "highway": pa.array(d.highway, pa.string()),
        "street": pa.array(d.street, pa.bool_()),
        "walk": pa.array(d.walk, pa.bool_()),
        "length_m": pa.array(d.length_m, pa.float64()),
        "min_lon": box[:, 0], "min_lat": box[:, 1], "max_lon": box[:, 2], "max_lat": box[:, 3],
        "geometry": pa.array(d.line_wkb, pa.binary()),
    })  # fmt: skip


def _building_table(d: StreetData) -> Any:
    import pyarrow as pa

    box = _boxes(d.buildings)
    return pa.table({
        "osm_type": pa.array(d.building_types, pa.string()),
        "osm_id": pa.array(d.building_ids, pa.int64()),
        "min_lon": box[:, 0], "min_lat": box[:, 1], "max_lon": box[:, 2], "max_lat": box[:, 3],
        "geometry": pa.array(d.building_wkb, pa.binary()),
    })  # fmt: skip


def write_streets(con: duckdb.DuckDBPyConnection, d: StreetData, sha256: str) -> int:
    """Store one file's streets and buildings, inside the caller's transaction."""
    row = sql.run(
        con, "street-file-insert", path=d.path, sha256=sha256,
        read_at=datetime.now(UTC).replace(tzinfo=None, microsecond=0),
        streets=len(d.way_ids), buildings=len(d.building_ids), skipped_ways=d.skipped_ways,
        **dict(zip(("min_lon", "min_lat", "max_lon", "max_lat"), d.bbox or (None,) * 4,
                   strict=True)),
    ).fetchone()  # fmt: skip
    assert row is not None
    file_id = int(row[0])
    con.register("street_rows", _street_table(d))
    sql.run(con, "streets-drop-copies")
    sql.run(con, "streets-insert", file_id=file_id)
    con.unregister("street_rows")
    con.register("building_rows", _building_table(d))
    sql.run(con, "buildings-drop-copies")
    sql.run(con, "buildings-insert", file_id=file_id)
    con.unregister("building_rows")
    return file_id


def store_streets(
    db: str | None, paths: list[str], *, progress: bool = False
) -> list[StreetsResult]:
    """``camdensity streets``: read each file's streets and buildings and store them."""
    out = []
    for path in paths:
        digest = sha256_of(Path(path)) if Path(path).is_file() else ""
        with open_store(db, write=True) as con:
            known = sql.rows(con, "street-file-get", sha256=digest) if digest else []
        if known:
            out.append(StreetsResult(path, "unchanged", known[0]["streets"],
                                     known[0]["buildings"]))  # fmt: skip
            continue
        d = read_streets(path, progress=progress)  # InputError for a missing or bad file
        with open_store(db, write=True) as con, transaction(con):
            write_streets(con, d, digest)
        lengths = d.length_m
        out.append(StreetsResult(
            path, "stored", len(d.way_ids), len(d.building_ids),
            round(float(lengths[np.asarray(d.street, bool)].sum()) / 1000, 3) if d.street else 0,
            round(float(lengths[np.asarray(d.walk, bool)].sum()) / 1000, 3) if d.walk else 0,
            d.skipped_ways,
        ))  # fmt: skip
    return out


@dataclass
class AreaStreets:
    """The stored streets of an area, clipped to it (lon/lat), and the buildings near it."""

    osm_ids: NDArray[np.int64]
    street: NDArray[np.bool_]
    walk: NDArray[np.bool_]
    lines: NDArray[np.object_]  # each street's part inside the area
    length_m: NDArray[np.float64]  # geodesic length of that part
    buildings: NDArray[np.object_]
    stored: bool  # whether a stored street file holds the area's box (else no figures)


def _box(area: dict[str, Any], margin_deg: float) -> dict[str, float]:
    return {
        "min_lon": area["min_lon"] - margin_deg, "min_lat": area["min_lat"] - margin_deg,
        "max_lon": area["max_lon"] + margin_deg, "max_lat": area["max_lat"] + margin_deg,
    }  # fmt: skip


def clip(lines: NDArray[np.object_], shape: Any) -> NDArray[np.object_]:
    """Each line's part inside ``shape`` (boundary included), empty when outside."""
    if len(lines) == 0:
        return lines
    shapely.prepare(shape)
    inside = shapely.contains_properly(shape, lines)
    out = np.array(lines, dtype=object)
    cross = ~inside & shapely.intersects(shape, lines)
    out[~inside & ~cross] = shapely.from_wkt("LINESTRING EMPTY")
    if cross.any():
        out[cross] = shapely.intersection(lines[cross], shape)
    return out


def area_streets(
    con: duckdb.DuckDBPyConnection, area: dict[str, Any], shape: Any, margin_deg: float = 0.001
) -> AreaStreets:
    """The streets stored inside an area (``shape``: its boundary, lon/lat) and the buildings
    within ``margin_deg`` of its box (a camera's view may be cut by one outside)."""
    box = _box(area, 0.0)
    held = sql.rows(con, "street-files-holding", **box)[0]["n"] > 0
    rows = sql.run(con, "streets-in-box", **box).fetchall() if held else []
    stored = held  # no stored file holds the area: its streets are not (all) known
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    lines = shapely.from_wkb([r[5] for r in rows]) if rows else np.empty(0, dtype=object)
    clipped = clip(lines, shape)
    keep = ~shapely.is_empty(clipped) if len(clipped) else np.zeros(0, bool)
    brows = sql.run(con, "buildings-in-box", **_box(area, margin_deg)).fetchall()
    buildings = shapely.from_wkb([r[2] for r in brows]) if brows else np.empty(0, dtype=object)
    return AreaStreets(
        osm_ids=ids[keep],
        street=np.array([bool(r[2]) for r in rows], dtype=bool)[keep],
        walk=np.array([bool(r[3]) for r in rows], dtype=bool)[keep],
        lines=clipped[keep],
        length_m=geodesic_lengths(clipped[keep]),
        buildings=buildings,
        stored=stored,
    )
