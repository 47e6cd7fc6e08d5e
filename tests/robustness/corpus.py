"""Malformed inputs made from the shipped real files, one builder per format.

Each builder writes its files into a folder and returns :class:`Case` objects that say what
the CLI must do with each: fail with exactly one ``Error:`` line (``expect="error"``, with a
fragment of the message), or, where the damage still leaves valid data, succeed
(``expect="ok"``) with a known number of cameras stored and of elements rejected (counted in
one ``Warning:`` line).
"""

from __future__ import annotations

import bz2
import gzip
import json
import math
import random
import tomllib
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import BOUNDARIES, MUNICH, ROOT, SWITZERLAND
from tests.robustness import bombs, sparse
from tests.robustness.bombs import CORRUPT, NOT_OSM
from tests.robustness.pbfcodec import (
    Blob,
    blobs,
    field,
    fields,
    make_blob,
    message,
    packed,
    unpacked,
    varint,
    zz,
)

#: More than any recursion limit: json and tomllib must refuse it, not crash.
DEEP = 100_000
#: A "huge string": far more than any OSM tag (255 characters) or name.
HUGE = 10 * 2**20


@dataclass
class Case:
    name: str
    path: Path
    expect: str  # "error" or "ok"
    fragment: str = ""  # part of the Error line ("error")
    cameras: int | None = None  # cameras stored from this input ("ok", ingest)
    rejected: int = 0  # elements rejected with a counted warning ("ok", ingest)
    warning: str = ""  # part of a Warning line ("ok")
    known: str = ""  # a known defect of the reader: this case fails until it is fixed
    #: A hostile file of bombs.py or sparse.py, which test_hostile.py and test_prefilter.py
    #: also run (one fresh process each, with time and memory bounds)
    hostile: bool = False
    #: The bytes of a hostile file, written at ``path`` by :meth:`ensure` (building a bomb
    #: takes time, and only the slow tier reads them here).
    content: Callable[[], bytes] | None = None

    def ensure(self) -> Path:
        """The case's file, written now when it was left for later."""
        if self.content is not None and not self.path.exists():
            self.path.write_bytes(self.content())
        return self.path


class _Corpus:
    def __init__(self, folder: Path, suffix: str) -> None:
        self.folder, self.suffix = folder, suffix
        self.cases: list[Case] = []
        folder.mkdir(parents=True, exist_ok=True)

    def _put(self, name: str, content: bytes | str) -> Path:
        p = self.folder / f"{name}{self.suffix}"
        p.write_bytes(content.encode() if isinstance(content, str) else content)
        return p

    def hostile(self, h: bombs.Hostile) -> None:
        """A file of :mod:`tests.robustness.bombs`, under its own name and suffix."""
        p = self.folder / h.name
        name = h.name.split(".")[0]
        if h.cameras is None:
            self.cases.append(Case(name, p, "error", h.fragment, hostile=True, content=h.content))
        else:
            self.cases.append(Case(name, p, "ok", "", h.cameras, hostile=True, content=h.content))

    def err(
        self, name: str, content: bytes | str, fragment: str = "", hostile: bool = False
    ) -> None:
        self.cases.append(Case(name, self._put(name, content), "error", fragment, hostile=hostile))

    def ok(
        self, name: str, content: bytes | str, cameras: int | None = None, rejected: int = 0,
        warning: str = "", known: str = "",
    ) -> None:  # fmt: skip
        self.cases.append(
            Case(name, self._put(name, content), "ok", "", cameras, rejected, warning, known)
        )


def _flip(data: bytes, positions: list[int]) -> bytes:
    b = bytearray(data)
    for i in positions:
        b[i] ^= 0xFF
    return bytes(b)


def _dumps(obj: Any) -> str:
    """JSON as Python writes it: NaN and Infinity become the bare (non-standard) literals."""
    return json.dumps(obj, ensure_ascii=False)


# ------------------------------------------------------------------------------------ PBF
def _replace(msg: bytes, **new: bytes | int) -> bytes:
    """``msg`` with the fields named ``f<number>`` replaced (or appended)."""
    parts = []
    for number, wire, value in fields(msg):
        parts.append((number, wire, new.pop(f"f{number}", value)))
    parts += [(int(k[1:]), 2 if isinstance(v, bytes) else 0, v) for k, v in new.items()]
    return message(parts)


def _group(block: bytes) -> bytes:
    """The first PrimitiveGroup of a block."""
    for number, _, value in fields(block):
        if number == 2 and isinstance(value, bytes):
            return value
    raise ValueError("no primitive group")


def _first_of(group: bytes, number: int) -> bytes:
    for n, _, value in fields(group):
        if n == number and isinstance(value, bytes):
            return value
    raise ValueError(f"no field {number} in the group")


