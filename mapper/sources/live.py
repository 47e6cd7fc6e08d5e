"""Live: cameras and boundaries by place name, through osmnx (Nominatim and the Overpass API).

``fetch`` geocodes each place with Nominatim's search (as ``osmnx.geocode_to_gdf`` sends it)
to its boundary polygon (an area with its OSM name, admin level and population), and takes
the ``man_made=surveillance`` nodes and ways inside it with ``osmnx.features_from_polygon``
(every tag kept; a way at the mean of its distinct nodes, the point ``ingest`` gives it), as
an extract of format ``overpass-live``. It never opens the store: ``camdensity fetch`` hands
what it downloaded to ``mapper.ingest.write_fetched``, which stores every place's area and
cameras in one transaction, through the same normaliser and the same one-element-once rule
as ``ingest``.

How the pieces osmnx does not hand over are obtained:

- Admin level and population: the search asks Nominatim for ``extratags=1`` and
  ``namedetails=1`` (osmnx sends the keys of a query dict as request parameters). Nominatim
  puts an administrative boundary's ``admin_level`` into its extratags, beside the
  ``population`` tag; ``namedetails`` gives the OSM ``name`` tag, which is the area's name
  (Nominatim's ``name`` is localised by osmnx's Accept-Language).
- Snapshot: osmnx drops the Overpass ``osm3s.timestamp_osm_base`` when it builds its
  GeoDataFrame. It is read from the answers themselves: a response hook (``_http.Guard``,
  given to osmnx in ``settings.requests_kwargs``) reads every fresh Overpass answer, and an
  answer osmnx took from its cache is read back from that cache file, located with osmnx's
  own query and cache-key functions. The oldest timestamp of a place's queries is its
  snapshot (every element is at least that fresh).
- Private osmnx names are used, never patched, so ``pyproject.toml`` holds osmnx to the
  major version tested (``osmnx>=2.0,<3``): ``_nominatim._download_nominatim_element`` (the
  search's full result list, through osmnx's cache: the boundary, ``--admin-level`` and
  saying what a place geocodes to), ``_overpass._make_overpass_polygon_coord_strs``,
  ``_overpass._create_overpass_features_query``, ``_http._resolve_cache_filepath`` (to
  find cached Overpass answers, and to skip the reachability check when all are cached),
  and the exceptions ``_errors.InsufficientResponseError`` (no cameras in the place) and
  ``_errors.ResponseStatusCodeError``.
- Retries and malformed answers: the same hook retries HTTP 429/503/504 a bounded number
  of times with backoff, then raises a clear error (osmnx alone retries them forever), and
  refuses malformed answers before osmnx parses them (see ``mapper/sources/_http.py``).

osmnx settings are set for the duration of a call and restored afterwards; nothing is
changed at import. osmnx's cache lives in the user cache folder (``$XDG_CACHE_HOME/camdensity``
on Linux); ``use_cache=False`` neither reads nor writes it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import socket
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import osmnx as ox
import platformdirs
import requests
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

from mapper import __version__, areas
from mapper.areas import AreaSpec
from mapper.errors import CamdensityError, InputError, NotFound, ServiceError
from mapper.sources import OVERPASS_LIVE, Element, Extract, clean_tags, is_camera, valid_coordinate
from mapper.sources._http import Guard, host, network_error, short
from mapper.sources.overpass import _snapshot

DEFAULT_OVERPASS_URL = "https://overpass-api.de/api"
DEFAULT_NOMINATIM_URL = "https://nominatim.openstreetmap.org/"
DEFAULT_TIMEOUT = 180
TAGS: dict[str, bool | str | list[str]] = {"man_made": "surveillance"}


def cache_folder() -> Path:
    """osmnx's HTTP cache: ``camdensity/osmnx`` in the user cache folder (platformdirs)."""
    return Path(platformdirs.user_cache_dir("camdensity")) / "osmnx"


def user_agent() -> str:
    return (
        f"camdensity/{__version__} (maps of OSM surveillance-camera density; "
        f"osmnx/{ox.__version__})"
    )


