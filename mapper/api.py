"""The Python API: a store as an object whose methods return pandas DataFrames, geopandas
GeoDataFrames (EPSG:4326) and folium maps, for notebooks (``docs/api.md``).

Each method is a CLI command over the same library function (``Store.compare`` is
``camdensity compare`` over :func:`mapper.compare.compare`), with the command's options as
keyword arguments; the numbers are the ones the command's JSON output gives for the same
store. Errors are the library's exception types (:mod:`mapper.errors`) with the messages the
CLI prints after ``Error:``. Warnings (a camera way skipped, a polygon repaired) go to the
``camdensity`` logger and are kept in the returned frames' ``warnings`` column or ``attrs``.

``Store(None)``, the default, is a temporary store: a DuckDB file in a private temporary
folder, created empty at once and removed with its folder by :meth:`Store.close` (or when
the ``with`` block ends, or the object is garbage-collected, or the interpreter exits).
It is a file rather than DuckDB's ``:memory:`` because every library call opens the store by
path, for as long as it needs it, as the CLI does: the same locks, the same read-only
readers, and no connection held between calls (a notebook cell never keeps the store from a
``camdensity`` command run beside it).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import tempfile
import weakref
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd  # type: ignore[import-untyped]
import numpy as np
import pandas as pd  # type: ignore[import-untyped]
import shapely
from shapely.geometry.base import BaseGeometry

from mapper import ATTRIBUTION, sql
from mapper.errors import InputError, StoreError

if TYPE_CHECKING:
    from branca.element import Figure

    from mapper.ingest import IngestResult

__all__ = ["Store"]

log = logging.getLogger("camdensity")

CRS = "EPSG:4326"
#: ``Store.ingest``'s ``include=`` values (the CLI's ``--include``).
INCLUDE = ("speed_camera",)
#: The date formats ``snapshot=`` takes as text (the CLI's ``--snapshot``), UTC.
SNAPSHOT_FORMATS = ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S")

INGEST_COLUMNS = ("path", "format", "status", "cameras", "stored", "snapshot", "warnings")
FETCH_COLUMNS = INGEST_COLUMNS + (
    "place", "area", "osm_type", "osm_id", "admin_level", "area_km2", "population",
)  # fmt: skip
FROM_PBF_COLUMNS = (
    "id", "name", "osm_type", "osm_id", "osm_name", "admin_level", "area_km2", "population",
    "population_year", "warnings",
)  # fmt: skip
AREA_COLUMNS = (
    "id", "name", "kind", "area_km2", "area_official", "geodesic_km2", "population",
    "population_year", "population_source", "admin_level", "osm_type", "osm_id", "osm_name",
    "source", "credit", "reported_cameras", "reported_source", "min_lon", "min_lat", "max_lon",
    "max_lat",
)  # fmt: skip
CAMERA_COLUMNS = (
    "osm_type", "osm_id", "lat", "lon", "kind", "visibility", "camera_type", "zone", "mount",
    "operator", "directions", "direction_invalid", "source", "tags",
)  # fmt: skip
STREETS_COLUMNS = (
    "path", "status", "streets", "buildings", "street_km", "walk_km", "skipped_ways",
)  # fmt: skip
HISTORY_COLUMNS = (
    "area", "date", "at", "standing", "cameras", "added", "removed", "retagged", "aimed_share",
    "added_ids", "removed_ids", "retagged_ids",
)  # fmt: skip
DIFF_COLUMNS = (
    "change", "osm_type", "osm_id", "lat", "lon", "tags", "tags_before", "private", "mapped",
    "url",
)  # fmt: skip
#: Columns that hold whole numbers or nothing: pandas' nullable ``Int64`` in every frame.
_NULLABLE_INTS = frozenset(
    {"id", "osm_id", "admin_level", "population", "population_year", "reported_cameras", "rank"}
)


class Store:
    """A camdensity store: a DuckDB file (``path``), or a temporary one (``None``).

    A path that does not exist yet becomes a store at the first method that writes
    (``ingest``, ``add_area``, ...), as with the CLI's ``--db``. A context manager: the
    ``with`` block's end calls :meth:`close`.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._closed = False
        self._folder: str | None = None
        if path is None:
            from mapper.store import open_store

            folder = tempfile.mkdtemp(prefix="camdensity-store-")
            self._finalizer = weakref.finalize(self, shutil.rmtree, folder, True)
            self._folder = folder
            self._path = Path(folder) / "store.duckdb"
            with open_store(self._path, write=True):  # an empty store of the current schema
                pass
        else:
            text = os.fspath(path)
            if not str(text).strip():
                raise InputError("give a store file path, or None for a temporary store")
            self._path = Path(text)

    # ------------------------------------------------------------------ the object
    @property
    def path(self) -> Path:
        """The store file (for a temporary store, inside its private temporary folder)."""
        return self._path

    @property
    def temporary(self) -> bool:
        """True for ``Store(None)``: the file goes when the store is closed."""
        return self._folder is not None

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Close the store; a temporary store's file and folder are removed. Idempotent."""
        self._closed = True
        if self._folder is not None:
            self._finalizer()

    def __enter__(self) -> Store:
        self._db()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = " (closed)" if self._closed else ""
        if self.temporary:
            return f"<Store temporary {str(self._path)!r}{state}>"
        return f"<Store {str(self._path)!r}{state}>"

    def _db(self) -> str:
        if self._closed:
            raise StoreError("this Store is closed; open a new one with Store(path)")
        return str(self._path)

    # ------------------------------------------------------------------ inputs
    def ingest(
        self,
        *paths: str | os.PathLike[str],
        snapshot: datetime | date | str | None = None,
        include: Iterable[str] | str = (),
        quiet: bool = True,
    ) -> pd.DataFrame:
        """``camdensity ingest``: read every file, then write them all in one transaction.

        ``snapshot`` dates inputs that carry no date (a bare Overpass element list): a
        datetime (UTC) or text like ``"2023-06-14"``. ``include=("speed_camera",)`` also
        takes ``highway=speed_camera`` nodes. One row per input: ``status`` is
        ``"ingested"`` or ``"unchanged"`` (same sha256 as a stored input), ``stored`` the
        cameras kept (fewer when a newer source holds some), ``snapshot`` a UTC timestamp.
        """
        from mapper.ingest import ingest

        if not paths:
            raise InputError("give one or more files to ingest")
        kinds = _include(include)
        results = ingest(
            [os.fspath(p) for p in paths], self._db(), include_speed="speed_camera" in kinds,
            quiet=quiet, snapshot=_snapshot(snapshot),
        )  # fmt: skip
        return _frame([_result_row(r) for r in results], INGEST_COLUMNS, times=("snapshot",))

    def fetch(
        self,
        *places: str,
        admin_level: int | None = None,
        overpass_url: str | None = None,
        nominatim_url: str | None = None,
        timeout: int = 180,
        cache: bool = True,
    ) -> pd.DataFrame:
        """``camdensity fetch``: each place's boundary becomes an area and its cameras a
        source, online (Nominatim and Overpass through osmnx; answers cached unless
        ``cache=False``). The columns of :meth:`ingest`, then the place, its area's name,
        OSM element, admin level, area (km², geodesic) and population."""
        from mapper.ingest import fetch

        results = fetch(
            self._db(), list(places), admin_level=admin_level, overpass_url=overpass_url,
            nominatim_url=nominatim_url, timeout=timeout, use_cache=cache,
        )  # fmt: skip
        rows = []
        for r in results:
            row = _result_row(r.source)
            row.update(
                place=r.place, area=r.area.name, osm_type=r.osm_type, osm_id=r.osm_id,
                admin_level=r.area.admin_level, area_km2=r.area.geodesic_km2,
                population=r.area.population,
            )  # fmt: skip
            rows.append(row)
        return _frame(rows, FETCH_COLUMNS, times=("snapshot",))

    def streets(self, *paths: str | os.PathLike[str], quiet: bool = True) -> pd.DataFrame:
        """``camdensity streets``: each OSM file's streets, walking ways and buildings, for
        the figures per street km and the coverage of streets by fields of view. One row per
        file: ``status`` (``stored``, or ``unchanged`` for a file already read), the street
        ways and buildings it holds, ``street_km`` and ``walk_km`` (geodesic), and the ways
        skipped for nodes missing from the extract."""
        from mapper.streets import store_streets

        if not paths:
            raise InputError("give one or more OSM files to read streets from")
        results = store_streets(self._db(), [os.fspath(p) for p in paths], progress=not quiet)
        rows = [dataclasses.asdict(r) for r in results]
        return _frame(rows, STREETS_COLUMNS)

    # ------------------------------------------------------------------ areas
    def add_area(
        self,
        name: str,
        boundary: str | os.PathLike[str] | BaseGeometry | gpd.GeoDataFrame | gpd.GeoSeries,
        population: int | None = None,
        area_km2: float | None = None,
        kind: str = "municipality",
        *,
        population_year: int | None = None,
        replace: bool = False,
    ) -> int:
        """``camdensity area add``: one area; returns its id.

        ``boundary``: a GeoJSON file (a Feature, a FeatureCollection of one feature, or a
        Polygon/MultiPolygon), a shapely Polygon or MultiPolygon in longitude/latitude, or a
        one-row GeoDataFrame or GeoSeries (in any CRS; transformed to EPSG:4326). A file's
        properties and a GeoDataFrame's columns ``population``, ``population_year``,
        ``population_source`` and ``area_for_density_km2`` are used when present; the
        arguments win over them. ``area_km2`` is an official land area (else geodesic).
        """
        from mapper import areas
        from mapper.store import open_store, transaction

        if isinstance(boundary, str | os.PathLike):
            spec = areas.area_spec(
                name, os.fspath(boundary), population=population,
                population_year=population_year, area_km2=area_km2, kind=kind,
            )  # fmt: skip
        else:
            geom, props, source = _boundary(boundary)
            if population is not None:
                props["population"] = population
                props["population_source"] = "given to Store.add_area"
            if population_year is not None:
                props["population_year"] = population_year
            if area_km2 is not None:
                props["area_for_density_km2"] = area_km2
            spec = areas.spec_from_feature(
                areas.check_name(name), geom, props, kind=kind, source=source
            )
        _log(spec.warnings)
        with open_store(self._db(), write=True) as con, transaction(con):
            return areas.insert(con, spec, replace=replace)

    def import_areas(
        self,
        path: str | os.PathLike[str],
        name_field: str,
        *,
        population_field: str = "population",
        kind: str = "neighbourhood",
        replace: bool = False,
    ) -> pd.DataFrame:
        """``camdensity area import``: every feature of a GeoJSON FeatureCollection becomes an
        area (named by its ``name_field`` property). Returns the areas added, as
        :meth:`areas` gives them."""
        from mapper import areas

        specs = areas.import_file(
            self._db(), os.fspath(path), name_field=name_field,
            population_field=population_field, kind=kind, replace=replace,
        )  # fmt: skip
        for spec in specs:
            _log(spec.warnings)
        every = self.areas()
        return every[every["name"].isin([s.name for s in specs])].reset_index(drop=True)

    def areas_from_pbf(
        self,
        path: str | os.PathLike[str],
        admin_level: int | None = None,
        *,
        kind: str = "admin",
        replace: bool = False,
    ) -> pd.DataFrame:
        """``camdensity area from-pbf``: areas from an OSM file's own administrative
        boundaries (libosmium's multipolygons), keyed by relation id. One row per area added
        (``area_km2`` geodesic); ``attrs["skipped"]`` names the relations that could not be
        closed (their member ways are not all in the extract)."""
        from mapper import areas

        specs, skipped = areas.from_pbf(
            self._db(), os.fspath(path), admin_level=admin_level, kind=kind, replace=replace
        )
        for spec in specs:
            _log(spec.warnings)
        _log(skipped)
        ids = {(a["osm_type"], a["osm_id"]): a["id"] for a in areas.list_areas(self._db())}
        rows = [
            {
                "id": ids.get((s.osm_type, s.osm_id)), "name": s.name, "osm_type": s.osm_type,
                "osm_id": s.osm_id, "osm_name": s.osm_name, "admin_level": s.admin_level,
                "area_km2": s.geodesic_km2, "population": s.population,
                "population_year": s.population_year, "warnings": s.warnings,
            }
            for s in specs
        ]  # fmt: skip
        return _frame(rows, FROM_PBF_COLUMNS, attrs={"skipped": skipped})

    def areas(self) -> gpd.GeoDataFrame:
        """``camdensity area list``: every study area with its figures and its boundary
        (MultiPolygon, EPSG:4326), in the list's order (by kind, then name)."""
        from mapper.areas import list_areas
        from mapper.store import open_store

        db = self._db()
        rows = list_areas(db)
        with open_store(db) as con:
            wkb = {r["id"]: r["geometry"] for r in sql.rows(con, "api-area-geometries")}
        geoms = shapely.from_wkb([wkb[r["id"]] for r in rows]) if rows else []
        df = _frame(rows, AREA_COLUMNS)
        return _geo(df, geoms, {"attribution": ATTRIBUTION})

    def set_area(
        self,
        name: str,
        *,
        reported: int | None = None,
        reported_source: str | None = None,
        population: int | None = None,
        population_year: int | None = None,
        population_source: str | None = None,
    ) -> str:
        """``camdensity area set``: a published camera count (with where it was published),
        or the population; returns the area's name. ``name``: a name or ``relation/ID``."""
        from mapper import areas

        return areas.set_area(
            self._db(), name, reported=reported, reported_source=reported_source,
            population=population, population_year=population_year,
            population_source=population_source,
        )  # fmt: skip

    def rename_area(self, name: str, new_name: str) -> str:
        """``camdensity area rename``; returns the old name."""
        from mapper import areas

        return areas.rename(self._db(), name, new_name)

    def remove_area(self, name: str) -> str:
        """``camdensity area remove`` (its cameras stay); returns the removed area's name."""
        from mapper import areas

        return areas.remove(self._db(), name)

    # ------------------------------------------------------------------ readers
    def stats(self) -> dict[str, Any]:
        """``camdensity stats --json``: totals, breakdowns and the sources, as a dict."""
        from mapper.stats import stats

        return stats(self._db())

    def cameras(self, area: str | None = None, public_only: bool = False) -> gpd.GeoDataFrame:
        """The stored cameras as points: the columns of ``camdensity export`` (coordinates
        rounded to 7 decimals, as there) and ``tags``, every raw OSM tag as a dict. With
        ``area`` (a name or ``relation/ID``), only the cameras inside it (the grid's and
        compare's test). ``public_only`` leaves out cameras tagged indoor or otherwise not
        public (``export --public-only``)."""
        from mapper.areas import get as get_area
        from mapper.grid import prepare
        from mapper.store import open_store

        name: str | None = None
        with open_store(self._db()) as con:
            if area is None:
                rows = sql.rows(con, "api-cameras", public_only=public_only)
            else:
                prepare(con)
                found = get_area(con, area)
                name = found["name"]
                rows = sql.rows(
                    con, "api-area-cameras", area_id=found["id"], public_only=public_only
                )
        df = _frame(rows, CAMERA_COLUMNS)
        geoms = shapely.points(df["lon"].to_numpy(float), df["lat"].to_numpy(float))
        return _geo(df, geoms, {"area": name, "attribution": ATTRIBUTION})

    def grid(self, area: str | None = None, res: int | None = None) -> gpd.GeoDataFrame:
        """``camdensity grid``: H3 hexagons (full cells, EPSG:4326) with their counts by
        kind, ``area_km2`` and ``per_km2``; for the whole store (occupied cells, full cell
        areas) or clipped to ``area`` (every cell touching it, empty ones too, areas of the
        part inside). ``attrs``: ``area``, ``resolution``, ``attribution``."""
        from mapper import grid

        g = grid.grid(self._db(), area, res)
        df = _frame(g.rows, g.columns) if g.table is None else g.table.to_pandas()
        geoms = grid.cell_polygons(df["h3"].tolist())
        attrs = g.as_dict(cells=False)
        return _geo(df, geoms, attrs)

    def compare(
        self,
        *areas: str,
        all: bool = False,
        kinds: Sequence[str] = (),
        admin_level: int | None = None,
        within: str | None = None,
        top: int | None = None,
        sort: str = "per_km2",
        res: int | None = None,
        at: datetime | date | str | None = None,
    ) -> pd.DataFrame:
        """``camdensity compare``: one row per area, ranked on ``sort`` (``per_km2``,
        ``per_1k``, ``cameras``, ...; ties share a rank).

        ``all=True`` takes every area, narrowed by ``kinds``, ``admin_level`` and ``within``
        (an area's name or ``relation/ID``: only the areas inside it); ``top`` keeps the
        first rows. ``res`` forces one H3 resolution for concentration (else each area's
        own, column ``res``). ``at``: the store as of a day (a date, or text like
        ``"2023-12-26"``: the end of that day, UTC) or a moment (a datetime). The columns
        of ``--format csv`` (nested shares as ``vis_*``, ``kind_*``, ``with_*``), then the
        row's other figures and their sources. ``attrs``: ``data_date``, ``resolution``,
        ``sort``, ``attribution`` and ``caveat`` (the counts are of mapped cameras).
        """
        from mapper import compare

        c = compare.compare(
            self._db(), areas, all_areas=all, kinds=tuple(kinds), admin_level=admin_level,
            within=within, top=top, sort=sort, res=res, at=_moment(at, "--at"),
        )  # fmt: skip
        flat = [compare.flat(r) for r in c.rows]
        extra = [k for k in (flat[0] if flat else {}) if k not in compare.FLAT_COLUMNS]
        meta = c.as_dict()
        attrs = {k: meta[k] for k in ("data_date", "resolution", "sort", "attribution", "caveat")}
        return _frame(flat, [*compare.FLAT_COLUMNS, *extra], attrs=attrs)

    # ------------------------------------------------------------------ history
    def history(self, *areas: str, every: str = "month") -> pd.DataFrame:
        """``camdensity history``: per area, one row per snapshot date (from a history
        file, per ``every`` month or year), counted inside the area's current boundary:
        ``cameras``, how many were ``added``, ``removed`` and ``retagged`` since the row
        before (and their ids, as lists), and ``aimed_share`` (the share with a
        direction). ``date`` is the day, ``at`` the moment (UTC); ``standing`` says whether
        the row is a snapshot or a period's end. ``attrs``: ``notes`` (per area, what the
        boundary means for earlier dates) and ``attribution``."""
        from mapper import history

        series = history.history(self._db(), areas, every=every)
        rows = [
            {
                "area": s.area, "date": st.date, "at": st.at, "standing": st.standing,
                "cameras": st.cameras, "added": len(st.added), "removed": len(st.removed),
                "retagged": len(st.retagged), "aimed_share": st.aimed_share,
                "added_ids": st.added, "removed_ids": st.removed, "retagged_ids": st.retagged,
            }
            for s in series for st in s.steps
        ]  # fmt: skip
        attrs = {"notes": {s.area: s.note for s in series}, "attribution": ATTRIBUTION}
        return _frame(rows, HISTORY_COLUMNS, times=("at",), attrs=attrs)

    def diff(
        self, *areas: str, start: date | str | None = None, end: date | str | None = None
    ) -> gpd.GeoDataFrame:
        """``camdensity diff``: the cameras added, removed or retagged from the day
        ``start`` (the CLI's ``--from``; default: the snapshot before the one that stands
        for ``end``) to the day ``end`` (``--to``; default: the newest snapshot), in the
        areas or the whole store. Points with ``change``, the element, ``tags`` (and
        ``tags_before`` when retagged), ``private``, ``mapped`` (when it was first mapped)
        and ``url``. ``attrs``: ``from``, ``to``, ``areas``, ``note``, ``attribution``."""
        from mapper import history

        d = history.diff(self._db(), areas, start=_day(start), end=_day(end))
        rows = [c.as_dict() for c in d.changes]
        extra = [k for k in (rows[0] if rows else {}) if k not in DIFF_COLUMNS]
        df = _frame(rows, [*DIFF_COLUMNS, *extra])
        geoms = shapely.points(df["lon"].to_numpy(float), df["lat"].to_numpy(float))
        doc = {k: v for k, v in history.diff_geojson(d).items() if k != "features"}
        attrs = {k: doc[k] for k in ("from", "to", "areas", "note", "attribution")}
        return _geo(df, geoms, attrs)

    # ------------------------------------------------------------------ outputs
    def map(
        self,
        *areas: str,
        res: int | None = None,
        scheme: str = "quantiles",
        bins: int = 5,
        show_private: bool = False,
        tiles: str = "osm",
        assets: str = "inline",
    ) -> Any:
        """``camdensity map``: H3 density, cameras and view cones. One area gives a
        ``folium.Map``; several give the page (a ``branca`` Figure): two side by side and
        synchronised, more as a grid, all on one colour scale. Jupyter shows either inline;
        ``.save("map.html")`` writes the file ``camdensity map`` writes.

        ``assets="inline"`` (the default) puts Leaflet and its plugins in the page: the page
        loads no script from elsewhere (only the tiles, unless ``tiles="none"``).
        """
        from mapper import maps

        if assets not in ("inline", "cdn"):
            raise InputError("--assets must be inline or cdn")
        ps = maps.map_panels(self._db(), list(areas), res=res, show_private=show_private)
        fig, _ = maps.build_figure(
            ps, scheme=scheme, bins=bins, show_private=show_private, tiles=tiles, assets=assets
        )
        return _single_map(fig) if len(ps) == 1 else fig

    def export(
        self,
        out: str | os.PathLike[str],
        format: str | None = None,
        *,
        public_only: bool = False,
    ) -> Path:
        """``camdensity export``: every camera as ``csv``, ``geojson`` or ``parquet``
        (GeoParquet); ``format`` defaults from the file's suffix. Returns the file."""
        from mapper.export import export

        target = Path(os.fspath(out))
        fmt = format or {".csv": "csv", ".geojson": "geojson", ".parquet": "parquet"}.get(
            target.suffix.lower()
        )
        if fmt is None:
            raise InputError(f"{target}: say which format (csv, geojson or parquet)")
        export(fmt, str(target), self._db(), public_only=public_only)
        return target

    def site(
        self,
        out: str | os.PathLike[str],
        config: str | os.PathLike[str] | None = None,
        tiles: str = "osm",
        *,
        quiet: bool = True,
    ) -> Path:
        """``camdensity site``: the static site in ``out`` (built beside it and swapped in);
        with ``config`` (a TOML file such as ``examples/demo.toml``), what it names that is
        not yet in the store is ingested and added first. Returns the folder."""
        from mapper import site

        r = site.build(
            self._db(), os.fspath(out), config=None if config is None else os.fspath(config),
            tiles=tiles, quiet=quiet,
        )  # fmt: skip
        return r.out


