"""OSM PBF extracts.

Cameras are read by camdensity's own block scan (:mod:`mapper.sources.pbf_scan`), which
decodes only the blocks that can hold a camera; ``reader="st_readosm"`` reads them with DuckDB
spatial's ``ST_ReadOSM`` instead (the path is a bound parameter). Both give the same cameras
(tested on every sample); the scan is several times faster.

The header (replication timestamp, bounding box, sort order) is read here, as libosmium reads
it; an extract without a replication timestamp is dated by its newest element (pyosmium).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import duckdb

from mapper import sql
from mapper.errors import InputError
from mapper.progress import bytes_progress, query_progress, wanted
from mapper.sources import PBF, Element, Extract, clean_tags
from mapper.sources.pbf_scan import MAX_BLOB, MAX_BLOB_HEADER
from mapper.store import scratch


def _raw_size(start: bytes) -> int:
    """The raw_size field (2) of a Blob, from the Blob's first bytes; 0 when it is not there
    (an uncompressed blob, or a writer that puts it after the data)."""
    from mapper.sources.pbf_scan import varint

    if len(start) < 2 or start[0] != 0x10:
        return 0
    try:
        return varint(start, 1)[0]
    except ValueError:
        raise ValueError("a block with no valid size") from None


def check_blocks(path: str) -> None:
    """Walk the blocks of a PBF before any reader decodes them: every length within the
    format's limits, every block type known, the file ending where its last block ends.

    A truncated download, a flipped length or a block claiming a huge size ("zip bomb") is
    refused here with a plain message, instead of reaching the decoders.
    """
    from mapper.sources.pbf_scan import Corrupt, _fields

    size = os.path.getsize(path)
    n = 0
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            pos = 0
            while pos < size:
                n += 1
                length = int.from_bytes(os.pread(fd, 4, pos), "big")
                if pos + 4 > size or pos + 4 + length > size:
                    raise ValueError(f"ends inside block {n}")
                if not 0 < length <= MAX_BLOB_HEADER:
                    raise ValueError(f"block {n} has a header of {length} bytes")
                pos += 4
                head = os.pread(fd, length, pos)
                header = dict(_fields(head, 0, length))
                kind, datasize = header.get(1), header.get(3)
                if isinstance(kind, tuple):
                    kind = head[kind[0] : kind[1]]
                expected = b"OSMHeader" if n == 1 else b"OSMData"
                if kind != expected:
                    raise ValueError(f"block {n} is not an {expected.decode()} block")
                if not isinstance(datasize, int) or not 0 < datasize <= MAX_BLOB:
                    raise ValueError(f"block {n} has no valid size")
                pos += length
                if pos + datasize > size:
                    raise ValueError(f"ends inside block {n}")
                # the blob's raw_size comes before its data: its first bytes are enough
                start = os.pread(fd, min(datasize, 16), pos)
                raw_size = _raw_size(start)
                if raw_size > MAX_BLOB:
                    raise ValueError(f"block {n} claims to inflate to {raw_size} bytes")
                pos += datasize
        finally:
            os.close(fd)
    except (ValueError, Corrupt) as exc:
        raise InputError(
            f"{path}: truncated or corrupt PBF ({exc}); download the extract again"
        ) from None


#: The required features a PBF may name (those libosmium reads); any other is refused.
KNOWN_FEATURES = frozenset(
    {"OsmSchema-V0.6", "DenseNodes", "HistoricalInformation", "LocationsOnWays"}
)


def _header(
    path: str,
) -> tuple[datetime | None, tuple[float, float, float, float] | None, bool]:
    """The header block (HeaderBlock in the format): the replication timestamp, the bounding
    box and whether the file is sorted by type then id. Read as libosmium reads it: the box in
    its 1e-7° units, a timestamp of 0 as none, an unknown required feature refused."""
    from mapper.sources import pbf_scan

    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            first = next(pbf_scan.blobs(fd, os.fstat(fd).st_size))
            data = pbf_scan.inflate(fd, first)
        finally:
            os.close(fd)
        fields: dict[int, list[Any]] = {}
        for number, value in pbf_scan._fields(data, 0, len(data)):
            fields.setdefault(number, []).append(value)
        for span in fields.get(4, []):
            feature = pbf_scan.text(data[span[0] : span[1]])
            if feature not in KNOWN_FEATURES:
                raise ValueError(f"required feature not supported: {feature[:40]}")
        optional = {pbf_scan.text(data[a:b]) for a, b in fields.get(5, [])}
        bbox = None
        if 1 in fields:
            box: dict[int, int] = {}
            for number, value in pbf_scan._fields(data, *fields[1][0]):
                if isinstance(value, int):
                    box[number] = _e7(pbf_scan._zigzag(value))
            if (
                len(box) == 4
                and all(abs(box[n]) <= 180 * 10**7 for n in (1, 2))
                and all(abs(box[n]) <= 90 * 10**7 for n in (3, 4))
            ):
                bbox = (box[1] / 1e7, box[4] / 1e7, box[2] / 1e7, box[3] / 1e7)
        stamp = fields.get(32, [0])[0]
    except (ValueError, IndexError, StopIteration) as exc:  # Corrupt is a ValueError
        raise InputError(f"{path}: not a readable OSM PBF ({str(exc)[:80]})") from None
    except pbf_scan.Unsupported as exc:
        raise _unsupported(path, exc) from None
    snapshot = None
    if isinstance(stamp, int) and 0 < stamp < 2**62:
        snapshot = datetime.fromtimestamp(stamp, UTC).replace(tzinfo=None)
    return snapshot, bbox, "Sort.Type_then_ID" in optional


def _unsupported(path: str, exc: Exception) -> InputError:
    return InputError(
        f"{path}: {exc} is not supported; rewrite the file with zlib blocks "
        "(osmium cat IN -o OUT.osm.pbf -f pbf,pbf_compression=zlib)"
    )


def _e7(nanodegrees: int) -> int:
    """Nanodegrees to libosmium's 1e-7° units (its integer division truncates toward 0)."""
    q = abs(nanodegrees) // 100
    return q if nanodegrees >= 0 else -q


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


