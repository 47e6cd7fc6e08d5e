"""Overpass API JSON: ``{"version", "osm3s", "elements": [...]}`` or a bare list of elements.

Ways are placed at their ``center`` (``out center``), the mean of their ``geometry``
(``out geom``), or the mean of their nodes when those are in the same dump; otherwise skipped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mapper.errors import InputError
from mapper.sources import (
    OVERPASS_JSON,
    Element,
    Extract,
    clean_tags,
    is_camera,
    valid_coordinate,
    valid_id,
)

_TYPES = ("node", "way", "relation", "area")


def _osm_like(e: Any) -> bool:
    return isinstance(e, dict) and e.get("type") in _TYPES and valid_id(e.get("id"))


def looks_like_overpass(data: Any) -> bool:
    elements = data.get("elements") if isinstance(data, dict) else data
    if not isinstance(elements, list):
        return False
    if not elements:
        return isinstance(data, dict) and ("osm3s" in data or "version" in data)
    return any(_osm_like(e) for e in elements[:1000]) or any(_osm_like(e) for e in elements)


def _snapshot(data: Any) -> datetime | None:
    if not isinstance(data, dict):
        return None
    osm3s = data.get("osm3s")
    base = osm3s.get("timestamp_osm_base") if isinstance(osm3s, dict) else None
    if not isinstance(base, str):
        return None
    try:
        t = datetime.fromisoformat(base.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t


def read(
    path: str, digest: str, data: Any, *, include_speed: bool, fmt: str = OVERPASS_JSON
) -> Extract:
    elements = data.get("elements") if isinstance(data, dict) else data
    if not isinstance(elements, list):
        raise InputError(f"{path}: Overpass JSON without an 'elements' list")
    ex = Extract(path=path, sha256=digest, format=fmt)
    ex.snapshot = _snapshot(data)
    ex.snapshot_kind = "overpass" if ex.snapshot else None
    nodes: dict[int, tuple[float, float]] = {}
    ways: list[tuple[dict[str, Any], dict[str, str]]] = []
    seen: set[tuple[str, int]] = set()
    for e in elements:
        if not _osm_like(e):
            ex.rejected += 1
            continue
        if e["type"] == "node" and valid_coordinate(e.get("lat"), e.get("lon")):
            nodes[e["id"]] = (float(e["lat"]), float(e["lon"]))
        tags = clean_tags(e.get("tags"))
        if tags is None:
            ex.rejected += 1
            continue
        keep, speed = is_camera(tags, include_speed)
        if not keep or (speed and e["type"] != "node") or (e["type"], e["id"]) in seen:
            continue
        seen.add((e["type"], e["id"]))
        if e["type"] == "node":
            if not valid_coordinate(e.get("lat"), e.get("lon")):
                ex.rejected += 1
                continue
            ex.elements.append(
                Element("node", e["id"], float(e["lat"]), float(e["lon"]), tags, speed)
            )
        elif e["type"] == "way":
            ways.append((e, tags))
    for e, tags in ways:
        pos = _way_position(e, nodes)
        if pos is None:
            ex.skipped_ways.append(e["id"])
        elif not valid_coordinate(*pos):
            ex.rejected += 1
        else:
            ex.elements.append(Element("way", e["id"], pos[0], pos[1], tags))
    return ex


def _way_position(
    e: dict[str, Any], nodes: dict[int, tuple[float, float]]
) -> tuple[float, float] | None:
    center = e.get("center")
    if isinstance(center, dict) and valid_coordinate(center.get("lat"), center.get("lon")):
        return float(center["lat"]), float(center["lon"])
    geometry = e.get("geometry")
    if isinstance(geometry, list) and geometry:
        pts = [
            (float(g["lat"]), float(g["lon"]))
            for g in geometry
            if isinstance(g, dict) and valid_coordinate(g.get("lat"), g.get("lon"))
        ]
        if len(pts) == len(geometry):
            if len(pts) > 1 and pts[0] == pts[-1]:
                pts = pts[:-1]
            return sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)
    refs = e.get("nodes")
    if isinstance(refs, list) and refs:
        unique = list(dict.fromkeys(r for r in refs if isinstance(r, int)))
        found = [nodes.get(r) for r in unique]
        if unique and all(p is not None for p in found):
            return (
                sum(p[0] for p in found if p) / len(found),
                sum(p[1] for p in found if p) / len(found),
            )
    return None
