"""OSM PBF extracts, read with DuckDB spatial's ``ST_ReadOSM`` (the path is a bound parameter).

The header (replication timestamp, bounding box) is read with pyosmium; an extract without a
replication timestamp is dated by its newest element.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any, BinaryIO

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


#: The format's own limits (wiki.openstreetmap.org/wiki/PBF_Format): a BlobHeader under
#: 64 KiB, a Blob under 32 MiB, compressed or not.
MAX_BLOB_HEADER = 64 * 1024
MAX_BLOB = 32 * 1024 * 1024


def _varint(f: BinaryIO) -> int:
    value = 0
    for shift in range(0, 64, 7):
        b = f.read(1)
        if not b:
            raise ValueError("ends inside a block")
        value |= (b[0] & 0x7F) << shift
        if not b[0] & 0x80:
            return value
    raise ValueError("a malformed number")


def _blob_fields(f: BinaryIO, end: int) -> dict[int, int | bytes]:
    """The top-level fields of the message from here to ``end``: varints as numbers, short
    payloads as bytes; long payloads are skipped unread."""
    out: dict[int, int | bytes] = {}
    while f.tell() < end:
        key = _varint(f)
        if key & 7 == 0:
            out[key >> 3] = _varint(f)
        elif key & 7 == 2:
            n = _varint(f)
            if f.tell() + n > end:
                raise ValueError("a field runs past its block")
            if n <= 64:
                out[key >> 3] = f.read(n)
            else:
                f.seek(n, 1)
        else:
            raise ValueError(f"an unexpected field type {key & 7}")
    return out


def check_blocks(path: str) -> None:
    """Walk the blocks of a PBF before any reader decodes them: every length within the
    format's limits, every block type known, the file ending where its last block ends.

    A truncated download, a flipped length or a block claiming a huge size ("zip bomb") is
    refused here with a plain message, instead of reaching the decoders.
    """
    size = os.path.getsize(path)
    n = 0
    try:
        with open(path, "rb") as f:
            while f.tell() < size:
                n += 1
                head = f.read(4)
                length = int.from_bytes(head, "big")
                if len(head) < 4 or f.tell() + length > size:
                    raise ValueError(f"ends inside block {n}")
                if not 0 < length <= MAX_BLOB_HEADER:
                    raise ValueError(f"block {n} has a header of {length} bytes")
                header = _blob_fields(f, f.tell() + length)
                kind, datasize = header.get(1), header.get(3)
                expected = b"OSMHeader" if n == 1 else b"OSMData"
                if kind != expected:
                    raise ValueError(f"block {n} is not an {expected.decode()} block")
                if not isinstance(datasize, int) or not 0 < datasize <= MAX_BLOB:
                    raise ValueError(f"block {n} has no valid size")
                start = f.tell()
                if start + datasize > size:
                    raise ValueError(f"ends inside block {n}")
                raw_size = _blob_fields(f, start + datasize).get(2, 0)
                if not isinstance(raw_size, int):
                    raise ValueError(f"block {n} has no valid size")
                if raw_size > MAX_BLOB:
                    raise ValueError(f"block {n} claims to inflate to {raw_size} bytes")
                f.seek(start + datasize)
    except ValueError as exc:
        raise InputError(
            f"{path}: truncated or corrupt PBF ({exc}); download the extract again"
        ) from None


def _header(path: str) -> tuple[datetime | None, tuple[float, float, float, float] | None]:
    import osmium

    try:
        reader = osmium.io.Reader(path, osmium.osm.osm_entity_bits.NOTHING)
    except Exception as exc:  # pyosmium raises RuntimeError and friends
        raise InputError(f"{path}: not a readable OSM PBF ({str(exc)[:80]})") from None
    try:
        header = reader.header()  # decodes the header block: it may be corrupt
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
    except Exception as exc:
        raise InputError(f"{path}: not a readable OSM PBF ({str(exc)[:80]})") from None
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
    check_blocks(path)
    snapshot, bbox = _header(path)
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
    seen: set[tuple[str, int]] = set()
    for r in rows:  # an element repeated in the file (a duplicated block) is taken once
        key = (r["osm_type"], int(r["osm_id"]))
        if key not in seen:
            seen.add(key)
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
