"""Extraction side by side, and how ``camdensity ingest`` scales.

Side by side on the 100x tiling (N=10): each tool finds the ``man_made=surveillance`` nodes
of the file; runs alternate between the tools (the order rotates each round), one warm-up
round is dropped and the median of the measured rounds is kept. Every tool must find exactly
209 x N^2 cameras. Scaling: ``camdensity ingest`` and osmium-tool at 25x, 100x and 400x (the
100x figures are the side-by-side ones; the others skip the warm-up round, the file being read
into the page cache first).

    python bench/extract.py --peers-python bench/.venv-peers/bin/python

Writes bench/results/extract.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import measure
import tile_pbf

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
VENV_BIN = Path(sys.executable).parent


class Tool:
    """One way of extracting the cameras: a command, run in a fresh folder, and its count."""

    def __init__(self, name: str, what: str, counted: bool = True) -> None:
        self.name, self.what, self.counted = name, what, counted
        self.counts: list[int] = []

    def command(self, pbf: str, tmp: Path) -> tuple[list[str], str | None]:
        raise NotImplementedError

    def count(self, tmp: Path, stdout: str | None) -> int | None:
        if stdout is None:
            return None
        return int(Path(stdout).read_text().strip().splitlines()[-1])

    def sample(self, pbf: str) -> measure.Sample:
        tmp = Path(tempfile.mkdtemp(prefix="bench-", dir=BENCH / "data"))
        try:
            cmd, stdout = self.command(pbf, tmp)
            s = measure.run(cmd, stdout_path=stdout, cwd=str(tmp))
            n = self.count(tmp, stdout)
            if n is not None:
                self.counts.append(n)
            return s
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class Camdensity(Tool):
    def __init__(self, name: str, what: str, *options: str) -> None:
        super().__init__(name, what)
        self.options = list(options)

    def command(self, pbf: str, tmp: Path) -> tuple[list[str], str | None]:
        store = tmp / "store.duckdb"
        cmd = [str(VENV_BIN / "camdensity"), "ingest", "--quiet", *self.options]
        return [*cmd, "--db", str(store), pbf], None

    def count(self, tmp: Path, stdout: str | None) -> int | None:
        con = duckdb.connect(str(tmp / "store.duckdb"), read_only=True)
        try:
            row = con.execute("SELECT count(*) FROM cameras").fetchone()
        finally:
            con.close()
        return int(row[0]) if row else 0


class OsmiumTool(Tool):
    def command(self, pbf: str, tmp: Path) -> tuple[list[str], str | None]:
        script = (
            'osmium tags-filter "$1" n/man_made=surveillance -O -o cameras.osm.pbf && '
            "osmium export cameras.osm.pbf -O -o cameras.geojson"
        )
        return ["sh", "-c", script, "sh", pbf], None

    def count(self, tmp: Path, stdout: str | None) -> int | None:
        data = json.loads((tmp / "cameras.geojson").read_text())
        return sum(1 for f in data["features"] if f["geometry"]["type"] == "Point")


class Peer(Tool):
    def __init__(self, name: str, what: str, python: str, mode: str) -> None:
        super().__init__(name, what)
        self.python, self.mode = python, mode

    def command(self, pbf: str, tmp: Path) -> tuple[list[str], str | None]:
        return [self.python, str(BENCH / "peers.py"), self.mode, pbf], str(tmp / "count.txt")


class Decode(Tool):
    def command(self, pbf: str, tmp: Path) -> tuple[list[str], str | None]:
        return ["osmium", "cat", "-f", "opl", pbf], None  # stdout to /dev/null

    def count(self, tmp: Path, stdout: str | None) -> int | None:
        return None


def missing(python: str | None, module: str) -> str | None:
    """Why ``module`` cannot be imported by ``python`` (None when it can)."""
    if not python:
        return "no --peers-python given"
    if not os.path.exists(python):
        return f"{python} does not exist (the peers' virtualenv was not installed)"
    done = subprocess.run([python, "-c", f"import {module}"], capture_output=True, text=True)
    if done.returncode == 0:
        return None
    return (done.stderr.strip().splitlines() or ["import failed"])[-1]


def tools(peers_python: str | None) -> list[Tool]:
    py = sys.executable
    out: list[Tool] = [
        Camdensity("camdensity ingest", "`camdensity ingest --quiet --db NEW FILE`"),
        Camdensity(
            "camdensity ingest, ST_ReadOSM",
            "the same, reading with `--pbf-reader st_readosm`",
            "--pbf-reader",
            "st_readosm",
        ),
        OsmiumTool(
            "osmium-tool",
            "`osmium tags-filter n/man_made=surveillance` then `osmium export` to GeoJSON",
        ),
        Peer("pyosmium", "`FileProcessor(NODE)` + `TagFilter`, to a list", py, "pyosmium"),
        Peer("DuckDB ST_ReadOSM", "camdensity's `pbf-cameras` query alone, to Arrow", py, "duckdb"),
    ]
    if not missing(peers_python, "pyrosm"):
        out.append(
            Peer("pyrosm", "`get_data_by_custom_criteria`, nodes only", peers_python, "pyrosm")
        )
    out.append(Decode("osmium cat -f opl", "decode and print everything, to /dev/null", False))
    return out


def side_by_side(
    selected: list[Tool], meta: dict[str, Any], rounds: int, warmup: int
) -> dict[str, Any]:
    pbf = str(ROOT / meta["file"])
    print(f"{meta['file']} ({meta['copies']}x, {meta['bytes'] / 1e6:.0f} MB):", flush=True)
    with open(pbf, "rb") as f:  # into the page cache, whatever the warm-up
        while f.read(1 << 24):
            pass
    for t in selected:
        t.counts = []
    tasks: dict[str, Callable[[], measure.Sample]] = {
        t.name: (lambda t=t: t.sample(pbf)) for t in selected
    }
    samples = measure.alternate(tasks, rounds=rounds, warmup=warmup)
    rows = {}
    for t in selected:
        row = measure.summary(samples[t.name]) | {"what": t.what}
        if t.counted:
            row["cameras"] = sorted(set(t.counts))
            row["count_ok"] = t.counts and set(t.counts) == {meta["cameras_expected"]}
        rows[t.name] = row
    ref = rows.get("osmium-tool")
    if ref:
        for row in rows.values():
            row["wall_ratio"] = round(row["wall_s"] / ref["wall_s"], 2)
            row["cpu_ratio"] = round(row["cpu_s"] / ref["cpu_s"], 2)
    return {"input": meta, "tools": rows}


def scan_loops() -> str:
    """Which inner loops the PBF scan of this install runs: the compiled C, or numpy."""
    done = subprocess.run(
        [str(VENV_BIN / "python"), "-c", "from mapper._native import LIB; print(LIB is not None)"],
        capture_output=True,
        text=True,
    )
    return "C (mapper/_native/libpbfscan.so)" if done.stdout.strip() == "True" else "numpy"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--peers-python", help="python of the virtualenv that has pyrosm")
    ap.add_argument("--n", type=int, default=10, help="side-by-side tiling (default 10: 100x)")
    ap.add_argument("--scale", type=int, nargs="*", default=[5, 10, 20], help="scaling tilings")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--scale-warmup", type=int, default=0, help="warm-up rounds when scaling")
    ap.add_argument("--out", type=Path, default=RESULTS / "extract.json")
    args = ap.parse_args(argv)
    (BENCH / "data").mkdir(exist_ok=True)

    if args.peers_python:
        args.peers_python = os.path.abspath(args.peers_python)  # a venv's python: no resolve()
    all_tools = tools(args.peers_python)
    left_out = missing(args.peers_python, "pyrosm")
    if left_out:
        print(f"pyrosm left out: {left_out}", file=sys.stderr)
    result: dict[str, Any] = {
        "machine": measure.machine(),
        "versions": measure.versions(
            "camdensity", "deflate", "duckdb", "duckdb-extension-spatial", "geographiclib",
            "osmium", "pyarrow", "zlib-ng",
        )
        | {
            "camdensity PBF scan loops": scan_loops(),
            "osmium-tool": measure.osmium_tool_version(),
            "pyrosm": measure.python_package_version(args.peers_python, "pyrosm")
            if args.peers_python
            else None,
        },
        "left_out": {"pyrosm": left_out} if left_out else {},
        "method": (
            f"file read into the page cache, {args.warmup} warm-up round(s) side by side and "
            f"{args.scale_warmup} when scaling (beside the 100x runs), then the median of "
            f"{args.rounds} alternating rounds; wall seconds, CPU (user+sys) seconds of the "
            "process tree (wait4) and its peak RSS (GNU time %M)"
        ),
    }
    metas = {n: tile_pbf.tiled(n) for n in sorted(set(args.scale) | {args.n})}
    result["side_by_side"] = side_by_side(all_tools, metas[args.n], args.rounds, args.warmup)

    scaling: dict[str, Any] = {}
    pair = [t for t in all_tools if t.name in ("camdensity ingest", "osmium-tool")]
    for n in sorted(args.scale):
        if n == args.n:
            got = result["side_by_side"]
            got = {"input": got["input"], "tools": {t.name: got["tools"][t.name] for t in pair}}
        else:
            got = side_by_side(pair, metas[n], args.rounds, args.scale_warmup)
        scaling[str(n * n)] = got
    result["scaling"] = scaling
    result["machine"]["load_average_at_end"] = measure.machine()["load_average_at_start"]

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    bad = [
        f"{name} at {s['input']['copies']}x found {row.get('cameras')}"
        for s in [result["side_by_side"], *scaling.values()]
        for name, row in s["tools"].items()
        if "count_ok" in row and not row["count_ok"]
    ]
    if bad:
        print("wrong camera counts: " + "; ".join(bad), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
