"""The extent of a clipped extract (its header's bounding box) as a study area, without
shapely and pyproj: ``camdensity ingest`` stores one for every PBF, and importing them would
cost it more than drawing and measuring the box here (a third of a second, at start and at
exit)."""

from __future__ import annotations

import math
import os
import struct
from typing import Any

BBox = tuple[float, float, float, float]  # min_lon, min_lat, max_lon, max_lat

CREDIT = "© OpenStreetMap contributors (ODbL 1.0); extent from the extract's header"


def name(path: str, existing: set[str]) -> str:
    """``<file stem> (extent)``, numbered when the store already has that name."""
    stem = os.path.basename(path)
    for suffix in (".osm.pbf", ".pbf"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    found = f"{stem} (extent)"
    n = 2
    while found in existing:
        found = f"{stem} (extent {n})"
        n += 1
    return found


def simple(bbox: BBox) -> bool:
    """A box drawn here: finite, inside lon/lat, with an area, at most 90° wide. Others (a
    world-wide extract, a degenerate box) go through ``areas.extent_spec`` and shapely."""
    minx, miny, maxx, maxy = bbox
    return (
        all(math.isfinite(v) for v in bbox)
        and -180 <= minx < maxx <= 180
        and -90 <= miny < maxy <= 90
        and maxx - minx <= 90
    )


def ring(bbox: BBox) -> list[tuple[float, float]]:
    """The box's ring in the order shapely's ``box`` gives it (counter-clockwise, from the
    lower right corner), so that its geodesic area is the same to the last bit."""
    minx, miny, maxx, maxy = bbox
    return [(maxx, miny), (maxx, maxy), (minx, maxy), (minx, miny), (maxx, miny)]


def wkb(bbox: BBox) -> bytes:
    """The box as a little-endian WKB MultiPolygon, as ``shapely.to_wkb`` writes it."""
    points = ring(bbox)
    out = struct.pack("<BII", 1, 6, 1) + struct.pack("<BIII", 1, 3, 1, len(points))
    return out + b"".join(struct.pack("<dd", x, y) for x, y in points)


def geodesic_km2(bbox: BBox) -> float:
    """The box's area on the WGS84 ellipsoid, edges geodesics: Karney's algorithm, as pyproj
    computes it for the areas of ``mapper.areas`` (the same figure to the last bit), from
    geographiclib, whose import costs 2 ms where pyproj's costs 70."""
    from geographiclib.geodesic import Geodesic

    polygon = Geodesic.WGS84.Polygon()
    for lon, lat in ring(bbox)[:-1]:
        polygon.AddPoint(lat, lon)
    _, _, area = polygon.Compute(False, True)
    return abs(float(area)) / 1e6


def row(path: str, bbox: BBox, source_id: int, existing: set[str]) -> dict[str, Any]:
    """The ``area-insert`` parameters of a simple extent."""
    minx, miny, maxx, maxy = bbox
    return dict(
        name=name(path, existing), kind="extent", geometry=wkb(bbox),
        geodesic_km2=geodesic_km2(bbox), official_km2=None, population=None,
        population_year=None, population_source=None, admin_level=None, osm_id=None,
        source=path, credit=CREDIT, source_id=source_id,
        min_lon=minx, min_lat=miny, max_lon=maxx, max_lat=maxy,
    )  # fmt: skip
