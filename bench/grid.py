"""Grid: 1,000,000 cameras to H3 resolution 9, camdensity's DuckDB path against geopandas + h3.

The points are the 2,144 real Swiss cameras of data/samples (ingested with camdensity, so
they carry its normalised ``kind``), copied on a 22 x 22 lattice of whole shifts (2 degrees of
latitude, 4.5 of longitude: wider than Switzerland, so copies never overlap and every copy
keeps the real clustering) and cut at exactly 1,000,000, in the ``cameras`` table of a scratch
store. Both paths produce the same table: one row per occupied cell with the cell id, its
camera count, counts by kind, the cell's area and the density.

- DuckDB: the ``grid-store`` query of queries/grid.sql on a connection prepared with
  ``mapper.grid.prepare`` (``h3_cell_int`` Arrow UDF + GROUP BY), fetched as Arrow.
- geopandas: a GeoDataFrame of the same points (built beforehand, not timed);
  ``h3.latlng_to_cell`` per point, a pandas group-by per cell and kind, ``h3.cell_area``.
- Also timed: ``camdensity grid --format csv`` end to end (a new process, all rows printed),
  after the two paths (no warm-up: the store is in the page cache by then).

The two paths alternate; warm-up dropped, median of the rest. Their results are compared
cell by cell. Writes bench/results/grid.json.
"""

from __future__ import annotations

import argparse
import json
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

from mapper import sql
from mapper.grid import prepare
from mapper.ingest import ingest

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SWISS = ROOT / "data/samples/osm/switzerland_surveillance_overpass_2023.json"
RES = 9
SIDE, DLAT, DLON = 22, 2.0, 4.5

# Values are bound ($n); the offsets come in as a registered Arrow table.
TILE_SQL = """
CREATE TEMP TABLE tiled AS
SELECT c.* REPLACE (c.osm_id + o.k * 10000000000 AS osm_id,
                    c.lat + o.dlat AS lat, c.lon + o.dlon AS lon)
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


def duckdb_path(con: duckdb.DuckDBPyConnection) -> pa.Table:
    return sql.run(con, "grid-store", res=RES).to_arrow_table()


def geopandas_path(gdf: geopandas.GeoDataFrame) -> pd.DataFrame:
    xs, ys = gdf.geometry.x, gdf.geometry.y
    cells = [h3.latlng_to_cell(lat, lon, RES) for lon, lat in zip(xs, ys, strict=True)]
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--out", type=Path, default=BENCH / "results" / "grid.json")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-grid-") as tmp:
        store = Path(tmp) / "grid.duckdb"
        t0 = time.perf_counter()
        n = build_store(store, args.points)
        print(f"grid: {n:,} cameras in a scratch store ({time.perf_counter() - t0:.1f} s)")
        con = duckdb.connect(str(store), read_only=True)
        prepare(con)
        df = con.execute("SELECT lat, lon, kind FROM cameras").df()
        gdf = geopandas.GeoDataFrame(
            df[["kind"]], geometry=geopandas.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326"
        )
        del df
        # Same cells, counts and areas from both paths: checked before anything is timed.
        check = compare(
            duckdb_path(con).to_pandas().set_index("h3").sort_index(), geopandas_path(gdf)
        )
        print(f"grid: {check['cells']:,} occupied cells; results agree: {check}")

        tasks: dict[str, Callable[[], measure.Sample]] = {
            "DuckDB (grid-store query)": timed(lambda: duckdb_path(con)),
            "geopandas + h3-py": timed(lambda: geopandas_path(gdf)),
        }
        samples = measure.alternate(tasks, rounds=args.rounds, warmup=args.warmup)
        # The command line end to end (a reader: it opens the store read-only beside `con`).
        cli = [str(Path(sys.executable).parent / "camdensity"), "grid", "--db", str(store)]
        cli += ["--res", str(RES), "--format", "csv"]
        samples |= measure.alternate(
            {"camdensity grid --format csv": lambda: measure.run(cli)}, rounds=args.rounds, warmup=0
        )
        con.close()

    rows = {name: measure.summary(s) for name, s in samples.items()}
    duck_s = rows["DuckDB (grid-store query)"]["wall_s"]
    gp_s = rows["geopandas + h3-py"]["wall_s"]
    result = {
        "machine": measure.machine(),
        "versions": measure.versions(
            "camdensity", "duckdb", "h3", "geopandas", "pandas", "shapely", "pyarrow", "numpy"
        ),
        "method": (
            f"warm-up {args.warmup}, then median of {args.rounds} alternating rounds; "
            f"in-process wall and process CPU seconds; the CLI: {args.rounds} runs after "
            "those, a new process each, wait4 CPU and GNU time peak RSS"
        ),
        "points": n,
        "resolution": RES,
        "check": check,
        "paths": rows,
        "speedup_vs_geopandas": round(gp_s / duck_s, 2),
        "target": "under 2 s and at least 5x faster than geopandas (issue 3)",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"grid: DuckDB {duck_s:.2f} s, geopandas {gp_s:.2f} s ({gp_s / duck_s:.1f}x)")
    print(f"wrote {args.out}")
    ok = all(v for k, v in check.items() if k.startswith("same_")) and check["cameras"] == n
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
