"""H3 hexagon grids computed in DuckDB from H3 cells stored once.

Default resolution: the finest resolution from 5 to 12 at which the area holds at most 5,000
average-sized cells (area / ``h3.average_hexagon_area``). Resolutions differ by a factor of
about 7 in cell area, so a city gets between ~700 and 5,000 cells: Zürich (88 km²) gets
resolution 9 (969 cells once clipped), the City of London (2.9 km²) resolution 11 and a
0.5 km² Monaco quarter resolution 12.

Cells are stored once, on first use, as a column of each camera. The cell of a camera at a
resolution is ``h3.latlng_to_cell`` of its position at that resolution (never the parent of
a finer cell: H3 children do not nest in their parent), kept as UBIGINT in the columns
``cameras.h3_5`` to ``h3_12`` (schema v7; NULL until computed). A
camera row written anew (a newer snapshot that moves it) starts without cells. The first
query at a resolution (``grid``, ``compare``, a map, the site) computes the cells of the
cameras that lack one, in vectorised calls on every core (h3ronpy, whose ids a test checks
against h3-py on every shipped camera at every resolution 5-12), and the areas of the new
cells (below) while DuckDB writes the cells into the store. A connection that cannot write
(the store is read by another process) reads them at once through a temporary view of the
cameras with those cells filled in, and keeps them afterwards (best effort, like the grid
cache: a store held by another process only means they are computed again next time).
Later queries group the cameras by the column: no join, and no
query calls Python per camera. The store as of a date (``history.as_of``, a temporary
table) gets its cells on the connection. Each distinct cell's area (``h3.cell_area``) is
kept in ``cell_areas`` on first use too, with the store's state recorded in ``meta``
(``cell-areas-R``), so that until the next write even the look for cells without an area
is skipped; a cell's outline comes from ``h3.cell_to_boundary`` once per distinct cell of
a clipped grid.
"""

from __future__ import annotations

import functools
import os
import weakref
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import duckdb
import h3
import numpy as np
import pyarrow as pa
import shapely
from duckdb.sqltypes import BLOB, INTEGER, VARCHAR
from h3.api import basic_int

from mapper import sql
from mapper.areas import get as get_area
from mapper.errors import InputError, StoreError, StoreLocked
from mapper.store import ensure_spatial, once_per_database, open_store, state, transaction

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


def cell_polygons(cells: Sequence[str]) -> np.ndarray:
    """Each cell's outline (``h3.cell_to_boundary``) as a shapely polygon in lon/lat, the
    polygons made in one vectorised call (the 424,566 cells of the 1M-camera bench: about
    3 s, nearly all of it in ``h3.cell_to_boundary``, against 18 s for a ``shapely.Polygon``
    each)."""
    if not len(cells):
        return np.array([], dtype=object)
    flat: list[float] = []  # lat, lng, lat, lng, ...
    counts: list[int] = []
    for c in cells:
        ring = h3.cell_to_boundary(c)
        flat.extend(chain.from_iterable(ring))
        counts.append(len(ring))
    xy = np.ascontiguousarray(np.fromiter(flat, np.float64, len(flat)).reshape(-1, 2)[:, ::-1])
    rings = shapely.linearrings(xy, indices=np.repeat(np.arange(len(counts)), counts))
    polygons: np.ndarray = shapely.polygons(rings)
    return polygons


def _cover(wkb: bytes, res: int) -> list[str]:
    geom = shapely.from_wkb(wkb)
    shape = h3.geo_to_h3shape(geom.__geo_interface__)
    return sorted(h3.h3shape_to_cells_experimental(shape, res, contain="overlap"))


