"""Map benchmark: HTML bytes and time to first paint in Chromium for 1,000, 10,000 and 50,000
cameras (the real Switzerland cameras, tiled by shifted copies), one area, inlined assets,
no tiles. Writes bench/results/maps.json.

Two times per map, median of 3 loads after a warm-up: first contentful paint (the browser's
``paint`` entry) and "map ready" (every hexagon path and the first cluster icons in the DOM).
"""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SWISS = ROOT / "data" / "samples" / "osm" / "switzerland_surveillance_overpass_2023.json"
SIZES = (1_000, 10_000, 50_000)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
BOX = {"type": "Polygon", "coordinates": [[[5.8, 45.7], [10.8, 45.7], [10.8, 48.0],
                                           [5.8, 48.0], [5.8, 45.7]]]}  # fmt: skip


def _cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "mapper", *args], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def _tiled(n: int) -> list[dict[str, Any]]:
    base = json.loads(SWISS.read_text())
    out = []
    k = 0
    while len(out) < n:
        for e in base:
            if len(out) == n:
                break
            shift = 0.0015 * k
            out.append({**e, "id": e["id"] + k * 10**10, "lat": e["lat"] + shift,
                        "lon": e["lon"] + shift})  # fmt: skip
        k += 1
    return out


def build(tmp: Path, n: int) -> tuple[Path, float]:
    src, box, db, html = (tmp / f"c{n}.json", tmp / "box.geojson", tmp / f"c{n}.duckdb",
                          tmp / f"map{n}.html")  # fmt: skip
    src.write_text(json.dumps(_tiled(n)))
    box.write_text(json.dumps(BOX))
    _cli("ingest", "-q", "--db", str(db), str(src))
    _cli("area", "add", "Switzerland box", "--boundary", str(box), "--db", str(db))
    t = time.perf_counter()
    _cli("map", "Switzerland box", "--show-private", "--tiles", "none", "-o", str(html),
         "--db", str(db))  # fmt: skip
    return html, time.perf_counter() - t


def paint_times(page: Any, html: Path) -> tuple[float, float]:
    t0 = time.perf_counter()
    page.goto(html.as_uri(), wait_until="commit")
    page.wait_for_selector(".marker-cluster", state="attached", timeout=120_000)
    ready = time.perf_counter() - t0
    # the paint entry is queued after the frame is painted: a map ready early may be read
    # before the browser has recorded it
    page.wait_for_function(
        "() => performance.getEntriesByName('first-contentful-paint').length > 0",
        timeout=30_000,
    )
    fcp = page.evaluate("() => performance.getEntriesByName('first-contentful-paint')[0].startTime")
    return float(fcp) / 1000, ready


def main() -> None:
    from playwright.sync_api import sync_playwright

    rows = []
    with tempfile.TemporaryDirectory() as d, sync_playwright() as p:
        tmp = Path(d)
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for n in SIZES:
            html, render_s = build(tmp, n)
            page = b.new_page(viewport={"width": 1280, "height": 800})
            paint_times(page, html)  # warm-up
            runs = [paint_times(page, html) for _ in range(3)]
            page.close()
            rows.append({
                "cameras": n, "html_bytes": html.stat().st_size, "render_s": round(render_s, 2),
                "first_paint_s": round(statistics.median(r[0] for r in runs), 3),
                "map_ready_s": round(statistics.median(r[1] for r in runs), 3),
            })  # fmt: skip
            print(rows[-1], flush=True)
        chromium = b.version
        b.close()
    result = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "python": sys.version.split()[0],
        },
        "chromium": chromium,
        "method": __doc__.strip().splitlines()[0] if __doc__ else "",
        "rows": rows,
    }
    out = BENCH / "results" / "maps.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
