"""Administrative boundaries from an OSM file's own relations, assembled by libosmium.

The file is read twice, as libosmium's multipolygon manager needs, and each read is filtered
in C++ (pyosmium's filters) so that Python sees only boundary relations and their ways:

1. relations only: the ``boundary=administrative`` relations of type ``boundary`` or
   ``multipolygon`` (of one ``admin_level`` when asked) go to the multipolygon manager and
   are noted here with their member ways;
2. nodes and ways (relations are not decoded again): every node location goes into the
   location index (``osm.location_storage``: in memory for a small file, on disk for a large
   one); only the member ways of those relations get their locations, reach the assembler
   and Python. libosmium builds a relation's multipolygon once all its ways have been read
   (rings joined end to end, inner and outer told apart by geometry, islands in holes kept).

A relation that gives no area, or an empty one (ways or nodes cut off by a clipped extract,
rings that do not close), is reported as :class:`Incomplete` with the reason, worked out
from the member ways this module saw. ``pyosmium``'s ``FileProcessor`` is not used: its
filter chain is fixed before the first read, and the second read's filters here are made
from the ids the first read found (without them every closed way of the file is assembled
into an area and handed on, as ``FileProcessor.with_areas()`` does). The pieces used instead
(``Reader``, ``apply``, ``OsmFileIterator``, ``BufferIterator`` and ``area.AreaManager``) are
the ones ``FileProcessor`` is built of; pyosmium calls ``AreaManager``'s interface internal,
so tests/test_boundaries.py checks what it builds on every shipped file.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import osmium
import shapely
from osmium.filter import EntityFilter, IdFilter, TagFilter
from shapely.geometry import MultiPolygon, Polygon

from mapper.errors import InputError
from mapper.sources import osm

_GROUPED = re.compile(r"\d{1,3}(?:[,.' \u00a0\u2009\u202f]\d{3})+")
_YEAR = re.compile(r"(?<!\d)(1[6-9]\d\d|20\d\d)(?!\d)")


@dataclass
class Boundary:
    osm_id: int  # relation id
    name: str  # tags['name'], else 'relation/<id>'
    admin_level: int | None
    population: int | None
    population_date: str | None
    geometry: MultiPolygon  # lon/lat EPSG:4326, as libosmium assembled it
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def osm_name(self) -> str | None:
        """The relation's own ``name`` tag (None when it has none)."""
        return self.tags.get("name", "").strip() or None


@dataclass
class Incomplete:
    osm_id: int
    name: str
    admin_level: int | None
    reason: str


