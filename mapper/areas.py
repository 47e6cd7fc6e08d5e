"""Study areas: boundaries (GeoJSON files, a PBF's own admin relations, an extract's extent)
and their populations. Areas are geodesic (WGS84 ellipsoid) unless an official area is given.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import shapely
from pyproj import Geod
from shapely.geometry import MultiPolygon, Polygon, box, shape
from shapely.geometry.base import BaseGeometry

from mapper import AREA_KINDS, extent, sql
from mapper.errors import AmbiguousArea, InputError, NotFound
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
    #: 'relation' or 'way' when the area is an OSM element's boundary (with ``osm_id``).
    osm_type: str | None = None
    #: The OSM element's own name tag; set, the display ``name`` follows ``display_names``.
    osm_name: str | None = None
    source: str = ""
    credit: str | None = None
    source_id: int | None = None
    warnings: list[str] = field(default_factory=list)

    @functools.cached_property
    def geodesic_km2(self) -> float:
        """The geometry's geodesic area, computed once (set the geometry before asking)."""
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
    """Write one area (inside the caller's transaction); returns its id."""
    return _store(con, [spec], replace=replace)[0]


def store_specs(db: str | None, specs: list[AreaSpec], *, replace: bool = False) -> None:
    with open_store(db, write=True) as con, transaction(con):
        _store(con, specs, replace=replace)


def _store(
    con: duckdb.DuckDBPyConnection, specs: Sequence[AreaSpec], *, replace: bool
) -> list[int]:
    """Write areas: one already stored from the same OSM element, or under the same given
    name, is an error unless ``replace`` (which removes it first); then the names follow
    :func:`display_names` (the new specs' names are set, stored areas renamed). Returns the
    new area's id when there is one spec (none for several)."""
    if not specs:
        return []
    naming = sql.rows(con, "area-naming")
    by_osm = {(r["osm_type"], r["osm_id"]): r for r in naming if r["osm_id"] is not None}
    given = {r["name"]: r for r in naming if not _automatic(r)}
    doomed: dict[int, dict[str, Any]] = {}
    for spec in specs:
        old = by_osm.get((spec.osm_type, spec.osm_id)) if spec.osm_id is not None else None
        if old is not None and spec.osm_type is not None:
            if not replace:
                raise InputError(
                    f"{spec.osm_type}/{spec.osm_id} is already in the store as area "
                    f"'{old['name']}'; pass --replace to replace it"
                )
            doomed[old["id"]] = old
        held = None if _automatic_spec(spec) else given.get(spec.name)
        if held is not None and held["id"] not in doomed:
            if not replace:
                raise InputError(
                    f"area '{spec.name}' already exists; pass --replace to overwrite it"
                )
            doomed[held["id"]] = held
    for area_id in doomed:
        sql.run(con, "area-delete-cache", id=area_id)
        sql.run(con, "area-delete", id=area_id)
    _settle(con, specs)
    if len(specs) == 1:  # one row (an extract's extent on ingest): no Arrow, no pandas
        return [_insert_one(con, specs[0])]
    _insert_many(con, specs)
    return []


def _insert_one(con: duckdb.DuckDBPyConnection, spec: AreaSpec) -> int:
    minx, miny, maxx, maxy = spec.geometry.bounds
    made = sql.run(
        con, "area-insert", name=spec.name, kind=spec.kind,
        geometry=shapely.to_wkb(spec.geometry), geodesic_km2=spec.geodesic_km2,
        official_km2=spec.official_km2, population=spec.population,
        population_year=spec.population_year, population_source=spec.population_source,
        admin_level=spec.admin_level, osm_type=spec.osm_type, osm_id=spec.osm_id,
        osm_name=spec.osm_name, source=spec.source, credit=spec.credit,
        source_id=spec.source_id, min_lon=minx, min_lat=miny, max_lon=maxx, max_lat=maxy,
    ).fetchone()  # fmt: skip
    assert made is not None
    return int(made[0])


