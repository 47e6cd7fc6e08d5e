"""Streets and buildings of an OSM file, read through :mod:`mapper.sources.osm` (libosmium).

Two networks, from ``highway`` ways (a way may be in both):

* **streets**, the public street network: ``STREET_HIGHWAYS`` (motorway to residential,
  unclassified, living_street, service, and the ``_link`` roads);
* **walk**, the ways people walk: ``WALK_HIGHWAYS`` (pedestrian, footway, path, steps,
  cycleway, living_street).

A way tagged ``area=yes`` (a pedestrian square drawn as its outline) is not a line and is left
out, as are ways with fewer than two placed nodes. Each kept way is a line string of its
placed nodes, with its geodesic length (WGS84 ellipsoid, pyproj ``Geod``), the sum over its
segments.

**Buildings** (for occlusion) are ``building=*`` closed ways and multipolygon relations,
assembled by libosmium's area assembler (``FileProcessor.with_areas``); ``building=no`` is not
a building. Filters run in C++: a key filter on ``highway`` and ``building``, and an entity
filter, so that only ways and areas reach Python. Node locations come from the index that
``osm.location_storage`` picks for the file size. A history file is refused (streets of a
past date are not modelled yet).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import osmium
import osmium.filter
import osmium.geom
import shapely
from numpy.typing import NDArray
from pyproj import Geod

from mapper.errors import InputError
from mapper.progress import file_progress, wanted
from mapper.sources import osm

STREET_HIGHWAYS: tuple[str, ...] = (
    "motorway", "trunk", "primary", "secondary", "tertiary", "unclassified", "residential",
    "living_street", "service", "motorway_link", "trunk_link", "primary_link",
    "secondary_link", "tertiary_link",
)  # fmt: skip
WALK_HIGHWAYS: tuple[str, ...] = (
    "pedestrian", "footway", "path", "steps", "cycleway", "living_street",
)  # fmt: skip
NETWORKS = ("streets", "walk")

GEOD = Geod(ellps="WGS84")
_STREET = frozenset(STREET_HIGHWAYS)
_WALK = frozenset(WALK_HIGHWAYS)


@dataclass
class StreetData:
    """Street ways and buildings of one file, as arrays (WKB, EPSG:4326)."""

    path: str
    way_ids: list[int] = field(default_factory=list)
    highway: list[str] = field(default_factory=list)
    street: list[bool] = field(default_factory=list)
    walk: list[bool] = field(default_factory=list)
    lines: NDArray[np.object_] = field(default_factory=lambda: np.empty(0, dtype=object))
    length_m: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    building_types: list[str] = field(default_factory=list)  # 'way' or 'relation'
    building_ids: list[int] = field(default_factory=list)
    buildings: NDArray[np.object_] = field(default_factory=lambda: np.empty(0, dtype=object))
    line_wkb: list[bytes] = field(default_factory=list)  # the same geometries as read (WKB)
    building_wkb: list[bytes] = field(default_factory=list)
    skipped_ways: int = 0
    #: The ground the file speaks for: its header box, else the box of its nodes.
    bbox: tuple[float, float, float, float] | None = None


def geodesic_lengths(lines: NDArray[np.object_]) -> NDArray[np.float64]:
    """The geodesic length in metres of each (multi)line string in lon/lat (0 for empty or
    non-linear geometries), from all their segments in one vectorised ``Geod.inv``."""
    out = np.zeros(len(lines))
    if len(lines) == 0:
        return out
    parts, owner = shapely.get_parts(lines, return_index=True)
    linear = shapely.get_type_id(parts) == 1  # LineString (polygons, points give nothing)
    parts, owner = parts[linear], owner[linear]
    if len(parts) == 0:
        return out
    coords, part = shapely.get_coordinates(parts, return_index=True)
    same = part[1:] == part[:-1]
    if not same.any():
        return out
    a, b = coords[:-1][same], coords[1:][same]
    _, _, dist = GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    np.add.at(out, owner[part[1:][same]], dist)
    return out


def _placed(way: osmium.osm.Way) -> bytes | None:
    """The WKB line of a way's placed nodes, None with fewer than two distinct ones."""
    pts: list[tuple[float, float]] = []
    for n in way.nodes:
        loc = n.location
        if loc.valid() and (not pts or pts[-1] != (loc.lon, loc.lat)):
            pts.append((loc.lon, loc.lat))
    return shapely.to_wkb(shapely.LineString(pts)) if len(pts) >= 2 else None


