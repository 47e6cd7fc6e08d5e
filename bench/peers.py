"""The peers of ``camdensity ingest``, each run as its own process and timed from outside.

    python bench/peers.py pyosmium|pyrosm|duckdb FILE.osm.pbf

Each reads the ``man_made=surveillance`` nodes of FILE into memory (id, coordinates, tags) the
way its documentation shows, and prints how many it found. ``pyrosm`` runs in the peers'
virtualenv (bench/.venv-peers); the others in the project's.
"""

from __future__ import annotations

import sys


def pyosmium(path: str) -> int:
    import osmium

    fp = osmium.FileProcessor(path, osmium.osm.NODE)
    fp = fp.with_filter(osmium.filter.TagFilter(("man_made", "surveillance")))
    rows = [(o.id, o.location.lat, o.location.lon, dict(o.tags)) for o in fp]
    return len(rows)


def pyrosm(path: str) -> int:
    from pyrosm import OSM

    gdf = OSM(path).get_data_by_custom_criteria(
        custom_filter={"man_made": ["surveillance"]},
        filter_type="keep",
        keep_nodes=True,
        keep_ways=False,
        keep_relations=False,
    )
    return 0 if gdf is None else len(gdf)


def duckdb(path: str) -> int:
    """The bare ``ST_ReadOSM`` query that camdensity's PBF reader is built on."""
    from mapper import sql
    from mapper.store import scratch

    con = scratch()
    table = sql.run(con, "pbf-cameras", path=path, speed=False).to_arrow_table()
    return table.num_rows


READERS = {"pyosmium": pyosmium, "pyrosm": pyrosm, "duckdb": duckdb}

if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in READERS:
        sys.exit(f"usage: peers.py {'|'.join(READERS)} FILE.osm.pbf")
    print(READERS[sys.argv[1]](sys.argv[2]))
