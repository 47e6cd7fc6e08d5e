"""Study areas: boundaries (GeoJSON files, a PBF's own admin relations, an extract's extent)
and their populations. Areas are geodesic (WGS84 ellipsoid) unless an official area is given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import shapely
from pyproj import Geod
from shapely.geometry import MultiPolygon, Polygon, box, shape
from shapely.geometry.base import BaseGeometry

from mapper import AREA_KINDS, extent, sql
from mapper.errors import InputError, NotFound
from mapper.sources import load_json
from mapper.store import open_store, store_path, transaction

KINDS = AREA_KINDS
_GEOD = Geod(ellps="WGS84")
#: Largest boundary file read (a city boundary is kilobytes; a country a few megabytes).
MAX_BOUNDARY_BYTES = 64 * 1024 * 1024


@dataclass
class AreaSpec:
    """An area ready to be stored."""

    name: str
    kind: str
    geometry: MultiPolygon
    official_km2: float | None = None
    population: int | None = None
    population_year: int | None = None
    population_source: str | None = None
    admin_level: int | None = None
    osm_id: int | None = None
    source: str = ""
    credit: str | None = None
    source_id: int | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def geodesic_km2(self) -> float:
        return geodesic_km2(self.geometry)


def geodesic_km2(geom: BaseGeometry) -> float:
    """Area on the WGS84 ellipsoid, in km².

    Edges are geodesics, which for an edge over 180° of longitude (a world-wide extract's
    header box) is the short way round: a shape wider than 90° is measured in 30° strips
    with edges of at most 1°, so that its edges follow its longitudes and latitudes.
    """
    minx, _, maxx, _ = geom.bounds
    if maxx - minx <= 90:
        return abs(_GEOD.geometry_area_perimeter(geom)[0]) / 1e6
    total, x = 0.0, math.floor(minx)
    while x < maxx:
        strip = geom.intersection(box(x, -90, x + 30, 90))
        if not strip.is_empty:
            total += abs(_GEOD.geometry_area_perimeter(shapely.segmentize(strip, 1.0))[0])
        x += 30
    return total / 1e6


def as_multipolygon(geom: BaseGeometry, what: str) -> tuple[MultiPolygon, list[str]]:
    """Refuse empty or non-polygonal geometry; repair invalid polygons with a warning."""
    warnings: list[str] = []
    if geom.is_empty:
        raise InputError(f"{what}: the boundary is empty; give a Polygon or MultiPolygon")
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise InputError(
            f"{what}: the boundary is a {geom.geom_type}, not a Polygon or MultiPolygon"
        )
    minx, miny, maxx, maxy = geom.bounds
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)) or not (
        -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90
    ):
        raise InputError(f"{what}: coordinates are not longitude/latitude (EPSG:4326)")
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        geom = shapely.make_valid(geom)
        parts = [
            g for g in getattr(geom, "geoms", [geom]) if g.geom_type in ("Polygon", "MultiPolygon")
        ]
        geom = shapely.unary_union(parts) if parts else Polygon()
        warnings.append(f"{what}: invalid polygon repaired ({reason})")
        if geom.is_empty:
            raise InputError(f"{what}: the boundary has no area once repaired")
    if geom.geom_type == "Polygon":
        geom = MultiPolygon([geom])
    if geodesic_km2(geom) <= 0:
        raise InputError(f"{what}: the boundary has no area")
    return geom, warnings


def _read_json(path: str) -> Any:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such file")
    if p.stat().st_size > MAX_BOUNDARY_BYTES:
        raise InputError(f"{path}: larger than {MAX_BOUNDARY_BYTES // 2**20} MB; simplify it first")
    return load_json(p, path, too_deep="to be GeoJSON", invalid="not valid GeoJSON")


def _position(p: Any) -> bool:
    return (
        isinstance(p, list)
        and len(p) in (2, 3)
        and all(isinstance(v, int | float | str) and not isinstance(v, bool) for v in p)
    )


def _rings(rings: Any) -> bool:
    return isinstance(rings, list) and all(
        isinstance(r, list) and len(r) >= 4 and all(_position(p) for p in r) for r in rings
    )


def _geometry(g: dict[str, Any], what: str) -> BaseGeometry:
    """A GeoJSON (Multi)Polygon as shapely reads it; its nesting is checked first, so that
    what shapely can still refuse is a value (a word for a number, a ring of NaN)."""
    kind, coords = g.get("type"), g.get("coordinates")
    if kind not in ("Polygon", "MultiPolygon"):
        raise InputError(f"{what}: the boundary is a {_shown(kind)}, not a Polygon or MultiPolygon")
    if not (_rings(coords) if kind == "Polygon" else isinstance(coords, list) and all(
        _rings(p) for p in coords
    )):  # fmt: skip
        raise InputError(
            f"{what} has a malformed geometry (a {kind} is a list of rings of four or more "
            "[longitude, latitude] positions)"
        )
    try:
        return shape(g)
    except (ValueError, shapely.errors.GEOSException) as exc:
        raise InputError(f"{what} has a malformed geometry ({str(exc)[:60]})") from None


def _features(path: str) -> list[tuple[BaseGeometry, dict[str, Any]]]:
    data = _read_json(path)
    if not isinstance(data, dict):
        raise InputError(f"{path}: not GeoJSON (expected an object)")
    if data.get("type") == "FeatureCollection":
        raw = data.get("features")
        if not isinstance(raw, list):
            raise InputError(f"{path}: FeatureCollection without a 'features' list")
    elif data.get("type") == "Feature":
        raw = [data]
    elif data.get("type") in ("Polygon", "MultiPolygon"):
        raw = [{"type": "Feature", "geometry": data, "properties": {}}]
    else:
        raise InputError(f"{path}: not a GeoJSON Feature, FeatureCollection or Polygon")
    out = []
    for i, f in enumerate(raw):
        if not isinstance(f, dict) or not isinstance(f.get("geometry"), dict):
            raise InputError(f"{path}: feature {i} has no geometry")
        geom = _geometry(f["geometry"], f"{path}: feature {i}")
        raw_props = f.get("properties")
        props: dict[str, Any] = raw_props if isinstance(raw_props, dict) else {}
        out.append((geom, props))
    if not out:
        raise InputError(f"{path}: no features")
    return out


#: The largest count the store holds (BIGINT), and the largest year (population_year).
MAX_COUNT = 2**63 - 1
MAX_YEAR = 9999


def _shown(value: Any) -> str:
    """A value as an error message quotes it: at most 40 characters."""
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _float(value: Any, what: str) -> float:
    """A property's number (a JSON number, or a string of one)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InputError(f"{what}: '{_shown(value)}' is not a number")
    try:
        return float(value)
    except ValueError:
        raise InputError(f"{what}: '{_shown(value)}' is not a number") from None
    except OverflowError:  # an integer beyond any float
        raise InputError(f"{what}: '{_shown(value)}' is too large") from None


