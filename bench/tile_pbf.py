"""Tile an OSM extract N x M times into one sorted, renumbered PBF, with pyosmium.

Copy k (0 <= k < N*M) sits in column k % N and row k // N: each of its nodes is shifted by
column times the width and row times the height of the extract's node bounding box (plus
1e-7 degrees, so that no two copies share a location), and every node, way and relation id,
way node ref and relation member ref is offset by k times a power of ten above the source's
largest id. Tags, names included, are copied unchanged: the tiled Monaco file holds each
quarter's name once per copy. Objects are written by type, then copy, then id
(``osmium.SimpleWriter``, PBF with zlib blocks), so the file is sorted; its header has the
union of the shifted header boxes (or data boxes) and the source's replication timestamp.

The offsets push ids far beyond real data (10**13 for 400 copies of Monaco), where
``osmium tags-filter`` ran out of 24 GB; ``osmium renumber`` then gives every object a new id
from 1 up, in the same order, refs kept. Every result must pass ``osmium fileinfo -e``: read to
the end, sorted, N*M times each count of the source. It is cached in bench/data/ (git-ignored)
under a name made of the source's name, the grid and the first 12 hex digits of the source's
sha256, with a JSON sidecar; a rerun with the same source and grid reuses it.

``--check`` tiles the Munich sample 2 x 2 (before renumbering), reads it back with pyosmium
and requires every object of every copy to equal its source object shifted.

    python bench/tile_pbf.py --check munich_altstadt_2020-07-20.osm.pbf:10x10
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import osmium
from osmium.osm.mutable import Node, Relation, Way

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / "data"
# Where a bare file name is looked for: the project's samples, then the team's shared data.
SEARCH = (ROOT / "data/samples/osm", ROOT.parent / "shared/data/osm")
MUNICH = "munich_altstadt_2020-07-20.osm.pbf"
GENERATOR = "camdensity bench/tile_pbf.py"
VERSION = 2  # part of the cache key: bump when the tiling changes
OUTPUT_FORMAT = "pbf,pbf_compression=zlib"
# Runs and their join, read twice by ``osmium renumber`` and then deleted, are not compressed.
RAW_FORMAT = "pbf,pbf_compression=none"
KINDS = ("n", "w", "r")


def resolve(name: str | Path) -> Path:
    """A path as given, or a bare file name found in data/samples/osm or ../shared/data/osm."""
    path = Path(name)
    if path.exists():
        return path.resolve()
    if path.parent == Path("."):
        for folder in SEARCH:
            if (folder / path).exists():
                return (folder / path).resolve()
    raise SystemExit(f"tile_pbf: {name}: no such file (looked in {', '.join(map(str, SEARCH))})")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def osmium_bin() -> str:
    found = shutil.which("osmium")
    if found is None:
        raise SystemExit("osmium-tool is missing: apt-get install -y osmium-tool")
    return found


# --- the source, read once -------------------------------------------------------------------

Tags = list[tuple[str, str]] | None


@dataclass
class Source:
    """Every object of an extract as plain tuples, and what the tiling needs to know."""

    path: Path
    nodes: list[tuple[int, int, datetime | None, Tags, int, int]] = field(default_factory=list)
    ways: list[tuple[int, int, datetime | None, Tags, list[int]]] = field(default_factory=list)
    relations: list[tuple[int, int, datetime | None, Tags, list[tuple[str, int, str]]]] = field(
        default_factory=list
    )
    box: tuple[int, int, int, int] = (0, 0, 0, 0)  # node bbox, x0 y0 x1 y1 in 1e-7 degrees
    header: dict[str, str] = field(default_factory=dict)
    header_box: tuple[float, float, float, float] | None = None

    @property
    def id_offset(self) -> int:
        """A power of ten above every id of the file: copy k's ids are id + k * this."""
        top = max(o[0] for objs in (self.nodes, self.ways, self.relations) for o in objs)
        return int(10 ** len(str(top)))

    @property
    def step(self) -> tuple[int, int]:
        """(dx, dy) between neighbouring copies in 1e-7 degrees: the node bbox, plus one."""
        x0, y0, x1, y1 = self.box
        return x1 - x0 + 1, y1 - y0 + 1