def _insert_many(con: duckdb.DuckDBPyConnection, specs: Sequence[AreaSpec]) -> None:
    """All of ``specs`` in one statement (an insert per area costs ~10 ms in DuckDB)."""
    import pyarrow as pa

    bounds = [s.geometry.bounds for s in specs]
    table = pa.table({
        "pos": pa.array(range(len(specs)), pa.int32()),
        "name": pa.array([s.name for s in specs], pa.string()),
        "kind": pa.array([s.kind for s in specs], pa.string()),
        "geometry": pa.array([shapely.to_wkb(s.geometry) for s in specs], pa.binary()),
        "geodesic_km2": pa.array([s.geodesic_km2 for s in specs], pa.float64()),
        "official_km2": pa.array([s.official_km2 for s in specs], pa.float64()),
        "population": pa.array([s.population for s in specs], pa.int64()),
        "population_year": pa.array([s.population_year for s in specs], pa.int32()),
        "population_source": pa.array([s.population_source for s in specs], pa.string()),
        "admin_level": pa.array([s.admin_level for s in specs], pa.int32()),
        "osm_type": pa.array([s.osm_type for s in specs], pa.string()),
        "osm_id": pa.array([s.osm_id for s in specs], pa.int64()),
        "osm_name": pa.array([s.osm_name for s in specs], pa.string()),
        "source": pa.array([s.source for s in specs], pa.string()),
        "credit": pa.array([s.credit for s in specs], pa.string()),
        "source_id": pa.array([s.source_id for s in specs], pa.int32()),
        "min_lon": pa.array([b[0] for b in bounds], pa.float64()),
        "min_lat": pa.array([b[1] for b in bounds], pa.float64()),
        "max_lon": pa.array([b[2] for b in bounds], pa.float64()),
        "max_lat": pa.array([b[3] for b in bounds], pa.float64()),
    })  # fmt: skip
    con.register("area_rows", table)
    try:
        sql.run(con, "area-insert-rows")
    finally:
        con.unregister("area_rows")


# ----------------------------------------------------------------------------- names


def relation_name(osm_name: str, osm_id: int) -> str:
    """How an area from an OSM relation is shown when its name is shared."""
    return f"{osm_name} (relation {osm_id})"


def _automatic(row: dict[str, Any]) -> bool:
    """A stored area named by :func:`display_names`: from an OSM relation with a name tag,
    and not renamed since (``area rename`` gives a name of one's own)."""
    osm_name, osm_id = row["osm_name"], row["osm_id"]
    if row["osm_type"] != "relation" or not osm_name or osm_id is None:
        return False
    return bool(row["name"] in (osm_name, relation_name(osm_name, osm_id)))


def _automatic_spec(spec: AreaSpec) -> bool:
    return spec.osm_type == "relation" and bool(spec.osm_name) and spec.osm_id is not None


def display_names(
    named: Iterable[tuple[int, str, int]], given: Iterable[str] = ()
) -> dict[int, str]:
    """The display-name rule. ``named``: (key, OSM name, relation id) of every area from an
    OSM relation with a name tag; ``given``: the names of every other area (files, extents,
    fetched places, renamed areas). An OSM area is shown by its OSM name when no other area
    has that name, as its OSM name or as a name of its own; otherwise every OSM area of that
    name is shown as ``NAME (relation ID)``. The names depend only on the set of areas, not
    on the order they came in."""
    named = list(named)
    taken = set(given)
    count = Counter(osm_name for _, osm_name, _ in named)
    return {
        key: osm_name if count[osm_name] == 1 and osm_name not in taken
        else relation_name(osm_name, osm_id)
        for key, osm_name, osm_id in named
    }  # fmt: skip


