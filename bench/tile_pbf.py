"""Tile the shipped Munich extract N x N times into one valid, sorted PBF.

Copy k (0 <= k < N*N) sits in column k % N and row k // N: each of its nodes is shifted by
column * 0.03 degrees of longitude and row * 0.03 of latitude, and every node, way and
relation id, way node ref and relation member ref is offset by k * 10**10 (the source's
largest id is below 10**10, so ids stay unique and, written copy after copy, ascending). The
file holds all nodes, then all ways, then all relations, ids ascending; its header carries
the union of the shifted header boxes, the source's replication timestamp and
``Sort.Type_then_ID``.

Two writers make the same file content:

- ``reference()``: pyosmium reads the source and writes every shifted object
  (``osmium.SimpleWriter``). Simple and obviously right, but ~8 us of Python per object:
  about 70 CPU-seconds per 100 copies.
- ``generate()`` (used): the same transformation on the PBF encoding. Ids, coordinates, way
  refs and member refs are delta-coded inside a block (DenseNodes ids/lat/lon, Way.refs,
  Relation.memids), so shifting a whole block changes only each run's first value, plus each
  way's and relation's own id. Each source block is decoded once; per copy it is patched,
  re-compressed with zlib and appended; worker processes write runs of copies that are joined
  blob by blob. About 10x faster.

``--check`` writes the 2 x 2 tiling both ways and requires ``osmium cat -f opl`` of the two
to be identical. Every generated file is checked with ``osmium fileinfo -e`` (reads to the
end, sorted, N*N times the source's counts) and cached under bench/data/ with a JSON sidecar.

    python bench/tile_pbf.py --check 5 10 20
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

import osmium

from mapper.sources.pbf_scan import encode, unzigzag, varint, zigzag

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "data/samples/osm/munich_altstadt_2020-07-20.osm.pbf"
DATA = Path(__file__).resolve().parent / "data"
STEP_NANODEG = 30_000_000  # 0.03 degrees between copies, in latitude and in longitude
ID_OFFSET = 10**10
GENERATOR = "camdensity bench/tile_pbf.py"
KINDS = ("n", "w", "r")


def _shift(n: int, k: int) -> tuple[int, int]:
    """(longitude, latitude) shift of copy k, in nanodegrees."""
    return (k % n) * STEP_NANODEG, (k // n) * STEP_NANODEG


# --- protobuf, just enough of it (varints and zigzag: the reader's own, pbf_scan) --------------


def _fields(buf: bytes) -> Iterator[tuple[int, int, Any, int, int]]:
    """(field, wire type, value or payload, start, end) of each field of a message."""
    pos = 0
    while pos < len(buf):
        start = pos
        key, pos = varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = varint(buf, pos)
        elif wire == 2:
            length, pos = varint(buf, pos)
            value, pos = buf[pos : pos + length], pos + length
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield field, wire, value, start, pos


def _bytes_field(field: int, payload: bytes) -> bytes:
    return encode(field << 3 | 2) + encode(len(payload)) + payload


def _varint_field(field: int, value: int) -> bytes:
    return encode(field << 3) + encode(value)


def _add_first(packed: bytes, delta: int, signed: bool = True) -> bytes:
    """Add ``delta`` to the first value of a packed (delta-coded) varint array."""
    if not packed or not delta:
        return packed
    first, pos = varint(packed, 0)
    if signed:
        return encode(zigzag(unzigzag(first) + delta)) + packed[pos:]
    return encode(first + delta) + packed[pos:]


# --- PBF blobs --------------------------------------------------------------------------------


def _blobs(f: BinaryIO) -> Iterator[tuple[str, bytes]]:
    """(type, raw bytes) of each blob of a PBF: 4-byte length, BlobHeader, Blob."""
    while True:
        head = f.read(4)
        if not head:
            return
        blob_header = f.read(int.from_bytes(head, "big"))
        kind, datasize = "", 0
        for field, _, value, _, _ in _fields(blob_header):
            if field == 1:
                kind = bytes(value).decode()
            elif field == 3:
                datasize = value
        yield kind, head + blob_header + f.read(datasize)


def _block_of(raw: bytes) -> bytes:
    """The uncompressed block of a raw blob."""
    blob = raw[4 + int.from_bytes(raw[:4], "big") :]
    for field, _, value, _, _ in _fields(blob):
        if field == 1:
            return bytes(value)
        if field == 3:
            return zlib.decompress(value)
        if field > 3:
            raise ValueError(f"unsupported blob compression (Blob field {field})")
    raise ValueError("empty blob")


def _data_blob(block: bytes) -> bytes:
    blob = _varint_field(2, len(block)) + _bytes_field(3, zlib.compress(block, 6))
    header = _bytes_field(1, b"OSMData") + _varint_field(3, len(blob))
    return len(header).to_bytes(4, "big") + header + blob


# --- patching one block for copy k ------------------------------------------------------------

Template = tuple[int, list[Any]]  # a parsed source block: granularity, parts (see _template)

# Message field numbers (osmformat.proto).
_GROUP_KIND = {1: "n", 2: "n", 3: "w", 4: "r"}  # PrimitiveGroup: nodes, dense, ways, relations


def _patch_node(msg: bytes, off: int, dlat: int, dlon: int) -> bytes:
    delta = {1: off, 8: dlat, 9: dlon}  # id, lat, lon: sint64
    out = bytearray()
    for field, wire, value, start, end in _fields(msg):
        if wire == 0 and field in delta:
            out += _varint_field(field, zigzag(unzigzag(value) + delta[field]))
        else:
            out += msg[start:end]
    return bytes(out)


def _patch_dense(msg: bytes, off: int, dlat: int, dlon: int) -> bytes:
    delta = {1: off, 8: dlat, 9: dlon}  # id, lat, lon: packed, delta-coded sint64
    out = bytearray()
    for field, _, value, start, end in _fields(msg):
        if field in delta:
            out += _bytes_field(field, _add_first(bytes(value), delta[field]))
        else:
            out += msg[start:end]
    return bytes(out)


def _patch_way_or_relation(msg: bytes, off: int, refs_field: int) -> bytes:
    out = bytearray()
    for field, _, value, start, end in _fields(msg):
        if field == 1:  # id: int64
            out += _varint_field(1, value + off)
        elif field == refs_field:  # Way.refs / Relation.memids: packed, delta-coded sint64
            out += _bytes_field(field, _add_first(bytes(value), off))
        else:
            out += msg[start:end]
    return bytes(out)


def _split(msg: bytes, refs_field: int) -> tuple[int, bytes, bytes, int, bytes, bytes] | None:
    """A way or relation as (id, fields up to the refs, refs key, first ref, rest, tail).

    Precomputed once per source object, so that a copy only re-encodes two varints; None
    when the message is not shaped id-first with one refs field (then it is parsed per copy).
    """
    fields = list(_fields(msg))
    refs = [f for f in fields if f[0] == refs_field]
    if not fields or fields[0][:2] != (1, 0) or len(refs) != 1 or refs[0][1] != 2:
        return None
    _, _, packed, rstart, rend = refs[0]
    if not packed:
        return None
    first, pos = varint(packed, 0)
    key = msg[rstart : rstart + len(encode(refs_field << 3 | 2))]
    return fields[0][2], msg[fields[0][4] : rstart], key, unzigzag(first), packed[pos:], msg[rend:]


def _template(block: bytes) -> Template:
    """A source block, parsed once: its granularity, and its parts in order: constant bytes,
    or a group's list of items (item kinds: 0 raw bytes, 1 node, 2 dense, 3 split way or
    relation, 4 way or relation to parse per copy)."""
    parts: list[Any] = []
    gran = 100
    for field, _, value, start, end in _fields(block):
        if field == 17:
            gran = value
        if field != 2:  # string table, granularity, offsets: unchanged
            parts.append(block[start:end])
            continue
        items: list[tuple[Any, ...]] = []
        for gfield, _, gvalue, gstart, gend in _fields(bytes(value)):
            msg = bytes(gvalue)
            if gfield in (1, 2):
                items.append((gfield, msg))
            elif gfield in (3, 4):
                refs_field = 8 if gfield == 3 else 9  # Way.refs, Relation.memids
                split = _split(msg, refs_field)
                if split is None:
                    items.append((4, gfield, msg, refs_field))
                else:
                    items.append((3, encode(gfield << 3 | 2), *split))
            else:
                items.append((0, value[gstart:gend]))
        parts.append(items)
    return gran, parts


def _patch_block(
    template: tuple[int, list[Any]], off: int, dlon_nano: int, dlat_nano: int
) -> bytes:
    gran, parts = template
    # Coordinates are lat_offset + granularity * value: a shift is a multiple of granularity.
    if dlat_nano % gran or dlon_nano % gran:
        raise ValueError(f"shift not a multiple of the granularity {gran}")
    dlat, dlon = dlat_nano // gran, dlon_nano // gran
    out = bytearray()
    for part in parts:
        if isinstance(part, bytes):
            out += part
            continue
        group = bytearray()
        for item in part:
            kind = item[0]
            if kind == 3:
                _, gkey, id_, head, rkey, first, rest, tail = item
                refs = encode(zigzag(first + off)) + rest
                body = b"\x08" + encode(id_ + off) + head + rkey + encode(len(refs)) + refs + tail
                group += gkey + encode(len(body)) + body
            elif kind == 2:
                group += _bytes_field(2, _patch_dense(item[1], off, dlat, dlon))
            elif kind == 1:
                group += _bytes_field(1, _patch_node(item[1], off, dlat, dlon))
            elif kind == 4:
                _, gfield, msg, refs_field = item
                group += _bytes_field(gfield, _patch_way_or_relation(msg, off, refs_field))
            else:
                group += item[1]
        out += _bytes_field(2, bytes(group))
    return bytes(out)


def _block_kind(block: bytes) -> str:
    kinds = {
        _GROUP_KIND.get(gfield, "?")
        for field, _, value, _, _ in _fields(block)
        if field == 2
        for gfield, _, _, _, _ in _fields(bytes(value))
    }
    if len(kinds) != 1 or "?" in kinds:
        raise ValueError(f"a source block holds {sorted(kinds)}: need one object type per block")
    return kinds.pop()


# The source's blocks by object type, parsed before the workers fork.
_BLOCKS: dict[str, list[Template]] = {}


def _load_blocks(path: Path) -> dict[str, list[Template]]:
    blocks: dict[str, list[Template]] = {k: [] for k in KINDS}
    seen: list[str] = []
    with path.open("rb") as f:
        for kind, raw in _blobs(f):
            if kind != "OSMData":
                continue
            block = _block_of(raw)
            k = _block_kind(block)
            if seen and KINDS.index(k) < KINDS.index(seen[-1]):
                raise ValueError(f"{path}: not sorted by type (nodes, ways, relations)")
            seen.append(k)
            blocks[k].append(_template(block))
    return blocks


def _write_run(task: tuple[str, str, int, range]) -> str:
    """Write copies ``ks`` of the source blocks of one object type as data blobs to ``out``."""
    out, kind, n, ks = task
    with open(out, "wb") as f:
        for k in ks:
            dlon, dlat = _shift(n, k)
            for block in _BLOCKS[kind]:
                f.write(_data_blob(_patch_block(block, k * ID_OFFSET, dlon, dlat)))
    return out


def _header(n: int, path: Path) -> osmium.io.Header:
    reader = osmium.io.Reader(str(SOURCE), osmium.osm.osm_entity_bits.NOTHING)
    try:
        src = reader.header()
        b = src.box()
        box = (b.bottom_left.lon, b.bottom_left.lat, b.top_right.lon, b.top_right.lat)
        header = osmium.io.Header()
        for key in ("osmosis_replication_timestamp", "osmosis_replication_sequence_number",
                    "osmosis_replication_base_url", "timestamp"):  # fmt: skip
            if src.get(key):
                header.set(key, src.get(key))
    finally:
        reader.close()
    header.set("generator", GENERATOR)
    header.set("sorting", "Type_then_ID")
    span = (n - 1) * STEP_NANODEG / 1e9
    header.add_box(
        osmium.osm.Box(
            osmium.osm.Location(box[0], box[1]),
            osmium.osm.Location(box[2] + span, box[3] + span),
        )
    )
    return header


def _plan(n: int, workers: int) -> list[tuple[str, range]]:
    """Runs of copies of one object type, in file order, several per worker."""
    copies = n * n
    size = max(1, -(-copies // (4 * workers)))
    return [
        (kind, range(s, min(s + size, copies))) for kind in KINDS for s in range(0, copies, size)
    ]


def generate(n: int, out: Path, workers: int | None = None) -> float:
    """Write the N x N tiling to ``out`` (atomically) by patching blocks; returns seconds."""
    t0 = time.perf_counter()
    workers = workers or os.cpu_count() or 1
    if not _BLOCKS:
        _BLOCKS.update(_load_blocks(SOURCE))  # before the fork: the workers inherit them
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".tile-") as tmp:
        head = Path(tmp) / "header.osm.pbf"
        osmium.SimpleWriter(str(head), header=_header(n, out), overwrite=True).close()
        plan = enumerate(_plan(n, workers))
        tasks = [(f"{tmp}/{i:05d}.pbf", kind, n, ks) for i, (kind, ks) in plan]
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            runs = list(pool.map(_write_run, tasks))
        joined = Path(tmp) / "joined.osm.pbf"
        with joined.open("wb") as dst:
            with head.open("rb") as src:
                for kind, raw in _blobs(src):
                    if kind == "OSMHeader":
                        dst.write(raw)
            for run in runs:
                with open(run, "rb") as src:
                    shutil.copyfileobj(src, dst, 1 << 20)
                os.unlink(run)
        os.replace(joined, out)
    return time.perf_counter() - t0


def reference(n: int, out: Path) -> None:
    """The same tiling written object by object with pyosmium (slow; for ``--check``)."""
    from osmium.osm.mutable import Node, Relation, Way

    def stamp(o: Any) -> Any:
        ts = o.timestamp
        return ts if ts is not None and ts.timestamp() > 0 else None

    objs: dict[str, list[tuple[Any, ...]]] = {k: [] for k in KINDS}
    for o in osmium.FileProcessor(str(SOURCE)):
        tags = [(t.k, t.v) for t in o.tags] or None
        if o.is_node():
            objs["n"].append((o.id, o.version, stamp(o), tags, o.location.x, o.location.y))
        elif o.is_way():
            objs["w"].append((o.id, o.version, stamp(o), tags, [r.ref for r in o.nodes]))
        elif o.is_relation():
            members = [(m.type, m.ref, m.role) for m in o.members]
            objs["r"].append((o.id, o.version, stamp(o), tags, members))
    writer = osmium.SimpleWriter(str(out), header=_header(n, out), overwrite=True)
    try:
        for kind in KINDS:
            for k in range(n * n):
                off = k * ID_OFFSET
                dx, dy = (d // 100 for d in _shift(n, k))  # Location.x/y are 1e-7 degrees
                for i, v, ts, tags, *rest in objs[kind]:
                    common = {"id": i + off, "version": v, "timestamp": ts, "tags": tags}
                    if kind == "n":
                        x, y = rest
                        loc = osmium.osm.Location((x + dx) / 1e7, (y + dy) / 1e7)
                        writer.add_node(Node(location=loc, **common))
                    elif kind == "w":
                        writer.add_way(Way(nodes=[r + off for r in rest[0]], **common))
                    else:
                        ms = [(t, r + off, role) for t, r, role in rest[0]]
                        writer.add_relation(Relation(members=ms, **common))
    finally:
        writer.close()


# --- validation and cache ---------------------------------------------------------------------


def osmium_bin() -> str:
    found = shutil.which("osmium")
    if found is None:
        raise SystemExit("osmium-tool is missing: apt-get install -y osmium-tool")
    return found


def _fileinfo(path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [osmium_bin(), "fileinfo", "-e", "-j", str(path)], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"{path}: osmium fileinfo -e failed: {done.stderr.strip()[:300]}")
    info: dict[str, Any] = json.loads(done.stdout)
    return info


def source_cameras(path: Path = SOURCE) -> int:
    fp = osmium.FileProcessor(str(path), osmium.osm.NODE)
    return sum(1 for _ in fp.with_filter(osmium.filter.TagFilter(("man_made", "surveillance"))))


def validate(path: Path, n: int) -> dict[str, Any]:
    """``osmium fileinfo -e``: reads to the end, sorted, N*N times each count of the source."""
    info, src = _fileinfo(path), _fileinfo(SOURCE)
    data, copies = info["data"], n * n
    problems = []
    if not data["objects_ordered"]:
        problems.append("objects are not ordered by type and id")
    if data["multiple_versions"]:
        problems.append("an object appears more than once")
    for key in ("nodes", "ways", "relations"):
        if data["count"][key] != src["data"]["count"][key] * copies:
            problems.append(
                f"{data['count'][key]} {key}, expected {src['data']['count'][key]} x {copies}"
            )
    if not info["header"]["boxes"]:
        problems.append("no header bounding box")
    if problems:
        raise SystemExit(f"{path}: invalid tiling: " + "; ".join(problems))
    return {
        "file": str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path),
        "n": n,
        "copies": copies,
        "bytes": path.stat().st_size,
        "nodes": data["count"]["nodes"],
        "ways": data["count"]["ways"],
        "relations": data["count"]["relations"],
        "ordered": data["objects_ordered"],
        "header_box": info["header"]["boxes"][0],
        "cameras_expected": source_cameras() * copies,
    }


def check(tmp_dir: Path) -> None:
    """The fast writer and the pyosmium reference give the same objects (2 x 2 tiling)."""
    fast, ref = tmp_dir / "fast.osm.pbf", tmp_dir / "reference.osm.pbf"
    generate(2, fast)
    reference(2, ref)
    opl = [
        subprocess.run(
            [osmium_bin(), "cat", "-f", "opl", str(p)], capture_output=True, check=True
        ).stdout
        for p in (fast, ref)
    ]
    if opl[0] != opl[1] or not opl[0]:
        raise SystemExit("tile_pbf: the block patcher and the pyosmium reference differ")
    validate(fast, 2)


def tiled(n: int, data_dir: Path = DATA, force: bool = False) -> dict[str, Any]:
    """The cached N x N file (generated and validated when missing) and its description."""
    path = data_dir / f"munich_x{n}.osm.pbf"
    sidecar = data_dir / f"munich_x{n}.json"
    if not force and path.exists() and sidecar.exists():
        meta: dict[str, Any] = json.loads(sidecar.read_text())
        if meta.get("bytes") == path.stat().st_size:
            return meta | {"cached": True}
    seconds = generate(n, path)
    meta = validate(path, n) | {"generate_s": round(seconds, 2)}
    sidecar.write_text(json.dumps(meta, indent=2) + "\n")
    return meta | {"cached": False}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int, nargs="*", help="tiles per side (copies = N*N)")
    ap.add_argument("--data-dir", type=Path, default=DATA)
    ap.add_argument("--force", action="store_true", help="regenerate even when cached")
    ap.add_argument("--check", action="store_true", help="compare with the pyosmium reference")
    args = ap.parse_args(argv)
    if args.check:
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            check(Path(tmp))
        print(f"tile_pbf: matches the pyosmium reference ({time.perf_counter() - t0:.1f} s)")
    for n in args.n:
        meta = tiled(n, args.data_dir, args.force)
        how = "cached" if meta["cached"] else f"generated in {meta['generate_s']} s"
        print(
            f"{meta['file']}: {meta['copies']} copies, {meta['bytes'] / 1e6:.1f} MB, "
            f"{meta['nodes']:,} nodes, {meta['cameras_expected']:,} cameras expected ({how})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
