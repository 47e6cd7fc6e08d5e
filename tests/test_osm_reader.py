"""The one OSM reader (mapper.sources.osm, on libosmium): the cameras of every shipped file,
held against an independent pyosmium read; every format libosmium reads; history files."""

from __future__ import annotations

import bz2
import gzip
import zlib
from datetime import datetime
from pathlib import Path

import osmium
import pytest

from mapper.errors import InputError
from mapper.progress import _offset
from mapper.sources import Element, Extract, _blocks, _guard, read_file
from mapper.sources import osm as reader
from tests.conftest import HELSINKI, LONDON, MONACO, MUNICH, OSM, ROOT, SAMPLES, halves, invoke
from tests.robustness.pbfcodec import blobs
from tests.robustness.sparse import CAMERAS as SPARSE_CAMERAS
from tests.robustness.sparse import sparse_pbf

PBFS = sorted(OSM.glob("*.osm.pbf"))
FAROE = SAMPLES / "history" / "faroe-islands_2017.osh.pbf"
MONACO_2020 = OSM / "monaco_2020-07-19.osm.pbf"
MONACO_2012 = OSM / "monaco_2012-07.osm.pbf"
#: Nodes added between the 2020 and the 2023 Monaco extracts (data/samples/README.md).
ADDED_2023 = {11148498422, 11148498511, 11148498580, 11148541481}

Camera = tuple[str, int, float, float, tuple[tuple[str, str], ...], bool]


def _independent(path: Path, include_speed: bool) -> tuple[set[Camera], set[int]]:
    """Cameras by a plain pyosmium read of the whole file with every node location: nodes
    where they stand, ways at the mean of their distinct nodes; ways with a node missing."""
    out: set[Camera] = set()
    skipped: set[int] = set()
    for o in osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations():
        tags = {t.k: t.v for t in o.tags}
        camera = tags.get("man_made", "").strip() == "surveillance"
        if o.is_node():
            speed = include_speed and tags.get("highway", "").strip() == "speed_camera"
            if camera or speed:
                loc = (o.location.lat, o.location.lon)
                out.add(("node", o.id, *loc, tuple(sorted(tags.items())), speed and not camera))
        elif camera:
            seen: dict[int, tuple[float, float]] = {}
            try:
                for n in o.nodes:
                    seen[n.ref] = (n.location.lat, n.location.lon)
            except osmium.InvalidLocationError:
                skipped.add(o.id)
                continue
            if not all(n.location.valid() for n in o.nodes):
                skipped.add(o.id)
                continue
            lat = sum(p[0] for p in seen.values()) / len(seen)
            lon = sum(p[1] for p in seen.values()) / len(seen)
            out.add(("way", o.id, lat, lon, tuple(sorted(tags.items())), False))
    return out, skipped


def _cameras(elements: list[Element]) -> set[Camera]:
    return {
        (e.osm_type, e.osm_id, e.lat, e.lon, tuple(sorted(e.tags.items())), e.speed_camera)
        for e in elements
    }


@pytest.mark.parametrize(
    "include_speed", [False, pytest.param(True, marks=pytest.mark.slow)]
)  # with speed cameras: the slow tier (and test_the_prefilter_changes_no_camera, below)
@pytest.mark.parametrize("path", halves(PBFS, lambda p: p.name))  # every one: slow tier
def test_every_shipped_pbf_gives_the_cameras_of_an_independent_read(
    path: Path, include_speed: bool
) -> None:
    ex = read_file(str(path), include_speed=include_speed)
    expected, skipped = _independent(path, include_speed)
    assert _cameras(ex.elements) == expected  # id for id, coordinate for coordinate
    assert set(ex.skipped_ways) == skipped
    assert len(ex.elements) == len(expected)  # each element once


def test_known_counts_of_the_samples() -> None:
    """The counts data/samples/README.md gives (London: 22 nodes and one way)."""
    counts = {p.name: len(read_file(str(p)).elements) for p in PBFS}
    assert counts["munich_altstadt_2020-07-20.osm.pbf"] == 209
    assert counts["helsinki_kamppi_kluuvi_2019.osm.pbf"] == 221
    assert counts["london_city_holborn_2020-07-20.osm.pbf"] == 23
    assert counts["monaco_2023-12-26.osm.pbf"] == 14
    assert counts["monaco_2020-07-19.osm.pbf"] == 10
    assert counts["monaco_2012-07.osm.pbf"] == 0
    assert counts["liechtenstein_2015-07-27.osm.pbf"] == 0
    london = read_file(str(LONDON)).elements
    assert sum(e.osm_type == "way" for e in london) == 1