def register_h3(con: duckdb.DuckDBPyConnection) -> None:
    """Register the per-cell h3 UDFs (outline, cover of an area) on a connection."""
    from duckdb.func import PythonUDFType

    if not once_per_database(con, "h3"):
        return
    con.create_function(
        "h3_boundary_wkt", _boundary_wkt, [VARCHAR], VARCHAR, type=PythonUDFType.ARROW
    )
    con.create_function("h3_cover", _cover, [BLOB, INTEGER], duckdb.list_type(VARCHAR))


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Spatial, the h3 UDFs, the shared area macro and the cell views, for the grid, compare
    and area queries."""
    ensure_spatial(con)
    sql.run(con, "macro-area-cameras")
    prepare_cells(con)


def prepare_cells(con: duckdb.DuckDBPyConnection) -> None:
    """The h3 UDFs and the cell tables of a connection (``known_areas``, ``fresh_cells``):
    all the store's own grid needs. It has no geometry, so it does without loading spatial
    (an 81 MB library: 0.35 to 0.6 s of the first command of a process that loads it)."""
    register_h3(con)
    sql.run(con, "cells-prepare")


# ----------------------------------------------------------------------------- cells
@dataclass
class Fresh:
    """What one connection computed and the store lacks, and which resolutions it has
    made readable."""

    cells: list[tuple[int, pa.Table]] = field(default_factory=list)  # res, (keys, cell)
    areas: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    ready: set[int] = field(default_factory=set)
    areas_ready: set[int] = field(default_factory=set)
    #: ``meta`` keys to set to a store state: every occupied cell had its area then.
    marks: list[tuple[str, int]] = field(default_factory=list)
    view: bool = False  # the connection reads its cameras through the view with fresh cells


#: Per open connection (weakly: a connection that goes away takes its entry with it).
_FRESH: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, Fresh] = weakref.WeakKeyDictionary()


#: Points per h3ronpy call below which one call does it all (about 0.05 s of work).
CELLS_CHUNK = 100_000


def _cores() -> int:
    """The cores this process may run on (``os.cpu_count`` where the system cannot say, as on
    macOS)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def latlng_to_cells(lat: np.ndarray, lon: np.ndarray, res: int) -> np.ndarray:
    """``h3.latlng_to_cell`` of every point at ``res``, as UBIGINT ids: vectorised calls
    (h3ronpy), one per core for large inputs (h3ronpy releases the GIL: 1M points took
    0.42-0.50 s in one call here, 0.24-0.26 s in two threads)."""
    from h3ronpy.vector import coordinates_to_cells

    def cells(a: int, b: int) -> np.ndarray:
        return np.asarray(coordinates_to_cells(lat[a:b], lon[a:b], res), dtype=np.uint64)

    n = len(lat)
    if n == 0:
        return np.zeros(0, np.uint64)
    parts = min(_cores(), max(1, n // CELLS_CHUNK))
    if parts == 1:
        return cells(0, n)
    bounds = [n * i // parts for i in range(parts + 1)]
    with ThreadPoolExecutor(parts) as pool:
        return np.concatenate(list(pool.map(cells, bounds[:-1], bounds[1:])))


def cells_to_text(cells: pa.Array | pa.ChunkedArray) -> pa.Array:
    """H3 ids as the text h3-py gives (lower-case hex), in one call."""
    from h3ronpy import cells_to_string

    if isinstance(cells, pa.ChunkedArray):
        cells = cells.combine_chunks()
    return cells_to_string(cells.cast(pa.uint64()))


def cell_areas_km2(cells: np.ndarray) -> np.ndarray:
    """``h3.cell_area`` in km² of each distinct cell."""
    f = basic_int.cell_area
    return np.fromiter((f(c, "km^2") for c in cells.tolist()), np.float64, len(cells))


def cell_column(res: int) -> dict[str, str]:
    """The ``idents`` of a query that reads the cameras' cells at ``res`` (5 to 12)."""
    return {"cell": f"h3_{check_resolution(res)}"}


def _own(con: duckdb.DuckDBPyConnection) -> bool:
    """The connection reads the store's own cameras (not a temporary table of a date)."""
    return bool(sql.rows(con, "cells-own")[0]["own"])


def release_view(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the view of the cameras with fresh cells (before a temporary ``cameras`` of a
    date takes its name); what was computed is still kept by :func:`keep`."""
    fresh = _FRESH.get(con)
    if fresh is not None and fresh.view:
        sql.run(con, "cells-view-drop")
        fresh.view = False
        fresh.ready.clear()


def ensure_cells(
    con: duckdb.DuckDBPyConnection, resolutions: Iterable[int], *, areas: bool = False,
    write: bool = False,
) -> None:  # fmt: skip
    """Make every camera's cell at each resolution readable in ``cameras.h3_<res>`` (and, with
    ``areas``, each occupied cell's area in ``known_areas``) on a prepared connection. What
    the store lacks is computed here, once per connection; :func:`keep` stores it (on a
    connection that writes, ``write``: the cells go straight into the store's cameras, in
    the caller's transaction).

    The areas of new cells are computed (h3-py, which holds the GIL) while DuckDB writes the
    cells (its queries release it): for 1M cameras at resolution 9, 0.8-1.0 s of areas beside
    0.2-0.4 s of update."""
    fresh = _FRESH.setdefault(con, Fresh())
    own = _own(con)  # else a date's cameras, which may change on the connection: look again
    with ThreadPoolExecutor(1) as pool:
        for res in sorted(set(resolutions)):
            check_resolution(res)
            rows = None
            if res not in fresh.ready or not own:
                beside = own and not write  # fresh cells beside the stored ones, in a view
                query = "cells-missing" if beside else "cells-missing-rows"
                missing = sql.arrow(con, query, cell_column(res))
                if missing.num_rows:
                    lat = missing["lat"].to_numpy()
                    lon = missing["lon"].to_numpy()
                    rows = _in_row_groups(
                        missing.append_column("cell", pa.array(latlng_to_cells(lat, lon, res)))
                    )
            con.register("cell_rows", rows if rows is not None else _NO_ROWS)
            try:
                job = _areas_job(con, fresh, res, own, pool) if areas else None
                if rows is not None:
                    _readable(con, fresh, res, rows, beside)
            finally:
                con.unregister("cell_rows")
            fresh.ready.add(res)
            if job is not None:
                need, km2 = job.result()
                con.register("area_rows_h3", {"cell": need, "area_km2": km2})
                try:
                    sql.run(con, "cells-add-fresh-areas")
                finally:
                    con.unregister("area_rows_h3")
                fresh.areas.append((need, km2))
            if areas:
                fresh.areas_ready.add(res)


def _in_row_groups(table: pa.Table) -> pa.Table:
    """``table`` in chunks of a DuckDB row group (122,880 rows; zero-copy): DuckDB scans a
    registered Arrow table one chunk per thread, and its queries fetch one chunk of up to 1M
    rows (measured: a DISTINCT over 1M cells 0.12-0.15 s in one chunk, 0.06 s in these)."""
    return pa.Table.from_batches(table.to_batches(max_chunksize=122_880), table.schema)


#: ``cell_rows`` when no camera lacks its cell.
_NO_ROWS = pa.table({"cell": pa.array([], pa.uint64())})


def _areas_job(
    con: duckdb.DuckDBPyConnection, fresh: Fresh, res: int, own: bool, pool: ThreadPoolExecutor
) -> Future[tuple[np.ndarray, np.ndarray]] | None:
    """The areas of the cells at ``res`` that have none yet (those of the cameras and of
    ``cell_rows``, the cells about to be written), started on ``pool``; None when there are
    none or the store says every occupied cell has one."""
    if res in fresh.areas_ready and own:
        return None
    if own and _complete(con, fresh, f"cell-areas-{res}"):
        return None
    need = sql.run_on(con, "cells-missing-areas", cell_column(res)).fetchnumpy()["cell"]
    need = np.ascontiguousarray(need, np.uint64)
    if not len(need):
        return None
    return pool.submit(lambda: (need, cell_areas_km2(need)))


def _readable(
    con: duckdb.DuckDBPyConnection, fresh: Fresh, res: int, rows: pa.Table, beside: bool
) -> None:
    """Cells just computed at ``res`` (``rows``, registered as ``cell_rows``), readable as the
    cameras' column ``h3_<res>`` on ``con``: written into the ``cameras`` it reads by rowid (a
    temporary table of the store as of a date, or the store's own on a connection that
    writes), else (``beside``) put beside the store's cameras in ``fresh_cells`` and read
    through the view of query ``cells-view`` (and kept later)."""
    if not beside:
        sql.run_on(con, "cells-fill-rows", cell_column(res))
        return
    sql.run(con, "cells-add-fresh", res=res)
    fresh.cells.append((res, rows))
    if not fresh.view:
        sql.run(con, "cells-view")
        fresh.view = True


def _complete(con: duckdb.DuckDBPyConnection, fresh: Fresh, key: str) -> bool:
    """True when the store says every occupied cell has what ``key`` names, in its current
    state; else False, and the key is marked for :func:`keep` (what is missing now is about
    to be computed). Only on a connection that reads the store's own cameras (:func:`_own`)."""
    row = sql.rows(con, "cells-complete", key=key)[0]
    if row["complete"]:
        return True
    fresh.marks.append((key, int(row["state"])))
    return False


def keep(db: str | None, con: duckdb.DuckDBPyConnection) -> None:
    """Store what :func:`ensure_cells` computed on ``con``; call it once ``con`` is closed.
    Best effort, like the grid cache: a store that cannot be written now (in use by another
    process or connection) keeps nothing this time; the cells are computed again next time."""
    fresh = _FRESH.pop(con, None)
    if fresh is None or not (fresh.cells or fresh.areas or fresh.marks):
        return
    try:
        with open_store(db, write=True) as w, transaction(w, changes_data=False):
            _store(w, fresh)
    except StoreError:
        return


def _store(con: duckdb.DuckDBPyConnection, fresh: Fresh) -> None:
    """Write computed cells (inside the caller's transaction); a camera moved or gone
    meanwhile is left alone, an area stored meanwhile is not written twice."""
    for res, rows in fresh.cells:
        con.register("cell_rows", rows)
        try:
            sql.run_on(con, "cells-fill", cell_column(res))
        finally:
            con.unregister("cell_rows")
    for cells, km2 in fresh.areas:
        con.register("area_rows_h3", {"cell": cells, "area_km2": km2})
        try:
            sql.run(con, "cells-keep-areas")
        finally:
            con.unregister("area_rows_h3")
    for key, at in fresh.marks:
        sql.run(con, "cells-mark-complete", key=key, state=at)


def store_cells(db: str | None, resolutions: Iterable[int], *, areas: bool = True) -> None:
    """Compute and store the cells of every camera at ``resolutions`` now (for tools and
    benchmarks; the commands do it on first use)."""
    with open_store(db) as con:
        prepare_cells(con)
        ensure_cells(con, resolutions, areas=areas)
    keep(db, con)


@dataclass
class Grid:
    area: dict[str, Any] | None
    res: int
    #: One row per cell: dictionaries (an area's grid) or, for the store's grid, the Arrow
    #: table of :func:`store_grid` (``COLUMNS``), written out at once by ``--format csv``.
    cells: list[dict[str, Any]] | pa.Table
    cached: bool = False

    @functools.cached_property
    def rows(self) -> list[dict[str, Any]]:
        """The cells as dictionaries."""
        return self.cells.to_pylist() if isinstance(self.cells, pa.Table) else self.cells

    @property
    def table(self) -> pa.Table | None:
        """The store's grid as Arrow; None for an area's grid."""
        return self.cells if isinstance(self.cells, pa.Table) else None

    @property
    def columns(self) -> list[str]:
        """The rows' columns: ``COLUMNS``, then the street figures an area's cells carry
        (``coverage.CELL_FIGURES``)."""
        from mapper.coverage import CELL_FIGURES

        if self.table is not None:
            return list(self.table.column_names)
        return [*COLUMNS, *(k for k in CELL_FIGURES if self.rows and k in self.rows[0])]

    def iter_rows(self) -> Iterator[dict[str, Any]]:
        """The cells as dictionaries, made a batch at a time from the store's Arrow table
        (``rows`` makes them all at once and keeps them)."""
        if self.table is None:
            yield from self.rows
            return
        for batch in self.table.to_batches(max_chunksize=8192):
            yield from batch.to_pylist()

    def as_dict(self, cells: bool = True, *, lazy: bool = False) -> dict[str, Any]:
        """``camdensity grid --format json``; without ``cells``, what it says of them;
        ``lazy``: the cells as a generator (``iter_rows``, for ``output.write_json``)."""
        from mapper import ATTRIBUTION

        about: dict[str, Any] = {
            "area": self.area["name"] if self.area else None,
            "resolution": self.res,
        }
        if cells:
            about["cells"] = self.iter_rows() if lazy else self.rows
        return {**about, "attribution": ATTRIBUTION}


def _rows(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    cols = [d[0] for d in cur.description or []]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def area_grid(
    con: duckdb.DuckDBPyConnection, area: dict[str, Any], res: int
) -> list[dict[str, Any]]:
    """Compute (no cache) the grid of an area on a prepared connection."""
    ensure_cells(con, [res])
    return _rows(sql.run_on(con, "grid-area", cell_column(res), area_id=area["id"], res=res))


def grid(db: str | None, area_name: str | None = None, res: int | None = None) -> Grid:
    """``camdensity grid``: the store's occupied cells, or an area's full clipped grid.

    Area grids are cached in the store per (area, resolution, store state).
    """
    from mapper import coverage

    if res is not None:
        check_resolution(res)
    if area_name is None:
        r = res if res is not None else STORE_RES
        return Grid(None, r, store_grid(db, r))
    with open_store(db) as con:
        prepare(con)
        area = get_area(con, area_name)
        r = res if res is not None else default_resolution(area["geodesic_km2"])
        now = state(con)
        cached = _rows(sql.run(con, "grid-cache-get", area_id=area["id"], res=r, state=now))
        if cached:
            coverage.add_cell_figures(con, area, cached)
            return Grid(area, r, cached, cached=True)
        rows = area_grid(con, area, r)
        coverage.add_cell_figures(con, area, rows)  # street km, coverage per cell
    keep(db, con)
    _cache(db, area["id"], r, now, rows)
    return Grid(area, r, rows)


def store_grid(db: str | None, res: int) -> pa.Table:
    """Every occupied cell of the store at ``res`` (``COLUMNS``, in id order). What the store
    lacks (cells, cell areas) is computed and written first, on a connection that writes, so
    that the answer is read from the cell columns; when the store cannot be written now (in
    use by another process) it is computed on the reading connection instead and kept after,
    best effort."""
    with open_store(db) as con:
        prepare_cells(con)
        if not _lacking(con, res):
            ensure_cells(con, [res], areas=True)  # nothing to compute: marks it ready
            return store_table(con, res)
    fill(db, [res])
    with open_store(db) as con:
        prepare_cells(con)
        ensure_cells(con, [res], areas=True)
        table = store_table(con, res)
    keep(db, con)
    return table


def _lacking(con: duckdb.DuckDBPyConnection, res: int) -> bool:
    """Some camera of the store lacks its cell at ``res``, or some occupied cell its area."""
    row = sql.run_on(con, "cells-lacking", cell_column(res)).fetchone()
    areas = sql.rows(con, "cells-complete", key=f"cell-areas-{res}")[0]
    return bool(row and row[0]) or not areas["complete"]


def fill(db: str | None, resolutions: Iterable[int]) -> None:
    """Compute and write the cells and cell areas the store lacks at ``resolutions``, in one
    transaction. Best effort: a store in use by another process is left as it is."""
    try:
        with open_store(db, write=True) as con, transaction(con, changes_data=False):
            prepare_cells(con)
            ensure_cells(con, resolutions, areas=True, write=True)
            _store(con, _FRESH.pop(con))
    except StoreError:
        return


def store_table(con: duckdb.DuckDBPyConnection, res: int) -> pa.Table:
    """The store's occupied cells at ``res`` on a connection whose cells are ready
    (:func:`ensure_cells`), as an Arrow table (``COLUMNS``), its cells in id order."""
    fresh = _FRESH.get(con)
    areas = "known_areas" if fresh is not None and fresh.areas else "cell_areas"
    table = sql.arrow(con, "grid-store", {**cell_column(res), "areas": areas})
    # one row per cell, so any sort is the order; NumPy's took 8 ms for the 424,566 cells of
    # the 1M-camera bench store at resolution 9, Arrow's sort_indices 26 ms
    table = table.take(np.argsort(table["cell"].to_numpy()))
    return table.set_column(0, "h3", cells_to_text(table["cell"]))


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


def to_geojson(g: Grid, *, lazy: bool = False) -> dict[str, Any]:
    """The grid as a GeoJSON FeatureCollection of hexagons (clipped figures as properties);
    ``lazy``: its features a generator (for ``output.write_json``)."""
    from mapper import ATTRIBUTION

    features = _features(g)
    return {
        "type": "FeatureCollection",
        "license": "ODbL-1.0",
        "attribution": ATTRIBUTION,
        "area": g.area["name"] if g.area else None,
        "resolution": g.res,
        "features": features if lazy else list(features),
    }


def _features(g: Grid) -> Iterator[dict[str, Any]]:
    for r in g.iter_rows():
        ring = [[round(lng, 6), round(lat, 6)] for lat, lng in h3.cell_to_boundary(r["h3"])]
        ring.append(ring[0])
        yield {
            "type": "Feature",
            "id": r["h3"],
            "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {k: round(v, 6) if isinstance(v, float) else v for k, v in r.items()},
        }
