"""Camera extraction side by side: ``camdensity ingest``, osmium-tool and a bare pyosmium script.

Two inputs (bench/tile_pbf.py, renumbered): the Munich old town tiled 10 x 10 (100 copies,
20,900 camera nodes) and Liechtenstein 2015 tiled 8 x 8 (64 copies, rural, no cameras). On
each, every tool reads the ``man_made=surveillance`` nodes and ways:

- ``camdensity ingest --quiet --db NEW FILE`` (reads, normalises, writes a new store);
- osmium-tool: ``osmium tags-filter FILE n/man_made=surveillance w/man_made=surveillance``,
  then ``osmium export`` of the result to GeoJSON;
- bare pyosmium (bench/peers.py cameras): a ``TagFilter`` pass over nodes and ways, and an
  ``IdFilter`` pass over the nodes of camera ways when there are any.

The file is read into the page cache first; runs alternate between the tools (the order
rotates each round), the warm-up round is dropped and the median of the measured rounds kept.
Every tool must find exactly the cameras the tiling holds.

    python bench/extract.py [--munich 10x10] [--rural 8x8] [--rounds 3] [--warmup 1]

Writes bench/results/extract.json.
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import measure
import tile_pbf

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
VENV_BIN = Path(sys.executable).parent
MUNICH = "munich_altstadt_2020-07-20.osm.pbf"
RURAL = "liechtenstein_2015-07-27.osm.pbf"
VERSIONS = ("camdensity", "duckdb", "numpy", "osmium", "pyarrow", "pyproj", "shapely")


class Tool:
    """One way of doing the task: a command run in a fresh folder, and what it found."""

    def __init__(self, name: str, what: str) -> None:
        self.name, self.what = name, what
        self.counts: list[int] = []

    def command(self, pbf: str, tmp: Path) -> tuple[list[str], str | None]:
        """The command, and where its stdout goes (None: /dev/null)."""
        raise NotImplementedError

    def count(self, tmp: Path, stdout: str | None) -> int:
        """How many it found; by default the last line the command printed."""
        if stdout is None:
            raise NotImplementedError
        return int(Path(stdout).read_text().strip().splitlines()[-1])

    def sample(self, pbf: str) -> measure.Sample:
        tmp = Path(tempfile.mkdtemp(prefix="bench-", dir=BENCH / "data"))
        try:
            cmd, stdout = self.command(pbf, tmp)
            s = measure.run(cmd, stdout_path=stdout, cwd=str(tmp))
            self.counts.append(self.count(tmp, stdout))
            return s
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


COUNTS = {"cameras": "SELECT count(*) FROM cameras", "areas": "SELECT count(*) FROM areas"}


def store_count(store: Path, table: str) -> int:
    con = duckdb.connect(str(store), read_only=True)
    try:
        row = con.execute(COUNTS[table]).fetchone()
    finally:
        con.close()
    return int(row[0]) if row else 0


def geojson_count(path: Path, keep: Callable[[dict[str, Any]], bool]) -> int:
    return sum(1 for f in json.loads(path.read_text())["features"] if keep(f))


class Ingest(Tool):
    def command(self, pbf: str, tmp: Path) -> tuple[list[str], str | None]:
        cmd = [str(VENV_BIN / "camdensity"), "ingest", "--quiet"]
        return [*cmd, "--db", str(tmp / "store.duckdb"), pbf], None

    def count(self, tmp: Path, stdout: str | None) -> int:
        return store_count(tmp / "store.duckdb", "cameras")


class OsmiumTool(Tool):
    """``osmium tags-filter`` with the given filter expressions, then ``osmium export``."""

    def __init__(
        self, name: str, what: str, filters: Sequence[str], keep: Callable[[dict[str, Any]], bool]
    ) -> None:
        super().__init__(name, what)
        self.filters, self.keep = list(filters), keep

    def command(self, pbf: str, tmp: Path) -> tuple[list[str], str | None]:
        script = (
            f'osmium tags-filter "$1" {" ".join(self.filters)} -O -o x.osm.pbf && '
            "osmium export x.osm.pbf -O -o x.geojson"
        )
        return ["sh", "-c", script, "sh", pbf], None

    def count(self, tmp: Path, stdout: str | None) -> int:
        return geojson_count(tmp / "x.geojson", self.keep)


class Peer(Tool):
    """A bare pyosmium script of bench/peers.py."""

    def __init__(self, name: str, what: str, *args: str) -> None:
        super().__init__(name, what)
        self.args = list(args)

    def command(self, pbf: str, tmp: Path) -> tuple[list[str], str | None]:
        cmd = [sys.executable, str(BENCH / "peers.py"), self.args[0], pbf, *self.args[1:]]
        return cmd, str(tmp / "count.txt")


def is_camera(feature: dict[str, Any]) -> bool:
    return bool(feature["properties"].get("man_made") == "surveillance")


def tools() -> list[Tool]:
    return [
        Ingest("camdensity ingest", "`camdensity ingest --quiet --db NEW FILE`"),
        OsmiumTool(
            "osmium-tool",
            "`osmium tags-filter FILE n/man_made=surveillance w/man_made=surveillance`, "
            "then `osmium export` to GeoJSON",
            ["n/man_made=surveillance", "w/man_made=surveillance"],
            is_camera,
        ),
        Peer(
            "pyosmium",
            "`FileProcessor` of nodes and ways + `TagFilter`; an `IdFilter` pass for way nodes "
            "when there are camera ways",
            "cameras",
        ),
    ]


def warm(path: str) -> None:
    """Read the file once, so that every tool finds it in the page cache."""
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def side_by_side(
    selected: list[Tool],
    meta: dict[str, Any],
    expected: int,
    rounds: int,
    warmup: int,
) -> dict[str, Any]:
    """Alternating rounds of every tool on one input: medians, ratios to osmium-tool and to
    bare pyosmium, and whether each found ``expected`` every time."""
    pbf = str(ROOT / meta["file"])
    print(f"{meta['file']} ({meta['copies']} copies, {meta['bytes'] / 1e6:.0f} MB):", flush=True)
    warm(pbf)
    for t in selected:
        t.counts = []
    tasks: dict[str, Callable[[], measure.Sample]] = {
        t.name: functools.partial(t.sample, pbf) for t in selected
    }
    samples = measure.alternate(tasks, rounds=rounds, warmup=warmup)
    rows = {}
    for t in selected:
        row = measure.summary(samples[t.name]) | {"what": t.what}
        row["found"] = sorted(set(t.counts))
        row["count_ok"] = bool(t.counts) and set(t.counts) == {expected}
        rows[t.name] = row
    for name in ("osmium-tool", "pyosmium"):
        ref = rows[name]
        for row in rows.values():
            row[f"wall_ratio_{name}"] = round(row["wall_s"] / ref["wall_s"], 2)
            row[f"cpu_ratio_{name}"] = round(row["cpu_s"] / ref["cpu_s"], 2)
    return {"input": meta, "expected": expected, "tools": rows}


def grid(spec: str) -> tuple[int, int]:
    _, n, m = tile_pbf.parse_spec(f"x:{spec}")
    return n, m


def header(rounds: int, warmup: int) -> dict[str, Any]:
    return {
        "machine": measure.machine(),
        "versions": measure.versions(*VERSIONS) | {"osmium-tool": measure.osmium_tool_version()},
        "method": (
            f"file read into the page cache, {warmup} warm-up round(s), then the median of "
            f"{rounds} alternating rounds; wall seconds, CPU (user+sys) seconds of the process "
            "tree (wait4) and its peak RSS (GNU time %M)"
        ),
    }


def bad_counts(result: dict[str, Any]) -> list[str]:
    return [
        f"{name} on {s['input']['file']} found {row['found']}, expected {s['expected']}"
        for s in result["inputs"].values()
        for name, row in s["tools"].items()
        if not row["count_ok"]
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--munich", default="10x10", help="tiling of the Munich sample (NxM)")
    ap.add_argument("--rural", default="8x8", help="tiling of Liechtenstein (NxM)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--out", type=Path, default=RESULTS / "extract.json")
    args = ap.parse_args(argv)
    (BENCH / "data").mkdir(exist_ok=True)

    result = header(args.rounds, args.warmup)
    result["inputs"] = {}
    for key, source, spec in (("munich", MUNICH, args.munich), ("rural", RURAL, args.rural)):
        meta = tile_pbf.tiled(source, *grid(spec))
        got = side_by_side(tools(), meta, meta["cameras_expected"], args.rounds, args.warmup)
        result["inputs"][key] = got
    return finish(result, args.out)


def finish(result: dict[str, Any], out: Path) -> int:
    """Write the results with the load at the end; 1 when a tool found the wrong count."""
    result["machine"]["load_average_at_end"] = measure.machine()["load_average_at_start"]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    bad = bad_counts(result)
    if bad:
        print("wrong counts: " + "; ".join(bad), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