def _settle(
    con: duckdb.DuckDBPyConnection, specs: Sequence[AreaSpec] = (), reserved: Iterable[str] = ()
) -> None:
    """Give ``specs`` (about to be inserted) their display names and rename the stored areas
    whose display names change; ``reserved`` names count as given (a rename about to happen)."""
    rows = sql.rows(con, "area-naming")
    auto = [r for r in rows if _automatic(r)]
    given = [r["name"] for r in rows if not _automatic(r)] + list(reserved)
    given += [s.name for s in specs if not _automatic_spec(s)]
    named = [(int(r["id"]), str(r["osm_name"]), int(r["osm_id"])) for r in auto]
    new = [s for s in specs if _automatic_spec(s)]
    named += [(-1 - i, str(s.osm_name), int(s.osm_id or 0)) for i, s in enumerate(new)]
    names = display_names(named, given)
    clash = set(given) & set(names.values())
    if clash:
        raise InputError(f"area '{sorted(clash)[0]}' already exists; choose another name")
    moves = [r for r in auto if names[r["id"]] != r["name"]]
    # Areas that take the suffixed name move first, so that a plain name is free in time.
    moves.sort(key=lambda r: r["name"] != r["osm_name"])
    for r in moves:
        sql.run(con, "area-rename", id=r["id"], new_name=names[r["id"]])
    for i, s in enumerate(new):
        s.name = names[-1 - i]


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
    """``area from-pbf``: admin boundaries assembled from the extract's own relations, keyed
    by relation id (``replace`` replaces a relation already stored); names follow
    :func:`display_names`."""
    from mapper.sources.boundaries import boundaries_from_osm

    found, incomplete = boundaries_from_osm(path, admin_level)
    specs = []
    for b in found:
        mp, warnings = as_multipolygon(b.geometry, f"{path} relation/{b.osm_id}")
        year = None
        if b.population_date and b.population_date[:4].isdigit():
            year = int(b.population_date[:4])
        osm_name = None if b.osm_name is None else check_name(b.osm_name)
        specs.append(
            AreaSpec(
                name=check_name(b.name), kind=kind, geometry=mp, population=b.population,
                population_year=year,
                population_source=f"OSM population tag of relation/{b.osm_id}"
                if b.population is not None else None,
                admin_level=b.admin_level, osm_id=b.osm_id, osm_type="relation",
                osm_name=osm_name, source=path,
                credit="© OpenStreetMap contributors (ODbL 1.0)", warnings=warnings,
            )
        )  # fmt: skip
    notes = [
        f"{i.name} (relation/{i.osm_id}, admin level {i.admin_level}) skipped: {i.reason}"
        for i in incomplete
    ]
    if specs:
        store_specs(db, specs, replace=replace)
    return specs, notes


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


#: An ambiguity error names at most this many areas (each with its enclosing area).
MAX_CANDIDATES_SHOWN = 8
#: ``relation/ID`` (or ``way/ID``): an area by the OSM element it was made from.
_OSM_REF = re.compile(r"(relation|way)/([0-9]{1,18})")


def get(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, Any]:
    """The one area that ``name`` means: its display name, else ``relation/ID``, else its
    OSM name when one area has it. A name several areas answer to (as their OSM name or in
    another case) is an :class:`AmbiguousArea` error naming them all."""
    rows = sql.rows(con, "area-get", name=name)
    if rows:
        return rows[0]
    m = _OSM_REF.fullmatch(name.strip())
    if m:
        ids = [r["id"] for r in sql.rows(con, "area-get-osm", osm_type=m[1], osm_id=int(m[2]))]
        if not ids:
            raise NotFound(f"no area made from {m[0]} in the store; see 'camdensity area list'")
        if len(ids) > 1:
            raise AmbiguousArea(_ambiguous(con, name, ids))
        return _by_id(con, ids[0])
    naming = sql.rows(con, "area-naming")
    exact = [r["id"] for r in naming if r["osm_name"] == name]
    if len(exact) == 1:
        return _by_id(con, exact[0])
    key = name.casefold()
    loose = [
        r["id"] for r in naming
        if r["name"].casefold() == key or (r["osm_name"] or "").casefold() == key
    ]  # fmt: skip
    candidates = list(dict.fromkeys(exact + loose))
    if len(candidates) > 1:
        raise AmbiguousArea(_ambiguous(con, name, candidates))
    hint = "; see 'camdensity area list'"
    if candidates:
        hint = f"; did you mean '{_by_id(con, candidates[0])['name']}'?"
    raise NotFound(f"no area named '{name}' in the store{hint}")


def _by_id(con: duckdb.DuckDBPyConnection, area_id: int) -> dict[str, Any]:
    return sql.rows(con, "area-get-id", id=area_id)[0]


