"""Every OSM file, read through libosmium (pyosmium): cameras here, boundaries in
:mod:`mapper.sources.boundaries`, both on the helpers of this module.

Formats (detected from content, never from the name): ``.osm.pbf``; OSM XML, plain, gzip or
bzip2 (``.osm``, ``.osm.gz``, ``.osm.bz2``); full-history files (``.osh.pbf``, ``.osh``). Tag
filters run in libosmium's C++ (:mod:`osmium.filter`): Python sees only the elements it keeps.

Cameras are nodes and ways tagged ``man_made=surveillance`` (and, asked for, nodes tagged
``highway=speed_camera``). A node is taken where it stands; a way is placed at the mean of
its distinct nodes, read in a second pass that only runs when the file has camera ways, and
only for their nodes (an ``IdFilter``). A way with a node missing from the extract is skipped
with a warning.

History files (:func:`read_history`): every version of every element that was a camera in
one of its versions, with its timestamp, version and visible flag; pass 1 finds their ids
(C++ key filter), pass 2 reads all their versions (C++ id filter). The cameras of a history
file "now" are the newest version of each such element, when it is visible and a camera. A
way's versions are all placed at the mean of its nodes' newest visible locations (the
positions of a way's nodes through time are not followed).
"""

from __future__ import annotations

import bz2
import gzip
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import osmium
import osmium.filter
import osmium.io

from mapper.errors import InputError
from mapper.progress import file_progress, wanted
from mapper.sources import PBF, Element, Extract, Version, _blocks, _guard

#: The formats as ``Extract.format`` records them (PBF keeps its old name, ``pbf``).
XML = "osm-xml"
HISTORY = "osm-history"

#: Files up to this size keep node locations in memory (libosmium's ``flex_mem``, which picks
#: a dense or sparse array itself); larger ones in a sparse array on disk, in a private
#: temporary folder removed after the read.
MEMORY_INDEX_MAX_BYTES = 1 << 30

_GZIP = b"\x1f\x8b"
_BZIP2 = b"BZh"


@dataclass
class OsmFile:
    """An OSM file whose format is known: ``file`` carries it explicitly to libosmium."""

    path: str
    file: osmium.io.File
    format: str  # 'pbf' or 'osm-xml'
    history: bool
    size: int


@dataclass
class Header:
    bbox: tuple[float, float, float, float] | None  # min_lon, min_lat, max_lon, max_lat
    timestamp: datetime | None  # replication timestamp, UTC (naive)


def looks_like_pbf(head: bytes) -> bool:
    """A PBF starts with a 4-byte blob-header length, then field 1 = "OSMHeader"."""
    if len(head) < 15:
        return False
    n = int.from_bytes(head[:4], "big")
    return 0 < n < 64 * 1024 and head[4] == 0x0A and head[5] == 9 and head[6:15] == b"OSMHeader"


