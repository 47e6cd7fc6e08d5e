"""Boundaries side by side: ``camdensity area from-pbf`` against bare pyosmium and osmium-tool.

Input: the Monaco 2023 extract tiled 20 x 20 with names unchanged and renumbered
(bench/tile_pbf.py): 400 copies of its six level-10 quarters, each name 400 times, 2,400
level-10 boundary relations. Every tool builds the level-10 multipolygons:

- ``camdensity area from-pbf --admin-level 10 --db NEW FILE`` (assembles, measures, writes a
  new store);
- bare pyosmium (bench/peers.py areas): one ``FileProcessor(...).with_areas(TagFilter(
  ('boundary', 'administrative')))`` pass keeping each level-10 relation's area as WKB;
- osmium-tool: ``osmium tags-filter FILE r/admin_level=10``, then ``osmium export`` of the
  result to GeoJSON (the level-10 (multi)polygons are counted).

Alternating rounds after a warm-up, medians, as in bench/extract.py; each tool must yield
every level-10 area of the tiling.

    python bench/areas.py [--monaco 20x20] [--rounds 3] [--warmup 1]

Writes bench/results/areas.json.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import extract
import tile_pbf

MONACO = "monaco_2023-12-26.osm.pbf"
LEVEL = 10


class AreaFromPbf(extract.Tool):
    def command(self, pbf: str, tmp: Path) -> tuple[list[str], str | None]:
        cmd = [str(extract.VENV_BIN / "camdensity"), "area", "from-pbf"]
        cmd += ["--admin-level", str(LEVEL), "--db", str(tmp / "store.duckdb"), pbf]
        return cmd, str(tmp / "stdout.txt")

    def count(self, tmp: Path, stdout: str | None) -> int:
        return extract.store_count(tmp / "store.duckdb", "areas")


def is_level(feature: dict[str, Any]) -> bool:
    polygon = feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
    return polygon and feature["properties"].get("admin_level") == str(LEVEL)


def tools() -> list[extract.Tool]:
    return [
        AreaFromPbf(
            "camdensity area from-pbf",
            f"`camdensity area from-pbf --admin-level {LEVEL} --db NEW FILE`",
        ),
        extract.Peer(
            "pyosmium",
            "`FileProcessor(...).with_areas(TagFilter(('boundary', 'administrative')))`, "
            f"level-{LEVEL} relations' multipolygons as WKB",
            "areas",
            str(LEVEL),
        ),
        extract.OsmiumTool(
            "osmium-tool",
            f"`osmium tags-filter FILE r/admin_level={LEVEL}`, then `osmium export` to GeoJSON",
            [f"r/admin_level={LEVEL}"],
            is_level,
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--monaco", default="20x20", help="tiling of the Monaco 2023 sample (NxM)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--out", type=Path, default=extract.RESULTS / "areas.json")
    args = ap.parse_args(argv)
    (extract.BENCH / "data").mkdir(exist_ok=True)

    result = extract.header(args.rounds, args.warmup)
    meta = tile_pbf.tiled(MONACO, *extract.grid(args.monaco))
    expected = meta["admin10_areas_expected"]
    got = extract.side_by_side(tools(), meta, expected, args.rounds, args.warmup)
    result["inputs"] = {"monaco": got}
    return extract.finish(result, args.out)


if __name__ == "__main__":
    sys.exit(main())
