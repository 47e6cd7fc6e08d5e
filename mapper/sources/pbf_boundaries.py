"""Administrative boundaries assembled offline from a PBF extract's own relations.

DuckDB spatial's ``ST_ReadOSM`` reads, in three passes (``queries/boundaries.sql``), the
``boundary=administrative`` relations, their outer/inner member ways and only the nodes those
ways use. Python then chains each relation's ways end to end (by node id) into closed rings
and combines the rings even-odd, so holes and islands in holes come out right. A relation
whose ways or nodes are not all in the extract, or whose rings do not close, is reported as
:class:`Incomplete` instead.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import duckdb
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from mapper import sql
from mapper.errors import InputError
from mapper.sources import clean_tags, looks_like_pbf
from mapper.sources.pbf import check_blocks
from mapper.store import scratch

#: Relations with more members than this are skipped (reported as incomplete), unread.
MAX_MEMBERS = 100_000

_GROUPED = re.compile(r"\d{1,3}(?:[,.' \u00a0\u2009\u202f]\d{3})+")
_YEAR = re.compile(r"(?<!\d)(1[6-9]\d\d|20\d\d)(?!\d)")


@dataclass
class Boundary:
    osm_id: int  # relation id
    name: str  # tags['name'], else 'relation/<id>'
    admin_level: int | None
    population: int | None
    population_date: str | None
    geometry: MultiPolygon  # valid, lon/lat EPSG:4326
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Incomplete:
    osm_id: int
    name: str
    admin_level: int | None
    reason: str


@dataclass
class _Way:
    way_id: int
    role: str
    first: int
    last: int
    coords: list[tuple[float, float]]


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


def _chain(ways: list[_Way]) -> tuple[list[list[tuple[float, float]]], int]:
    """Closed rings from ways joined end to end, and the number of open ends (0 = all close).

    Every node where an odd number of way ends meet is an open end; when there is none, a walk
    from any way can only stop where it started, so each walk closes a ring.
    """
    at_node: dict[int, list[int]] = defaultdict(list)
    for i, w in enumerate(ways):
        at_node[w.first].append(i)
        at_node[w.last].append(i)
    open_ends = sum(1 for found in at_node.values() if len(found) % 2)
    if open_ends:
        return [], open_ends
    used = [False] * len(ways)
    cursor: dict[int, int] = defaultdict(int)
    rings: list[list[tuple[float, float]]] = []
    for start, way in enumerate(ways):
        if used[start]:
            continue
        used[start] = True
        ring, origin, here = list(way.coords), way.first, way.last
        while here != origin:
            candidates = at_node[here]
            while cursor[here] < len(candidates) and used[candidates[cursor[here]]]:
                cursor[here] += 1
            if cursor[here] == len(candidates):  # cannot happen with even degrees
                return [], 1
            nxt = ways[candidates[cursor[here]]]
            used[candidates[cursor[here]]] = True
            forward = nxt.first == here
            ring.extend((nxt.coords if forward else nxt.coords[::-1])[1:])
            here = nxt.last if forward else nxt.first
        rings.append(ring)
    return rings, 0


def _polygonal(geom: BaseGeometry) -> list[Polygon]:
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    parts = getattr(geom, "geoms", [geom])
    found: list[Polygon] = []
    for part in parts:
        if isinstance(part, Polygon) and not part.is_empty:
            found.append(part)
        elif isinstance(part, MultiPolygon):
            found.extend(p for p in part.geoms if not p.is_empty)
        elif hasattr(part, "geoms"):
            found.extend(_polygonal(part))
    return found


def _even_odd(rings: list[list[tuple[float, float]]]) -> MultiPolygon:
    """The area inside an odd number of rings: outers minus holes, plus islands in holes."""
    layers: list[BaseGeometry] = []
    for ring in rings:
        if len(ring) >= 4:
            layers.append(MultiPolygon(_polygonal(Polygon(ring))))
    while len(layers) > 1:  # balanced pairwise reduction keeps the overlays small
        nxt = [a.symmetric_difference(b) for a, b in zip(layers[::2], layers[1::2], strict=False)]
        if len(layers) % 2:
            nxt.append(layers[-1])
        layers = nxt
    if not layers:
        return MultiPolygon()
    return MultiPolygon(_polygonal(layers[0]))


def _assemble(members: list[dict[str, Any]]) -> MultiPolygon | str:
    """A relation's geometry from its member-way rows, or why it cannot be built."""
    if not members:
        return "it has no outer or inner member ways"
    absent = sum(1 for m in members if not m["found"])
    if absent:
        return f"{absent} of {len(members)} member ways are missing from the extract"
    nodes = sum(int(m["missing_nodes"] or 0) for m in members)
    if nodes:
        return f"{nodes} nodes of its member ways are missing from the extract"
    ways: list[_Way] = []
    for m in members:
        if not m["lons"] or len(m["lons"]) < 2:
            return f"member way {m['way_id']} has fewer than two nodes"
        coords = list(zip(m["lons"], m["lats"], strict=True))
        ways.append(_Way(m["way_id"], m["role"], m["first_node"], m["last_node"], coords))
    rings: list[list[tuple[float, float]]] = []
    for role in ("outer", "inner"):
        found, open_ends = _chain([w for w in ways if w.role == role])
        if open_ends:
            return f"{role} ring does not close ({open_ends} open ends)"
        rings.extend(found)
    geometry = _even_odd(rings)
    if geometry.is_empty:
        return "its rings enclose no area"
    return geometry