def read_streets(path: str, *, progress: bool = False) -> StreetData:
    """The street ways and buildings of an OSM file (see the module's documentation)."""
    f = osm.open_osm(path)
    if f.history:
        raise InputError(
            f"{path}: a history file; streets are read from a plain extract (.osm.pbf, .osm)"
        )
    data = StreetData(path=path)
    wkb = osmium.geom.WKBFactory()
    lines: list[bytes] = []
    seen_ways: set[int] = set()
    seen_areas: set[int] = set()
    polygons: list[bytes] = []
    fp = osmium.FileProcessor(
        f.file, osmium.osm.NODE | osmium.osm.WAY | osmium.osm.RELATION, osm.thread_pool()
    )
    with osm.location_storage(f.size) as storage, osm.reading(path):
        fp.with_locations(storage)
        fp.with_areas(osmium.filter.KeyFilter("building"))
        fp.with_filter(osmium.filter.KeyFilter("highway", "building"))
        fp.with_filter(osmium.filter.EntityFilter(osmium.osm.WAY | osmium.osm.AREA))
        with file_progress(path, "reading streets", wanted(not progress, f.size)):
            for obj in fp:
                if isinstance(obj, osmium.osm.Area):
                    building = obj.tags.get("building")
                    if building is None or building == "no" or obj.id in seen_areas:
                        continue
                    try:
                        polygons.append(bytes.fromhex(wkb.create_multipolygon(obj)))
                    except RuntimeError:  # an area libosmium could not close: no building
                        continue
                    seen_areas.add(obj.id)
                    data.building_types.append("way" if obj.from_way() else "relation")
                    data.building_ids.append(obj.orig_id())
                elif isinstance(obj, osmium.osm.Way):
                    hw = obj.tags.get("highway")
                    if hw is None or obj.id in seen_ways:
                        continue
                    street, walk = hw in _STREET, hw in _WALK
                    if not (street or walk) or obj.tags.get("area") == "yes":
                        continue
                    seen_ways.add(obj.id)
                    try:  # in C++: the line of its nodes (repeated locations dropped)
                        lines.append(bytes.fromhex(wkb.create_linestring(obj)))
                    except (RuntimeError, osmium.InvalidLocationError):
                        line = _placed(obj)  # a node missing from the extract
                        if line is None:
                            data.skipped_ways += 1
                            continue
                        lines.append(line)
                    data.way_ids.append(obj.id)
                    data.highway.append(hw)
                    data.street.append(street)
                    data.walk.append(walk)
    if lines:
        data.lines, data.line_wkb = shapely.from_wkb(lines), lines
        data.length_m = geodesic_lengths(data.lines)
    data.buildings = shapely.from_wkb(polygons) if polygons else np.empty(0, dtype=object)
    data.building_wkb = polygons
    data.bbox = osm.header(f).bbox or _node_box(f)
    return data


def _node_box(f: osm.OsmFile) -> tuple[float, float, float, float] | None:
    """The box of every node, for a file whose header has none (as the camera reader takes
    it for the file's extent): one more pass, over the nodes only."""
    box = [math.inf, math.inf, -math.inf, -math.inf]
    with osm.reading(f.path):
        for node in osmium.FileProcessor(f.file, osmium.osm.NODE, osm.thread_pool()):
            if isinstance(node, osmium.osm.Node) and node.location.valid():
                osm._grow(box, node.location.lon, node.location.lat)
    return (box[0], box[1], box[2], box[3]) if box[0] <= box[2] else None
