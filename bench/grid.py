"""Grid: 1,000,000 cameras to H3 resolutions 9 and 12, camdensity against geopandas + h3-py.

The points are the 2,144 real Swiss cameras of data/samples (ingested with camdensity, so
they carry its normalised ``kind``), copied on a 22 x 22 lattice of whole shifts (2 degrees of
latitude, 4.5 of longitude: wider than Switzerland, so copies never overlap and every copy
keeps the real clustering) and cut at exactly 1,000,000, in the ``cameras`` table of a scratch
store. Every path produces the same table: one row per occupied cell with the cell id, its
camera count, counts by kind, the cell's area and the density.

At each resolution, in the same alternating rounds:

- camdensity, first time: what ``camdensity grid --res R`` does on a store without cells
  (a fresh copy each round, the copy not timed): open it, compute every camera's cell
  (h3ronpy, a chunk per core) and every occupied cell's area (h3.cell_area, while DuckDB
  writes the cells into ``cameras.h3_R``), keep both, then answer the grid-store query.
- camdensity, cells stored: a prepared connection to the store once they are kept: the check
  for cameras without a cell, then the grid-store query (a group-by of the cameras by their
  cell column, the areas joined), fetched as Arrow, sorted by cell and the ids made text
  (``grid.store_table``).
- geopandas + h3-py: a GeoDataFrame of the same points (built beforehand, not timed);
  ``h3.latlng_to_cell`` per point, a pandas group-by per cell and kind, ``h3.cell_area``.

Then ``camdensity grid --format csv`` end to end (a new process, all rows printed) on the
store with its cells. Warm-up dropped, median of the rest; the paths' results are compared
cell by cell before anything is timed. Writes bench/results/grid.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import geopandas
import h3
import measure
import pandas as pd
import pyarrow as pa

from mapper import grid
from mapper.ingest import ingest

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SWISS = ROOT / "data/samples/osm/switzerland_surveillance_overpass_2023.json"
RESOLUTIONS = (9, 12)
SIDE, DLAT, DLON = 22, 2.0, 4.5

# Values are bound ($n); the offsets come in as a registered Arrow table.
TILE_SQL = """
CREATE TEMP TABLE tiled AS
SELECT c.* REPLACE (c.osm_id + o.k * 10000000000 AS osm_id,
                    c.lat + o.dlat AS lat, c.lon + o.dlon AS lon,
                    NULL AS h3_5, NULL AS h3_6, NULL AS h3_7, NULL AS h3_8, NULL AS h3_9,
                    NULL AS h3_10, NULL AS h3_11, NULL AS h3_12)  -- moved: cells to compute