def parse_population(value: str | None) -> int | None:
    """``"9573"``, ``"9,573"``, ``"9 573"`` (also ``.``, ``'`` and thin spaces) -> 9573."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        n = int(text)
    elif _GROUPED.fullmatch(text):
        n = int(re.sub(r"\D", "", text))
    else:
        return None
    return n if n < 2**63 else None  # beyond the store's BIGINT: not a population


def population_date(tags: dict[str, str]) -> str | None:
    """``population:date`` as given, else the year named in ``source:population``."""
    date = tags.get("population:date", "").strip()
    if date:
        return date
    m = _YEAR.search(tags.get("source:population", ""))
    return m.group(1) if m else None


def _level(tags: dict[str, str]) -> int | None:
    text = tags.get("admin_level", "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 4 else None


# ----------------------------------------------------------------------------- reading


@dataclass
class _Relation:
    tags: dict[str, str]
    ways: list[int]  # distinct way members, in member order


@dataclass
class _Way:
    first: int
    last: int
    missing_nodes: int


class _Relations:
    """First read: notes each boundary relation that the C++ filters let through."""

    def __init__(self) -> None:
        self.found: dict[int, _Relation] = {}

    def relation(self, r: osmium.osm.Relation) -> None:
        ways = dict.fromkeys(m.ref for m in r.members if m.type == "w")
        self.found[r.id] = _Relation(dict(r.tags), list(ways))


def _read(
    path: str, admin_level: int | None
) -> tuple[dict[int, _Relation], dict[int, _Way], dict[int, MultiPolygon | None]]:
    """Both reads: the relations, their member ways as read, and the areas libosmium built
    (None for a relation it could not assemble)."""
    opened = osm.open_osm(path)
    if opened.history:
        raise InputError(
            f"{path}: a history file; boundaries are read from a snapshot "
            f"(osmium time-filter {path} -o snapshot.osm.pbf)"
        )
    file = opened.file
    pool = osm.thread_pool()
    relations = _Relations()
    manager = osmium.area.AreaManager()
    first: list[Any] = [
        TagFilter(("boundary", "administrative")),
        TagFilter(("type", "boundary"), ("type", "multipolygon")),
    ]
    if admin_level is not None:
        first.append(TagFilter(("admin_level", str(admin_level))))
    with osm.reading(path), osm.location_storage(opened.size) as storage:
        with osmium.io.Reader(file, osmium.osm.RELATION, thread_pool=pool) as reader:
            osmium.apply(reader, *first, relations, manager.first_pass_handler())
        if not relations.found:
            return {}, {}, {}
        member_ways = IdFilter({w for r in relations.found.values() for w in r.ways})
        member_ways.enable_for(osmium.osm.WAY)
        from_relations = IdFilter(2 * r + 1 for r in relations.found)  # area ids of relations
        from_relations.enable_for(osmium.osm.AREA)
        to_python = [EntityFilter(osmium.osm.WAY | osmium.osm.AREA), from_relations]
        areas = osmium.BufferIterator(*to_python)
        locations = osmium.NodeLocationsForWays(osmium.index.create_map(storage))
        locations.ignore_errors()  # a node cut off by the extract: the way is reported below
        chain = [member_ways, locations, manager.second_pass_to_buffer(areas), *to_python]
        ways: dict[int, _Way] = {}
        built: dict[int, MultiPolygon | None] = {}
        wkb = osmium.geom.WKBFactory()

        def take(obj: Any) -> None:
            if obj.is_area():
                if not obj.from_way():
                    built[obj.orig_id()] = _multipolygon(obj, wkb)
            elif len(obj.nodes):
                ways[obj.id] = _Way(obj.nodes[0].ref, obj.nodes[-1].ref, _missing(obj, wkb))

        reader = osmium.io.Reader(file, osmium.osm.NODE | osmium.osm.WAY, thread_pool=pool)
        with reader:
            for obj in osmium.OsmFileIterator(reader, *chain):
                take(obj)
                for area in areas:
                    take(area)
        for area in areas:
            take(area)
    return relations.found, ways, built


def _missing(way: Any, wkb: osmium.geom.WKBFactory) -> int:
    """How many of a way's nodes have no location (the check runs in C++ when none is
    missing, the usual case: a line is made of them or fails)."""
    try:
        wkb.create_linestring(way)
        return 0
    except (osmium.InvalidLocationError, RuntimeError):  # RuntimeError: under two points
        return sum(1 for n in way.nodes if not n.location.valid())


def _multipolygon(area: Any, wkb: osmium.geom.WKBFactory) -> MultiPolygon | None:
    outer, _ = area.num_rings()
    if not outer:  # libosmium's empty area: it could not assemble the rings
        return None
    geom = shapely.from_wkb(wkb.create_multipolygon(area))
    if isinstance(geom, Polygon):
        geom = MultiPolygon([geom])
    return geom if isinstance(geom, MultiPolygon) and not geom.is_empty else None


def _why(rel: _Relation, ways: dict[int, _Way]) -> str:
    """Why libosmium gave no area for a relation, from its member ways as read."""
    if not rel.ways:
        return "it has no member ways"
    absent = sum(1 for w in rel.ways if w not in ways)
    if absent:
        return f"{absent} of {len(rel.ways)} member ways are missing from the extract"
    nodes = sum(ways[w].missing_nodes for w in rel.ways)
    if nodes:
        some = (
            "1 node of its member ways is"
            if nodes == 1
            else f"{nodes} nodes of its member ways are"
        )
        return f"{some} missing from the extract"
    ends = Counter(n for w in rel.ways for n in (ways[w].first, ways[w].last))
    open_ends = sum(1 for k in ends.values() if k % 2)
    if open_ends:
        return f"its rings do not close ({open_ends} open ends)"
    return "libosmium could not assemble its rings (they cross, touch or enclose nothing)"


def boundaries_from_osm(
    path: str, admin_level: int | None = None
) -> tuple[list[Boundary], list[Incomplete]]:
    """Complete boundaries and incomplete ones, each sorted by (admin_level, name, id)."""
    relations, ways, built = _read(path, admin_level)
    done: list[Boundary] = []
    skipped: list[Incomplete] = []
    for osm_id, rel in relations.items():
        tags = rel.tags
        name = tags.get("name", "").strip() or f"relation/{osm_id}"
        level = _level(tags)
        geometry = built.get(osm_id)
        if geometry is None:
            skipped.append(Incomplete(osm_id, name, level, _why(rel, ways)))
            continue
        population = parse_population(tags.get("population"))
        done.append(
            Boundary(osm_id, name, level, population, population_date(tags), geometry, tags)
        )
    done.sort(key=lambda b: (b.admin_level is None, b.admin_level or 0, b.name, b.osm_id))
    skipped.sort(key=lambda b: (b.admin_level is None, b.admin_level or 0, b.name, b.osm_id))
    return done, skipped
