"""Streets, buildings and coverage of the 100x-tiled Munich file, against osmium-tool.

- camdensity: ``camdensity streets FILE`` into a copy of a store that already holds the file's
  cameras (ingested once beforehand, not timed), then the coverage of the file's extent area
  (``python bench/streets.py --coverage DB``: ``mapper.coverage.area_coverage``, the figures
  ``compare`` shows, without its other columns), each a new process; their wall times add up,
  peak RSS is the larger of the two.
- osmium-tool: ``osmium tags-filter FILE w/highway wr/building`` then ``osmium export`` of
  the result to GeoJSON lines (the same highway and building ways, as geometries).

The two alternate (one warm-up round dropped, median of the rest). Target (issue 16): at most
3x osmium-tool's wall time in the same run, peak RSS under 1.5 GB. Writes
bench/results/streets.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import measure
import tile_pbf

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "streets.json"
CAMDENSITY = str(Path(sys.executable).parent / "camdensity")


def coverage_only(db: str) -> None:
    """The coverage figures of every extent area of the store (one here), printed as JSON."""
    from mapper import sql
    from mapper.coverage import area_coverage
    from mapper.grid import prepare
    from mapper.store import open_store

    out = {}
    with open_store(db) as con:
        prepare(con)
        for a in sql.rows(con, "area-list"):
            if a["kind"] == "extent":
                area = sql.rows(con, "area-get-id", id=a["id"])[0]
                out[a["name"]] = area_coverage(con, area, geometry=False).figures()
    print(json.dumps(out))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--copies", default="10x10", help="the tiling of the Munich sample (NxM)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--coverage", metavar="DB", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.coverage:
        coverage_only(args.coverage)
        return 0
    n, m = (int(x) for x in args.copies.split("x"))
    meta = tile_pbf.tiled("munich_altstadt_2020-07-20.osm.pbf", n, m)
    pbf = str(ROOT / meta["file"])
    osmium = shutil.which("osmium")
    if osmium is None:
        print("bench/streets.py: needs osmium-tool (apt-get install osmium-tool)")
        return 1
    with tempfile.TemporaryDirectory(prefix="camdensity-bench-streets-") as tmp:
        base = f"{tmp}/base.duckdb"
        subprocess.run([CAMDENSITY, "ingest", "-q", "--db", base, pbf], check=True,
                       capture_output=True)  # fmt: skip
        figures: dict[str, Any] = {}

        def ours() -> measure.Sample:
            db = f"{tmp}/run.duckdb"
            shutil.copy(base, db)
            a = measure.run([CAMDENSITY, "streets", "-q", "--db", db, pbf])
            out = f"{tmp}/coverage.json"
            b = measure.run([sys.executable, __file__, "--coverage", db], stdout_path=out)
            figures.update(json.loads(Path(out).read_text()))
            rss, load = max(a.rss_mb, b.rss_mb), max(a.other_load, b.other_load)
            return measure.Sample(a.wall_s + b.wall_s, a.cpu_s + b.cpu_s, rss, load)

        def peer() -> measure.Sample:
            cmd = (f"'{osmium}' tags-filter -O -o '{tmp}/hw.osm.pbf' '{pbf}' w/highway wr/building"
                   f" && '{osmium}' export -O -f geojsonseq -o '{tmp}/hw.geojsonseq' "
                   f"'{tmp}/hw.osm.pbf'")  # fmt: skip
            return measure.run(["sh", "-c", cmd])

        print(f"streets and coverage of {meta['file']} ({n}x{m} copies)")
        tasks = {"camdensity streets+coverage": ours, "osmium tags-filter+export": peer}
        runs = measure.alternate(tasks, rounds=args.rounds)
    a = measure.summary(runs["camdensity streets+coverage"])
    b = measure.summary(runs["osmium tags-filter+export"])
    result = {
        "file": meta["file"], "copies": n * m, "bytes": meta.get("bytes"),
        "camdensity": a, "osmium": b, "ratio": round(a["wall_s"] / b["wall_s"], 2),
        "target": "ratio <= 3, camdensity peak RSS < 1500 MB", "figures": figures,
        "machine": measure.machine(), "osmium_tool": measure.osmium_tool_version(),
        "versions": measure.versions("osmium", "shapely", "pyproj", "duckdb"),
        "date": time.strftime("%Y-%m-%d"),
    }  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(f"ratio {result['ratio']} (camdensity {a['wall_s']} s, {a['rss_mb']} MB; "
          f"osmium {b['wall_s']} s, {b['rss_mb']} MB) -> {RESULTS.relative_to(ROOT)}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