@dataclass
class Fetched:
    """One place as downloaded: its boundary as an area, and its cameras as an extract."""

    place: str
    area: AreaSpec
    extract: Extract
    osm_type: str
    osm_id: int


# ---------------------------------------------------------------- osmnx settings, per call


@dataclass
class _Session:
    overpass_url: str
    nominatim_url: str
    timeout: int
    use_cache: bool
    guard: Guard = field(default_factory=Guard)


@contextmanager
def _osmnx(session: _Session) -> Iterator[None]:
    """Set osmnx's settings for one call and restore them (and DNS resolution) afterwards."""
    values: dict[str, Any] = {
        "overpass_url": session.overpass_url,
        "nominatim_url": session.nominatim_url,
        "requests_timeout": session.timeout,
        "use_cache": session.use_cache,
        "cache_folder": str(cache_folder()),
        "cache_only_mode": False,
        "http_user_agent": user_agent(),
        "overpass_rate_limit": True,
        "overpass_settings": "[out:json][timeout:{timeout}]{maxsize}",
        "overpass_memory": None,
        "max_query_area_size": 50 * 1000 * 50 * 1000,
        "default_crs": "epsg:4326",
        "doh_url_template": None,  # no DNS-over-HTTPS requests to a third party
        "requests_kwargs": {"hooks": {"response": [session.guard]}},
        "log_console": False,
        "log_file": False,
    }
    saved = {k: getattr(ox.settings, k) for k in values}
    getaddrinfo = socket.getaddrinfo  # osmnx pins the Overpass host's address by replacing it
    try:
        for k, v in values.items():
            setattr(ox.settings, k, v)
        yield
    finally:
        for k, v in saved.items():
            setattr(ox.settings, k, v)
        socket.getaddrinfo = getaddrinfo


@contextmanager
def _translated(place: str, session: _Session) -> Iterator[None]:
    """osmnx and requests errors as the project's errors, prefixed with the place."""
    try:
        yield
    except CamdensityError as exc:
        message = str(exc)
        raise type(exc)(message if f"'{place}'" in message else f"{place}: {message}") from None
    except requests.RequestException as exc:
        url = str(exc.request.url) if exc.request is not None else session.nominatim_url
        raise type(err := network_error(url, exc, session.timeout))(f"{place}: {err}") from None
    except ox._errors.ResponseStatusCodeError as exc:
        raise ServiceError(f"{place}: {short(str(exc), 160)}") from None


# ---------------------------------------------------------------- geocoding


@dataclass
class _Place:
    query: str
    name: str
    osm_type: str
    osm_id: int
    category: str
    type: str
    admin_level: int | None
    extratags: dict[str, Any]
    geometry: BaseGeometry


def _admin_level(extratags: Any) -> int | None:
    raw = extratags.get("admin_level") if isinstance(extratags, dict) else None
    try:
        return int(str(raw).strip()) if raw is not None else None
    except ValueError:
        return None


def _place(query: str, r: Any, geometry: BaseGeometry) -> _Place:
    extratags = r.get("extratags")
    extratags = extratags if isinstance(extratags, dict) else {}
    names = r.get("namedetails")
    osm_name = names.get("name") if isinstance(names, dict) else None
    name = osm_name or r.get("name") or str(r.get("display_name", "")).split(",")[0] or query
    return _Place(
        query=query,
        name=str(name).strip(),
        osm_type=str(r.get("osm_type") or "relation"),
        osm_id=int(r.get("osm_id") or 0),
        category=str(r.get("class") or r.get("category") or ""),
        type=str(r.get("type") or ""),
        admin_level=_admin_level(extratags),
        extratags=extratags,
        geometry=geometry,
    )


def _nominatim_query(place: str) -> dict[str, str]:
    # osmnx sends a dict's keys as request parameters: ask for the OSM name and extratags
    return {"q": place, "extratags": "1", "namedetails": "1"}


def _results(place: str) -> list[dict[str, Any]]:
    """Every search result, most important first (the request ``geocode_to_gdf`` sends)."""
    found = ox._nominatim._download_nominatim_element(_nominatim_query(place), limit=50)
    return sorted(found, key=lambda r: r["importance"], reverse=True)