def _int(value: Any, what: str, maximum: int = MAX_COUNT) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > maximum:
        raise InputError(f"{what}: '{_shown(value)}' is larger than {maximum}")
    v = _float(value, what)
    if not math.isfinite(v) or v < 0 or v != int(v):
        raise InputError(f"{what}: '{_shown(value)}' is not a whole number of zero or more")
    if int(v) > maximum:
        raise InputError(f"{what}: '{_shown(value)}' is larger than {maximum}")
    return int(v)


def _km2(value: Any, what: str) -> float | None:
    if value is None or value == "":
        return None
    v = _float(value, what)
    if not math.isfinite(v) or v <= 0:
        raise InputError(f"{what}: an area must be a positive number of km²")
    return v


def spec_from_feature(
    name: str, geom: BaseGeometry, props: dict[str, Any], *, kind: str, source: str,
    population_field: str = "population",
) -> AreaSpec:  # fmt: skip
    if kind not in KINDS:
        raise InputError(f"{source} ({name}): kind '{kind}' is not one of {', '.join(KINDS)}")
    mp, warnings = as_multipolygon(geom, f"{source} ({name})")
    credit = props.get("license") or props.get("credit")
    return AreaSpec(
        name=name,
        kind=kind,
        geometry=mp,
        official_km2=_km2(props.get("area_for_density_km2"), f"{source} area_for_density_km2"),
        population=_int(props.get(population_field), f"{source} {population_field}"),
        population_year=_int(props.get("population_year"), f"{source} population_year", MAX_YEAR),
        population_source=_str(props.get("population_source")),
        source=source,
        credit=_str(credit),
        warnings=warnings,
    )


def _str(v: Any) -> str | None:
    return None if v is None else str(v)


def check_name(name: str) -> str:
    clean = name.strip()
    if not clean:
        raise InputError("an area needs a non-empty name")
    if len(clean) > 300 or any(ord(c) < 32 for c in clean):
        raise InputError("an area name must be at most 300 printable characters")
    return clean


