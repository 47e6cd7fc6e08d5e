"""The extent of a clipped extract (its header's bounding box) as a study area: its name and
credit. The box itself is drawn and measured as every area is (``areas.extent_spec``: shapely
and pyproj)."""

from __future__ import annotations

import os

BBox = tuple[float, float, float, float]  # min_lon, min_lat, max_lon, max_lat

CREDIT = "© OpenStreetMap contributors (ODbL 1.0); extent from the extract's header"

#: The endings taken off a file's name to name its extent.
SUFFIXES = (".osm.pbf", ".osh.pbf", ".pbf", ".osm.gz", ".osm.bz2", ".osm", ".osh")


def name(path: str, existing: set[str]) -> str:
    """``<file stem> (extent)``, numbered when the store already has that name."""
    stem = os.path.basename(path)
    for suffix in SUFFIXES:
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    found = f"{stem} (extent)"
    n = 2
    while found in existing:
        found = f"{stem} (extent {n})"
        n += 1
    return found