def test_header_box_and_dates() -> None:
    munich = read_file(str(MUNICH))
    assert munich.snapshot == datetime(2020, 7, 20, 12, 44, 3)
    assert munich.snapshot_kind == "header"
    assert munich.bbox == pytest.approx((11.5656571, 48.1314385, 11.5861277, 48.143394), abs=1e-9)
    # no replication timestamp in the header: the newest element dates the extract
    helsinki = read_file(str(HELSINKI))
    assert helsinki.snapshot == datetime(2019, 4, 21, 9, 50, 14)
    assert helsinki.snapshot_kind == "newest-element"
    old = read_file(str(MONACO_2012))
    assert old.snapshot == datetime(2012, 7, 6, 12, 59, 39) and old.bbox is None


def _write(src: Path, out: Path) -> None:
    """``src`` rewritten by libosmium's own writer, in the format ``out``'s name says."""
    with osmium.SimpleWriter(str(out)) as w:
        for o in osmium.FileProcessor(str(src)):
            if o.is_node():
                w.add_node(o)
            elif o.is_way():
                w.add_way(o)
            elif o.is_relation():
                w.add_relation(o)


@pytest.mark.parametrize(
    "suffix", [".osm", ".osm.gz", pytest.param(".osm.bz2", marks=pytest.mark.slow)]
)  # bzip2 in the quick tier: test_hostile's and test_reader_fuzz's bz2 files
def test_osm_xml_plain_and_compressed_give_the_same_cameras(tmp_path: Path, suffix: str) -> None:
    # the name does not decide the format: the content does
    written = tmp_path / f"london{suffix}"
    _write(LONDON, written)
    renamed = tmp_path / "london.data"
    renamed.write_bytes(written.read_bytes())
    if suffix == ".osm.gz":
        assert gzip.decompress(renamed.read_bytes()).lstrip().startswith(b"<?xml")
    if suffix == ".osm.bz2":
        assert bz2.decompress(renamed.read_bytes()).lstrip().startswith(b"<?xml")
    ex = read_file(str(renamed))
    assert ex.format == reader.XML
    assert _cameras(ex.elements) == _cameras(read_file(str(LONDON)).elements)
    assert ex.snapshot is not None  # the XML writer keeps element timestamps


def test_compressed_file_that_is_not_osm_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "notes.gz"
    p.write_bytes(gzip.compress(b"hello, this is not OSM data\n" * 10))
    r = invoke("ingest", "--db", str(tmp_path / "s.duckdb"), str(p))
    assert r.exit_code == 1
    assert r.stderr.startswith(f"Error: {p}: not an OSM file"), r.stderr
    assert not (tmp_path / "s.duckdb").exists()


def _history_of_monaco(out: Path, *, delete: int | None = None) -> None:
    """A full-history file from the 2020 and 2023 extracts: each element's 2020 state as
    version 1 where it existed then, its 2023 state as the next version where it differs; a
    camera ``delete``d after 2023 (a version with visible=false)."""

    def load(path: Path) -> dict[tuple[str, int], osmium.osm.mutable.Node]:
        found = {}
        for o in osmium.FileProcessor(str(path), osmium.osm.NODE):
            found[("n", o.id)] = osmium.osm.mutable.Node(
                id=o.id, location=(o.location.lon, o.location.lat),
                tags={t.k: t.v for t in o.tags}, timestamp=o.timestamp,
            )  # fmt: skip
        return found

    old, new = load(MONACO_2020), load(MONACO)
    with osmium.SimpleWriter(str(out)) as w:
        for key in sorted(old.keys() | new.keys(), key=lambda k: k[1]):
            versions = [n for n in (old.get(key), new.get(key)) if n is not None]
            if len(versions) == 2 and dict(versions[0].tags) == dict(versions[1].tags):
                versions = versions[:1]
            for v, n in enumerate(versions, 1):
                n.version, n.visible = v, True
                w.add_node(n)
            if key[1] == delete:
                gone = osmium.osm.mutable.Node(
                    id=key[1], version=len(versions) + 1, visible=False, tags={},
                    timestamp=datetime(2024, 1, 5), location=osmium.osm.Location(),
                )  # fmt: skip
                w.add_node(gone)