def insert(con: duckdb.DuckDBPyConnection, spec: AreaSpec, *, replace: bool = False) -> int:
    """Write one area (inside the caller's transaction)."""
    names = {r["name"] for r in sql.rows(con, "area-names")}
    if spec.name in names:
        if not replace:
            raise InputError(f"area '{spec.name}' already exists; pass --replace to overwrite it")
        sql.run(con, "area-delete-cache", name=spec.name)
        sql.run(con, "area-delete", name=spec.name)
    minx, miny, maxx, maxy = spec.geometry.bounds
    row = sql.run(
        con, "area-insert", name=spec.name, kind=spec.kind,
        geometry=shapely.to_wkb(spec.geometry), geodesic_km2=spec.geodesic_km2,
        official_km2=spec.official_km2, population=spec.population,
        population_year=spec.population_year, population_source=spec.population_source,
        admin_level=spec.admin_level, osm_id=spec.osm_id, source=spec.source,
        credit=spec.credit, source_id=spec.source_id,
        min_lon=minx, min_lat=miny, max_lon=maxx, max_lat=maxy,
    ).fetchone()  # fmt: skip
    assert row is not None
    return int(row[0])


def store_specs(db: str | None, specs: list[AreaSpec], *, replace: bool = False) -> None:
    with open_store(db, write=True) as con, transaction(con):
        for spec in specs:
            insert(con, spec, replace=replace)


def add(
    db: str | None, name: str, boundary: str, *, population: int | None = None,
    population_year: int | None = None, area_km2: float | None = None,
    kind: str = "municipality", replace: bool = False,
) -> AreaSpec:  # fmt: skip
    """``area add``: one area from a GeoJSON boundary (a FeatureCollection of one feature)."""
    spec = area_spec(name, boundary, population=population, population_year=population_year,
                     area_km2=area_km2, kind=kind)  # fmt: skip
    store_specs(db, [spec], replace=replace)
    return spec


def area_spec(
    name: str, boundary: str, *, population: int | None = None,
    population_year: int | None = None, area_km2: float | None = None,
    kind: str = "municipality",
) -> AreaSpec:  # fmt: skip
    """The area ``add`` would store, read and checked, without touching the store."""
    name = check_name(name)
    feats = _features(boundary)
    if len(feats) != 1:
        raise InputError(
            f"{boundary}: holds {len(feats)} features; use 'camdensity area import' for several"
        )
    geom, props = feats[0]
    spec = spec_from_feature(name, geom, props, kind=kind, source=boundary)
    if population is not None:
        spec.population = _int(population, "--population")
        spec.population_source = "given on the command line"
    if population_year is not None:
        spec.population_year = _int(population_year, "--population-year", MAX_YEAR)
    if area_km2 is not None:
        spec.official_km2 = _km2(area_km2, "--area-km2")
    return spec


def import_file(
    db: str | None, path: str, *, name_field: str, population_field: str = "population",
    kind: str = "neighbourhood", replace: bool = False, skip_existing: bool = False,
) -> list[AreaSpec]:  # fmt: skip
    """``area import``: every feature of a FeatureCollection becomes an area.

    ``skip_existing`` leaves areas whose names are already in the store as they are.
    """
    specs = import_specs(path, name_field=name_field, population_field=population_field,
                         kind=kind)  # fmt: skip
    if skip_existing and store_path(db).exists():
        existing = {a["name"] for a in list_areas(db)}
        specs = [s for s in specs if s.name not in existing]
    if specs:
        store_specs(db, specs, replace=replace)
    return specs


def import_specs(
    path: str, *, name_field: str, population_field: str = "population",
    kind: str = "neighbourhood",
) -> list[AreaSpec]:  # fmt: skip
    """The areas ``import`` would store, read and checked, without touching the store."""
    specs = []
    seen: set[str] = set()
    for i, (geom, props) in enumerate(_features(path)):
        raw = props.get(name_field)
        if raw is None or not str(raw).strip():
            raise InputError(f"{path}: feature {i} has no '{name_field}' property")
        name = check_name(str(raw))
        if name in seen:
            raise InputError(f"{path}: two features are named '{name}'")
        seen.add(name)
        specs.append(
            spec_from_feature(
                name, geom, props, kind=kind, source=path, population_field=population_field
            )
        )
    return specs


def feature_names(path: str, name_field: str) -> list[str]:
    """The names an ``import`` of ``path`` would give."""
    return [check_name(str(p.get(name_field) or "")) for _, p in _features(path)]