def _describe(r: dict[str, Any]) -> str:
    level = _admin_level(r.get("extratags"))
    at = f", admin level {level}" if level is not None else ""
    return (
        f"{r.get('name') or r.get('display_name')} ({r.get('class')}={r.get('type')}"
        f"{at}, a {r['geojson']['type']})"
    )


def choose(results: list[dict[str, Any]], admin_level: int | None) -> dict[str, Any] | None:
    """The most important polygon result (of ``admin_level`` when given)."""
    for r in results:
        if r["geojson"]["type"] not in ("Polygon", "MultiPolygon"):
            continue
        if admin_level is None or _admin_level(r.get("extratags")) == admin_level:
            return r
    return None


def _geocode(place: str, admin_level: int | None) -> _Place:
    """The most important boundary Nominatim finds for ``place`` (of ``admin_level`` when
    given): the search ``osmnx.geocode_to_gdf`` sends, read from its result list, whose
    geometries ``_http.check_nominatim`` has checked."""
    results = _results(place)
    if not results:
        raise NotFound(
            f"Nominatim found no place named '{place}'; check the spelling, or add the region "
            "or country (e.g. 'Zürich, Switzerland')"
        )
    if choose(results, None) is None:
        raise InputError(
            f"'{place}' geocodes to {_describe(results[0])}, not an area with a boundary; give "
            "the name of a city, district or region, or add a boundary with 'camdensity area "
            "add NAME --boundary FILE'"
        )
    r = choose(results, admin_level)
    if r is None:
        seen = "; ".join(_describe(x) for x in results[:5])
        raise NotFound(
            f"'{place}' has no boundary of admin level {admin_level} in Nominatim's "
            f"results (found: {seen}); leave out --admin-level to take the first boundary"
        )
    return _place(place, r, shape(r["geojson"]))


def _population(extratags: dict[str, Any]) -> tuple[int | None, int | None, list[str]]:
    raw = extratags.get("population")
    if raw is None or str(raw).strip() == "":
        return None, None, []
    digits = str(raw).strip().replace(" ", "").replace("\u202f", "").replace(",", "")
    digits = digits.replace("'", "").replace("\u2019", "")
    if not digits.isdigit():
        return None, None, [f"population tag '{raw}' is not a whole number; not used"]
    date = str(extratags.get("population:date") or "").strip()
    year = int(date[:4]) if date[:4].isdigit() else None
    return int(digits), year, []


def _area_spec(p: _Place) -> AreaSpec:
    what = f"{p.query} ({p.osm_type}/{p.osm_id})"
    mp, warnings_ = areas.as_multipolygon(p.geometry, what)
    population, year, notes = _population(p.extratags)
    return AreaSpec(
        name=areas.check_name(p.name or p.query),
        kind="admin" if (p.category, p.type) == ("boundary", "administrative") else "custom",
        geometry=mp,
        population=population,
        population_year=year,
        population_source=f"OSM population tag of {p.osm_type}/{p.osm_id} (Nominatim extratags)"
        if population is not None
        else None,
        admin_level=p.admin_level,
        osm_id=p.osm_id,
        osm_type=p.osm_type,
        source=f"OSM {p.osm_type}/{p.osm_id} via Nominatim",
        credit="© OpenStreetMap contributors (ODbL 1.0)",
        warnings=warnings_ + [f"{what}: {n}" for n in notes],
    )


# ---------------------------------------------------------------- cameras


@functools.lru_cache(maxsize=16)
def _coord_strs(wkb: bytes, max_area: float) -> tuple[str, ...]:
    """osmnx's polygon strings for Overpass (memoised: its UTM projection takes ~0.2 s)."""
    from osmnx import _overpass

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # osmnx warns about very large areas itself
        return tuple(_overpass._make_overpass_polygon_coord_strs(shapely.from_wkb(wkb)))


