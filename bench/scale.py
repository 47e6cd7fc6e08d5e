"""Every municipality at once: ``compare --all`` and the site on 2,400 areas (issue 15).

Input: the Monaco 2023 extract tiled 20 x 20 with names unchanged and renumbered
(bench/tile_pbf.py): 400 copies of its six level-10 quarters (2,400 areas, each name 400
times, shown as 'NAME (relation ID)') and of its 14 cameras (5,600). A scratch store gets
``camdensity ingest`` and ``camdensity area from-pbf --admin-level 10`` (not timed here:
bench/extract.py and bench/areas.py time those), then, each a new process:

- ``camdensity compare --all --format csv``, first time: on a copy of the store without
  stored cells (the copy not timed); it computes the cells of every resolution it needs
  and keeps them;
- the same once the cells are stored;
- ``camdensity site`` for a config of one ``[[area_sets]]`` (every admin area of level 10),
  without tiles: 2,400 area pages, the 100 with the most cameras with a map and downloads
  (the default ``maps``);
  the size of the folder it writes.

Alternating rounds after a warm-up, medians (the site: its own rounds, no warm-up). Each
comparison must have a row per area. Targets (issue 15): compare --all on 2,400 areas in at
most 5 s; the 2,400-area site in at most 10 min (the budget stated for it: 5 min, 150 MB).
Writes bench/results/scale.json.

    python bench/scale.py [--monaco 20x20] [--rounds 3] [--warmup 1] [--site-rounds 1]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import measure
import tile_pbf

BENCH = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
CAMDENSITY = str(VENV_BIN / "camdensity")
MONACO = "monaco_2023-12-26.osm.pbf"
LEVEL = 10
TARGET = "issue 15: compare --all on 2,400 areas <= 5 s; the 2,400-area site <= 10 min"
#: The site's budget, stated in docs/benchmarks.md: build time and the folder it writes.
SITE_BUDGET = {"wall_s": 300, "mb": 150}


def build_store(pbf: str, db: Path) -> None:
    measure.run([CAMDENSITY, "ingest", "-q", "--db", str(db), pbf])  # raises when it fails
    measure.run([CAMDENSITY, "area", "from-pbf", "--admin-level", str(LEVEL), "--db", str(db), pbf])


def compare_rows(path: Path) -> int:
    text = path.read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    return sum(1 for _ in csv.DictReader(io.StringIO(body)))


def folder_size(path: Path) -> tuple[int, int]:
    files = [f for f in path.rglob("*") if f.is_file()]
    return len(files), sum(f.stat().st_size for f in files)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--monaco", default="20x20", help="the tiling, NxM")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--site-rounds", type=int, default=1)
    ap.add_argument("--out", type=Path, default=BENCH / "results" / "scale.json")
    args = ap.parse_args(argv)
    n, _, m = args.monaco.partition("x")
    meta = tile_pbf.tiled(MONACO, int(n), int(m or n))
    pbf = str(tile_pbf.ROOT / meta["file"])
    areas = int(meta["admin10_areas_expected"])
    print(f"scale: {meta['file']}: {areas:,} level-10 areas, {meta['cameras_expected']:,} cameras")
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp_name:
        tmp = Path(tmp_name)
        base, stored, fresh = tmp / "base.duckdb", tmp / "stored.duckdb", tmp / "fresh.duckdb"
        build_store(pbf, base)
        shutil.copyfile(base, stored)
        out_csv = tmp / "compare.csv"
        cmd = ["compare", "--all", "--format", "csv"]

        def first_time() -> measure.Sample:
            shutil.copyfile(base, fresh)
            return measure.run([CAMDENSITY, *cmd, "--db", str(fresh)], stdout_path=str(out_csv))

        def with_cells() -> measure.Sample:
            return measure.run([CAMDENSITY, *cmd, "--db", str(stored)], stdout_path=str(out_csv))

        with_cells()  # keeps the cells in `stored`
        rows = compare_rows(out_csv)
        samples = measure.alternate(
            {"compare --all, first time": first_time, "compare --all, cells stored": with_cells},
            rounds=args.rounds, warmup=args.warmup,
        )  # fmt: skip
        config = tmp / "site.toml"
        config.write_text(
            f'title = "Every quarter"\n\n[[area_sets]]\nkind = "admin"\nadmin_level = {LEVEL}\n',
            encoding="utf-8",
        )
        site_dir = tmp / "site"
        site_cmd = [CAMDENSITY, "site", "-q", "--config", str(config), "--out", str(site_dir)]
        site_cmd += ["--tiles", "none", "--db", str(stored)]
        samples |= measure.alternate(
            {"site, 2,400 areas": lambda: measure.run(site_cmd)}, rounds=args.site_rounds,
            warmup=0,
        )  # fmt: skip
        files, size = folder_size(site_dir)
        pages = len(list((site_dir / "areas").glob("*.html")))
        maps = len(list((site_dir / "maps").glob("*.html")))
    result: dict[str, Any] = {
        "machine": measure.machine(),
        "versions": measure.versions("camdensity", "duckdb", "h3", "h3ronpy", "shapely"),
        "method": (
            f"warm-up {args.warmup}, then median of {args.rounds} alternating rounds, a new "
            "process each (wait4 CPU, GNU time peak RSS); the site: "
            f"{args.site_rounds} round(s), no warm-up"
        ),
        "input": meta["file"],
        "areas": areas,
        "cameras": meta["cameras_expected"],
        "compare_rows": rows,
        "site": {
            "files": files,
            "mb": round(size / 1e6, 1),
            "area_pages": pages,
            "maps": maps,
            "budget": SITE_BUDGET,
        },  # fmt: skip
        "paths": {name: measure.summary(s) for name, s in samples.items()},
        "target": TARGET,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for name, row in result["paths"].items():
        print(f"scale: {name}: {row['wall_s']:.2f} s wall, {row['cpu_s']:.2f} s CPU, "
              f"{row['rss_mb']:.0f} MB")  # fmt: skip
    print(f"scale: site {files:,} files, {size / 1e6:.1f} MB, {pages:,} area pages, {maps} maps")
    print(f"wrote {args.out}")
    ok = rows == areas + 1  # + the extract's extent
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
