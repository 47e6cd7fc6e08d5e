"""camdensity's own PBF block scan (mapper.sources.pbf_scan): the same cameras as DuckDB
spatial's ST_ReadOSM on every shipped extract, its numpy loops equal to its C loops, and the
PBF variants libosmium writes (plain nodes, uncompressed blocks, lz4, unsorted files)."""

from __future__ import annotations

import os
import random
import shutil
import time
from pathlib import Path
from typing import Any

import osmium
import pytest

from mapper import _native
from mapper.errors import InputError
from mapper.sources import Extract, pbf, pbf_scan
from tests.conftest import HELSINKI, LONDON, MONACO, MUNICH

PBFS = [MUNICH, HELSINKI, LONDON, MONACO]


def _cameras(ex: Extract) -> list[tuple[Any, ...]]:
    # ST_ReadOSM scales coordinates by multiplying by 1e-9, the scan divides by 1e9: the two
    # can differ in the last bit, so compare to 1e-9 degrees (0.1 mm)
    return sorted(
        (e.osm_type, e.osm_id, round(e.lat, 9), round(e.lon, 9), sorted(e.tags.items()),
         e.speed_camera)
        for e in ex.elements
    )  # fmt: skip


def _read(path: Path, reader: str = "scan", speed: bool = False) -> Extract:
    return pbf.read(str(path), "-", include_speed=speed, progress=False, reader=reader)


def test_the_c_loops_are_built() -> None:
    """`make setup` builds them (hatch_build.py) when the machine has a C compiler; without one
    the numpy loops do the work (and every test below runs them)."""
    if shutil.which(os.environ.get("CC", "cc")) is None:
        pytest.skip("no C compiler here: the scan runs its numpy loops")
    assert _native.LIB is not None, f"no usable {_native.LIBRARY}: run `make setup` again"


@pytest.mark.parametrize("speed", [False, True], ids=["cameras", "and-speed-cameras"])
@pytest.mark.parametrize("path", PBFS, ids=lambda p: p.stem)
def test_scan_finds_what_st_readosm_finds(path: Path, speed: bool) -> None:
    scan, duck = _read(path, "scan", speed), _read(path, "st_readosm", speed)
    assert scan.elements and _cameras(scan) == _cameras(duck)
    assert scan.skipped_ways == duck.skipped_ways and scan.rejected == duck.rejected
    assert (scan.snapshot, scan.bbox) == (duck.snapshot, duck.bbox)