def _ambiguous(con: duckdb.DuckDBPyConnection, name: str, ids: list[int]) -> str:
    """One line naming every area ``name`` may mean, with its OSM id, level and parent."""
    shown = []
    rows = sorted((_by_id(con, i) for i in ids), key=lambda r: (r["osm_id"] or 0, r["name"]))
    for row in rows[:MAX_CANDIDATES_SHOWN]:
        ref = f"{row['osm_type']}/{row['osm_id']} " if row["osm_id"] is not None else ""
        level = row["admin_level"]
        what = f"admin level {level}" if level is not None else f"kind {row['kind']}"
        parent = enclosing(con, row)
        where = f"in '{parent['name']}'" if parent else "no enclosing area in the store"
        shown.append(f"{ref}'{row['name']}' ({what}, {where})")
    more = len(rows) - len(shown)
    if more:
        shown.append(f"and {more} more (see 'camdensity area list')")
    return (
        f"'{name}' matches {len(rows)} areas: {'; '.join(shown)}; "
        "pass relation/ID or the exact name to choose one"
    )


def enclosing(con: duckdb.DuckDBPyConnection, row: dict[str, Any]) -> dict[str, Any] | None:
    """The smallest stored admin area of a lower admin level than ``row``'s (any level when
    it has none) that holds it (all but 1 % of its area) and is larger, or None."""
    geom = geometry_of(row)
    found = sql.rows(
        con, "area-enclosing", id=row["id"], level=row["admin_level"],
        min_lon=row["min_lon"], min_lat=row["min_lat"], max_lon=row["max_lon"],
        max_lat=row["max_lat"],
    )  # fmt: skip
    for parent in found:
        if parent["geodesic_km2"] <= 1.01 * row["geodesic_km2"]:  # not larger: not a parent
            continue
        outer = geometry_of(parent)
        if shapely.intersection(geom, outer).area >= 0.99 * geom.area:
            return parent
    return None


def geometry_of(row: dict[str, Any]) -> MultiPolygon:
    geom = shapely.from_wkb(row["geometry"])
    assert isinstance(geom, MultiPolygon)
    return geom


def set_area(
    db: str | None, name: str, *, reported: int | None = None, reported_source: str | None = None,
    population: int | None = None, population_year: int | None = None,
    population_source: str | None = None,
) -> str:  # fmt: skip
    """``area set``: a published camera count (with its source), or the population; returns
    the area's name."""
    if reported is not None and not reported_source:
        raise InputError("--reported needs --reported-source (where the count was published)")
    with open_store(db, write=True) as con, transaction(con):
        row = get(con, name)
        if reported is not None:
            sql.run(con, "area-set-reported", id=row["id"],
                    reported=_int(reported, "--reported"),
                    reported_source=reported_source)  # fmt: skip
        if population is not None:
            sql.run(
                con, "area-set-population", id=row["id"],
                population=_int(population, "--population"),
                population_year=_int(population_year, "--population-year", MAX_YEAR)
                if population_year is not None else row["population_year"],
                population_source=population_source or "given on the command line",
            )  # fmt: skip
        return str(row["name"])


def remove(db: str | None, name: str) -> str:
    """``area remove``; returns the removed area's name. An OSM area that shared its name
    with it may get its plain name back (:func:`display_names`)."""
    with open_store(db, write=True) as con, transaction(con):
        row = get(con, name)
        sql.run(con, "area-delete-cache", id=row["id"])
        sql.run(con, "area-delete", id=row["id"])
        _settle(con)
        return str(row["name"])


def rename(db: str | None, name: str, new_name: str) -> str:
    """``area rename``: e.g. give an extract's extent a readable name; returns the old name.
    The new name is the area's own from then on (no longer given by the OSM name rule); an
    OSM area showing that name moves to ``NAME (relation ID)``."""
    new_name = check_name(new_name)
    with open_store(db, write=True) as con, transaction(con):
        row = get(con, name)
        held = sql.rows(con, "area-get", name=new_name)
        if held and (held[0]["id"] == row["id"] or not _automatic(held[0])):
            raise InputError(f"area '{new_name}' already exists; choose another name")
        _settle(con, reserved=[new_name])
        sql.run(con, "area-rename", id=row["id"], new_name=new_name)
        _settle(con)
        return str(row["name"])