def _cache_files(polygon: BaseGeometry) -> list[Path]:
    """osmnx's cache files for the Overpass queries of ``polygon``.

    Built with osmnx's own query and cache-key functions, as ``_overpass_request`` does.
    """
    from osmnx import _http, _overpass

    url = ox.settings.overpass_url.rstrip("/") + "/interpreter"
    files = []
    for coords in _coord_strs(shapely.to_wkb(polygon), ox.settings.max_query_area_size):
        query = _overpass._create_overpass_features_query(coords, TAGS)
        key = requests.Request("GET", url, params=OrderedDict(data=query)).prepare().url
        files.append(_http._resolve_cache_filepath(str(key)))
    return files


def _probe_overpass(session: _Session) -> None:
    """Fail fast when Overpass is unreachable (osmnx would first pause 60 s for its status).

    A server without a readable ``/status`` (no slot management) is queried without osmnx's
    rate limiting, which would otherwise pause 60 s before every query.
    """
    url = session.overpass_url.rstrip("/") + "/status"
    try:
        r = requests.get(url, timeout=session.timeout, headers={"User-Agent": user_agent()})
    except requests.RequestException as exc:
        raise network_error(url, exc, session.timeout) from None
    with r:
        if r.status_code != 200:
            ox.settings.overpass_rate_limit = False


def _cached_stamps(files: list[Path]) -> list[str | None]:
    stamps: list[str | None] = []
    for f in files:
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        osm3s = data.get("osm3s") if isinstance(data, dict) else None
        stamp = osm3s.get("timestamp_osm_base") if isinstance(osm3s, dict) else None
        stamps.append(stamp if isinstance(stamp, str) else None)
    return stamps


def _snapshot_of(stamps: list[str | None]) -> datetime | None:
    """The oldest answer's timestamp: every element is at least that fresh."""
    dates = [_snapshot({"osm3s": {"timestamp_osm_base": s}}) for s in stamps]
    if not dates or any(d is None for d in dates):
        return None
    return min(d for d in dates if d is not None)


def _position(geom: BaseGeometry) -> tuple[float, float] | None:
    """(lat, lon): a node's point; a way's mean of distinct nodes, as ``ingest`` places it."""
    if geom.geom_type == "Point":
        return float(geom.y), float(geom.x)
    if geom.geom_type == "Polygon":
        coords = list(geom.exterior.coords)
    elif geom.geom_type == "LineString":
        coords = list(geom.coords)
    else:  # a geometry osmnx repaired into several parts
        c = geom.centroid
        return (float(c.y), float(c.x)) if not c.is_empty else None
    if len(coords) > 1 and coords[0] == coords[-1]:
        coords = coords[:-1]
    pts = list(dict.fromkeys((float(x), float(y)) for x, y, *_ in coords))
    if not pts:
        return None
    return sum(p[1] for p in pts) / len(pts), sum(p[0] for p in pts) / len(pts)


def _elements(gdf: Any, ex: Extract) -> None:
    tag_cols = [c for c in gdf.columns if c != "geometry"]
    relations = 0
    for (osm_type, osm_id), geom, values in zip(
        gdf.index, gdf.geometry, gdf[tag_cols].itertuples(index=False, name=None), strict=True
    ):
        if osm_type not in ("node", "way"):
            relations += 1
            continue
        tags = clean_tags(
            {k: v for k, v in zip(tag_cols, values, strict=True) if isinstance(v, str)}
        )
        if not tags or not is_camera(tags, False)[0]:
            continue
        pos = _position(geom) if geom is not None else None
        if pos is None or not valid_coordinate(*pos):
            ex.rejected += 1
            continue
        ex.elements.append(Element(str(osm_type), int(osm_id), pos[0], pos[1], tags))
    if relations:
        ex.warnings.append(
            f"{ex.path}: {relations} relation(s) tagged man_made=surveillance skipped "
            "(cameras are nodes and ways)"
        )


def _digest(p: _Place, ex: Extract) -> str:
    content = {
        "format": OVERPASS_LIVE,
        "boundary": [p.osm_type, p.osm_id],
        "snapshot": ex.snapshot.isoformat() if ex.snapshot else None,
        "elements": sorted(
            [e.osm_type, e.osm_id, e.lat, e.lon, sorted(e.tags.items())] for e in ex.elements
        ),
    }
    return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode()).hexdigest()