@pytest.mark.parametrize("path", PBFS, ids=lambda p: p.stem)
def test_numpy_loops_equal_the_c_loops(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with_c = _read(path, speed=True)
    monkeypatch.setattr(pbf_scan, "LIB", None)
    assert _cameras(_read(path, speed=True)) == _cameras(with_c)


def test_packed_numbers_decode_alike_in_c_and_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(8)
    values = [rng.choice([0, 1, -1, 2**31, -(2**40), 2**62, -(2**63), rng.randint(-999, 999)])
              for _ in range(5000)]  # fmt: skip
    # deltas as a writer computes them in int64 (wrapping); the running sum wraps back
    deltas = [(b - a + 2**63) % 2**64 - 2**63 for a, b in zip([0, *values], values, strict=False)]
    zigzag = [((d << 1) ^ (d >> 63)) & (2**64 - 1) for d in deltas]
    buf = b"xx" + b"".join(pbf_scan.encode(z) for z in zigzag) + b"yy"
    span = (2, len(buf) - 2)
    runs = {}
    for lib in (_native.LIB, None):
        monkeypatch.setattr(pbf_scan, "LIB", lib)
        runs[lib is None] = (
            pbf_scan.deltas(buf, span).tolist(),
            pbf_scan.uvarints(buf, *span).tolist(),
            pbf_scan.spans(b"\x0a\x02ab\x0a\x00\x0a\x01c", 0, 9, 0x0A),
        )
        assert runs[lib is None][0] == values
        assert runs[lib is None][1] == zigzag
        for bad in (b"\x80", b"\xff" * 11 + b"\x01"):  # runs past its field; longer than 10
            with pytest.raises(pbf_scan.Corrupt):
                pbf_scan.deltas(buf[:2] + bad, (2, 2 + len(bad)))
        with pytest.raises(pbf_scan.Corrupt):
            pbf_scan.spans(b"\x0a\x05ab", 0, 4, 0x0A)  # a string runs past its table
    assert runs[True] == runs[False]
    assert runs[True][2] == ([2, 6, 8], [2, 0, 1])


def _rewrite(src: Path, out: Path, options: str) -> Path:
    with osmium.SimpleWriter(osmium.io.File(str(out), options)) as w:
        for o in osmium.FileProcessor(str(src)):
            w.add(o)
    return out


@pytest.mark.parametrize(
    "options", ["pbf,pbf_dense_nodes=false", "pbf,pbf_compression=none", "pbf,add_metadata=false"]
)
def test_pbf_variants_libosmium_writes(options: str, tmp_path: Path) -> None:
    """Plain (not dense) nodes, uncompressed blocks, no metadata: London's 22 camera nodes and
    its camera way, placed at the same centroid."""
    out = _rewrite(LONDON, tmp_path / "london.osm.pbf", options)
    assert _cameras(_read(out)) == _cameras(_read(LONDON))


def test_lz4_blocks_are_refused_with_a_way_out(tmp_path: Path) -> None:
    out = _rewrite(LONDON, tmp_path / "london.osm.pbf", "pbf,pbf_compression=lz4")
    with pytest.raises(InputError, match="lz4 block compression is not supported.*osmium cat"):
        _read(out)


def test_camera_ways_in_an_unsorted_file_with_many_tags(tmp_path: Path) -> None:
    """A file written out of id order (no Sort.Type_then_ID in its header): pass two reads
    every node block. A camera way with 200 other tags before man_made is still found."""
    mut = osmium.osm.mutable
    out = tmp_path / "ways.osm.pbf"
    many = {f"note:{i:03d}": "x" * 20 for i in range(200)}
    with osmium.SimpleWriter(str(out)) as w:
        for i in range(1, 9):
            w.add_node(mut.Node(id=100 - i, location=(10 + i / 1000, 50.0), tags={}))
        w.add_node(mut.Node(id=5, location=(10.5, 50.5), tags={"man_made": "surveillance"}))
        w.add_way(mut.Way(id=7, nodes=[99, 98, 97, 96, 99],
                          tags={**many, "man_made": "surveillance"}))  # fmt: skip
        w.add_way(mut.Way(id=8, nodes=[95, 94], tags={"building": "yes"}))
        w.add_way(mut.Way(id=9, nodes=[93, 1234], tags={"man_made": " surveillance "}))
    ex = _read(out)
    found = {(e.osm_type, e.osm_id): (round(e.lat, 7), round(e.lon, 7)) for e in ex.elements}
    # the closed way's distinct nodes 99, 98, 97, 96: lon 10.001 ... 10.004
    assert found == {("node", 5): (50.5, 10.5), ("way", 7): (50.0, 10.0025)}
    assert ex.skipped_ways == [9]  # node 1234 is not in the file
    assert _cameras(ex) == _cameras(_read(out, "st_readosm"))


def test_a_file_cut_inside_a_block_is_an_input_error(tmp_path: Path) -> None:
    data = MUNICH.read_bytes()
    cut = tmp_path / "cut.osm.pbf"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated or corrupt PBF"):
        _read(cut)


@pytest.mark.parametrize("path", PBFS, ids=lambda p: p.stem)
def test_extent_drawn_by_hand_equals_shapely(path: Path) -> None:
    """`ingest` writes an extract's extent without shapely: the same WKB, the same km²."""
    import shapely

    from mapper import areas, extent

    bbox = _read(path).bbox
    assert bbox is not None and extent.simple(bbox)
    spec = areas.extent_spec(str(path), bbox, 1, {f"{path.name[:-8]} (extent)"})
    row = extent.row(str(path), bbox, 1, {f"{path.name[:-8]} (extent)"})
    assert row["geometry"] == shapely.to_wkb(spec.geometry)
    assert row["geodesic_km2"] == spec.geodesic_km2 > 0
    assert row["name"] == spec.name == f"{path.name[:-8]} (extent 2)"
    assert not extent.simple((-180.0, -90.0, 180.0, 90.0))  # world-wide: measured in strips
    assert not extent.simple((7.0, 43.0, 7.0, 44.0))  # no width


@pytest.mark.parametrize("c_loops", [True, False], ids=["atomic-counter", "locked-counter"])
def test_forked_scan_equals_one_process(monkeypatch: pytest.MonkeyPatch, c_loops: bool) -> None:
    """Blocks shared by three processes (the parent and two forked children, each taking the
    next block from a shared counter: an atomic add in C, a record lock without the library)
    give what one process gives, in the same order."""
    if c_loops and _native.LIB is None:
        pytest.skip("the C loops are not built here")
    if not c_loops:
        monkeypatch.setattr(pbf_scan, "LIB", None)
    monkeypatch.setattr(pbf_scan, "workers", lambda size: 3)
    forked = _read(MUNICH, speed=True)
    monkeypatch.setattr(pbf_scan, "workers", lambda size: 1)
    one = _read(MUNICH, speed=True)
    assert [(e.osm_id, e.lat, e.lon) for e in forked.elements] == [
        (e.osm_id, e.lat, e.lon) for e in one.elements
    ]
    assert _cameras(forked) == _cameras(one)
    # cameras tagged alike share one dict: one per distinct set in each scanning process
    distinct = len({tuple(e.tags.items()) for e in one.elements})
    assert len({id(e.tags) for e in one.elements}) == distinct < len(one.elements)
    assert distinct <= len({id(e.tags) for e in forked.elements}) <= 3 * distinct


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_until_all_taken(job: Any) -> None:
    """Until the started children have taken every block (this process then takes none)."""
    deadline = time.monotonic() + 60
    while job.counter.peek() < len(job.blocks):
        assert time.monotonic() < deadline, "the children took no blocks"
        time.sleep(0.005)


def test_a_damaged_block_read_by_a_child_is_an_input_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pbf_scan, "workers", lambda size: 2)
    data = bytearray(MUNICH.read_bytes())
    data[-100] ^= 0xFF  # inside the zlib stream of the last block
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(bytes(data))
    assert pbf_scan.start(str(bad), include_speed=False)
    _wait_until_all_taken(pbf_scan._started[str(bad)])  # so a child reads the damaged block
    with pytest.raises(InputError, match="truncated or corrupt PBF .*inflate"):
        _read(bad)
    assert not pbf_scan._started