# ---------------------------------------------------------------------------- helpers


def _include(include: Iterable[str] | str) -> tuple[str, ...]:
    kinds = (include,) if isinstance(include, str) else tuple(include)
    for k in kinds:
        if k not in INCLUDE:
            raise InputError(f"cannot include '{k}'; use one of {', '.join(INCLUDE)}")
    return kinds


def _snapshot(value: datetime | date | str | None) -> datetime | None:
    """A data date as the library takes it: a naive datetime in UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        for fmt in SNAPSHOT_FORMATS:
            try:
                return datetime.strptime(value.strip(), fmt)
            except ValueError:
                continue
    raise InputError(
        f"snapshot {str(value)[:40]!r}: give a date like 2023-06-14 or 2023-06-14T12:00:00Z (UTC)"
    )


def _moment(value: datetime | date | str | None, what: str) -> datetime | None:
    """A moment as the library takes it (naive UTC): a datetime as given, a day (a date or
    ``YYYY-MM-DD``) as its end, as the CLI reads a DATE."""
    from mapper.history import parse_date

    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return parse_date(value.isoformat(), what)
    return parse_date(str(value), what)


def _day(value: date | str | None) -> str | None:
    """A day as the CLI's DATE text: a date (or datetime) as its day, text as given."""
    if isinstance(value, date):
        return value.isoformat()[:10]
    return value