def _read(path: str, level: str | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    con = scratch()
    try:
        sql.run(con, "boundaries-load-relations", path=path, level=level, max_members=MAX_MEMBERS)
        sql.run(con, "boundaries-load-members")
        sql.run(con, "boundaries-load-ways", path=path)
        sql.run(con, "boundaries-load-nodes", path=path)
        return sql.rows(con, "boundaries-relations"), sql.rows(con, "boundaries-member-ways")
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise InputError(
            f"{path}: truncated or corrupt PBF ({first[:100]}); download the extract again"
        ) from None
    finally:
        con.close()


def boundaries_from_pbf(
    path: str, admin_level: int | None = None
) -> tuple[list[Boundary], list[Incomplete]]:
    """Complete boundaries and incomplete ones, each sorted by (admin_level, name)."""
    if not os.path.isfile(path):
        raise InputError(f"{path}: no such file; pass the path of an OSM PBF extract")
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError as exc:
        raise InputError(
            f"{path}: cannot be read ({exc.strerror}); check its permissions"
        ) from None
    if not looks_like_pbf(head):
        raise InputError(f"{path}: not an OSM PBF file; pass an .osm.pbf extract")
    check_blocks(path)
    relations, member_rows = _read(path, None if admin_level is None else str(admin_level))
    members: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in member_rows:
        members[row["rel_id"]].append(row)
    done: list[Boundary] = []
    skipped: list[Incomplete] = []
    for rel in relations:
        osm_id = int(rel["id"])
        tags = clean_tags(rel["tags"]) or {}
        name = tags.get("name", "").strip() or f"relation/{osm_id}"
        level = _level(tags)
        if rel["too_many_members"]:
            reason = f"{rel['n_members']} members, over the limit of {MAX_MEMBERS} per relation"
            skipped.append(Incomplete(osm_id, name, level, reason))
            continue
        built = _assemble(members.get(osm_id, []))
        if isinstance(built, str):
            skipped.append(Incomplete(osm_id, name, level, built))
            continue
        population = parse_population(tags.get("population"))
        done.append(Boundary(osm_id, name, level, population, population_date(tags), built, tags))
    done.sort(key=lambda b: (b.admin_level is None, b.admin_level or 0, b.name, b.osm_id))
    skipped.sort(key=lambda b: (b.admin_level is None, b.admin_level or 0, b.name, b.osm_id))
    return done, skipped
