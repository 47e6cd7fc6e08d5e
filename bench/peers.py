"""Bare pyosmium scripts that ``make bench`` sets beside camdensity, each run as its own process.

    python bench/peers.py cameras FILE.osm.pbf
    python bench/peers.py areas FILE.osm.pbf LEVEL

``cameras``: the ``man_made=surveillance`` nodes and ways, in two passes as the pyosmium
documentation shows. Pass 1 reads nodes and ways through a C++ ``TagFilter`` and keeps each
camera's id, tags and location (a node) or node refs (a way); pass 2, only when there are
camera ways, reads the nodes they reference through an ``IdFilter`` and places each way at the
mean of its nodes. ``areas``: one ``FileProcessor(...).with_areas(TagFilter(('boundary',
'administrative')))`` pass that keeps every multipolygon assembled from a relation of that
``admin_level`` as WKB, with its relation id and name. Each prints how many it found.
"""

from __future__ import annotations

import sys
from typing import Any

import osmium


def cameras(path: str) -> int:
    cams = osmium.filter.TagFilter(("man_made", "surveillance"))
    nodes: list[tuple[int, float, float, dict[str, str]]] = []
    ways: list[tuple[int, dict[str, str], list[int]]] = []
    o: Any  # pyosmium's object types share no common base with these attributes
    for o in osmium.FileProcessor(path, osmium.osm.NODE | osmium.osm.WAY).with_filter(cams):
        if o.is_node():
            nodes.append((o.id, o.location.lat, o.location.lon, dict(o.tags)))
        else:
            ways.append((o.id, dict(o.tags), [r.ref for r in o.nodes]))
    placed: list[tuple[int, float, float, dict[str, str]]] = []
    if ways:
        refs = {r for _, _, rs in ways for r in rs}
        where: dict[int, tuple[float, float]] = {}
        ids = osmium.filter.IdFilter(refs)
        for o in osmium.FileProcessor(path, osmium.osm.NODE).with_filter(ids):
            where[o.id] = (o.location.lat, o.location.lon)
        for i, tags, rs in ways:
            locs = [where[r] for r in rs if r in where]
            if locs:
                lat = sum(p[0] for p in locs) / len(locs)
                lon = sum(p[1] for p in locs) / len(locs)
                placed.append((i, lat, lon, tags))
    return len(nodes) + len(placed)


def areas(path: str, level: str) -> int:
    wkb = osmium.geom.WKBFactory()
    found: list[tuple[int, str | None, str]] = []
    admin = osmium.filter.TagFilter(("boundary", "administrative"))
    fp = osmium.FileProcessor(path).with_areas(admin)
    fp = fp.with_filter(osmium.filter.EntityFilter(osmium.osm.AREA))
    o: Any
    for o in fp.with_filter(osmium.filter.TagFilter(("admin_level", level))):
        if not o.from_way():
            found.append((o.orig_id(), o.tags.get("name"), wkb.create_multipolygon(o)))
    return len(found)


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["cameras"] and len(args) == 2:
        print(cameras(args[1]))
    elif args[:1] == ["areas"] and len(args) == 3:
        print(areas(args[1], args[2]))
    else:
        sys.exit("usage: peers.py cameras FILE.osm.pbf | peers.py areas FILE.osm.pbf LEVEL")