def _result_row(r: IngestResult) -> dict[str, Any]:
    _log(r.warnings)
    return {
        "path": r.path, "format": r.format, "status": r.status, "cameras": r.cameras,
        "stored": r.stored, "snapshot": r.snapshot, "warnings": list(r.warnings),
    }  # fmt: skip


def _log(messages: Iterable[str]) -> None:
    for m in messages:
        log.warning("%s", m)


def _frame(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], *, times: Sequence[str] = (),
    attrs: dict[str, Any] | None = None,
) -> pd.DataFrame:  # fmt: skip
    """Rows as a DataFrame with exactly ``columns``; whole-number columns that may be empty
    as ``Int64``, ``times`` as UTC timestamps."""
    df = pd.DataFrame.from_records(list(rows), columns=list(columns))
    for c in columns:
        if c in _NULLABLE_INTS:
            df[c] = df[c].astype("Int64")
    for c in times:
        df[c] = pd.to_datetime(df[c], utc=True)
    df.attrs.update(attrs or {})
    return df


def _geo(df: pd.DataFrame, geoms: Any, attrs: dict[str, Any]) -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(list(geoms), index=df.index), crs=CRS)
    gdf.attrs.update(attrs)
    return gdf


def _boundary(boundary: Any) -> tuple[BaseGeometry, dict[str, Any], str]:
    """A boundary given as an object: its geometry (EPSG:4326), properties and a label."""
    if isinstance(boundary, BaseGeometry):
        return boundary, {}, "a shapely geometry"
    if isinstance(boundary, gpd.GeoDataFrame | gpd.GeoSeries):
        what = type(boundary).__name__
        if len(boundary) != 1:
            raise InputError(
                f"boundary: a {what} of {len(boundary)} rows; give one row (or use "
                "Store.import_areas for several)"
            )
        if boundary.crs is not None and not boundary.crs.equals(CRS):
            boundary = boundary.to_crs(CRS)
        if isinstance(boundary, gpd.GeoSeries):
            return boundary.iloc[0], {}, f"a {what}"
        row = boundary.iloc[0]
        props = {
            str(k): _plain(v) for k, v in row.items() if k != boundary.geometry.name
        }  # fmt: skip
        return row[boundary.geometry.name], props, f"a {what}"
    raise InputError(
        "boundary: give a GeoJSON file path, a shapely geometry, or a one-row "
        f"GeoDataFrame or GeoSeries (not {type(boundary).__name__})"
    )


def _plain(v: Any) -> Any:
    """A frame's cell as a GeoJSON property would hold it: a missing value as None, a NumPy
    number as a Python one."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float | type(pd.NA) | type(pd.NaT) | type(None)) and pd.isna(v):
        return None
    return v


def _single_map(fig: Figure) -> Any:
    """The one ``folium.Map`` of a one-panel page (its figure keeps the page's head)."""
    import folium

    found = [c for c in fig._children.values() if isinstance(c, folium.Map)]
    return found[0] if len(found) == 1 else fig