def _stamp(o: Any) -> datetime | None:
    ts = o.timestamp
    return ts if ts is not None and ts.timestamp() > 0 else None


def load(path: Path) -> Source:
    src = Source(path)
    xs: list[int] = []
    ys: list[int] = []
    o: Any  # pyosmium's object types share no common base with these attributes
    for o in osmium.FileProcessor(str(path)):
        tags = [(t.k, t.v) for t in o.tags] or None
        if o.is_node():
            loc = o.location
            if not loc.valid():
                continue
            src.nodes.append((o.id, o.version, _stamp(o), tags, loc.x, loc.y))
            xs.append(loc.x)
            ys.append(loc.y)
        elif o.is_way():
            src.ways.append((o.id, o.version, _stamp(o), tags, [r.ref for r in o.nodes]))
        elif o.is_relation():
            members = [(m.type, m.ref, m.role) for m in o.members]
            src.relations.append((o.id, o.version, _stamp(o), tags, members))
    if not src.nodes:
        raise SystemExit(f"tile_pbf: {path}: no node with a location")
    src.box = (min(xs), min(ys), max(xs), max(ys))
    reader = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
    try:
        h = reader.header()
        for key in ("osmosis_replication_timestamp", "osmosis_replication_sequence_number",
                    "osmosis_replication_base_url", "timestamp"):  # fmt: skip
            if h.get(key):
                src.header[key] = h.get(key)
        b = h.box()
        if b.valid():
            src.header_box = (
                b.bottom_left.lon,
                b.bottom_left.lat,
                b.top_right.lon,
                b.top_right.lat,
            )
    finally:
        reader.close()
    return src


# --- writing ---------------------------------------------------------------------------------


def _header(src: Source, n: int, m: int) -> osmium.io.Header:
    header = osmium.io.Header()
    for key, value in src.header.items():
        header.set(key, value)
    header.set("generator", GENERATOR)
    header.set("sorting", "Type_then_ID")
    dx, dy = src.step
    x0, y0, x1, y1 = src.header_box or tuple(v / 1e7 for v in src.box)
    span_x, span_y = (n - 1) * dx / 1e7, (m - 1) * dy / 1e7
    header.add_box(
        osmium.osm.Box(osmium.osm.Location(x0, y0), osmium.osm.Location(x1 + span_x, y1 + span_y))
    )
    return header