FROM cameras c, offsets o
ORDER BY o.k, c.osm_type, c.osm_id
LIMIT $n
"""


def build_store(path: Path, points: int) -> int:
    ingest([str(SWISS)], str(path))
    ks = range(SIDE * SIDE)
    offsets = pa.table(
        {
            "k": list(ks),
            "dlat": [(k // SIDE - SIDE // 2) * DLAT for k in ks],
            "dlon": [(k % SIDE - SIDE // 2) * DLON for k in ks],
        }
    )
    con = duckdb.connect(str(path))
    try:
        con.register("offsets", offsets)
        con.execute(TILE_SQL, {"n": points})
        con.execute("DELETE FROM cameras")
        con.execute("INSERT INTO cameras SELECT * FROM tiled")
        con.execute("DROP TABLE tiled")
        con.execute("CHECKPOINT")
        row = con.execute("SELECT count(*) FROM cameras").fetchone()
    finally:
        con.close()
    return int(row[0]) if row else 0


def first_time(base: Path, work: Path, res: int) -> Callable[[], measure.Sample]:
    """``grid --res R`` on a copy of the store without cells (the copy is not timed)."""

    def run() -> measure.Sample:
        shutil.copyfile(base, work)
        return timed(lambda: grid.store_grid(str(work), res))()

    return run


def geopandas_path(gdf: geopandas.GeoDataFrame, res: int) -> pd.DataFrame:
    xs, ys = gdf.geometry.x, gdf.geometry.y
    cells = [h3.latlng_to_cell(lat, lon, res) for lon, lat in zip(xs, ys, strict=True)]
    by_kind = (
        pd.DataFrame({"h3": cells, "kind": gdf["kind"].to_numpy()})
        .groupby(["h3", "kind"])
        .size()
        .unstack(fill_value=0)
    )
    by_kind.insert(0, "cameras", by_kind.sum(axis=1))
    by_kind["area_km2"] = [h3.cell_area(c, "km^2") for c in by_kind.index]
    by_kind["per_km2"] = by_kind["cameras"] / by_kind["area_km2"]
    return by_kind.sort_index()


def compare(duck: pd.DataFrame, gp: pd.DataFrame) -> dict[str, Any]:
    same_cells = duck.index.equals(gp.index)
    kinds = [k for k in gp.columns if k not in ("cameras", "area_km2", "per_km2")]
    return {
        "cells": len(duck),
        "cameras": int(duck["cameras"].sum()),
        "same_cells": same_cells,
        "same_counts": same_cells and bool((duck["cameras"] == gp["cameras"]).all()),
        "same_counts_by_kind": same_cells and all(bool((duck[k] == gp[k]).all()) for k in kinds),
        "same_area": same_cells and bool(((duck["area_km2"] - gp["area_km2"]).abs() < 1e-9).all()),
    }


def timed(f: Callable[[], Any]) -> Callable[[], measure.Sample]:
    """In-process wall and process CPU seconds (DuckDB's threads included) of ``f()``."""

    def run() -> measure.Sample:
        busy0, cpu0, t0 = measure.busy_seconds(), time.process_time(), time.perf_counter()
        f()
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        other = max(0.0, (measure.busy_seconds() - busy0 - cpu) / wall)
        return measure.Sample(wall, cpu, 0.0, other)

    return run


FIRST, STORED, PEER = "camdensity, first time", "camdensity, cells stored", "geopandas + h3-py"
TARGET = (
    "issue 15: 1M cameras to resolution 9 in at most 2 s the first time and 0.3 s once the "
    "cells are stored, at least 10x faster than geopandas + h3-py once stored"
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--res", type=int, nargs="+", default=list(RESOLUTIONS))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--out", type=Path, default=BENCH / "results" / "grid.json")
    args = ap.parse_args(argv)

    by_res: dict[str, Any] = {}
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-grid-") as tmp:
        base, work = Path(tmp) / "base.duckdb", Path(tmp) / "work.duckdb"
        t0 = time.perf_counter()
        n = build_store(base, args.points)
        print(f"grid: {n:,} cameras in a scratch store ({time.perf_counter() - t0:.1f} s)")
        con = duckdb.connect(str(base), read_only=True)
        df = con.execute("SELECT lat, lon, kind FROM cameras").df()
        con.close()
        gdf = geopandas.GeoDataFrame(
            df[["kind"]], geometry=geopandas.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326"
        )
        del df
        for res in args.res:
            # Same cells, counts and areas from every path, checked before anything is timed.
            shutil.copyfile(base, work)
            # what `grid` does without an area (grid.store_grid): on a store without cells,
            # compute and write them and the cell areas, then read; again once they are kept
            first = grid.store_grid(str(work), res).to_pandas().set_index("h3").sort_index()
            again = grid.store_grid(str(work), res).to_pandas().set_index("h3").sort_index()
            peer = geopandas_path(gdf, res)
            check = compare(first, peer) | {"stored_equals_first": again.equals(first)}
            print(f"grid res {res}: {check['cells']:,} occupied cells; agree: {check}")
            tasks = {
                FIRST: first_time(base, Path(tmp) / "round.duckdb", res),
                STORED: timed(lambda: grid.store_grid(str(work), res)),  # noqa: B023
                PEER: timed(lambda: geopandas_path(gdf, res)),  # noqa: B023
            }
            samples = measure.alternate(tasks, rounds=args.rounds, warmup=args.warmup)
            cli = [str(Path(sys.executable).parent / "camdensity"), "grid", "--db", str(work)]
            cli += ["--res", str(res), "--format", "csv"]
            samples |= measure.alternate(
                {"camdensity grid --format csv": lambda: measure.run(cli)},  # noqa: B023
                rounds=args.rounds, warmup=0,
            )  # fmt: skip
            rows = {name: measure.summary(s) for name, s in samples.items()}
            peer_s = rows[PEER]["wall_s"]
            by_res[str(res)] = {
                "check": check,
                "paths": rows,
                "speedup_first_vs_geopandas": round(peer_s / rows[FIRST]["wall_s"], 2),
                "speedup_stored_vs_geopandas": round(peer_s / rows[STORED]["wall_s"], 2),
            }
            print(
                f"grid res {res}: first time {rows[FIRST]['wall_s']:.2f} s, stored "
                f"{rows[STORED]['wall_s']:.3f} s, geopandas {peer_s:.2f} s "
                f"({peer_s / rows[STORED]['wall_s']:.1f}x once stored)"
            )
            ok = ok and all(v for k, v in check.items() if k != "cells" and k != "cameras")
            ok = ok and check["cameras"] == n

    result = {
        "machine": measure.machine(),
        "versions": measure.versions(
            "camdensity",
            "duckdb",
            "h3",
            "h3ronpy",
            "geopandas",
            "pandas",
            "shapely",
            "pyarrow",
            "numpy",
        ),
        "method": (
            f"warm-up {args.warmup}, then median of {args.rounds} alternating rounds; "
            f"in-process wall and process CPU seconds; the CLI: {args.rounds} runs after "
            "those, a new process each, wait4 CPU and GNU time peak RSS"
        ),
        "points": n,
        "resolutions": by_res,
        "target": TARGET,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