def test_a_history_file_gives_each_camera_as_its_newest_visible_version_and_keeps_all(
    tmp_path: Path,
) -> None:
    deleted = min(ADDED_2023)
    path = tmp_path / "monaco.osh.pbf"
    _history_of_monaco(path, delete=deleted)
    ex = read_file(str(path))
    assert ex.format == reader.HISTORY
    expected = _cameras(read_file(str(MONACO)).elements)
    assert {c[1] for c in expected} - {c[1] for c in _cameras(ex.elements)} == {deleted}
    assert _cameras(ex.elements) == {c for c in expected if c[1] != deleted}
    # every version is kept (mapper/history.py stores them): the deleted camera's two
    assert [(v.version, v.visible, v.matches) for v in ex.versions if v.osm_id == deleted] == [
        (1, True, True),
        (2, False, False),
    ]
    assert not ex.warnings
    # through the CLI: no warning, the cameras stored
    db = tmp_path / "s.duckdb"
    r = invoke("ingest", "--db", str(db), str(path))
    assert r.exit_code == 0, r.stderr
    assert "13 cameras (osm-history" in r.stdout
    assert "Warning:" not in r.stderr


def test_faroe_history_file_is_read_without_cameras() -> None:
    """A real full-history file: every version of every element, no cameras."""
    ex = read_file(str(FAROE))
    assert ex.format == reader.HISTORY and ex.elements == []
    assert ex.bbox == pytest.approx((-8.0, 61.3, -6.0, 63.0))
    assert ex.snapshot == datetime(2017, 2, 18, 15, 37, 58)


def test_location_index_suits_the_file_size() -> None:
    with reader.location_storage(10 * 2**20) as small:
        assert small == "flex_mem"
    with reader.location_storage(reader.MEMORY_INDEX_MAX_BYTES + 1) as large:
        kind, path = large.split(",", 1)
        assert kind == "sparse_file_array" and Path(path).parent.is_dir()
    assert not Path(path).parent.exists()  # the temporary folder is gone after the read


def test_a_coordinate_libosmium_cannot_parse_is_one_clear_error(tmp_path: Path) -> None:
    p = tmp_path / "bad.osm"
    p.write_text(
        "<?xml version='1.0'?><osm version='0.6'>"
        "<node id='1' lat='north' lon='7'><tag k='man_made' v='surveillance'/></node></osm>"
    )
    with pytest.raises(InputError, match="truncated or corrupt OSM file"):
        read_file(str(p))


# ------------------------------------------------------------------ the block pre-filter
#: The tiled bench files small enough for the suite, where they have been made.
TILES = sorted(p for p in (ROOT / "bench" / "data").glob("*.osm.pbf") if p.stat().st_size < 20e6)


def _everything(ex: Extract) -> tuple[object, ...]:
    """All that a camera read gives, every field of every element."""
    elements = sorted(
        (e.osm_type, e.osm_id, e.lat, e.lon, sorted(e.tags.items()), e.speed_camera,
         e.version, e.timestamp)
        for e in ex.elements
    )  # fmt: skip
    return (elements, sorted(ex.skipped_ways), ex.rejected, ex.bbox, ex.extent, ex.snapshot,
            ex.snapshot_kind, ex.format)  # fmt: skip


@pytest.fixture(scope="module")
def sparse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("sparse") / "sparse.osm.pbf"
    p.write_bytes(sparse_pbf())
    return p