def _plan(copies: int, jobs: int) -> list[tuple[str, range]]:
    """Runs of copies of one object type, in file order, a few per worker."""
    size = max(1, -(-copies // (3 * jobs)))
    return [
        (kind, range(s, min(s + size, copies))) for kind in KINDS for s in range(0, copies, size)
    ]


class _Ref:
    """A way node ref as pyosmium's writer takes it fastest: an object with ``ref`` (a bare
    int costs it a failed attribute lookup per ref, about a third more per way)."""

    __slots__ = ("ref",)

    def __init__(self, ref: int) -> None:
        self.ref = ref


# The source being tiled, set before the workers fork: they inherit it instead of a pickle.
_SOURCE: list[Source] = []


def _write_run(task: tuple[str, int, str, range]) -> str:
    """Write copies ``ks`` of the source's objects of one type to a PBF of its own."""
    out, n, kind, ks = task
    src = _SOURCE[0]
    off, (dx, dy) = src.id_offset, src.step
    # One mutable object, refilled for every object: a new one per object costs about half
    # again as much (pyosmium reads each attribute, whatever the object).
    with osmium.SimpleWriter(osmium.io.File(out, RAW_FORMAT), overwrite=True) as writer:
        if kind == "n":
            node, add_node = Node(), writer.add_node
            for k in ks:
                o, sx, sy = k * off, (k % n) * dx, (k // n) * dy
                for i, v, ts, tags, x, y in src.nodes:
                    node.id, node.version, node.timestamp, node.tags = i + o, v, ts, tags
                    node.location = ((x + sx) / 1e7, (y + sy) / 1e7)
                    add_node(node)
        elif kind == "w":
            way, add_way = Way(), writer.add_way
            for k in ks:
                o = k * off
                for i, v, ts, tags, refs in src.ways:
                    way.id, way.version, way.timestamp, way.tags = i + o, v, ts, tags
                    way.nodes = [_Ref(r + o) for r in refs]  # type: ignore[misc]
                    add_way(way)
        else:
            rel, add_rel = Relation(), writer.add_relation
            for k in ks:
                o = k * off
                for i, v, ts, tags, members in src.relations:
                    rel.id, rel.version, rel.timestamp, rel.tags = i + o, v, ts, tags
                    rel.members = [(t, r + o, role) for t, r, role in members]
                    add_rel(rel)
    return out


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if byte < 0x80:
            return value, pos


def _blobs(path: str) -> Iterator[tuple[bytes, bytes]]:
    """(type, bytes) of each blob of a PBF, unread: its 4-byte length, BlobHeader and Blob.

    Only the framing, to join files that libosmium wrote (BlobHeader: 1 type, 3 datasize);
    libosmium reads every object of the result when it is renumbered and checked."""
    with open(path, "rb") as f:
        while head := f.read(4):
            blob_header = f.read(int.from_bytes(head, "big"))
            kind, size, pos = b"", 0, 0
            while pos < len(blob_header):
                key, pos = _varint(blob_header, pos)
                if key & 7 == 2:
                    length, pos = _varint(blob_header, pos)
                    if key >> 3 == 1:
                        kind = blob_header[pos : pos + length]
                    pos += length
                elif key & 7 == 0:
                    value, pos = _varint(blob_header, pos)
                    if key >> 3 == 3:
                        size = value
                else:
                    raise ValueError(f"{path}: unexpected BlobHeader field {key >> 3}")
            yield kind, head + blob_header + f.read(size)


def write_tiles(src: Source, n: int, m: int, out: Path, jobs: int | None = None) -> None:
    """All copies, ids offset and nodes shifted, as one sorted PBF (ids not renumbered).

    Worker processes write runs of copies of one object type each, in file order; the runs'
    data blobs are then appended to a header written by pyosmium."""
    if (src.box[3] + (m - 1) * src.step[1]) / 1e7 > 90:
        raise SystemExit(f"tile_pbf: {n}x{m} copies of {src.path.name} pass the north pole")
    if (src.box[2] + (n - 1) * src.step[0]) / 1e7 > 180:
        raise SystemExit(f"tile_pbf: {n}x{m} copies of {src.path.name} pass 180 degrees east")
    jobs = jobs or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".runs-") as tmp:
        head = f"{tmp}/header.osm.pbf"
        osmium.SimpleWriter(osmium.io.File(head, RAW_FORMAT), header=_header(src, n, m)).close()
        tasks = [(f"{tmp}/{i:05d}.osm.pbf", n, kind, ks)
                 for i, (kind, ks) in enumerate(_plan(n * m, jobs))]  # fmt: skip
        _SOURCE[:] = [src]
        try:
            if jobs == 1:
                runs = [_write_run(t) for t in tasks]
            else:
                fork = multiprocessing.get_context("fork")
                with ProcessPoolExecutor(jobs, mp_context=fork) as pool:
                    runs = list(pool.map(_write_run, tasks))
        finally:
            _SOURCE.clear()
        with out.open("wb") as dst:
            dst.writelines(raw for kind, raw in _blobs(head) if kind == b"OSMHeader")
            for run in runs:
                dst.writelines(raw for kind, raw in _blobs(run) if kind == b"OSMData")
                os.unlink(run)


def renumber(path: Path, out: Path) -> None:
    """``osmium renumber``: ids from 1 up in file order, refs kept (reads the file twice)."""
    cmd = [osmium_bin(), "renumber", "--no-progress", "-O", "-f", OUTPUT_FORMAT]
    done = subprocess.run(
        [*cmd, "--generator", GENERATOR, "-o", str(out), str(path)], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"{path}: osmium renumber failed: {done.stderr.strip()[:300]}")


# --- what a file holds -----------------------------------------------------------------------


def fileinfo(path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [osmium_bin(), "fileinfo", "-e", "-j", str(path)], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"{path}: osmium fileinfo -e failed: {done.stderr.strip()[:300]}")
    info: dict[str, Any] = json.loads(done.stdout)
    return info


def expected(path: Path) -> dict[str, int]:
    """What one copy holds for the benchmarks: camera nodes and ways (man_made=surveillance),
    and level-10 administrative areas that libosmium assembles from relations."""
    cams = osmium.filter.TagFilter(("man_made", "surveillance"))
    fp = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_filter(cams)
    nodes = ways = 0
    o: Any
    for o in fp:
        nodes += int(o.is_node())
        ways += int(o.is_way())
    admin = osmium.filter.TagFilter(("boundary", "administrative"))
    fp = osmium.FileProcessor(str(path)).with_areas(admin).with_filter(admin)
    level10 = 0
    for o in fp:
        level10 += o.is_area() and not o.from_way() and o.tags.get("admin_level") == "10"
    return {"camera_nodes": nodes, "camera_ways": ways, "admin10_areas": level10}


def validate(path: Path, source: Path, copies: int) -> dict[str, Any]:
    """Reads to the end, sorted, ids from 1 (renumbered), N*M times each count of the source."""
    info, src = fileinfo(path), fileinfo(source)
    data, problems = info["data"], []
    if not data["objects_ordered"]:
        problems.append("objects are not ordered by type and id")
    if data["multiple_versions"]:
        problems.append("an object appears more than once")
    for key in ("nodes", "ways", "relations"):
        if data["count"][key] != src["data"]["count"][key] * copies:
            problems.append(
                f"{data['count'][key]} {key}, expected {src['data']['count'][key]} x {copies}"
            )
        if data["count"][key] and data["maxid"][key] != data["count"][key]:
            problems.append(f"{key} not renumbered 1..{data['count'][key]}")
    if not info["header"]["boxes"]:
        problems.append("no header bounding box")
    if problems:
        raise SystemExit(f"{path}: invalid tiling: " + "; ".join(problems))
    return {
        "bytes": path.stat().st_size,
        "nodes": data["count"]["nodes"],
        "ways": data["count"]["ways"],
        "relations": data["count"]["relations"],
        "header_box": info["header"]["boxes"][0],
    }


# --- cache -----------------------------------------------------------------------------------


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def tiled(
    source: str | Path,
    n: int,
    m: int,
    data_dir: Path = DATA,
    force: bool = False,
    jobs: int | None = None,
) -> dict[str, Any]:
    """The N x M tiling of ``source``, renumbered (made and validated when not cached)."""
    path = resolve(source)
    digest = sha256(path)
    stem = path.name.removesuffix(".osm.pbf").removesuffix(".pbf")
    name = f"{stem}_{n}x{m}_{digest[:12]}_v{VERSION}"
    out, sidecar = data_dir / f"{name}.osm.pbf", data_dir / f"{name}.json"
    if not force and out.exists() and sidecar.exists():
        meta: dict[str, Any] = json.loads(sidecar.read_text())
        if meta.get("bytes") == out.stat().st_size:
            return meta | {"cached": True}
    data_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=data_dir, prefix=".tile-") as tmp:
        raw, done = Path(tmp) / "offset.osm.pbf", Path(tmp) / "renumbered.osm.pbf"
        write_tiles(load(path), n, m, raw, jobs)
        t1 = time.perf_counter()
        renumber(raw, done)
        t2 = time.perf_counter()
        copies = n * m
        meta = {
            "file": _rel(out),
            "source": _rel(path),
            "source_sha256": digest,
            "grid": f"{n}x{m}",
            "copies": copies,
            **validate(done, path, copies),
            **{f"{k}_expected": v * copies for k, v in expected(path).items()},
            "write_s": round(t1 - t0, 1),
            "renumber_s": round(t2 - t1, 1),
        }
        meta["cameras_expected"] = meta["camera_nodes_expected"] + meta["camera_ways_expected"]
        done.replace(out)
    sidecar.write_text(json.dumps(meta, indent=2) + "\n")
    return meta | {"cached": False}


def generate(n: int, out: Path, workers: int | None = None) -> None:
    """The Munich extract tiled N x N, renumbered, copied to ``out`` (through the cache):
    the large input of the crash tests (tests/robustness/tiler.py)."""
    meta = tiled(MUNICH, n, n, jobs=workers)
    shutil.copyfile(ROOT / meta["file"], out)


# --- --check ---------------------------------------------------------------------------------


def check(tmp_dir: Path, n: int = 2, m: int = 2) -> int:
    """Tile the Munich sample N x M, read it back, compare each copy with the shifted source."""
    src = load(resolve(MUNICH))
    out = tmp_dir / "check.osm.pbf"
    write_tiles(src, n, m, out)
    off, (dx, dy) = src.id_offset, src.step
    want: list[tuple[Any, ...]] = []
    for k in range(n * m):
        o, sx, sy = k * off, (k % n) * dx, (k // n) * dy
        want += [("n", i + o, v, ts, tags, x + sx, y + sy) for i, v, ts, tags, x, y in src.nodes]
    for k in range(n * m):
        o = k * off
        want += [("w", i + o, v, ts, tags, [r + o for r in rs]) for i, v, ts, tags, rs in src.ways]
    for k in range(n * m):
        o = k * off
        want += [
            ("r", i + o, v, ts, tags, [(t, r + o, role) for t, r, role in ms])
            for i, v, ts, tags, ms in src.relations
        ]
    got: list[tuple[Any, ...]] = []
    obj: Any
    for obj in osmium.FileProcessor(str(out)):
        tags = [(t.k, t.v) for t in obj.tags] or None
        common = (obj.id, obj.version, _stamp(obj), tags)
        if obj.is_node():
            got.append(("n", *common, obj.location.x, obj.location.y))
        elif obj.is_way():
            got.append(("w", *common, [r.ref for r in obj.nodes]))
        else:
            got.append(("r", *common, [(mb.type, mb.ref, mb.role) for mb in obj.members]))
    if got != want:
        bad = next(i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b)
        raise SystemExit(f"tile_pbf --check: object {bad} differs: {got[bad]} != {want[bad]}")
    return len(got)


def parse_spec(spec: str) -> tuple[str, int, int]:
    """``FILE:NxM`` (or ``FILE:N`` for N x N)."""
    source, _, grid = spec.rpartition(":")
    try:
        n, _, m = grid.partition("x")
        cols, rows = int(n), int(m or n)
    except ValueError:
        raise SystemExit(f"tile_pbf: {spec!r}: expected FILE:NxM, e.g. {MUNICH}:10x10") from None
    if not source or cols < 1 or rows < 1:
        raise SystemExit(f"tile_pbf: {spec!r}: expected FILE:NxM, e.g. {MUNICH}:10x10")
    return source, cols, rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("spec", nargs="*", help="FILE:NxM (a path, or a name in data/samples/osm)")
    ap.add_argument("--data-dir", type=Path, default=DATA)
    ap.add_argument("--force", action="store_true", help="regenerate even when cached")
    ap.add_argument("--check", action="store_true", help="read a 2x2 tiling back and compare")
    ap.add_argument("--jobs", type=int, help="writing processes (default: one per core)")
    args = ap.parse_args(argv)
    if args.check:
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            count = check(Path(tmp))
        print(
            f"tile_pbf: 2x2 read back equal, {count:,} objects ({time.perf_counter() - t0:.1f} s)"
        )
    for spec in args.spec:
        meta = tiled(*parse_spec(spec), args.data_dir, args.force, args.jobs)
        how = (
            "cached"
            if meta["cached"]
            else f"written in {meta['write_s']} s, renumbered in {meta['renumber_s']} s"
        )
        print(
            f"{meta['file']}: {meta['copies']} copies, {meta['bytes'] / 1e6:.1f} MB, "
            f"{meta['nodes']:,} nodes; {meta['cameras_expected']:,} cameras, "
            f"{meta['admin10_areas_expected']:,} level-10 areas expected ({how})",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