def tiny_pbf(
    nodes: list[tuple[int, float, float, dict[str, str]]],
    ways: list[tuple[int, list[int], dict[str, str]]] | None = None,
    *, bbox: tuple[float, float, float, float] | None = None, stamp: int = 1595249043,
) -> bytes:  # fmt: skip
    """A PBF (header, a dense-node block, a way block) holding exactly the given objects.

    Coordinates are written as given, even outside the valid range: real writers refuse to,
    but a corrupt or hostile file may hold them. The header box (min lon, min lat, max lon,
    max lat) is ``bbox``, else that of the nodes, clamped to the globe.
    """
    strings: list[bytes] = [b""]
    index: dict[bytes, int] = {b"": 0}

    def s(text: str) -> int:
        b = text.encode()
        if b not in index:
            index[b] = len(strings)
            strings.append(b)
        return index[b]

    def delta(vs: list[int]) -> list[int]:
        return [v - (vs[j - 1] if j else 0) for j, v in enumerate(vs)]

    kv: list[int] = []
    for *_, tags in nodes:
        for k, v in tags.items():
            kv += [s(k), s(v)]
        kv.append(0)
    dense = (
        field(1, packed(delta([n[0] for n in nodes])))
        + field(8, packed(delta([round(n[1] * 1e7) for n in nodes])))
        + field(9, packed(delta([round(n[2] * 1e7) for n in nodes])))
        + field(10, packed(kv, signed=False))
    )
    way_msgs = b""
    for wid, refs, tags in ways or []:
        keys, vals = [s(k) for k in tags], [s(v) for v in tags.values()]
        way = (field(1, wid) + field(2, packed(keys, False)) + field(3, packed(vals, False))
               + field(8, packed(delta(refs))))  # fmt: skip
        way_msgs += field(3, way)
    table = field(1, b"".join(field(1, x) for x in strings))
    lats = [min(90.0, max(-90.0, n[1])) for n in nodes]
    lons = [min(180.0, max(-180.0, n[2])) for n in nodes]
    box = bbox or (min(lons), min(lats), max(lons), max(lats))
    box_msg = b"".join(field(i, zz(round(v * 1e9))) for i, v in
                       ((1, box[0]), (2, box[2]), (3, box[3]), (4, box[1])))  # fmt: skip
    header = (field(1, box_msg) + field(4, b"OsmSchema-V0.6") + field(4, b"DenseNodes")
              + field(16, b"camdensity tests") + field(32, stamp))  # fmt: skip
    out = make_blob("OSMHeader", header) + make_blob("OSMData", table + field(2, field(2, dense)))
    if way_msgs:
        out += make_blob("OSMData", table + field(2, way_msgs))
    return out


def munich_cameras() -> list[tuple[int, float, float, dict[str, str]]]:
    """The camera nodes of the Munich extract (id, lat, lon, tags)."""
    import osmium

    fp = osmium.FileProcessor(str(MUNICH), osmium.osm.NODE)
    return [
        (n.id, n.location.lat, n.location.lon, {t.k: t.v for t in n.tags})
        for n in fp.with_filter(osmium.filter.TagFilter(("man_made", "surveillance")))
    ]