def test_a_started_pass_is_collected_unless_the_file_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`start` (the CLI calls it before importing DuckDB) scans in forked children at once;
    `scan` of the same file collects their work. A file replaced in between, or another
    include_speed, is read anew, and the stale children are stopped."""
    monkeypatch.setattr(pbf_scan, "workers", lambda size: 2)
    one = _read(MUNICH, speed=True)
    path = tmp_path / "x.osm.pbf"
    shutil.copyfile(MUNICH, path)
    assert pbf_scan.start(str(path), include_speed=True)
    job = pbf_scan._started[str(path)]
    _wait_until_all_taken(job)
    assert _cameras(_read(path, speed=True)) == _cameras(one)
    assert job.children == [] and not pbf_scan._started  # collected, children reaped

    assert pbf_scan.start(str(path), include_speed=True)
    stale = [pid for pid, _ in pbf_scan._started[str(path)].children]
    shutil.copyfile(HELSINKI, tmp_path / "new.osm.pbf")
    os.replace(tmp_path / "new.osm.pbf", path)
    assert _cameras(_read(path, speed=True)) == _cameras(_read(HELSINKI, speed=True))
    assert stale and not any(_alive(pid) for pid in stale)

    assert pbf_scan.start(str(path), include_speed=False)
    assert _cameras(_read(path, speed=True)) == _cameras(_read(HELSINKI, speed=True))


def test_a_pass_never_collected_is_stopped_at_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    """`ingest` of a file already in the store never collects the pass it started: the exit
    handler stops its children."""
    monkeypatch.setattr(pbf_scan, "workers", lambda size: 2)
    assert pbf_scan.start(str(MUNICH), include_speed=False)
    pids = [pid for pid, _ in pbf_scan._started[str(MUNICH)].children]
    assert len(pids) == 2 and all(_alive(pid) for pid in pids)
    pbf_scan._stop_started()  # what atexit runs
    assert not pbf_scan._started and not any(_alive(pid) for pid in pids)
    monkeypatch.setattr(pbf_scan, "workers", lambda size: 1)
    assert not pbf_scan.start(str(MUNICH), include_speed=False)  # one process: nothing early


def test_libdeflate_and_zlib_ng_inflate_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks with a raw_size go through libdeflate, others through zlib-ng: the same bytes,
    and a damaged stream is refused by both."""
    assert pbf_scan._libdeflate is not None, "the deflate package is a dependency"
    fd = os.open(MUNICH, os.O_RDONLY)
    try:
        blocks = list(pbf_scan.blobs(fd, os.fstat(fd).st_size))
        fast = [pbf_scan.inflate(fd, b) for b in blocks]
        monkeypatch.setattr(pbf_scan, "_libdeflate", None)
        assert [pbf_scan.inflate(fd, b) for b in blocks] == fast
        assert all(type(x) is bytes for x in fast) and len(fast) > 5
    finally:
        os.close(fd)
    monkeypatch.undo()
    data = bytearray(MUNICH.read_bytes())
    data[-100] ^= 0xFF
    fd = os.memfd_create("damaged")
    try:
        os.write(fd, bytes(data))
        last = list(pbf_scan.blobs(fd, len(data)))[-1]
        with pytest.raises(pbf_scan.Corrupt, match="does not inflate"):
            pbf_scan.inflate(fd, last)
        monkeypatch.setattr(pbf_scan, "_libdeflate", None)
        with pytest.raises(pbf_scan.Corrupt, match="does not inflate"):
            pbf_scan.inflate(fd, last)
    finally:
        os.close(fd)
