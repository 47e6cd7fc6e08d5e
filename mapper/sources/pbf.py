"""OSM PBF extracts, read with DuckDB spatial's ``ST_ReadOSM`` (the path is a bound parameter).

The header (replication timestamp, bounding box) is read with pyosmium; an extract without a
replication timestamp is dated by its newest element.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb

from mapper import sql
from mapper.errors import InputError
from mapper.progress import query_progress, wanted
from mapper.sources import PBF, Element, Extract, clean_tags, valid_coordinate
from mapper.store import scratch


def looks_like_pbf(head: bytes) -> bool:
    """A PBF starts with a 4-byte blob-header length, then field 1 = "OSMHeader"."""
    if len(head) < 15:
        return False
    n = int.from_bytes(head[:4], "big")
    return 0 < n < 64 * 1024 and head[4] == 0x0A and head[5] == 9 and head[6:15] == b"OSMHeader"


def _header(path: str) -> tuple[datetime | None, tuple[float, float, float, float] | None]:
    import osmium

    try:
        reader = osmium.io.Reader(path, osmium.osm.osm_entity_bits.NOTHING)
    except Exception as exc:  # pyosmium raises RuntimeError and friends
        raise InputError(f"{path}: not a readable OSM PBF ({str(exc)[:80]})") from None
    try:
        header = reader.header()
        stamp = header.get("osmosis_replication_timestamp") or None
        box = header.box()
        bbox = None
        if box.valid():
            bbox = (
                box.bottom_left.lon,
                box.bottom_left.lat,
                box.top_right.lon,
                box.top_right.lat,
            )
    finally:
        reader.close()
    snapshot = _parse_time(stamp) if stamp else None
    return snapshot, bbox


def _parse_time(value: str) -> datetime | None:
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if t.tzinfo is not None:
        t = t.astimezone(UTC).replace(tzinfo=None)
    return t


def _newest_element(path: str) -> datetime | None:
    """The newest element timestamp, for extracts whose header carries no date."""
    import osmium

    newest = 0.0
    try:
        for obj in osmium.FileProcessor(path):
            ts = getattr(obj, "timestamp", None)
            if ts is not None:
                v = ts.timestamp()
                if v > newest:
                    newest = v
    except Exception as exc:
        raise InputError(f"{path}: truncated or corrupt PBF ({str(exc)[:80]})") from None
    if newest <= 0:
        return None
    return datetime.fromtimestamp(newest, UTC).replace(tzinfo=None)


def read(path: str, digest: str, *, include_speed: bool, progress: bool) -> Extract:
    snapshot, bbox = _header(path)
    import os

    show = wanted(not progress, os.path.getsize(path))
    ex = Extract(path=path, sha256=digest, format=PBF, bbox=bbox)
    con = scratch()
    try:
        with query_progress(con, "reading cameras", show):
            rows = sql.rows(con, "pbf-cameras", path=path, speed=include_speed)
        ways = [r for r in rows if r["osm_type"] == "way"]
        coords: dict[int, tuple[float, float]] = {}
        if ways:
            refs = sorted({ref for w in ways for ref in (w["refs"] or [])})
            con.execute("CREATE TEMP TABLE wanted_refs (id BIGINT)")
            con.executemany("INSERT INTO wanted_refs VALUES (?)", [[r] for r in refs])
            with query_progress(con, "placing camera ways", show):
                for r in sql.rows(con, "pbf-way-node-coords", path=path):
                    coords[r["id"]] = (r["lat"], r["lon"])
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise InputError(f"{path}: truncated or corrupt PBF ({first[:100]})") from None
    finally:
        con.close()
    for r in rows:
        _add(ex, r, coords, include_speed)
    if snapshot is not None:
        ex.snapshot, ex.snapshot_kind = snapshot, "header"
    else:
        ex.snapshot = _newest_element(path)
        ex.snapshot_kind = "newest-element" if ex.snapshot else None
    return ex


def _add(
    ex: Extract, r: dict[str, Any], coords: dict[int, tuple[float, float]], include_speed: bool
) -> None:
    tags = clean_tags(r["tags"]) or {}
    speed = tags.get("man_made", "").strip() != "surveillance"
    if r["osm_type"] == "node":
        lat, lon = r["lat"], r["lon"]
    else:
        refs = list(dict.fromkeys(r["refs"] or []))
        pts = [coords.get(ref) for ref in refs]
        if not refs or any(p is None for p in pts):
            ex.skipped_ways.append(int(r["osm_id"]))
            return
        lat = sum(p[0] for p in pts if p) / len(pts)
        lon = sum(p[1] for p in pts if p) / len(pts)
    if not valid_coordinate(lat, lon):
        ex.rejected += 1
        return
    ex.elements.append(Element(r["osm_type"], int(r["osm_id"]), lat, lon, tags, speed))
