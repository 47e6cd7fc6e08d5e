"""Render bench/results/*.json as Markdown tables into docs/benchmarks.md (and print them).

The generated parts sit between ``<!-- BEGIN bench:NAME -->`` and ``<!-- END bench:NAME -->``
lines (NAME: machine, extract, areas, grid, maps); the rest of the page is prose
and is left alone.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DOC = ROOT / "docs" / "benchmarks.md"


def _f(x: float, digits: int = 2) -> str:
    return f"{x:,.{digits}f}"


def machine(results: list[dict[str, Any]]) -> str:
    first, v = results[0], dict[str, Any]()
    for r in results:
        v |= {k: val for k, val in r["versions"].items() if k not in v}
    m = first["machine"]
    loads = f"{m['load_average_at_start']} at the start, {m.get('load_average_at_end')} at the end"
    tools = ", ".join(f"{k} {val}" for k, val in sorted(v.items()) if val)
    return (
        f"Measured {m['date']} on {m['cpu_model']}, {m['cores']} cores, {m['memory_gb']} GB "
        f"RAM, Linux {m['kernel']}, Python {m['python']}; load average {loads} (of the "
        "extraction runs).\n\n"
        f"Versions: {tools}.\n\nMethod: {first['method']}."
    )


def _input_line(meta: dict[str, Any], expected: int, what: str) -> str:
    return (
        f"`{meta['file']}`: `{Path(meta['source']).name}` tiled {meta['grid']} "
        f"({meta['copies']} copies) and renumbered, {meta['bytes'] / 1e6:.1f} MB, "
        f"{meta['nodes']:,} nodes, {meta['ways']:,} ways, {meta['relations']:,} relations; "
        f"{expected:,} {what} expected."
    )


def side_table(s: dict[str, Any], what: str) -> list[str]:
    """One input's tools: figures, ratios to osmium-tool and to bare pyosmium, counts."""
    lines = [
        _input_line(s["input"], s["expected"], what),
        "",
        "| tool | wall s | CPU s | peak RSS MB | wall ÷ osmium-tool | wall ÷ pyosmium "
        f"| CPU ÷ osmium-tool | CPU ÷ pyosmium | {what} found | other load | what runs |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, r in s["tools"].items():
        found = ", ".join(f"{c:,}" for c in r["found"]) + (" ✓" if r["count_ok"] else " ✗")
        lines.append(
            f"| {name} | {_f(r['wall_s'])} | {_f(r['cpu_s'])} | {r['rss_mb']:.0f} "
            f"| {_f(r['wall_ratio_osmium-tool'])}× | {_f(r['wall_ratio_pyosmium'])}× "
            f"| {_f(r['cpu_ratio_osmium-tool'])}× | {_f(r['cpu_ratio_pyosmium'])}× | {found} "
            f"| {r['other_load']:.1f} "
            f"| {r['what']} |"
        )
    return lines


OTHER_LOAD = (
    "*other load*: cores busy with other processes during the runs (median), from "
    "/proc/stat; figures taken while it is high are slower than on an idle machine."
)


#: The names bench/grid.py gives its paths.
GRID_FIRST, GRID_STORED, GRID_PEER = (
    "camdensity, first time",
    "camdensity, cells stored",
    "geopandas + h3-py",
)


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def extract_table(ex: dict[str, Any]) -> str:
    munich, rural = ex["inputs"]["munich"], ex["inputs"]["rural"]
    lines = ["**Munich old town** (dense: cameras in every copy)", ""]
    lines += side_table(munich, "cameras")
    lines += ["", "**Liechtenstein** (rural: no camera at all)", ""]
    lines += side_table(rural, "cameras")
    cm, cr = munich["tools"]["camdensity ingest"], rural["tools"]["camdensity ingest"]
    rm, rr = cm["wall_ratio_osmium-tool"], cr["wall_ratio_osmium-tool"]
    rss = max(cm["rss_mb"], cr["rss_mb"])
    lines += [
        "",
        "Targets (issue 14): `camdensity ingest` at most 1.0× osmium-tool's wall time on the "
        "Munich file and 0.6× on the rural one, peak RSS under 300 MB. Measured: "
        f"{rm:.2f}× ({_met(rm <= 1.0)}), {rr:.2f}× ({_met(rr <= 0.6)}), "
        f"{rss:.0f} MB ({_met(rss < 300)}).",
        "",
        OTHER_LOAD,
    ]
    return "\n".join(lines)


def areas_table(ar: dict[str, Any]) -> str:
    s = ar["inputs"]["monaco"]
    lines = side_table(s, "level-10 areas")
    c = s["tools"]["camdensity area from-pbf"]
    ratio = c["wall_ratio_pyosmium"]
    lines += [
        "",
        "Targets (issue 14): `camdensity area from-pbf` at most 1.5× the bare pyosmium pass's "
        f"wall time, peak RSS under 1.5 GB. Measured: {ratio:.2f}× ({_met(ratio <= 1.5)}), "
        f"{c['rss_mb']:.0f} MB ({_met(c['rss_mb'] < 1536)}).",
        "",
        OTHER_LOAD,
    ]
    return "\n".join(lines)


def grid_table(g: dict[str, Any]) -> str:
    """The grid block: one table per resolution (bench/grid.py, issue 15 layout)."""
    lines = [
        f"{g['points']:,} cameras (the 2,144 Swiss cameras, tiled) to H3 cells. Every path's "
        "cells, counts, counts by kind and cell areas were compared cell by cell before "
        "anything was timed.",
    ]
    for res, r in g["resolutions"].items():
        ck, paths = r["check"], r["paths"]
        agree = all(v for k, v in ck.items() if k not in ("cells", "cameras"))
        gp = paths[GRID_PEER]["wall_s"]
        lines += [
            "",
            f"Resolution {res}: {ck['cells']:,} occupied cells; all paths agree: "
            f"{'yes' if agree else 'NO'}.",
            "",
            "| path | wall s | CPU s | peak RSS MB | geopandas ÷ this (wall) | other load |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, p in paths.items():
            rss = f"{p['rss_mb']:.0f}" if p["rss_mb"] else "(in process)"
            lines.append(
                f"| {name} | {_f(p['wall_s'])} | {_f(p['cpu_s'])} | {rss} "
                f"| {gp / p['wall_s']:.2f}× | {p['other_load']:.1f} |"
            )
    r9 = g["resolutions"].get("9")
    if r9 is not None:
        first = r9["paths"][GRID_FIRST]["wall_s"]
        kept = r9["paths"][GRID_STORED]["wall_s"]
        speedup = r9["speedup_stored_vs_geopandas"]
        lines += [
            "",
            f"Targets ({g['target']}). Measured at resolution 9: first time {_f(first)} s "
            f"({_met(first <= 2.0)}), cells stored {_f(kept)} s ({_met(kept <= 0.3)}), "
            f"{speedup:.1f}× geopandas once stored ({_met(speedup >= 10)}).",
        ]
    lines += ["", OTHER_LOAD]
    return "\n".join(lines)


def maps_table(m: dict[str, Any]) -> str:
    lines = [
        f"Chromium {m['chromium']}; one area, every camera drawn (clustered), assets inlined, "
        "no tiles; median of 3 loads after a warm-up.",
        "",
        "| cameras | HTML MB | render s (camdensity map) | first contentful paint s "
        "| map ready s |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in m["rows"]:
        lines.append(
            f"| {r['cameras']:,} | {r['html_bytes'] / 1e6:.2f} | {_f(r['render_s'])} "
            f"| {_f(r['first_paint_s'])} | {_f(r['map_ready_s'])} |"
        )
    return "\n".join(lines)


def replace_block(text: str, name: str, body: str) -> str:
    begin, end = f"<!-- BEGIN bench:{name} -->", f"<!-- END bench:{name} -->"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"{DOC}: no {begin} ... {end} block")
    return pattern.sub(lambda m: f"{begin}\n{body}\n{end}", text, count=1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, default=BENCH / "results")
    ap.add_argument("--doc", type=Path, default=DOC)
    ap.add_argument("--print-only", action="store_true")
    args = ap.parse_args(argv)
    ex = json.loads((args.results / "extract.json").read_text())
    results = [ex]
    blocks = {"extract": extract_table(ex)}
    areas_file = args.results / "areas.json"
    if areas_file.exists():
        areas = json.loads(areas_file.read_text())
        results.append(areas)
        blocks["areas"] = areas_table(areas)
    grid_file = args.results / "grid.json"
    if grid_file.exists():
        grid = json.loads(grid_file.read_text())
        results.append(grid)
        blocks["grid"] = grid_table(grid)
    maps_file = args.results / "maps.json"
    if maps_file.exists():
        blocks["maps"] = maps_table(json.loads(maps_file.read_text()))
    blocks = {"machine": machine(results)} | blocks
    for name, body in blocks.items():
        print(f"## {name}\n\n{body}\n")
    if not args.print_only:
        text = args.doc.read_text()
        for name, body in blocks.items():
            text = replace_block(text, name, body)
        args.doc.write_text(text)
        print(f"wrote {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