def pbf_corpus(folder: Path) -> list[Case]:
    """``camdensity ingest FILE``: damaged copies of the Munich extract."""
    c = _Corpus(folder, ".osm.pbf")
    data = MUNICH.read_bytes()
    bs = blobs(data)
    header, first = bs[0], bs[1]
    after_first = data[first.offset + len(first.raw) :]
    before_first = data[: first.offset]

    def with_first(raw: bytes) -> bytes:
        return before_first + raw + after_first

    # Truncated: in the first bytes, inside the header blob, at its end (a valid, empty
    # extract), inside a blob header, inside zlib streams, one byte short of the end.
    for cut in (3, 14):  # too short to be recognised as a PBF
        c.err(f"truncated-{cut}", data[:cut], NOT_OSM)
    for cut in (60, 101, 110, 5_000, 50_000, 300_000, len(data) - 1000, len(data) - 1):
        c.err(f"truncated-{cut}", data[:cut], CORRUPT)
    c.ok("header-only", data[: first.offset], cameras=0)
    c.ok("cut-at-block-boundary", data[: bs[4].offset], cameras=12)
    # Bytes flipped: a zlib stream, the blob type, the blob and header lengths, at random.
    c.err("flip-zlib", _flip(data, [first.offset + 5000, first.offset + 5001]), CORRUPT)
    c.err("flip-blob-type", data.replace(b"OSMData", b"OSMDatX", 1), CORRUPT)
    c.err("flip-datasize", with_first(make_blob("OSMData", first.block, datasize=1)), CORRUPT)
    c.err("flip-header-length", before_first + b"\xff\xff\xff\xff" + data[first.offset + 4 :],
          CORRUPT)  # fmt: skip
    rng = random.Random(9)
    for seed in range(3):
        c.err(f"flip-random-{seed}",
              _flip(data, sorted(rng.randrange(first.offset, len(data)) for _ in range(16))),
              CORRUPT)  # fmt: skip
    c.err("trailing-garbage", data + b"\x00\x00\x00\x05garbage", CORRUPT)
    # Blocks duplicated: the header twice is corrupt; a data block twice is valid OSM data
    # whose elements must still be stored once.
    c.err("duplicate-header", header.raw + data, CORRUPT)
    c.ok("duplicate-data-block", before_first + first.raw + data[first.offset :], cameras=209)
    c.ok("every-data-block-twice", data + data[first.offset :], cameras=209)
    # Blocks that lie about their sizes ("zip bombs"): a huge raw_size over a small block,
    # a small raw_size over a stream that inflates to 256 MB, both huge.
    z = zlib.compressobj(9)
    bomb = b"".join(z.compress(bytes(1 << 20)) for _ in range(256)) + z.flush()
    block = first.block
    c.err("bomb-claims-2gb", with_first(make_blob("OSMData", block, raw_size=2**31 - 1)), CORRUPT)
    c.err("bomb-claims-2pow63", with_first(make_blob("OSMData", block, raw_size=2**63 - 1)),
          CORRUPT)  # fmt: skip
    for name, claim in (
        ("bomb-inflates-256mb", len(block)),
        ("bomb-256mb-claims-256mb", 256 << 20),
    ):
        c.err(name, with_first(make_blob("OSMData", b"", raw_size=claim, compressed=bomb)), CORRUPT)
    # Structure inside a block: string-table indexes and array lengths that do not match.
    group = _group(block)
    dense = _first_of(group, 2)
    ids, lats = (unpacked(_first_of(dense, n)) for n in (1, 8))
    kv = unpacked(_first_of(dense, 10), signed=False)

    def with_dense(**new: bytes | int) -> bytes:
        dense_block = _replace(block, f2=field(2, _replace(dense, **new)))
        return with_first(make_blob("OSMData", dense_block))

    c.err("empty-string-table", with_first(make_blob("OSMData", _replace(block, f1=b""))), CORRUPT)
    c.err("dense-lats-short", with_dense(f8=packed(lats[: len(lats) // 2])), CORRUPT)
    c.err("dense-ids-long", with_dense(f1=packed(ids + [1] * 1000)), CORRUPT)
    c.err("dense-key-index-huge", with_dense(f10=packed([2**31 - 1 if x else 0 for x in kv],
                                                       signed=False)), CORRUPT)  # fmt: skip
    c.err("header-requires-unknown-feature",
          make_blob("OSMHeader", header.block + field(4, b"TimeTravel")) + data[first.offset :],
          CORRUPT)  # fmt: skip
    # Coordinates out of range: rejected per element with a counted warning.
    # libosmium keeps a location as two int32s of 1e-7 degrees and wraps what does not fit
    # (beyond +-214.7 degrees) into a valid-looking place: known defects, kept apart.
    wraps = "libosmium wraps coordinates beyond +-214.7 degrees into int32: stored misplaced"
    # A block with a huge granularity puts its 11 cameras far outside the globe.
    c.ok("granularity-huge", with_first(make_blob("OSMData", _replace(block, f17=2**31 - 1))),
         cameras=198, rejected=11, known=wraps)  # fmt: skip
    cams = munich_cameras()[:20]
    bad = [(90.0000001, 11.5), (-91.0, 11.5), (48.1, 180.5), (48.1, -200.0), (200.0, 200.0)]
    nodes = [(i, *bad[j], t) if j < len(bad) else (i, la, lo, t)
             for j, (i, la, lo, t) in enumerate(cams)]  # fmt: skip
    way_tags = {"man_made": "surveillance", "surveillance:type": "camera"}
    ways = [(1, [cams[3][0], cams[4][0], cams[3][0]], way_tags),  # on out-of-range nodes
            (2, [cams[10][0], cams[11][0]], way_tags)]  # fmt: skip
    # The way on out-of-range nodes has no place: skipped with a warning, as one whose nodes
    # are missing.
    c.ok("out-of-range-coordinates", tiny_pbf(nodes, ways), cameras=16, rejected=5,
         warning="1 camera way(s) skipped")  # fmt: skip
    beyond = [(48.1, -1000.0), (1e3, 1e3)]
    nodes = [(i, *beyond[j], t) if j < len(beyond) else (i, la, lo, t)
             for j, (i, la, lo, t) in enumerate(cams)]  # fmt: skip
    c.ok("coordinates-beyond-int32", tiny_pbf(nodes), cameras=18, rejected=2, known=wraps)
    # A header box of the whole world (a planet file's) is a valid extent of 510 million km².
    c.ok("world-header-box", tiny_pbf(cams, bbox=(-180.0, -90.0, 180.0, 90.0)), cameras=20)
    # The hostile files of issue 14 (bombs.py): bombs, sizes that lie, lzma, lz4 and zstd.
    for h in bombs.hostile_files():
        if h.name.endswith(".pbf"):
            c.hostile(h)
    return c.cases


def _zlib_at(raw: bytes) -> int:
    """Where the zlib data of a fileblock starts in it."""
    pos = 4 + int.from_bytes(raw[:4], "big")
    while True:
        key, pos = varint(raw, pos)
        value, pos = varint(raw, pos)
        if key == 3 << 3 | 2:
            return pos
        if key & 7 == 2:
            pos += value


def sparse_corpus(folder: Path) -> list[Case]:
    """``camdensity ingest FILE``: damaged copies of the sparse file (tests/robustness/
    sparse.py), which the reader's block pre-filter sifts (mapper.sources._blocks): 20 rural
    blocks without a camera, then the Munich and London blocks (232 cameras, one a way)."""
    c = _Corpus(folder, ".osm.pbf")
    header, rural, cities = sparse.parts()
    data = sparse.sparse_pbf()
    n = sparse.CAMERAS
    munich = blobs(MUNICH.read_bytes())[1:]
    order = rural + cities
    at = [len(header.raw) + sum(len(b.raw) for b in order[:i]) for i in range(len(order))]
    city0 = at[len(rural)]  # the first city blob
    block, farm = cities[0].block, rural[3].block  # a block with cameras, one without

    def joined(*groups: list[Blob]) -> bytes:
        return header.raw + b"".join(b.raw for g in groups for b in g)

    def with_blob(i: int, raw: bytes) -> bytes:
        return data[: at[i]] + raw + data[at[i] + len(order[i].raw) :]

    def rural_as(**kw: Any) -> bytes:
        return with_blob(3, make_blob("OSMData", farm, **kw))

    def city_as(**kw: Any) -> bytes:
        return with_blob(len(rural), make_blob("OSMData", block, **kw))

    c.ok("sparse", data, cameras=n)
    c.ok("header-and-rural-blocks", joined(rural), cameras=0)
    c.ok("without-london", joined(rural, munich), cameras=bombs.MUNICH_CAMERAS)
    # The cities first: the first blocks mostly hold cameras, libosmium reads the file.
    c.ok("cities-first", joined(cities, rural), cameras=n)
    c.ok("city-blocks-twice", joined(rural, cities, cities), cameras=n)
    # Other ways to store a block: uncompressed (looked at here), lz4 (left to libosmium).
    c.ok("rural-block-raw", rural_as(method="raw"), cameras=n)
    c.ok("city-block-raw", city_as(method="raw"), cameras=n)
    lz4 = bombs.lz4_literals
    c.ok("rural-block-lz4", rural_as(compressed=lz4(farm), method="lz4"), cameras=n)
    c.ok("city-block-lz4", city_as(compressed=lz4(block), method="lz4"), cameras=n)
    # A block that does not start with its string table (protobuf allows any field order).
    moved = make_blob("OSMData", field(17, 100) + farm)
    c.ok("rural-table-not-first", with_blob(3, moved), cameras=n)
    # A skipped block is inflated only as far as its string table: damage after it, or a
    # raw_size that lies, is not seen by the camera pass; the pass that places camera ways
    # (London's) reads every block of the file, and sees it.
    tail = at[3] + len(rural[3].raw) - 100
    london = sum(len(b.raw) for b in cities[len(munich) :])
    c.ok("rural-block-damaged-after-its-table", _flip(data, [tail])[:-london],
         cameras=bombs.MUNICH_CAMERAS)  # fmt: skip
    c.ok("rural-raw-size-half", rural_as(raw_size=len(farm) // 2)[:-london],
         cameras=bombs.MUNICH_CAMERAS)  # fmt: skip
    c.err("rural-block-damaged-with-a-camera-way", _flip(data, [tail]), CORRUPT)
    c.err("rural-raw-size-half-with-a-camera-way", rural_as(raw_size=len(farm) // 2), CORRUPT)
    # Damage where it is seen: a kept block (by libosmium), a skipped block's zlib header
    # (here), the framing (by the guard, and here).
    c.err("city-block-damaged", _flip(data, [city0 + 5000, city0 + 5001]), CORRUPT)
    c.err("city-raw-size-half", city_as(raw_size=len(block) // 2), CORRUPT)
    zlib_header = at[3] + _zlib_at(rural[3].raw)
    c.err("rural-zlib-header-damaged", _flip(data, [zlib_header + 1]), CORRUPT)
    c.err("rural-block-empty", with_blob(3, make_blob("OSMData", b"", compressed=b"")), CORRUPT)
    cuts = [len(header.raw) + 100, at[5] + 3, at[5] + 20, at[10] + 2000, city0 + 3000]
    for cut in [*cuts, len(data) - 1]:
        c.err(f"truncated-{cut}", data[:cut], CORRUPT)
    c.err("trailing-garbage", data + b"\x00\x00\x00\x05garbage", CORRUPT)
    # The pre-filter's hostile blobs (sparse.HOSTILE), refused by the guard before it.
    for h in sparse.HOSTILE:
        c.cases.append(Case(h.name, c.folder / f"{h.name}{c.suffix}", "error", h.guarded,
                            hostile=True, content=h.content))  # fmt: skip
    return c.cases


# ------------------------------------------------------------------------------ OSM XML
def xml_corpus(folder: Path) -> list[Case]:
    """``camdensity ingest FILE``: the Munich extract as OSM XML, plain, gzip and bzip2,
    damaged; and the hostile XML files of issue 14 (bombs.py)."""
    c = _Corpus(folder, ".osm")
    xml = bombs.munich_xml()
    n = bombs.MUNICH_CAMERAS
    assert xml.endswith(b"</osm>\n")
    for cut in (10, 1000, len(xml) // 3, len(xml) - 3):
        c.err(f"truncated-{cut}", xml[:cut], CORRUPT)
    c.ok("without-final-newline", xml[:-1], cameras=n)
    c.err("flip-middle", _flip(xml, [len(xml) // 2]), CORRUPT)
    c.err("nul-byte", xml[:5000] + b"\0" + xml[5000:], CORRUPT)
    c.err("two-documents", xml + xml, CORRUPT)
    c.ok("utf8-bom", b"\xef\xbb\xbf" + xml, cameras=n)
    c.ok("doctype-without-entities", xml.replace(b"<osm ", b"<!DOCTYPE osm>\n<osm ", 1), cameras=n)
    gz, bz = gzip.compress(xml, 6), bombs.munich_xml_bz2()  # bz2's level 9
    half = len(xml) // 2
    gz_c = _Corpus(folder, ".osm.gz")
    for cut in (5, 5000, len(gz) // 2, len(gz) - 4):
        gz_c.err(f"gz-truncated-{cut}", gz[:cut], NOT_OSM if cut < 20 else CORRUPT)
    gz_c.err("gz-flip-middle", _flip(gz, [len(gz) // 2]), CORRUPT)
    gz_c.ok("gz-two-streams", gzip.compress(xml[:half]) + gzip.compress(xml[half:]), cameras=n)
    gz_c.ok("gz-trailing-zeros", gz + bytes(1000), cameras=n)
    bz_c = _Corpus(folder, ".osm.bz2")
    for cut in (3, 1000, len(bz) // 2, len(bz) - 1):  # nothing inflates before a whole block
        bz_c.err(f"bz2-truncated-{cut}", bz[:cut], NOT_OSM if cut <= 1000 else CORRUPT)
    bz_c.err("bz2-flip-middle", _flip(bz, [len(bz) // 2]), CORRUPT)
    bz_c.ok("bz2-two-streams", bz2.compress(xml[:half]) + bz2.compress(xml[half:]), cameras=n)
    for h in bombs.hostile_files():
        if not h.name.endswith(".pbf"):
            c.hostile(h)
    return c.cases + gz_c.cases + bz_c.cases


# -------------------------------------------------------------------------- Overpass JSON
def _swiss() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(SWITZERLAND.read_text(encoding="utf-8"))
    return data


def _with(elements: list[dict[str, Any]], changes: dict[int, dict[str, Any]]) -> list[Any]:
    return [{**e, **changes[i]} if i in changes else e for i, e in enumerate(elements)]


def overpass_corpus(folder: Path) -> list[Case]:
    """``camdensity ingest FILE``: damaged copies of the Swiss Overpass dump."""
    c = _Corpus(folder, ".json")
    text = SWITZERLAND.read_bytes()
    els = _swiss()
    n = len(els)
    for cut in (1, 2, 100, 5_000, len(text) // 2, len(text) - 3):
        c.err(f"truncated-{cut}", text[:cut], "invalid or truncated JSON")
    c.err("flip-structure", text.replace(b"{", b"}", 1), "invalid or truncated JSON")
    c.err("flip-invalid-utf8", _flip(text, [300]), "invalid or truncated JSON")
    c.err("nul-bytes", text[:4000] + b"\0\0\0" + text[4000:], "invalid or truncated JSON")
    c.err("two-documents", text + text, "invalid or truncated JSON")
    c.err("utf16", text.decode().encode("utf-16"), "unrecognised content")
    c.err("deeply-nested", "[" * DEEP + "]" * DEEP, "nested too deeply")
    deep_tag = _with(els, {0: {"tags": json.loads("[" * 500 + "]" * 500)}})
    c.ok("nested-tags-below-limit", _dumps(deep_tag), cameras=n - 1, rejected=1)
    c.err("deep-inside-a-tag",
          _dumps(els[:3])[:-1] + ', {"type": "node", "id": 1, "tags": {"a": '
          + "[" * DEEP + "]" * DEEP + "}}]", "nested too deeply")  # fmt: skip
    # Wrong types.
    c.err("elements-is-an-object", _dumps({"version": 0.6, "elements": {"0": els[0]}}),
          "JSON but not OSM data")  # fmt: skip
    c.err("ids-are-strings", _dumps([{**e, "id": str(e["id"])} for e in els]),
          "JSON but not OSM data")  # fmt: skip
    c.err("top-level-number", "42", "unrecognised content")
    wrong = _with(els, {0: {"lat": "47.2"}, 1: {"tags": ["man_made", "surveillance"]},
                        2: {"id": 1.5}, 3: {"type": 7}, 4: {"lon": None},
                        5: {"lat": True}})  # fmt: skip
    c.ok("wrong-field-types", _dumps(wrong), cameras=n - 6, rejected=6)
    c.ok("tag-values-not-strings",
         _dumps(_with(els, {0: {"tags": {"man_made": "surveillance", "height": 4.5, "x": None,
                                         "y": True, "z": {"a": 1}}}})), cameras=n)  # fmt: skip
    # Coordinates: NaN, infinities, 1e999 and out of range are rejected per element.
    odd = _with(els, {0: {"lat": math.nan}, 1: {"lon": math.inf}, 2: {"lat": -math.inf},
                      3: {"lat": 90.5}, 4: {"lon": -180.01}, 5: {"lat": 1e300}})  # fmt: skip
    c.ok("nan-inf-out-of-range", _dumps(odd).replace("1e+300", "1e999"), cameras=n - 6,
         rejected=6)  # fmt: skip
    # Ids outside int64 (OSM ids are positive int64s).
    c.ok("id-beyond-int64", _dumps(_with(els, {0: {"id": 2**64 + 5}, 1: {"id": -(2**70)}})),
         cameras=n - 2, rejected=2)  # fmt: skip
    # Huge strings: a 20 MB tag value and a 1 MB key are data (bounded memory, stored).
    for name, extra in (
        ("huge-tag-value", {"note": "x" * HUGE}),
        ("huge-tag-key", {"k" * 2**20: "v"}),
    ):
        c.ok(name, _dumps(_with(els, {0: {"tags": {**els[0]["tags"], **extra}}})), cameras=n)
    # Blocks duplicated: every element twice is valid; each camera is stored once.
    c.ok("every-element-twice", _dumps(els + els), cameras=n)
    c.ok("wrapped-bad-timestamp",
         _dumps({"version": 0.6, "osm3s": {"timestamp_osm_base": "yesterday"}, "elements": els}),
         cameras=n)  # fmt: skip
    c.ok("ways-without-geometry",
         _dumps([{**e, "type": "way", "nodes": [1, 2]} for e in els[:50]] + els[50:]),
         cameras=n - 50, warning="50 camera way(s) skipped")  # fmt: skip
    return c.cases


# ------------------------------------------------------------------------- GeoJSON export
def turbo_geojson(elements: list[dict[str, Any]]) -> dict[str, Any]:
    """Overpass elements as overpass-turbo exports them (GeoJSON points, '@id')."""
    return {
        "type": "FeatureCollection",
        "generator": "overpass-turbo",
        "features": [
            {
                "type": "Feature",
                "properties": {"@id": f"{e['type']}/{e['id']}", **e["tags"]},
                "geometry": {"type": "Point", "coordinates": [e["lon"], e["lat"]]},
                "id": f"{e['type']}/{e['id']}",
            }
            for e in elements
        ],
    }


def geojson_corpus(folder: Path) -> list[Case]:
    """``camdensity ingest FILE``: damaged overpass-turbo GeoJSON exports of the Swiss dump."""
    c = _Corpus(folder, ".geojson")
    base = turbo_geojson(_swiss())
    feats = base["features"]
    n = len(feats)
    text = _dumps(base).encode()

    def fc(features: list[Any], **extra: Any) -> str:
        return _dumps({**base, "features": features, **extra})

    def geom(i: int, coords: Any) -> list[Any]:
        return [{**f, "geometry": {"type": "Point", "coordinates": coords}} if j == i else f
                for j, f in enumerate(feats)]  # fmt: skip

    for cut in (1, 500, len(text) // 3, len(text) - 2):
        c.err(f"truncated-{cut}", text[:cut], "invalid or truncated JSON")
    c.err("flip-bytes", _flip(text, [40, 41, 42]), "invalid or truncated JSON")
    c.err("deeply-nested", '{"type": "FeatureCollection", "features": ' + "[" * DEEP
          + "]" * DEEP + "}", "nested too deeply")  # fmt: skip
    c.err("features-is-an-object", _dumps({**base, "features": {"a": feats[0]}}),
          "without a 'features' list")  # fmt: skip
    c.err("no-point-features", fc([{**f, "geometry": None} for f in feats]),
          "without point features")  # fmt: skip
    c.err("empty-features", fc([]), "without point features")
    c.err("lines-only", fc([{**f, "geometry": {"type": "LineString", "coordinates": [[8, 47],
                                               [8.1, 47.1]]}} for f in feats]),
          "without point features")  # fmt: skip
    # Coordinates: each bad point is rejected and counted.
    bad_coords: list[Any] = [
        [math.nan, 47.0],
        [8.5, math.inf],
        [200.0, 47.0],
        [8.5, -95.0],
        ["8.5", "47.3"],
        [],
        [8.5],
        [[8.5, 47.3]],
        None,
        {"lon": 8.5, "lat": 47.3},
    ]
    mixed = list(feats)
    for i, bad in enumerate(bad_coords):
        mixed[i] = {**feats[i], "geometry": {"type": "Point", "coordinates": bad}}
    c.ok("bad-coordinates", fc(mixed), cameras=n - len(bad_coords), rejected=len(bad_coords))
    c.ok("coordinate-1e999", fc(geom(0, [8.5, 1e300])).replace("1e+300", "1e999"),
         cameras=n - 1, rejected=1)  # fmt: skip
    c.ok("three-coordinates", fc(geom(0, [8.5, 47.3, 400.0])), cameras=n)
    # Ids and properties of the wrong shape.
    ids = [{**f, "id": "node/abc", "properties": {**f["properties"], "@id": "node/-1"}}
           if j < 3 else f for j, f in enumerate(feats)]  # fmt: skip
    c.ok("malformed-ids", fc(ids), cameras=n - 3, rejected=3)
    big = [{**f, "id": f"node/{i}", "properties": {**f["properties"], "@id": f"node/{i}"}}
           for i, f in zip((9999999999999999999, 2**63), feats, strict=False)]  # fmt: skip
    big += feats[2:]
    c.ok("id-beyond-int64", fc(big), cameras=n - 2, rejected=2)
    c.ok("properties-not-an-object",
         fc([{**f, "properties": ["man_made", "surveillance"]} if j < 4 else f
             for j, f in enumerate(feats)]), cameras=n - 4)  # fmt: skip
    c.ok("features-not-objects", fc([1, "two", None, *feats]), cameras=n, rejected=3)
    c.ok("tags-shape-of-old-osmtogeojson",
         fc([{**f, "properties": {"type": "node", "id": int(f["id"][5:]),
                                  "tags": dict(list(f["properties"].items())[1:])}}
             for f in feats]), cameras=n)  # fmt: skip
    # Huge strings, duplicated blocks, a single Feature.
    huge = [{**f, "properties": {**f["properties"], "description": "y" * HUGE}} if j == 0 else f
            for j, f in enumerate(feats)]  # fmt: skip
    c.ok("huge-property", fc(huge), cameras=n)
    c.ok("every-feature-twice", fc(feats + feats), cameras=n)
    c.ok("single-feature", _dumps(feats[0]), cameras=1)
    c.ok("utf8-bom", b"\xef\xbb\xbf" + text, cameras=n)
    square = {"type": "Polygon", "coordinates": [[[8, 47], [8.1, 47], [8.1, 47.1], [8, 47]]]}
    polygons = [{**f, "geometry": square} for f in feats[100:]]
    c.ok("points-among-polygons", fc(feats[:100] + polygons), cameras=100)
    c.ok("nan-in-unused-property", fc(feats, bbox=[math.nan, math.inf, 0, 0]), cameras=n)
    return c.cases


# ------------------------------------------------------------------------ boundary GeoJSON
BOUNDARY = BOUNDARIES / "zurich.geojson"


def boundary_corpus(folder: Path) -> list[Case]:
    """``camdensity area add NAME --boundary FILE``: damaged copies of Zürich's boundary."""
    c = _Corpus(folder, ".geojson")
    text = BOUNDARY.read_bytes()
    base = json.loads(text)
    feature = base["features"][0]
    props, polygon = feature["properties"], feature["geometry"]
    assert polygon["type"] == "Polygon"
    ring = polygon["coordinates"][0]

    def with_geometry(g: Any) -> str:
        return _dumps({**base, "features": [{**feature, "geometry": g}]})

    def with_ring(r: Any) -> str:
        return with_geometry({"type": "Polygon", "coordinates": [r]})

    def with_props(**p: Any) -> str:
        return _dumps({**base, "features": [{**feature, "properties": {**props, **p}}]})

    for cut in (0, 1, 700, len(text) // 2, len(text) - 2):
        c.err(f"truncated-{cut}", text[:cut], "not valid GeoJSON")
    c.err("flip-bytes", _flip(text, [len(text) // 3]), "not valid GeoJSON")
    c.err("deeply-nested", '{"type": "Polygon", "coordinates": ' + "[" * DEEP + "]" * DEEP + "}",
          "nested too deeply")  # fmt: skip
    # Coordinates.
    c.err("nan-coordinate", with_ring([[math.nan, 47.3], *ring[1:-1], [math.nan, 47.3]]),
          "geometry")  # fmt: skip
    c.err("inf-coordinate", with_ring([[8.5, math.inf], *ring[1:-1], [8.5, math.inf]]),
          "not longitude/latitude")  # fmt: skip
    c.err("out-of-range", with_ring([[p[0] + 400, p[1]] for p in ring]), "not longitude/latitude")
    c.err("swapped-lat-lon-metres", with_ring([[p[1] * 1e5, p[0] * 1e5] for p in ring]),
          "not longitude/latitude")  # fmt: skip
    c.ok("coordinates-numeric-strings", with_ring([[str(p[0]), str(p[1])] for p in ring]))
    c.err("coordinates-words", with_ring([["east", "north"] for p in ring]), "geometry")
    c.err("two-point-ring", with_ring(ring[:2]), "geometry")
    c.err("coordinates-nested-too-little", with_geometry({"type": "Polygon", "coordinates": ring}),
          "geometry")  # fmt: skip
    c.err("degenerate-ring", with_ring([ring[0]] * 5), "no area")
    c.err("point", with_geometry({"type": "Point", "coordinates": ring[0]}), "not a Polygon")
    c.err("geometry-null", with_geometry(None), "has no geometry")
    c.err("no-features", _dumps({**base, "features": []}), "no features")
    c.err("two-features", _dumps({**base, "features": [feature, feature]}), "2 features")
    c.err("top-level-list", _dumps([feature]), "expected an object")
    c.err("unknown-type", _dumps({"type": "Topology", "objects": {}}), "not a GeoJSON")
    c.ok("bow-tie-repaired",
         with_ring([[8.50, 47.35], [8.55, 47.40], [8.55, 47.35], [8.50, 47.40], [8.50, 47.35]]),
         warning="invalid polygon repaired")  # fmt: skip
    # Properties of the wrong type or range.
    c.err("population-text", with_props(population="many"), "is not a number")
    # Text a message quotes: a newline in it must not start a (forged) line of its own.
    c.err("value-with-newlines", with_props(population="12\nError: forged\r\n"), "not a number")
    c.err("population-100k-digits", with_props(population="9" * 100_000), "whole number")
    digits = with_props(population=0).replace('"population": 0', '"population": ' + "9" * 5000)
    c.err("population-5000-digit-number", digits, "not valid GeoJSON")
    c.err("population-negative", with_props(population=-5), "whole number")
    c.err("population-infinite", with_props(population=math.inf), "whole number")
    c.err("population-beyond-int64", with_props(population=10**30), "population")
    c.err("population-year-huge", with_props(population_year=10**12), "population_year")
    c.err("area-nan", with_props(area_for_density_km2=math.nan), "positive number")
    c.err("area-zero", with_props(area_for_density_km2=0), "positive number")
    c.ok("huge-property-string", with_props(population_source="s" * HUGE))
    big = folder / "too-big.geojson"
    with big.open("wb") as f:  # sparse: 65 MB on paper, nothing on disk
        f.write(b"{")
        f.truncate(65 * 2**20)
    c.cases.append(Case("larger-than-64mb", big, "error", "larger than 64 MB"))
    return c.cases


# ----------------------------------------------------------------------------- site config
DEMO = ROOT / "examples" / "demo.toml"


def demo_config() -> str:
    """examples/demo.toml with its paths made absolute (the corpus lives elsewhere)."""
    return DEMO.read_text(encoding="utf-8").replace('"../', f'"{ROOT}/')


def config_corpus(folder: Path, bad_pbf: Path, bad_boundary: Path) -> list[Case]:
    """``camdensity site --config FILE``: damaged copies of the demo config.

    ``bad_pbf`` and ``bad_boundary`` are corrupt files that the config may point to.
    """
    c = _Corpus(folder, ".toml")
    text = demo_config()
    raw = text.encode()
    add: Callable[[str], str] = lambda extra: text + "\n" + extra + "\n"  # noqa: E731
    first_area = text.index("[[areas]]")

    def swap(old: str, new: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)

    # Truncated where the TOML breaks (checked below: each one must be invalid TOML).
    cuts = [text.index('title = "') + 12, text.index("compare = [") + 15,
            text.index("[[inputs]]") + 5, text.index("extent_name") + 17,
            text.index("snapshot =") + 14, first_area + 3, len(raw) - 4]  # fmt: skip
    for cut in cuts:
        c.err(f"truncated-{cut}", raw[:cut], "not a valid TOML config")
    c.err("flip-invalid-utf8", _flip(raw, [len(raw) // 2]), "not a valid TOML config")
    c.err("nul-byte", raw[:200] + b"\0" + raw[200:], "not a valid TOML config")
    c.err("deeply-nested-array", add("extra = " + "[" * DEEP + "]" * DEEP), "TOML")
    c.err("deeply-nested-table", add("extra = " + "{a = " * 3000 + "1" + "}" * 3000), "TOML")
    # Wrong types and values.
    title = 'title = "Mapped surveillance cameras: the camdensity demo"'
    c.err("title-number", swap(title, "title = 42"), "'title' must be a str")
    c.err("title-blank", swap(title, 'title = "   "'), "'title' must be 1 to 200")
    c.err("title-huge", swap(title, f'title = "{"t" * HUGE}"'), "'title' must be 1 to 200")
    c.err("unknown-setting", swap(title, title + "\ncolour = 'red'"), "unknown setting(s) colour")
    c.err("unknown-setting-with-newline", swap(title, title + '\n"a\\nError: forged" = 1'),
          "unknown setting(s) a\\nError: forged")  # fmt: skip
    c.err("unknown-setting-in-a-table", add(_area("X", "populaton = 5")),
          "unknown setting(s) populaton")  # fmt: skip
    compare = text[text.index("compare = [") :].split("\n", 1)[0]
    c.err("compare-a-string", swap(compare, 'compare = "Zürich"'), "'compare' must be a list")
    c.err("inputs-a-string", text[: text.index("[[inputs]]")] + 'inputs = "all"\n', "'inputs'")
    c.err("input-without-path", add("[[inputs]]\nextent_name = 'x'"), "'path' is missing")
    c.err("input-path-number", add("[[inputs]]\npath = 5"), "'path' must be a str")
    c.err("input-snapshot-text", swap('snapshot = "2023-06-14"', 'snapshot = "yesterday"'),
          "'snapshot' must be a date")  # fmt: skip
    c.err("input-missing-file", add(f"[[inputs]]\npath = '{folder}/nope.osm.pbf'"), "no such file")
    c.err("input-corrupt-pbf", add(f"[[inputs]]\npath = '{bad_pbf}'"), CORRUPT)
    c.err("area-population-text", add(_area("X", 'population = "many"')), "must be a int")
    # Values that only the area code checks: the config must fail before it writes anything.
    c.err("area-population-negative", add(_area("X", "population = -5")),
          "'population' must be zero or more")  # fmt: skip
    c.err("area-km2-nan", add(_area("X", "area_km2 = nan")), "'area_km2' must be a positive")
    c.err("area-km2-inf", add(_area("X", "area_km2 = inf")), "'area_km2' must be a positive")
    c.err("area-year-huge", add(_area("X", "population_year = 1_000_000_000_000")),
          "'population_year' must be a year")  # fmt: skip
    c.err("area-kind-unknown", add(_area("X", 'kind = "galaxy"')), "kind")
    c.err("area-name-too-long", add(_area("n" * 301, "")), "at most 300")
    c.err("area-name-empty", add(_area(" ", "")), "non-empty name")
    c.err("area-boundary-missing", add(_area("X", "", boundary=f"{folder}/nope.geojson")),
          "no such file")  # fmt: skip
    c.err("area-boundary-corrupt", add(_area("X", "", boundary=str(bad_boundary))),
          "not valid GeoJSON")  # fmt: skip
    c.err("area-reported-negative",
          add(_area("X", 'reported = -3\nreported_source = "https://example.org"')),
          "'reported' must be zero or more")  # fmt: skip
    # A new, valid input before the bad part: it must not be ingested either.
    new_input = folder / "new-input.geojson"
    new_input.write_text(_dumps(turbo_geojson(_swiss()[:50])), encoding="utf-8")
    c.err("new-input-then-bad-boundary",
          add(f"[[inputs]]\npath = '{new_input}'\n" + _area("X", "", boundary=str(bad_boundary))),
          "not valid GeoJSON")  # fmt: skip
    c.err(
        "new-input-then-corrupt-input",
        add(f"[[inputs]]\npath = '{new_input}'\n[[inputs]]\npath = '{bad_pbf}'"),
        CORRUPT,
    )
    c.err("import-without-name-field",
          add(f"[[imports]]\npath = '{BOUNDARIES}/neighbourhoods/bern_districts.geojson'"),
          "'name_field' is missing")  # fmt: skip
    c.err("import-name-field-absent",
          add(f"[[imports]]\npath = '{BOUNDARIES}/neighbourhoods/bern_districts.geojson'\n"
              "name_field = 'no_such_field'"), "no_such_field")  # fmt: skip
    for case in c.cases:
        if case.name.startswith("truncated-") or case.name in ("flip-invalid-utf8", "nul-byte"):
            try:
                tomllib.loads(case.path.read_bytes().decode("utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError):
                continue
            raise AssertionError(f"{case.name}: still valid TOML")
    return c.cases


def _area(name: str, extra: str, boundary: str = str(BOUNDARIES / "bern.geojson")) -> str:
    return f"[[areas]]\nname = {json.dumps(name)}\nboundary = '{boundary}'\n{extra}"