def from_pbf(
    db: str | None, path: str, *, admin_level: int | None = None, kind: str = "admin",
    replace: bool = False,
) -> tuple[list[AreaSpec], list[str]]:  # fmt: skip
    """``area from-pbf``: admin boundaries assembled from the extract's own relations."""
    from mapper.sources.pbf_boundaries import boundaries_from_pbf

    found, incomplete = boundaries_from_pbf(path, admin_level)
    specs = []
    for b in found:
        mp, warnings = as_multipolygon(b.geometry, f"{path} relation/{b.osm_id}")
        year = None
        if b.population_date and b.population_date[:4].isdigit():
            year = int(b.population_date[:4])
        specs.append(
            AreaSpec(
                name=check_name(b.name), kind=kind, geometry=mp, population=b.population,
                population_year=year,
                population_source=f"OSM population tag of relation/{b.osm_id}"
                if b.population is not None else None,
                admin_level=b.admin_level, osm_id=b.osm_id, source=path,
                credit="© OpenStreetMap contributors (ODbL 1.0)", warnings=warnings,
            )
        )  # fmt: skip
    _dedupe_names(specs)
    notes = [
        f"{i.name} (relation/{i.osm_id}, admin level {i.admin_level}) skipped: {i.reason}"
        for i in incomplete
    ]
    if specs:
        store_specs(db, specs, replace=replace)
    return specs, notes


def _dedupe_names(specs: list[AreaSpec]) -> None:
    """Two relations with one name (e.g. a level 2 and level 8 'Monaco') get the level added."""
    counts: dict[str, int] = {}
    for s in specs:
        counts[s.name] = counts.get(s.name, 0) + 1
    for s in specs:
        if counts[s.name] > 1:
            s.name = f"{s.name} (admin level {s.admin_level})"


def extent_spec(
    path: str, bbox: tuple[float, float, float, float], source_id: int | None, existing: set[str]
) -> AreaSpec:
    """The study area of a clipped extract: its header bounding box (``mapper.extent`` draws
    the usual boxes without shapely; this takes any box)."""
    geom, _ = as_multipolygon(box(*bbox), path)
    return AreaSpec(
        name=extent.name(path, existing), kind="extent", geometry=geom, source=path,
        source_id=source_id, credit=extent.CREDIT,
    )  # fmt: skip


def list_areas(db: str | None) -> list[dict[str, Any]]:
    with open_store(db) as con:
        return sql.rows(con, "area-list")


def get(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, Any]:
    rows = sql.rows(con, "area-get", name=name)
    if not rows:
        known = sorted(r["name"] for r in sql.rows(con, "area-names"))
        close = [k for k in known if k.casefold() == name.casefold()]
        hint = f"; did you mean '{close[0]}'?" if close else "; see 'camdensity area list'"
        raise NotFound(f"no area named '{name}' in the store{hint}")
    return rows[0]


def geometry_of(row: dict[str, Any]) -> MultiPolygon:
    geom = shapely.from_wkb(row["geometry"])
    assert isinstance(geom, MultiPolygon)
    return geom


def set_area(
    db: str | None, name: str, *, reported: int | None = None, reported_source: str | None = None,
    population: int | None = None, population_year: int | None = None,
    population_source: str | None = None,
) -> None:  # fmt: skip
    """``area set``: a published camera count (with its source), or the population."""
    if reported is not None and not reported_source:
        raise InputError("--reported needs --reported-source (where the count was published)")
    with open_store(db, write=True) as con, transaction(con):
        row = get(con, name)
        if reported is not None:
            sql.run(con, "area-set-reported", name=name, reported=_int(reported, "--reported"),
                    reported_source=reported_source)  # fmt: skip
        if population is not None:
            sql.run(
                con, "area-set-population", name=name,
                population=_int(population, "--population"),
                population_year=_int(population_year, "--population-year", MAX_YEAR)
                if population_year is not None else row["population_year"],
                population_source=population_source or "given on the command line",
            )  # fmt: skip


def remove(db: str | None, name: str) -> None:
    with open_store(db, write=True) as con, transaction(con):
        get(con, name)
        sql.run(con, "area-delete-cache", name=name)
        sql.run(con, "area-delete", name=name)


def rename(db: str | None, name: str, new_name: str) -> None:
    """``area rename``: e.g. give an extract's extent a readable name."""
    new_name = check_name(new_name)
    with open_store(db, write=True) as con, transaction(con):
        get(con, name)
        if sql.rows(con, "area-get", name=new_name):
            raise InputError(f"area '{new_name}' already exists; choose another name")
        sql.run(con, "area-rename", name=name, new_name=new_name)