READERS = ("scan", "st_readosm")

#: A camera node or way as read: type, id, lat, lon (ways: None), tags, way node refs, and
#: whether it is kept only as a speed camera.
Row = tuple[str, int, float | None, float | None, dict[str, str], list[int], bool]


def read(
    path: str, digest: str, *, include_speed: bool, progress: bool, reader: str = "scan"
) -> Extract:
    check_blocks(path)
    snapshot, bbox, sorted_ids = _header(path)
    size = os.path.getsize(path)
    show = wanted(not progress, size)
    ex = Extract(path=path, sha256=digest, format=PBF, bbox=bbox)
    if reader == "scan":
        rows = _scan(path, include_speed, sorted_ids, show, size)
    else:
        rows = _st_readosm(path, include_speed, show)
    seen: set[tuple[str, int]] = set()
    elements = ex.elements
    for osm_type, ident, lat, lon, tags, _, speed in rows:
        key = (osm_type, ident)
        if key in seen:  # an element repeated in the file (a duplicated block) is taken once
            continue
        seen.add(key)
        if lat is None or lon is None:
            ex.skipped_ways.append(ident)
        elif -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0:  # NaN is outside too
            elements.append(Element(osm_type, ident, lat, lon, tags, speed))
        else:
            ex.rejected += 1
    if snapshot is not None:
        ex.snapshot, ex.snapshot_kind = snapshot, "header"
    else:
        ex.snapshot = _newest_element(path)
        ex.snapshot_kind = "newest-element" if ex.snapshot else None
    return ex


def _scan(path: str, include_speed: bool, sorted_ids: bool, show: bool, size: int) -> list[Row]:
    """Cameras by camdensity's block scan."""
    from mapper.sources import pbf_scan

    try:
        with bytes_progress("reading cameras", size, show) as step:
            found, speed = pbf_scan.scan(path, include_speed=include_speed, progress=step)
        coords: dict[int, tuple[float, float]] = {}
        refs = {ref for _, way_refs, _ in found.ways for ref in way_refs}
        if refs:
            with bytes_progress("placing camera ways", size, show) as step:
                coords = pbf_scan.node_coordinates(
                    path, refs, found.node_blocks, sorted_ids, progress=step
                )
    except pbf_scan.Unsupported as exc:
        raise _unsupported(path, exc) from None
    except (ValueError, IndexError) as exc:  # pbf_scan.Corrupt, inflate errors included
        raise InputError(f"{path}: truncated or corrupt PBF ({str(exc)[:80]})") from None
    rows: list[Row] = [
        ("node", i, lat, lon, tags, [], s)
        for (i, lat, lon, tags), s in zip(found.nodes, speed, strict=True)
    ]
    for ident, way_refs, tags in found.ways:
        rows.append(("way", ident, *_centroid(way_refs, coords), tags, way_refs, False))
    return rows


def _centroid(
    refs: list[int], coords: dict[int, tuple[float, float]]
) -> tuple[float | None, float | None]:
    """The mean of a way's distinct nodes; None when one of them is not in the file."""
    refs = list(dict.fromkeys(refs))
    pts = [coords.get(ref) for ref in refs]
    if not refs or any(p is None for p in pts):
        return None, None
    return (
        sum(p[0] for p in pts if p) / len(pts),
        sum(p[1] for p in pts if p) / len(pts),
    )


def _st_readosm(path: str, include_speed: bool, show: bool) -> list[Row]:
    con = scratch()
    try:
        with query_progress(con, "reading cameras", show):
            found = sql.rows(con, "pbf-cameras", path=path, speed=include_speed)
        ways = [r for r in found if r["osm_type"] == "way"]
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
    rows: list[Row] = []
    for r in found:
        tags = clean_tags(r["tags"]) or {}
        speed = tags.get("man_made", "").strip() != "surveillance"
        if r["osm_type"] == "node":
            rows.append(("node", int(r["osm_id"]), r["lat"], r["lon"], tags, [], speed))
        else:
            refs = list(r["refs"] or [])
            lat, lon = _centroid(refs, coords)
            rows.append(("way", int(r["osm_id"]), lat, lon, tags, refs, speed))
    return rows