def _cameras(p: _Place, spec: AreaSpec, session: _Session) -> Extract:
    # a single polygon is queried as it is; osmnx would query a MultiPolygon's convex hull
    parts = list(spec.geometry.geoms)
    polygon: Polygon | MultiPolygon = parts[0] if len(parts) == 1 else spec.geometry
    files = _cache_files(polygon) if session.use_cache else None
    if files is None or not all(f.is_file() for f in files):
        _probe_overpass(session)  # not when every answer is in the cache: offline reruns
    path = f"{host(session.overpass_url)}: {p.name} ({p.osm_type}/{p.osm_id})"
    ex = Extract(path=path, sha256="", format=OVERPASS_LIVE)
    fresh = len(session.guard.overpass_stamps)
    try:
        gdf = ox.features_from_polygon(polygon, tags=TAGS)
    except ox._errors.InsufficientResponseError:  # the answers were valid: no cameras here
        gdf = None
    stamps = session.guard.overpass_stamps[fresh:]
    if files is not None:
        stamps += _cached_stamps(files)
    ex.snapshot = _snapshot_of(stamps)
    ex.snapshot_kind = "overpass" if ex.snapshot else None
    if ex.snapshot is None:
        ex.warnings.append(
            f"{path}: the Overpass answer carries no readable timestamp; stored undated "
            "(older than any dated input)"
        )
    if gdf is not None:
        _elements(gdf, ex)
    ex.sha256 = _digest(p, ex)
    return ex


# ---------------------------------------------------------------- fetch


def _download(
    places: list[str], admin_level: int | None, session: _Session
) -> list[tuple[_Place, AreaSpec, Extract]]:
    found: list[tuple[_Place, AreaSpec, Extract]] = []
    seen: dict[tuple[str, int], tuple[str, AreaSpec]] = {}
    with _osmnx(session):
        for place in places:
            with _translated(place, session):
                p = _geocode(place, admin_level)
                key = (p.osm_type, p.osm_id)
                if key in seen:  # two names for one place: fetched once
                    first, first_spec = seen[key]
                    first_spec.warnings.append(
                        f"'{place}' is the same place as '{first}' ({p.osm_type}/{p.osm_id}); "
                        "fetched once"
                    )
                    continue
                spec = _area_spec(p)
                seen[key] = (place, spec)
                found.append((p, spec, _cameras(p, spec, session)))
    names = [spec.name for _, spec, _ in found]
    for p, spec, _ in found:
        if names.count(spec.name) > 1:  # one name, several places (Freiburg, Freiburg)
            spec.name = f"{spec.name} ({p.osm_type}/{p.osm_id})"
    return found


def fetch(
    places: list[str],
    *,
    admin_level: int | None = None,
    overpass_url: str | None = None,
    nominatim_url: str | None = None,
    timeout: int = DEFAULT_TIMEOUT,
    use_cache: bool = True,
) -> list[Fetched]:
    """Geocode each place and download its cameras; the store is not touched.

    Every place is found and downloaded, or an error says which one failed. Storing them is
    ``mapper.ingest.write_fetched``'s part (all places in one transaction).
    """
    names = [p.strip() for p in places]
    if not names or any(not n for n in names):
        raise InputError("give one or more place names, e.g. camdensity fetch 'Zürich'")
    if admin_level is not None and not 1 <= admin_level <= 15:
        raise InputError(f"--admin-level {admin_level}: OSM admin levels run from 1 to 15")
    if timeout <= 0:
        raise InputError("--timeout must be a positive number of seconds")
    for label, url in (("--overpass-url", overpass_url), ("--nominatim-url", nominatim_url)):
        if url is not None and urlparse(url).scheme not in ("http", "https"):
            raise InputError(f"{label} {url}: give an http:// or https:// URL")
    session = _Session(
        overpass_url=overpass_url or DEFAULT_OVERPASS_URL,
        nominatim_url=nominatim_url or DEFAULT_NOMINATIM_URL,
        timeout=int(timeout),
        use_cache=use_cache,
    )
    return [
        Fetched(p.query, spec, ex, p.osm_type, p.osm_id)
        for p, spec, ex in _download(names, admin_level, session)
    ]
