"""A large PBF for the crash tests: the Munich extract tiled N x N times.

``bench/tile_pbf.py`` (the benchmarks' tiler) makes it in seconds and is used when it is
there and works; this module is the fallback, written plainly with pyosmium: copy k is
shifted by whole 0.03° steps (column k % N, row k // N), and every id and reference is
offset by k * 10**10, so the copies stay distinct and the file stays sorted.

    python -m tests.robustness.tiler N OUT
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import MUNICH, ROOT

STEP = 0.03
ID_OFFSET = 10**10


def tile(n: int, out: Path) -> None:
    import osmium
    from osmium.osm.mutable import Node, Relation, Way

    reader = osmium.io.Reader(str(MUNICH), osmium.osm.osm_entity_bits.NOTHING)
    src = reader.header()
    b = src.box()
    reader.close()
    header = osmium.io.Header()
    header.set("osmosis_replication_timestamp", src.get("osmosis_replication_timestamp"))
    header.set("sorting", "Type_then_ID")
    span = (n - 1) * STEP
    header.add_box(osmium.osm.Box(
        osmium.osm.Location(b.bottom_left.lon, b.bottom_left.lat),
        osmium.osm.Location(b.top_right.lon + span, b.top_right.lat + span),
    ))  # fmt: skip
    objs: dict[str, list[tuple[Any, ...]]] = {"n": [], "w": [], "r": []}
    for o in osmium.FileProcessor(str(MUNICH)):
        tags = [(t.k, t.v) for t in o.tags] or None
        if o.is_node():
            objs["n"].append((o.id, tags, o.location.lon, o.location.lat))
        elif o.is_way():
            objs["w"].append((o.id, tags, [r.ref for r in o.nodes]))
        elif o.is_relation():
            objs["r"].append((o.id, tags, [(m.type, m.ref, m.role) for m in o.members]))
    writer = osmium.SimpleWriter(str(out), header=header, overwrite=True)
    try:
        for kind in ("n", "w", "r"):
            for k in range(n * n):
                off, dx, dy = k * ID_OFFSET, (k % n) * STEP, (k // n) * STEP
                for i, tags, *rest in objs[kind]:
                    if kind == "n":
                        loc = osmium.osm.Location(rest[0] + dx, rest[1] + dy)
                        writer.add_node(Node(id=i + off, tags=tags, location=loc))
                    elif kind == "w":
                        writer.add_way(Way(id=i + off, tags=tags, nodes=[r + off for r in rest[0]]))
                    else:
                        members = [(t, r + off, role) for t, r, role in rest[0]]
                        writer.add_relation(Relation(id=i + off, tags=tags, members=members))
    finally:
        writer.close()


def tiled_munich(n: int, out: Path) -> Path:
    """The N x N tiling at ``out``: by bench/tile_pbf.py if it works, else by :func:`tile`."""
    code = (
        "import sys; from pathlib import Path; sys.path.insert(0, 'bench'); import tile_pbf; "
        "tile_pbf.generate(int(sys.argv[1]), Path(sys.argv[2]), workers=2)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(n), str(out)], cwd=ROOT, capture_output=True,
        timeout=600, check=False,
    )  # fmt: skip
    if done.returncode != 0 or not out.is_file():
        subprocess.run(
            [sys.executable, "-m", "tests.robustness.tiler", str(n), str(out)], cwd=ROOT,
            check=True, timeout=1200,
        )  # fmt: skip
    return out


if __name__ == "__main__":
    tile(int(sys.argv[1]), Path(sys.argv[2]))