@pytest.mark.parametrize(
    "include_speed", [False, pytest.param(True, marks=pytest.mark.slow)]
)  # fmt: skip  (with speed cameras: the slow tier)
@pytest.mark.parametrize("name", halves([p.name for p in PBFS + TILES] + ["sparse"]))
def test_the_prefilter_changes_no_camera(
    name: str, include_speed: bool, sparse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same cameras, every field, without the pre-filter, with it as it decides, and
    with it forced on every block (``MOSTLY``: never hand the file itself to libosmium)."""
    path = sparse if name == "sparse" else next(p for p in PBFS + TILES if p.name == name)

    def read(prefilter: bool) -> tuple[object, ...]:
        ex = reader.read_cameras(
            str(path), "", include_speed=include_speed, progress=False, prefilter=prefilter
        )
        return _everything(ex)

    without = read(False)
    assert read(True) == without
    monkeypatch.setattr(_blocks, "MOSTLY", 1.0)
    assert read(True) == without


def test_the_sparse_file_is_read_through_the_prefilter(sparse: Path) -> None:
    """The file the pre-filter tests and the fuzz corpus use: its cameras, from blocks in
    memory (the first blocks hold none), the same as an independent read."""
    osm = reader.open_osm(str(sparse))
    assert [type(s) for s in _blocks.sources(str(sparse), False, osm.file)] == [
        osmium.io.FileBuffer
    ]
    ex = read_file(str(sparse))
    assert len(ex.elements) == SPARSE_CAMERAS
    assert _cameras(ex.elements) == _independent(sparse, False)[0]


@pytest.mark.parametrize(
    ("name", "given"),
    [("munich_altstadt_2020-07-20.osm.pbf", "the file"),  # 5 of 7 blocks keep
     ("liechtenstein_2015-07-27.osm.pbf", "blocks"),  # 1 of 20
     ("monaco_2012-07.osm.pbf", "nothing")],  # none: no camera
)  # fmt: skip
def test_the_first_blocks_decide_what_libosmium_reads(name: str, given: str) -> None:
    osm = reader.open_osm(str(OSM / name))
    got = list(_blocks.sources(osm.path, False, osm.file))
    if given == "the file":
        assert got == [osm.file]
    elif given == "blocks":
        assert len(got) == 1 and isinstance(got[0], osmium.io.FileBuffer)
    else:
        assert got == []


def test_a_skipped_block_is_inflated_only_to_its_string_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On the rural sample (19 of 20 blocks skipped), the pre-filter inflates under a tenth
    of what the blocks hold, and never asks zlib for more than a block may hold."""
    asked: list[int] = []
    given = 0
    real = zlib.decompressobj

    class Spy:
        def __init__(self) -> None:
            self._d = real()

        def decompress(self, data: bytes, max_length: int = 0) -> bytes:
            nonlocal given
            asked.append(max_length)
            out = self._d.decompress(data, max_length)
            given += len(out)
            return out

        def __getattr__(self, name: str) -> object:
            return getattr(self._d, name)

    monkeypatch.setattr(_blocks.zlib, "decompressobj", Spy)
    path = OSM / "liechtenstein_2015-07-27.osm.pbf"
    declared = sum(len(b.block) for b in blobs(path.read_bytes())[1:])
    list(_blocks.sources(str(path), False, reader.open_osm(str(path)).file))
    assert asked and all(0 < n <= _guard.MAX_BLOB + 1 for n in asked)
    assert given < declared / 10, (given, declared)


def test_progress_sees_the_prefilter_read_and_nothing_stays_open(sparse: Path) -> None:
    """The bar's position comes from the pre-filter's own descriptor on the file
    (mapper.progress reads it from /proc); closed when the read stops early."""
    gen = _blocks.sources(str(sparse), False, reader.open_osm(str(sparse)).file)
    assert _offset(str(sparse)) is None
    next(gen)  # one batch: the whole file has been read
    assert _offset(str(sparse)) == sparse.stat().st_size
    gen.close()
    assert _offset(str(sparse)) is None


def test_a_history_file_and_an_undated_file_are_not_prefiltered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """History files and files without a header date read every block (their dates come
    from the elements): the pre-filter is never asked."""

    def refuse(*args: object) -> None:
        raise AssertionError("the pre-filter was used")

    monkeypatch.setattr(_blocks, "sources", refuse)
    path = tmp_path / "monaco.osh.pbf"
    _history_of_monaco(path)
    assert read_file(str(path)).elements
    assert read_file(str(HELSINKI)).snapshot_kind == "newest-element"