def _looks_like_xml(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return text[:5] == b"<?xml" or text[:4] == b"<osm"


def sniff(path: str, head: bytes) -> str | None:
    """The OSM format of a file from its first bytes: 'pbf', 'osm', 'osm.gz', 'osm.bz2', or
    None when it is not OSM data libosmium reads. Compressed files are opened to look at the
    start of their content (a few bytes, however large the file inflates)."""
    if looks_like_pbf(head):
        return "pbf"
    if _looks_like_xml(head):
        return "osm"
    for magic, opener, fmt in ((_GZIP, gzip.open, "osm.gz"), (_BZIP2, bz2.open, "osm.bz2")):
        if head.startswith(magic):
            try:
                with opener(path, "rb") as f:
                    inner = f.read(256)
            except (OSError, EOFError, ValueError):
                return None
            return fmt if _looks_like_xml(inner) else None
    return None


def open_osm(path: str, head: bytes | None = None) -> OsmFile:
    """``path`` as an OSM file of a known format, checked by :mod:`mapper.sources._guard`
    before libosmium sees it; :class:`InputError` when it is not OSM data."""
    try:
        size = os.path.getsize(path)
        if head is None:
            with open(path, "rb") as f:
                head = f.read(64)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
    fmt = sniff(path, head)
    if fmt is None:
        raise InputError(f"{path}: not an OSM file (.osm.pbf, .osm, .osm.gz, .osm.bz2)")
    _guard.check(path, fmt)
    name = os.path.basename(path).lower()
    history = ".osh" in name
    if fmt == "pbf":
        with reading(path):
            with osmium.io.Reader(osmium.io.File(path, "pbf"), osmium.osm.NOTHING) as r:
                history = history or r.header().has_multiple_object_versions
    compression = fmt[4:]  # '' for PBF and plain XML
    if fmt == "pbf":
        full = "osh.pbf" if history else "pbf"
    else:
        full = ("osh" if history else "osm") + (f".{compression}" if compression else "")
    return OsmFile(
        path=path, file=osmium.io.File(path, full), format=PBF if fmt == "pbf" else XML,
        history=history, size=size,
    )  # fmt: skip


@contextmanager
def reading(path: str) -> Iterator[None]:
    """libosmium's errors (``RuntimeError`` from its PBF, XML and compression readers, a
    coordinate it cannot parse) as one-line :class:`InputError`s."""
    try:
        yield
    except osmium.InvalidLocationError as exc:
        raise InputError(f"{path}: truncated or corrupt OSM file ({_first(exc)})") from None
    except RuntimeError as exc:
        raise InputError(
            f"{path}: truncated or corrupt OSM file ({_first(exc)}); download it again"
        ) from None


def _first(exc: BaseException) -> str:
    lines = str(exc).splitlines() or [type(exc).__name__]
    return lines[0][:120]


def thread_pool() -> osmium.io.ThreadPool:
    """The threads libosmium decodes blocks in: one per core (pyosmium's own default leaves
    two cores free, which on a two-core machine is one thread for all the decoding while
    Python waits); ``OSMIUM_POOL_THREADS`` chooses, as for osmium-tool."""
    if os.environ.get("OSMIUM_POOL_THREADS"):
        return osmium.io.ThreadPool()
    return osmium.io.ThreadPool(os.cpu_count() or 1)


@contextmanager
def location_storage(size: int) -> Iterator[str]:
    """The node-location index for a file of ``size`` bytes (see ``MEMORY_INDEX_MAX_BYTES``)."""
    if size <= MEMORY_INDEX_MAX_BYTES:
        yield "flex_mem"
        return
    with tempfile.TemporaryDirectory(prefix="camdensity-nodes-") as folder:
        yield "sparse_file_array," + os.path.join(folder, "locations")


def _timestamp(text: str) -> datetime | None:
    if not text:
        return None
    try:
        stamp = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return None
    return stamp if stamp.year > 1970 else None


def header(osm: OsmFile) -> Header:
    """The file's header: its bounding box and replication timestamp, when it has them."""
    with reading(osm.path), osmium.io.Reader(osm.file, osmium.osm.NOTHING) as r:
        h = r.header()
        box = h.box()
        stamp = _timestamp(h.get("osmosis_replication_timestamp", "")) or _timestamp(
            h.get("timestamp", "")
        )
    bbox = None
    if box.valid():
        bl, tr = box.bottom_left, box.top_right
        if bl.lon < tr.lon and bl.lat < tr.lat:
            bbox = (bl.lon, bl.lat, tr.lon, tr.lat)
    return Header(bbox=bbox, timestamp=stamp)


def _is_camera(tags: osmium.osm.TagList, way: bool, include_speed: bool) -> tuple[bool, bool]:
    """(a camera we keep, kept only as a speed camera): the rule of ``sources.is_camera``."""
    if (tags.get("man_made") or "").strip() == "surveillance":
        return True, False
    if include_speed and not way and (tags.get("highway") or "").strip() == "speed_camera":
        return True, True
    return False, False


def _filter(include_speed: bool) -> osmium.filter.KeyFilter:
    """Only elements with the keys a camera needs reach Python (values are checked there, so
    that ``man_made= surveillance`` counts as the JSON readers count it)."""
    keys = ("man_made", "highway") if include_speed else ("man_made",)
    return osmium.filter.KeyFilter(*keys)


OsmObject = osmium.osm.Node | osmium.osm.Way


def _utc(obj: OsmObject) -> datetime:
    """The element's timestamp, UTC without a zone (pyosmium gives it in UTC)."""
    return obj.timestamp.replace(tzinfo=None)


def _tags(obj: OsmObject) -> dict[str, str]:
    """The element's tags as a dict: a node's come from the properties that pyosmium's
    ``GeoInterfaceFilter`` built in C++ (a third of the cost of iterating its ``TagList``
    in Python, measured on the 100x Munich file's 20,900 cameras); others are iterated."""
    feature = getattr(obj, "__geo_interface__", None)
    if feature is not None:
        props: dict[str, str] = feature["properties"]
        return props
    return dict(obj.tags)


@dataclass
class _Way:
    refs: list[int]
    tags: dict[str, str]
    version: int
    timestamp: datetime


@dataclass
class _Found:
    nodes: dict[int, Element] = field(default_factory=dict)
    ways: dict[int, _Way] = field(default_factory=dict)
    newest: float = 0.0  # newest timestamp seen (only when every element was looked at)
    extent: tuple[float, float, float, float] | None = None  # of every node, likewise

    def add(self, obj: OsmObject, speed: bool) -> None:
        """Keep a camera; an element repeated in the file (a duplicated block) is kept once."""
        if isinstance(obj, osmium.osm.Way):
            refs = [n.ref for n in obj.nodes]
            self.ways.setdefault(obj.id, _Way(refs, _tags(obj), obj.version, _utc(obj)))
        elif obj.id not in self.nodes:
            loc = obj.location
            lat, lon = (loc.lat, loc.lon) if loc.valid() else (math.nan, math.nan)
            self.nodes[obj.id] = Element(
                "node", obj.id, lat, lon, _tags(obj), speed, obj.version, _utc(obj)
            )


def _cameras(
    osm: OsmFile, include_speed: bool, every: bool, found: _Found, prefilter: bool = False
) -> Iterator[tuple[OsmObject, bool]]:
    """Camera nodes and ways as (element, speed camera only), in file order (each version, in
    a history file). ``every``: no C++ filter, so that the newest timestamp of every element
    and the box of every node are seen in the same pass (for files whose header carries no
    date); they are set on ``found`` at the end. ``prefilter``: libosmium reads only the
    blocks that can hold a camera (:mod:`mapper.sources._blocks`; a plain PBF, not ``every``).
    """
    entities = osmium.osm.NODE | osmium.osm.WAY
    newest = 0.0
    box = [math.inf, math.inf, -math.inf, -math.inf]
    for source in _sources(osm, include_speed, prefilter and not every):
        fp = osmium.FileProcessor(
            source, entities | osmium.osm.RELATION if every else entities, thread_pool()
        )
        if not every:
            fp.with_filter(_filter(include_speed))
            fp.with_filter(osmium.filter.GeoInterfaceFilter(drop_invalid_geometries=False))
        for obj in fp:
            if isinstance(obj, osmium.osm.Changeset):
                continue
            if every:
                stamp = obj.timestamp.timestamp()
                if stamp > newest:
                    newest = stamp
                if isinstance(obj, osmium.osm.Node) and obj.location.valid():
                    _grow(box, obj.location.lon, obj.location.lat)
            if isinstance(obj, osmium.osm.Node | osmium.osm.Way):
                keep, speed = _is_camera(obj.tags, isinstance(obj, osmium.osm.Way), include_speed)
                if keep:
                    yield obj, speed
    if every and box[0] <= box[2]:
        found.extent = (box[0], box[1], box[2], box[3])
    found.newest = newest


def _sources(
    osm: OsmFile, include_speed: bool, prefilter: bool
) -> Iterable[osmium.io.File | osmium.io.FileBuffer]:
    """The file itself, or (``prefilter``, a plain PBF) its blocks that can hold a camera."""
    if prefilter and osm.format == PBF and not osm.history:
        return _blocks.sources(osm.path, include_speed, osm.file)
    return [osm.file]


def _grow(box: list[float], lon: float, lat: float) -> None:
    if lon < box[0]:
        box[0] = lon
    if lon > box[2]:
        box[2] = lon
    if lat < box[1]:
        box[1] = lat
    if lat > box[3]:
        box[3] = lat


def _read(osm: OsmFile, include_speed: bool, every: bool, prefilter: bool = False) -> _Found:
    """The cameras of a file (of a history file: only its dates; see ``_history``)."""
    found = _Found()
    for obj, speed in _cameras(osm, include_speed, every, found, prefilter):
        if not osm.history:
            found.add(obj, speed)
    return found


Match = Callable[[osmium.osm.TagList, bool], tuple[bool, bool]]


def _matcher(include_speed: bool, tag: tuple[str, str] | None) -> tuple[Match, object]:
    """(what a version must carry, its C++ filter): cameras, or one tag ``key=value``."""
    if tag is None:
        return (lambda tags, way: _is_camera(tags, way, include_speed)), _filter(include_speed)
    key, value = tag
    return (lambda tags, way: ((tags.get(key) or "") == value, False)), osmium.filter.TagFilter(tag)


def _history(
    osm: OsmFile, include_speed: bool, tag: tuple[str, str] | None = None
) -> tuple[list[Version], dict[int, list[int]]]:
    """Every version of every node and way that matched in one of its versions, in id then
    version order (placed later, for ways), and each way version's node refs (by index)."""
    match, first = _matcher(include_speed, tag)
    ids: dict[bool, set[int]] = {False: set(), True: set()}  # is a way -> ids
    fp = osmium.FileProcessor(osm.file, osmium.osm.NODE | osmium.osm.WAY, thread_pool())
    fp.with_filter(first)
    for obj in fp:
        if isinstance(obj, osmium.osm.Node | osmium.osm.Way):
            way = isinstance(obj, osmium.osm.Way)
            if match(obj.tags, way)[0]:
                ids[way].add(obj.id)
    out: dict[tuple[str, int, int], Version] = {}
    refs: dict[tuple[str, int, int], list[int]] = {}
    if ids[False] or ids[True]:
        fp = osmium.FileProcessor(osm.file, osmium.osm.NODE | osmium.osm.WAY, thread_pool())
        for obj in fp.with_filter(osmium.filter.IdFilter(ids[False] | ids[True])):
            if not isinstance(obj, osmium.osm.Node | osmium.osm.Way):
                continue
            way = isinstance(obj, osmium.osm.Way)
            if obj.id not in ids[way]:
                continue
            key = ("way" if way else "node", obj.id, obj.version)
            if key in out:  # a duplicated block: the first copy stands
                continue
            keep, speed = match(obj.tags, way)
            lat = lon = math.nan
            if isinstance(obj, osmium.osm.Way):
                refs[key] = [n.ref for n in obj.nodes]
            elif obj.location.valid():
                lat, lon = obj.location.lat, obj.location.lon
            out[key] = Version(
                key[0], obj.id, obj.version, _utc(obj), obj.visible, obj.visible and keep,
                lat, lon, dict(obj.tags), speed,
            )  # fmt: skip
    order = sorted(out)
    versions = [out[k] for k in order]
    way_refs = {i: refs[k] for i, k in enumerate(order) if k in refs}
    return versions, way_refs


def read_history(
    path: str, *, include_speed: bool = False, tag: tuple[str, str] | None = None
) -> list[Version]:
    """Every version (timestamp, version, visible flag, tags, position) of every element of a
    history file that was a camera in one of its versions, in (type, id, version) order; with
    ``tag=(key, value)``, of every element that carried that tag instead. A plain extract
    holds one version of each element: the same rule gives those."""
    osm = open_osm(path)
    with reading(path):
        versions, way_refs = _history(osm, include_speed, tag)
        _place_ways(osm, versions, way_refs)
    return versions


def _place_ways(osm: OsmFile, versions: list[Version], way_refs: dict[int, list[int]]) -> None:
    """Way versions at the mean of their nodes' newest visible locations (NaN: a node is
    missing from the file)."""
    wanted_refs = {r for rs in way_refs.values() for r in rs}
    if not wanted_refs:
        return
    coords = _node_locations(osm, wanted_refs)
    for i, rs in way_refs.items():
        centre = _centroid(rs, coords)
        if centre is not None:
            versions[i].lat, versions[i].lon = centre


def _node_locations(osm: OsmFile, refs: set[int]) -> dict[int, tuple[float, float]]:
    """The locations of just these nodes (their newest visible version in a history file)."""
    coords: dict[int, tuple[float, float]] = {}
    versions: dict[int, int] = {}
    fp = osmium.FileProcessor(osm.file, osmium.osm.NODE, thread_pool())
    for node in fp.with_filter(osmium.filter.IdFilter(refs)):
        if not isinstance(node, osmium.osm.Node):
            continue
        if node.version < versions.get(node.id, -1):
            continue
        versions[node.id] = node.version
        loc = node.location
        if node.visible and loc.valid():
            coords[node.id] = (loc.lat, loc.lon)
        else:
            coords.pop(node.id, None)
    return coords


def _centroid(
    refs: list[int], coords: dict[int, tuple[float, float]]
) -> tuple[float, float] | None:
    """The mean of a way's distinct nodes; None when one of them is not in the file."""
    distinct = list(dict.fromkeys(refs))
    pts = [coords.get(ref) for ref in distinct]
    if not distinct or any(p is None for p in pts):
        return None
    return (
        sum(p[0] for p in pts if p) / len(pts),
        sum(p[1] for p in pts if p) / len(pts),
    )


def read_cameras(
    path: str, digest: str, *, include_speed: bool, progress: bool, prefilter: bool = True
) -> Extract:
    """The cameras of an OSM file, with its header box and data date. ``prefilter``: the
    first pass over a plain PBF whose header is dated reads only the blocks that can hold a
    camera (:mod:`mapper.sources._blocks`); off, libosmium reads every block."""
    osm = open_osm(path)
    head = header(osm)
    show = wanted(not progress, osm.size)
    ex = Extract(path=path, sha256=digest, format=HISTORY if osm.history else osm.format)
    ex.bbox = head.bbox
    every = head.timestamp is None
    with reading(path), file_progress(path, "reading cameras", show):
        # a history file's dates come from this pass only when its header has none
        found = (
            _read(osm, include_speed, every, prefilter) if every or not osm.history else _Found()
        )
        if osm.history:
            versions, way_refs = _history(osm, include_speed)
            _newest_of(found, versions, way_refs)
            _place_ways(osm, versions, way_refs)
            ex.versions = versions
        coords: dict[int, tuple[float, float]] = {}
        refs = {ref for way in found.ways.values() for ref in way.refs}
        if refs:
            coords = _node_locations(osm, refs)
    for e in found.nodes.values():
        if -90.0 <= e.lat <= 90.0 and -180.0 <= e.lon <= 180.0:  # NaN is outside too
            ex.elements.append(e)
        else:
            ex.rejected += 1
    for ident, way in found.ways.items():
        centre = _centroid(way.refs, coords)
        if centre is None:
            ex.skipped_ways.append(ident)
        else:
            ex.elements.append(
                Element("way", ident, *centre, way.tags, False, way.version, way.timestamp)
            )
    if head.bbox is None:
        ex.extent = found.extent
    if head.timestamp is not None:
        ex.snapshot, ex.snapshot_kind = head.timestamp, "header"
    else:
        newest = found.newest
        if newest > 0:
            ex.snapshot = datetime.fromtimestamp(newest, UTC).replace(tzinfo=None)
            ex.snapshot_kind = "newest-element"
    return ex


def _newest_of(found: _Found, versions: list[Version], way_refs: dict[int, list[int]]) -> None:
    """A history file's cameras now: the newest version of each element, when it is visible
    and a camera (``versions`` are in type, id, version order)."""
    for i, v in enumerate(versions):
        after = versions[i + 1] if i + 1 < len(versions) else None
        last = after is None or (after.osm_type, after.osm_id) != (v.osm_type, v.osm_id)
        if not (last and v.matches):
            continue
        if v.osm_type == "way":
            found.ways[v.osm_id] = _Way(way_refs[i], v.tags, v.version, v.timestamp)
        else:
            found.nodes[v.osm_id] = Element(
                "node", v.osm_id, v.lat, v.lon, v.tags, v.speed_camera, v.version, v.timestamp
            )
