"""H3 hexagon grids computed in DuckDB, with the ``h3`` package registered as Arrow UDFs.

Default resolution: the finest resolution from 5 to 12 at which the area holds at most 5,000
average-sized cells (area / ``h3.average_hexagon_area``). Resolutions differ by a factor of
about 7 in cell area, so a city gets between ~700 and 5,000 cells: Zürich (88 km²) gets
resolution 9 (969 cells once clipped), the City of London (2.9 km²) resolution 11 and a
0.5 km² Monaco quarter resolution 12.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import h3
import pyarrow as pa
import shapely
from duckdb.func import PythonUDFType
from duckdb.sqltypes import BLOB, DOUBLE, INTEGER, UBIGINT, VARCHAR
from h3.api import basic_int

from mapper import sql
from mapper.areas import get as get_area
from mapper.errors import InputError, StoreLocked
from mapper.store import load_spatial, open_store, state, transaction

MIN_RES, MAX_RES = 5, 12
STORE_RES = 9
MAX_CELLS = 5000
COLUMNS = (
    "h3", "cameras", "camera", "ALPR", "speed_camera", "guard", "gunshot_detector", "other",
    "unknown", "area_km2", "per_km2",
)  # fmt: skip


def default_resolution(area_km2: float) -> int:
    """The finest resolution in [5, 12] with at most 5,000 average cells in the area."""
    for res in range(MAX_RES, MIN_RES - 1, -1):
        if area_km2 / h3.average_hexagon_area(res, "km^2") <= MAX_CELLS:
            return res
    return MIN_RES


def check_resolution(res: int) -> int:
    if not MIN_RES <= res <= MAX_RES:
        raise InputError(f"resolution {res} is out of range; use {MIN_RES} to {MAX_RES}")
    return res


def _cell_int(lat: pa.Array, lon: pa.Array, res: pa.Array) -> pa.Array:
    f = basic_int.latlng_to_cell
    lats, lons, ress = lat.to_pylist(), lon.to_pylist(), res.to_pylist()
    try:  # the common case in one pass: valid coordinates (ingest guarantees them)
        return pa.array(list(map(f, lats, lons, ress)), pa.uint64())
    except (TypeError, ValueError, h3.H3BaseException):
        pass
    out: list[int | None] = []
    for a, b, r in zip(lats, lons, ress, strict=True):
        try:
            out.append(f(a, b, r))
        except (TypeError, ValueError, h3.H3BaseException):
            out.append(None)
    return pa.array(out, pa.uint64())


def _boundary_wkt(cells: pa.Array) -> pa.Array:
    out: list[str | None] = []
    for c in cells.to_pylist():
        try:
            ring = [(lng, lat) for lat, lng in h3.cell_to_boundary(c)]
        except (TypeError, ValueError, h3.H3BaseException):
            out.append(None)
            continue
        ring.append(ring[0])
        out.append("POLYGON((" + ", ".join(f"{x!r} {y!r}" for x, y in ring) + "))")
    return pa.array(out, pa.string())


def _cell_area(cells: pa.Array) -> pa.Array:
    out: list[float | None] = []
    for c in cells.to_pylist():
        try:
            out.append(h3.cell_area(c, "km^2"))
        except (TypeError, ValueError, h3.H3BaseException):
            out.append(None)
    return pa.array(out, pa.float64())


def _cover(wkb: bytes, res: int) -> list[str]:
    geom = shapely.from_wkb(wkb)
    shape = h3.geo_to_h3shape(geom.__geo_interface__)
    return sorted(h3.h3shape_to_cells_experimental(shape, res, contain="overlap"))


def register_h3(con: duckdb.DuckDBPyConnection) -> None:
    """Register the h3 UDFs (vectorised over Arrow arrays) on a connection."""
    con.create_function(
        "h3_cell_int", _cell_int, [DOUBLE, DOUBLE, INTEGER], UBIGINT, type=PythonUDFType.ARROW
    )
    con.create_function(
        "h3_boundary_wkt", _boundary_wkt, [VARCHAR], VARCHAR, type=PythonUDFType.ARROW
    )
    con.create_function("h3_cell_area", _cell_area, [VARCHAR], DOUBLE, type=PythonUDFType.ARROW)
    con.create_function("h3_cover", _cover, [BLOB, INTEGER], duckdb.list_type(VARCHAR))


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Spatial, the h3 UDFs and the shared area macro, for the grid and area queries."""
    load_spatial(con)
    register_h3(con)
    sql.run(con, "macro-area-cameras")


@dataclass
class Grid:
    area: dict[str, Any] | None
    res: int
    rows: list[dict[str, Any]]
    cached: bool = False


def _rows(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    cols = [d[0] for d in cur.description or []]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def area_grid(
    con: duckdb.DuckDBPyConnection, area: dict[str, Any], res: int
) -> list[dict[str, Any]]:
    """Compute (no cache) the grid of an area on a prepared connection."""
    return _rows(sql.run(con, "grid-area", area_id=area["id"], res=res))


def grid(db: str | None, area_name: str | None = None, res: int | None = None) -> Grid:
    """``camdensity grid``: the store's occupied cells, or an area's full clipped grid.

    Area grids are cached in the store per (area, resolution, store state).
    """
    if res is not None:
        check_resolution(res)
    with open_store(db) as con:
        prepare(con)
        if area_name is None:
            r = res if res is not None else STORE_RES
            return Grid(None, r, _rows(sql.run(con, "grid-store", res=r)))
        area = get_area(con, area_name)
        r = res if res is not None else default_resolution(area["geodesic_km2"])
        now = state(con)
        cached = _rows(sql.run(con, "grid-cache-get", area_id=area["id"], res=r, state=now))
        if cached:
            return Grid(area, r, cached, cached=True)
        rows = area_grid(con, area, r)
    _cache(db, area["id"], r, now, rows)
    return Grid(area, r, rows)


def _cache(db: str | None, area_id: int, res: int, now: int, rows: list[dict[str, Any]]) -> None:
    """Best effort: another process holding the store only means no cache this time."""
    table = pa.Table.from_pylist(rows) if rows else None
    if table is None:
        return
    try:
        with open_store(db, write=True) as con:
            if state(con) != now:
                return
            with transaction(con, changes_data=False):
                sql.run(con, "grid-cache-drop-stale", state=now)
                sql.run(con, "grid-cache-drop", area_id=area_id, res=res)
                con.register("grid_rows", table)
                sql.run(con, "grid-cache-put", area_id=area_id, res=res, state=now)
                con.unregister("grid_rows")
    except StoreLocked:
        return


def to_geojson(g: Grid) -> dict[str, Any]:
    """The grid as a GeoJSON FeatureCollection of hexagons (clipped figures as properties)."""
    from mapper import ATTRIBUTION

    features = []
    for r in g.rows:
        ring = [[round(lng, 6), round(lat, 6)] for lat, lng in h3.cell_to_boundary(r["h3"])]
        ring.append(ring[0])
        features.append(
            {
                "type": "Feature",
                "id": r["h3"],
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {k: round(v, 6) if isinstance(v, float) else v for k, v in r.items()},
            }
        )
    return {
        "type": "FeatureCollection",
        "license": "ODbL-1.0",
        "attribution": ATTRIBUTION,
        "area": g.area["name"] if g.area else None,
        "resolution": g.res,
        "features": features,
    }
