"""GeoJSON FeatureCollections of points as overpass-turbo exports them.

The element comes from ``properties["@id"]`` or the feature ``id`` (``node/123``); tags are the
properties (or ``properties["tags"]`` in the older osmtogeojson shape), ``@``-keys dropped.
"""

from __future__ import annotations

import re
from typing import Any

from mapper.errors import InputError
from mapper.sources import (
    GEOJSON,
    Element,
    Extract,
    clean_tags,
    is_camera,
    valid_coordinate,
    valid_id,
)

_ID = re.compile(r"^(node|way|relation)/([0-9]{1,19})$", re.ASCII)


def _element_id(feature: dict[str, Any], props: dict[str, Any]) -> tuple[str, int] | None:
    for raw in (props.get("@id"), feature.get("id"), props.get("id")):
        if isinstance(raw, str):
            m = _ID.match(raw.strip())
            if m and valid_id(int(m.group(2))):
                return m.group(1), int(m.group(2))
    if isinstance(props.get("type"), str) and valid_id(props.get("id")):
        if props["type"] in ("node", "way", "relation"):
            return props["type"], props["id"]
    return None


def read(path: str, digest: str, data: dict[str, Any], include_speed: bool) -> Extract:
    features = data.get("features")
    if not isinstance(features, list):
        raise InputError(f"{path}: GeoJSON FeatureCollection without a 'features' list")
    ex = Extract(path=path, sha256=digest, format=GEOJSON)
    points = 0
    seen: set[tuple[str, int]] = set()
    for f in features:
        if not isinstance(f, dict):
            ex.rejected += 1
            continue
        geom = f.get("geometry")
        if not isinstance(geom, dict) or geom.get("type") != "Point":
            continue
        points += 1
        coords = geom.get("coordinates")
        props = f.get("properties")
        props = props if isinstance(props, dict) else {}
        ident = _element_id(f, props)
        if not isinstance(coords, list) or len(coords) < 2 or ident is None:
            ex.rejected += 1
            continue
        lon, lat = coords[0], coords[1]
        raw_tags = props["tags"] if isinstance(props.get("tags"), dict) else props
        tags = clean_tags({k: v for k, v in raw_tags.items() if not str(k).startswith("@")})
        if tags is None:
            ex.rejected += 1
            continue
        if raw_tags is props and tags.get("id") == f"{ident[0]}/{ident[1]}":
            del tags["id"]  # the element id, not an OSM tag
        keep, speed = is_camera(tags, include_speed)
        if not keep or ident in seen:
            continue
        if not valid_coordinate(lat, lon):
            ex.rejected += 1
            continue
        seen.add(ident)
        ex.elements.append(Element(ident[0], ident[1], float(lat), float(lon), tags, speed))
    if points == 0:
        raise InputError(
            f"{path}: GeoJSON without point features; export cameras from overpass-turbo "
            "as GeoJSON points, or ingest the .osm.pbf"
        )
    return ex
